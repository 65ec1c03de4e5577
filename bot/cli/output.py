"""Human-readable terminal output (rich tables)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.daemon.report import decision_report
from bot.daemon.tick import TickOutcome


def print_decision(console: Console, report: dict[str, Any]) -> None:
    """Exposures, hedges and orders of one decision as three tables."""
    exposures = Table(title=f"Exposure at {report['exchange_time']}")
    for column in ("asset", "spot", "collateral", "price", "exposure_usd"):
        exposures.add_column(column, justify="right" if column != "asset" else "left")
    for row in report["exposures"]:
        exposures.add_row(
            *(str(row[c]) for c in ("asset", "spot", "collateral", "price", "exposure_usd"))
        )
    hedges = Table(title="Hedges")
    columns = (
        "asset",
        "instrument",
        "ratio",
        "target_short_usd",
        "current_short_usd",
        "target_contracts",
        "current_contracts",
    )
    for column in columns:
        hedges.add_column(column)
    for row in report["hedges"]:
        hedges.add_row(*(str(row[c]) for c in columns))
    console.print(exposures)
    console.print(hedges)
    if report["orders"]:
        orders = Table(title="Orders")
        for column in ("symbol", "side", "contracts", "reduce_only", "client_order_id"):
            orders.add_column(column)
        for row in report["orders"]:
            orders.add_row(
                row["symbol"],
                row["side"],
                row["contracts"],
                str(row["reduce_only"]),
                row["client_order_id"],
            )
        console.print(orders)
    else:
        console.print("No order: every hedge is within its band.")
    for note in report["notes"]:
        console.print(f"note: {note}", markup=False)


def _usd(value: str | None) -> str:
    return "-" if value is None else f"{Decimal(value):,.2f}"


def _coin(value: str | None) -> str:
    if value is None:
        return "-"
    return format(Decimal(value).quantize(Decimal("1e-8")).normalize(), "f")


def tick_printer(console: Console) -> Callable[[TickOutcome], None]:
    """A one-block summary per tick: exposure, target, current hedge and orders (display
    rounding only: USD to cents, coins to 8 decimals; the database keeps exact values)."""

    def show(outcome: TickOutcome) -> None:
        report = decision_report(outcome.decision)
        lines = [f"tick {outcome.tick_id} exchange time {report['exchange_time']}"]
        for e in report["exposures"]:
            lines.append(
                f"  exposure {e['asset']}: {_coin(e['spot'])} spot + {_coin(e['collateral'])} "
                f"collateral @ {_usd(e['price'])} = {_usd(e['exposure_usd'])} USD"
            )
        for h in report["instruments"]:
            lines.append(
                f"  hedge {h['instrument']}: target {_usd(h['target_short_usd'])} USD "
                f"({h['target_contracts']} c), current {_usd(h['current_short_usd'])} USD "
                f"({h['current_contracts']} c)"
            )
        if not outcome.orders:
            lines.append("  orders: none (within band)")
        for o in outcome.orders:
            lines.append(
                f"  order {o.side} {o.contracts} {o.symbol} reduce_only={o.reduce_only} "
                f"id={o.client_order_id}"
            )
        console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)

    return show
