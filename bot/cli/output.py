"""Human-readable terminal output (rich tables)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.core.types import CollateralAction, MarginShortfall
from bot.daemon.report import action_outcome, decision_report
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


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _counterpart(action: CollateralAction, actions: Sequence[CollateralAction]) -> str:
    """The other coin of a conversion leg: the coin bought with a sold one and the reverse (legs
    of one conversion share their reason), else the spot market's quote."""
    other = "spot_buy" if action.kind == "spot_sell" else "spot_sell"
    for leg in actions:
        if leg.kind == other and leg.reason == action.reason:
            return leg.coin
    return (action.symbol or "").partition("/")[2] or "?"


def action_line(action: CollateralAction, actions: Sequence[CollateralAction], outcome: str) -> str:
    """``transfer 0.5 BTC spot -> margin: SUCCESS``, ``convert sell 12.5 SOL -> BTC: FAILED``."""
    amount = f"{_coin(_plain(action.amount))} {action.coin}"
    if action.kind == "transfer":
        what = f"transfer {amount} {action.source} -> {action.destination}"
    elif action.kind == "spot_sell":
        what = f"convert sell {amount} -> {_counterpart(action, actions)}"
    else:
        what = f"convert buy {amount} <- {_counterpart(action, actions)}"
    shown = {
        "DRY_RUN": "DRY-RUN",
        "UNKNOWN": "UNKNOWN (looked up again next tick)",
        "NOT_SENT": "NOT SENT (an earlier step of its chain did not succeed)",
    }.get(outcome, outcome)
    return f"{what}: {shown}"


def shortfall_line(shortfall: MarginShortfall) -> str:
    """``margin shortfall BTC/USD:BTC: carries 197,000.00 of 1,100,000.00 USD; 2.85 BTC
    missing``."""
    return (
        f"margin shortfall {shortfall.instrument}: carries {_usd(_plain(shortfall.carried_usd))} "
        f"of {_usd(_plain(shortfall.target_usd))} USD; "
        f"{_coin(_plain(shortfall.coins_missing))} {shortfall.coin} missing"
    )


def tick_printer(console: Console) -> Callable[[TickOutcome], None]:
    """A one-block summary per tick: exposure, target, current hedge, collateral actions and
    their outcome, margin shortfalls and orders (display rounding only: USD to cents, coins to
    8 decimals; the database keeps exact values)."""

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
        actions = outcome.decision.collateral.actions
        for action in actions:
            outcome_of = action_outcome(outcome.collateral, action.action_id)
            lines.append(f"  {action_line(action, actions, outcome_of)}")
        for shortfall in outcome.decision.plan.shortfalls:
            lines.append(f"  {shortfall_line(shortfall)}")
        if not outcome.orders:
            lines.append("  orders: none (within band)")
        for o in outcome.orders:
            lines.append(
                f"  order {o.side} {o.contracts} {o.symbol} reduce_only={o.reduce_only} "
                f"id={o.client_order_id}"
            )
        console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)

    return show
