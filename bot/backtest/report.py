"""Terminal output of backtests (rich tables): one run, or several side by side.

Rows fit an 80-column terminal: labels up to 30 characters, values up to about 40 (margin rows
name the coin in the label: one row per margin coin that carried a short)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial

from rich.console import Console
from rich.table import Table

from bot.backtest.result_types import BacktestResult

Cell = Callable[[BacktestResult], str]
MAX_LISTED = 10  # gaps and refused orders shown before "... and N more"


def usd(value: float | Decimal | None) -> str:
    return "-" if value is None else f"{float(value):,.2f}"


def whole(value: float | Decimal) -> str:
    return f"{float(value):,.0f}"


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
    ("band / fee rate", lambda r: f"{r.band or 'fee-aware'} / {r.fee_rate}"),
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
    ("orders / fills", lambda r: f"{r.orders:,} / {r.costs.fills:,}"),
    ("turnover (USD face)", lambda r: usd(r.costs.turnover)),
    ("ticks outside the band", lambda r: share(r.outside_band_share)),
    ("LIQUIDATIONS", lambda r: str(r.costs.liquidations)),
    ("refused orders", lambda r: str(len(r.rejected))),
    (
        "margin shortfall",
        lambda r: f"{r.shortfall_hours:,.1f} h ({share(r.shortfall_ticks / max(r.ticks, 1))})",
    ),
    (
        "transfers to / from margin",
        lambda r: (
            f"{r.collateral.to_margin} / {r.collateral.to_spot} "
            f"({whole(r.collateral.to_margin_usd)} / {whole(r.collateral.to_spot_usd)} USD)"
        ),
    ),
    (
        "conversions (USD sold)",
        lambda r: f"{r.collateral.conversions} ({whole(r.collateral.converted_usd)})",
    ),
    (
        "moves refused / incr. held",
        lambda r: f"{r.collateral.failed} / {r.collateral.held_increases}",
    ),
    ("data gaps", lambda r: str(len(r.gaps))),
    ("runtime (s)", lambda r: f"{r.runtime_seconds:.2f}"),
)


def margin_rows(results: Sequence[BacktestResult]) -> list[tuple[str, Cell]]:
    """Per margin coin of any of ``results``: peak share of equity used (and when), peak
    requirement in coin and USD."""
    coins = sorted({peak.coin for result in results for peak in result.margin})
    rows: list[tuple[str, Cell]] = []
    for coin in coins:
        rows.append((f"peak margin used, {coin}", partial(_used, coin=coin)))
        rows.append((f"peak margin required, {coin}", partial(_required, coin=coin)))
    return rows


def _used(result: BacktestResult, coin: str) -> str:
    for peak in result.margin:
        if peak.coin == coin:
            used = "no equity" if math.isinf(peak.peak_used) else share(peak.peak_used, 1)
            return f"{used} ({peak.peak_at:%Y-%m-%d %H:%M})"
    return "-"


def _required(result: BacktestResult, coin: str) -> str:
    for peak in result.margin:
        if peak.coin == coin:
            return f"{peak.peak_required:,.4f} {coin} / {whole(peak.peak_required_usd)} USD"
    return "-"


def print_result(console: Console, result: BacktestResult) -> None:
    """One run: the metrics table, then gaps, refusals, rule events and notes."""
    table = Table(title=f"Backtest {result.name}", show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, cell in (*ROWS, *margin_rows([result])):
        table.add_row(label, cell(result))
    console.print(table)
    if result.costs.liquidations:
        console.print(
            f"[bold red]{result.costs.liquidations} liquidation(s): the margin wallet could "
            "not carry the hedge[/bold red]"
        )
    _listed(console, "gap", [f"{g.coin}: {g.from_open} -> {g.to_open}" for g in result.gaps])
    _listed(console, "refused order", list(result.rejected))
    for kind, ticks in sorted(result.events.items()):
        console.print(f"rule event {kind}: on {ticks} tick(s)", markup=False, highlight=False)
    for note in result.notes:
        console.print(f"note: {note}", markup=False, highlight=False)


LABEL_WIDTH = 30  # the widest row label, plus the table's borders


def column_headers(names: Sequence[str], width: int) -> list[str]:
    """Headers for one column per run: the run names when each fits its share of ``width``
    (columns), else ``#1``, ``#2`` ... (a legend then names each run in full, so that no
    identifier is ever cut)."""
    share_each = (width - LABEL_WIDTH) // max(len(names), 1) - 3
    if all(len(name) <= share_each for name in names):
        return list(names)
    return [f"#{index}" for index in range(1, len(names) + 1)]


def print_comparison(console: Console, results: Sequence[BacktestResult]) -> None:
    """Several runs on the same data, one column each; runs whose names do not fit their
    column are numbered and named in full above the table."""
    names = [result.name for result in results]
    headers = column_headers(names, console.width)
    if headers != names:
        for header, name in zip(headers, names, strict=True):
            console.print(f"{header}  {name}", markup=False, highlight=False)
    table = Table(title="Backtest comparison")
    table.add_column("metric")
    for header in headers:
        table.add_column(header, justify="right")
    for label, cell in (*ROWS, *margin_rows(results)):
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
