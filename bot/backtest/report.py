"""Terminal output of backtests (rich tables): one run, or several side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from bot.backtest.result import BacktestResult

Cell = Callable[[BacktestResult], str]
MAX_LISTED = 10  # gaps and refused orders shown before "... and N more"


def usd(value: float | Decimal | None) -> str:
    return "-" if value is None else f"{float(value):,.2f}"


def share(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


def number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ceiling_text(result: BacktestResult) -> str:
    parts = [
        f"{c.asset}/{c.hedge}: ρ {number(c.rho, 3)}, ρ² {number(c.rho2)}, "
        f"β* {number(c.beta_star, 3)}"
        for c in result.ceilings
    ]
    return "; ".join(parts) or "-"


ROWS: tuple[tuple[str, Cell], ...] = (
    ("period", lambda r: f"{r.start:%Y-%m-%d %H:%M} .. {r.end:%Y-%m-%d %H:%M}"),
    ("days / ticks", lambda r: f"{r.days} / {r.ticks} ({r.step_seconds // 60} min)"),
    ("band / fee rate", lambda r: f"{r.band} / {r.fee_rate}"),
    ("final value hedged (USD)", lambda r: usd(r.hedged.final_value)),
    ("final value unhedged (USD)", lambda r: usd(r.unhedged.final_value)),
    ("daily PnL vol hedged (USD)", lambda r: usd(r.hedged.daily_vol)),
    ("daily PnL vol unhedged (USD)", lambda r: usd(r.unhedged.daily_vol)),
    (
        "max drawdown hedged",
        lambda r: f"{usd(r.hedged.max_drawdown)} ({share(r.hedged.max_drawdown_fraction)})",
    ),
    (
        "max drawdown unhedged",
        lambda r: f"{usd(r.unhedged.max_drawdown)} ({share(r.unhedged.max_drawdown_fraction)})",
    ),
    ("hedge effectiveness", lambda r: number(r.effectiveness)),
    ("ceiling (best constant β)", lambda r: number(r.ceiling)),
    ("effectiveness / ceiling", lambda r: share(r.vs_ceiling, 1)),
    ("ceiling per proxy", _ceiling_text),
    ("fees paid (USD)", lambda r: usd(r.costs.fees)),
    ("funding received (USD)", lambda r: usd(r.costs.funding_received)),
    ("funding paid (USD)", lambda r: usd(r.costs.funding_paid)),
    ("funding net (USD)", lambda r: usd(r.costs.funding_net)),
    ("orders / fills", lambda r: f"{r.orders} / {r.costs.fills}"),
    ("turnover (USD face)", lambda r: usd(r.costs.turnover)),
    ("ticks outside the band", lambda r: share(r.outside_band_share)),
    ("refused orders / liquidations", lambda r: f"{len(r.rejected)} / {r.costs.liquidations}"),
    ("data gaps", lambda r: str(len(r.gaps))),
    ("runtime (s)", lambda r: f"{r.runtime_seconds:.2f}"),
)


def print_result(console: Console, result: BacktestResult) -> None:
    """One run: the metrics table, then gaps, refusals, rule events and notes."""
    table = Table(title=f"Backtest {result.name}", show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, cell in ROWS:
        table.add_row(label, cell(result))
    console.print(table)
    _listed(console, "gap", [f"{g.coin}: {g.from_open} -> {g.to_open}" for g in result.gaps])
    _listed(console, "refused order", list(result.rejected))
    for kind, ticks in sorted(result.events.items()):
        console.print(f"rule event {kind}: on {ticks} tick(s)", markup=False, highlight=False)
    for note in result.notes:
        console.print(f"note: {note}", markup=False, highlight=False)


def print_comparison(console: Console, results: Sequence[BacktestResult]) -> None:
    """Several runs on the same data, one column each."""
    table = Table(title="Backtest comparison")
    table.add_column("metric")
    for result in results:
        table.add_column(result.name, justify="right")
    for label, cell in ROWS:
        table.add_row(label, *(cell(result) for result in results))
    console.print(table)
    notes = dict.fromkeys(note for result in results for note in result.notes)
    for note in notes:
        console.print(f"note: {note}", markup=False, highlight=False)


def _listed(console: Console, what: str, lines: list[str]) -> None:
    for line in lines[:MAX_LISTED]:
        console.print(f"{what}: {line}", markup=False, highlight=False)
    if len(lines) > MAX_LISTED:
        console.print(f"... and {len(lines) - MAX_LISTED} more {what}s", markup=False)
