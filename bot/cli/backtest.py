"""``hedgebot backtest``: replay a config over historical candles and funding (``bot.backtest``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from bot.backtest import BacktestResult
    from bot.backtest.run_types import Progress
    from bot.config.models import Config

EXIT_USAGE = 2  # a config, data or argument problem: nothing was replayed
err = Console(stderr=True)

DATA_HELP = "Folder of candle and funding files, searched recursively (e.g. shared/data)."
FUNDING_HELP = "COIN=SOURCE: the funding history for COIN (deribit, bitmex, binance_usdm, config)."


def backtest_command(
    config_path: Annotated[Path, typer.Option("--config", "-c", help="YAML config file.")],
    data: Annotated[Path, typer.Option("--data", help=DATA_HELP)],
    date_from: Annotated[
        str | None, typer.Option("--from", help="Start: YYYY-MM-DD (00:00 UTC) or ISO time.")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="End: YYYY-MM-DD (inclusive) or ISO time.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (a list with --compare).")
    ] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write charts to FILE (.png, or .html).")
    ] = None,
    compare: Annotated[
        list[Path] | None,
        typer.Option("--compare", help="Another config on the same data (repeatable)."),
    ] = None,
    funding: Annotated[list[str] | None, typer.Option("--funding", help=FUNDING_HELP)] = None,
) -> None:
    """What the config's hedge would have done over real history: hedged vs unhedged book,
    hedge effectiveness against its ρ² ceiling, fees, funding, orders and turnover."""
    from bot.backtest import BacktestError, BacktestOptions, load_for, run_backtest, to_json
    from bot.backtest.plot import write_plot
    from bot.backtest.report import print_comparison, print_result
    from bot.sim.errors import SimError

    paths = [config_path, *(compare or [])]
    configs = [_load(path) for path in paths]
    names = _names(paths)
    options = BacktestOptions(
        start=_when(date_from, "--from", end=False),
        end=_when(date_to, "--to", end=True),
        funding=_funding(funding or []),
    )
    results: list[BacktestResult] = []
    try:
        market = load_for(configs, data, options)
        with _progress(enabled=not as_json and err.is_terminal) as advance:
            for name, config in zip(names, configs, strict=True):
                results.append(
                    run_backtest(config, market, options, name=name, progress=advance(name))
                )
    except (BacktestError, SimError) as exc:
        err.print(f"backtest: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    if plot is not None:
        for result in results:
            target = plot if len(results) == 1 else plot.with_stem(f"{plot.stem}-{result.name}")
            write_plot(result, target)
    if as_json:
        payload: Any = [to_json(r) for r in results] if compare else to_json(results[0])
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif len(results) == 1:
        print_result(Console(), results[0])
    else:
        print_comparison(Console(), results)


def _load(path: Path) -> Config:
    from bot.config.loader import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"{path}: {problem}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


def _names(paths: list[Path]) -> list[str]:
    """Config file stems, made unique with a counter when two share one."""
    names: list[str] = []
    for path in paths:
        name = path.stem
        while name in names:
            name = f"{path.stem}-{len(names)}"
        names.append(name)
    return names


def _when(text: str | None, option: str, *, end: bool) -> datetime | None:
    """A date (00:00 UTC; for ``--to`` the end of that day) or an ISO time (naive: UTC)."""
    if text is None:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        err.print(f"{option} {text!r}: expected YYYY-MM-DD or an ISO time", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    if end and len(text) == len("2024-01-01"):
        stamp += timedelta(days=1)
    return stamp


def _funding(items: list[str]) -> dict[str, str]:
    from bot.backtest.funding import FUNDING_SOURCES

    choices: dict[str, str] = {}
    for item in items:
        coin, _, source = item.partition("=")
        if not coin or source not in (*FUNDING_SOURCES, "config"):
            known = ", ".join((*FUNDING_SOURCES, "config"))
            err.print(f"--funding {item!r}: expected COIN=SOURCE with SOURCE one of {known}")
            raise typer.Exit(EXIT_USAGE)
        choices[coin.upper()] = source
    return choices


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Callable[[str], Progress | None]]:
    """Yields ``factory(name)`` -> a progress callback for one run (rich bar on stderr), or
    None when disabled (not a terminal, or ``--json``)."""
    if not enabled:
        yield lambda name: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ticks"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:

        def factory(name: str) -> Progress:
            task = bar.add_task(name, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return update

        yield factory
