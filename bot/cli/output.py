"""Human-readable terminal output (rich tables)."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.core.types import (
    CollateralAction,
    HedgeTarget,
    InstrumentHedge,
    MarginShortfall,
    OrderState,
    OrderStatus,
    PlannedOrder,
)
from bot.daemon.decide import Decision
from bot.daemon.report import action_outcome, decision_report
from bot.daemon.tick_outcome import TickOutcome


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


WIDTH = 80  # the tick summary fits a standard terminal
_RATIO = Decimal("0.0001")
_NUMBER = re.compile(r"(?<![\w.:])-?\d+\.\d+(?![\w.:])")
_SHOWN_ELSEWHERE = frozenset({"margin_shortfall", "collateral_transfer", "collateral_conversion"})


def fit(line: str, width: int = WIDTH) -> list[str]:
    """``line`` as it is when it fits ``width``, else wrapped onto continuation lines indented
    four more columns than the line itself: after a ``"; "`` in the second half of the line
    where there is one (clauses stay whole), else at spaces."""
    if len(line) <= width:
        return [line]
    indent = " " * (len(line) - len(line.lstrip(" ")) + 4)
    lines: list[str] = []
    rest = line
    while len(rest) > width:
        cut = rest.rfind("; ", 0, width)
        if cut < width // 2:
            break
        lines.append(rest[: cut + 1])
        rest = indent + rest[cut + 2 :]
    if len(rest) > width:
        lines.extend(textwrap.wrap(rest, width, subsequent_indent=indent, break_on_hyphens=False))
    else:
        lines.append(rest)
    return lines


def _ratio(value: Decimal) -> str:
    """A ratio, β or ρ to at most 4 decimals: ``1``, ``0.7``, ``1.2346``."""
    return format(value.quantize(_RATIO).normalize(), "f")


def _contracts(value: Decimal) -> str:
    """Contracts with thousands separators; whole ones (the usual case) without decimals."""
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value.normalize():,f}"


def _price(value: Decimal) -> str:
    """USD per coin: to the cent, or to 4 significant digits below 1 USD."""
    if abs(value) >= 1 or value == 0:
        return f"{value:,.2f}"
    places = max(2, 3 - value.adjusted())
    return f"{value:.{places}f}"


def _percent(part: Decimal, whole: Decimal) -> str:
    return f"{part / whole * 100:.2f}%"


def humane(text: str) -> str:
    """Free text (reasons, notes) with its exact decimals rounded for reading: whole values
    without ``.0``, others to 4 decimals (4 significant digits below 1)."""

    def short(match: re.Match[str]) -> str:
        value = Decimal(match.group())
        if abs(value) < 1 and value != 0:
            value = value.quantize(Decimal(1).scaleb(min(-4, value.adjusted() - 3)))
        else:
            value = value.quantize(_RATIO)
        return format(value.normalize(), "f")

    return _NUMBER.sub(short, text)


def hedge_reason(target: HedgeTarget) -> str:
    """Why a target exists (rule, β, ρ; or a margin coin held USD-neutral), or why it is 0."""
    if target.collateral:
        return f"{target.asset} margin coin, USD-neutral"
    if target.target_short_usd <= 0:
        if target.reason:
            return f"{target.asset} lifted: {humane(target.reason)}"
        return f"{target.asset} rule, ratio {_ratio(target.ratio)}: no exposure to hedge"
    why = f"{target.asset} rule, ratio {_ratio(target.ratio)}, β {_ratio(target.beta)}"
    if target.beta_se is not None:
        why += f" ±{_ratio(target.beta_se)}"
    if target.rho is not None:
        why += f", ρ {_ratio(target.rho)}"
    if target.proxy:
        why += " (proxy)"
    # β and ρ are shown above; the rest (funding modifier, windows, rolls) says why the ratio
    # or the instrument is what it is.
    extra = [
        part
        for part in target.reason.split("; ")
        if part and not (part.startswith("beta ") and " rho " in part)
    ]
    return "; ".join([why, *(humane(part) for part in extra)])


def _hedge_lines(
    hedge: InstrumentHedge, decision: Decision, covered: set[tuple[str, str | None]]
) -> list[str]:
    """Two lines and more per instrument: hedged % vs target % of the exposure behind it, the
    short and its target in contracts and USD, why, and the planner's notes."""
    targets = [t for t in decision.targets if t.instrument == hedge.instrument]
    assets = list(dict.fromkeys(t.asset for t in targets))
    behind = [decision.exposures[a].exposure_usd for a in assets if a in decision.exposures]
    exposure = sum(behind, Decimal(0))
    name = f"  hedge {hedge.instrument}:"
    if exposure > 0:
        of = "+".join(assets)
        head = (
            f"{name} hedged {_percent(hedge.current_short_usd, exposure)} vs target "
            f"{_percent(hedge.target_short_usd, exposure)} of {of} exposure"
        )
    else:
        head = f"{name} no exposure behind it" if assets else f"{name} no rule targets it"
    lines = [
        head,
        f"    short {_contracts(hedge.current_contracts)} c = "
        f"{_usd(_plain(hedge.current_short_usd))} USD, target "
        f"{_contracts(hedge.target_contracts)} c = {_usd(_plain(hedge.target_short_usd))} USD",
    ]
    if targets:
        lines.append("    why: " + "; ".join(hedge_reason(t) for t in targets))
        # the events these reasons already tell (on the instrument, or on none)
        covered.update((t.asset, i) for t in targets if t.reason for i in (t.instrument, None))
    for cut in decision.plan.shortfalls:
        if cut.instrument == hedge.instrument:
            lines.append(
                f"    cut to what its margin carries: {_usd(_plain(cut.carried_usd))} of "
                f"{_usd(_plain(cut.target_usd))} USD"
            )
    lines.extend(f"    note: {humane(note)}" for note in _notes(hedge))
    return lines


def _notes(hedge: InstrumentHedge) -> list[str]:
    """The planner's notes on a hedge, but for the margin cap (its own line above)."""
    return [note for note in hedge.notes if not note.startswith("margin carries")]


def refusal(text: str) -> str:
    """An exchange's refusal in a few words: the code and message of the JSON body ccxt quotes
    (``bybit: InvalidOrder: bybit {"retCode":110017,"retMsg":"..."}`` -> ``110017: ...``);
    any other text as it is (the database and the log keep the whole of it)."""
    start = text.find("{")
    if start < 0:
        return text
    try:
        body, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return text
    if not isinstance(body, dict):
        return text
    message = next((body[k] for k in ("retMsg", "msg", "sMsg", "message") if body.get(k)), None)
    if message is None:
        return text
    code = next(
        (body[k] for k in ("retCode", "code", "sCode") if body.get(k) not in (None, "")), None
    )
    return f"{message}" if code is None else f"{code}: {message}"


def _sent_status(status: OrderStatus) -> str:
    """FILLED, PARTIAL, OPEN, CANCELLED or REJECTED, with size, price and fee as they apply."""
    fill = ""
    if status.average_price is not None:
        fill = f" @ {_price(status.average_price)}"
    if status.filled_contracts > 0:
        fee = _coin(_plain(status.fee))
        fill += f", fee {fee} {status.fee_currency}" if status.fee_currency else f", fee {fee}"
    filled = f" {_contracts(status.filled_contracts)} c" if status.filled_contracts > 0 else ""
    state = status.state
    if state == OrderState.FILLED:
        return f"FILLED{fill}"
    if state == OrderState.PARTIALLY_FILLED or (state == OrderState.OPEN and filled):
        return f"PARTIAL{filled}{fill}, rest open"
    if state == OrderState.OPEN:
        return "OPEN (resting on the book)"
    if state == OrderState.CANCELLED:
        return f"CANCELLED{' after' + filled + fill if filled else ''}"
    if state == OrderState.REJECTED:
        return f"REJECTED: {refusal(status.reject_reason or 'no reason given')}"
    return "UNKNOWN (being looked up)"


def order_outcomes(outcome: TickOutcome) -> dict[str, str]:
    """What happened to each order of the tick, by client id: FILLED (price, fee), PARTIAL,
    OPEN, REJECTED (reason), UNKNOWN (being looked up), NOT SENT, or DRY-RUN (not sent)."""
    report = outcome.execution
    ids = [o.client_order_id for o in outcome.orders]
    if report is None:  # orders without an execution: recorded under --dry-run only
        return dict.fromkeys(ids, "DRY-RUN (not sent)")
    shown = {status.client_order_id: _sent_status(status) for status in report.sent}
    shown.update((cid, f"REJECTED: {refusal(reason)}") for cid, reason in report.rejected)
    shown.update((cid, "UNKNOWN (being looked up)") for cid in report.unknown)
    if report.retry_after_s:
        why = f"the exchange asked to wait {report.retry_after_s:g} s"
    elif report.unknown:
        why = "an earlier order's outcome is unknown"
    else:
        why = "the exchange was unavailable"
    shown.update((cid, f"NOT SENT ({why})") for cid in report.not_sent)
    # A permanent error is reported without its id, in the order of sending: the ids left.
    failed = [cid for cid in ids if cid not in shown]
    errors = [f"REJECTED: {refusal(error)}" for error in report.errors]
    shown.update(zip(failed, errors, strict=False))
    return {cid: shown.get(cid, "UNKNOWN (being looked up)") for cid in ids}


def _order_name(order: PlannedOrder) -> str:
    flags = " reduce-only" if order.reduce_only else ""
    if order.order_type == "limit" and order.limit_price is not None:
        flags += f" limit {_price(order.limit_price)}"
    return f"{order.side} {_contracts(order.contracts)} c {order.symbol}{flags}"


def tick_lines(outcome: TickOutcome) -> list[str]:
    """The tick summary: exposure per coin; per hedge instrument, hedged vs target % of its
    exposure with why; collateral actions and margin shortfalls; every order with what
    happened to it; notes and events. Rounded for reading (USD to cents, contracts whole,
    ratios to 4 decimals) and at most 80 columns; the database and JSON keep exact values."""
    decision = outcome.decision
    report = decision_report(decision)
    lines = [f"tick {outcome.tick_id} exchange time {report['exchange_time']}"]
    for e in report["exposures"]:
        lines.append(
            f"  exposure {e['asset']}: {_coin(e['spot'])} spot + {_coin(e['collateral'])} "
            f"collateral @ {_price(Decimal(e['price']))} = {_usd(e['exposure_usd'])} USD"
        )
    covered: set[tuple[str, str | None]] = set()
    for hedge in decision.plan.hedges:
        lines.extend(_hedge_lines(hedge, decision, covered))
    actions = decision.collateral.actions
    for action in actions:
        outcome_of = action_outcome(outcome.collateral, action.action_id)
        lines.append(f"  {action_line(action, actions, outcome_of)}")
    for shortfall in decision.plan.shortfalls:
        lines.append(f"  {shortfall_line(shortfall)}")
    # Notes shown already: an instrument's under its hedge, an action's reason as its line.
    shown = {f"{h.instrument}: {note}" for h in decision.plan.hedges for note in h.notes}
    shown.update(action.reason for action in actions)
    for note in (*decision.plan.notes, *decision.collateral.notes):
        if note not in shown:
            lines.append(f"  note: {humane(note)}")
    for event in decision.events:
        if event.kind not in _SHOWN_ELSEWHERE and (event.asset, event.instrument) not in covered:
            lines.append(f"  {event.severity} {event.kind}: {humane(event.message)}")
    outcomes = order_outcomes(outcome)
    for order in outcome.orders:
        lines.append(f"  order {_order_name(order)}: {outcomes[order.client_order_id]}")
    for order, reason in outcome.held:
        lines.append(f"  order {_order_name(order)}: HELD ({humane(reason)})")
    if not outcome.orders and not outcome.held:
        noted = any(_notes(hedge) for hedge in decision.plan.hedges)
        lines.append(f"  orders: none ({'see the notes' if noted else 'within band'})")
    return [part for line in lines for part in fit(line)]


def tick_printer(console: Console) -> Callable[[TickOutcome], None]:
    """Print ``tick_lines`` for every tick (plain text: no markup, no highlighting)."""

    def show(outcome: TickOutcome) -> None:
        console.print("\n".join(tick_lines(outcome)), markup=False, highlight=False, soft_wrap=True)

    return show
