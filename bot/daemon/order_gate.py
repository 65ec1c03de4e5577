"""Which of a tick's planned orders may go out, and when a limit order gives way to a market one.

The holds the daemon adds to the plan before it trades: the kill switch, shorts that may not
grow (their margin move did not complete, their leverage could not be set, the read that sized
them is in doubt), the pre-trade screen (``bot.core.risk``) and the deadline after which a gap
worked with limit orders is closed at market (``execution.market_after_seconds``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import structlog

from bot.config.models import LimitsConfig
from bot.core.risk import Screened, price_disagreement, screen_orders
from bot.core.types import PlannedOrder, Snapshot

# The tick's logger: these events are part of the tick's log, as in ``decision_log``.
log = structlog.get_logger("bot.daemon.tick")
UNFUNDED = "the collateral move funding its margin did not complete"  # why an increase waits


def kill_switch_on(limits: LimitsConfig, environ: Mapping[str, str]) -> bool:
    """The kill switch file exists, or its environment variable is "1"."""
    if limits.kill_switch_file is not None and limits.kill_switch_file.exists():
        return True
    return bool(limits.kill_switch_env) and environ.get(limits.kill_switch_env or "") == "1"


def held_increases(
    snapshot: Snapshot,
    orders: Sequence[PlannedOrder],
    *,
    incomplete_coins: set[str],
    unprepared: Mapping[str, str],
    held_everywhere: str | None,
) -> dict[str, str]:
    """Symbols where no short may grow this tick, with why: inverse contracts settled in a coin
    whose collateral move did not complete, symbols not prepared (``unprepared``), and every
    ordered symbol when ``held_everywhere`` (a data error) says so."""
    unfunded = {
        symbol: UNFUNDED
        for symbol, market in snapshot.markets.items()
        if market.is_inverse and market.settle in incomplete_coins
    }
    unfunded.update(unprepared)
    if held_everywhere is not None:  # a data error: no short may grow anywhere
        unfunded.update({order.symbol: held_everywhere for order in orders})
    return unfunded


def screen_plan(
    orders: Sequence[PlannedOrder],
    snapshot: Snapshot,
    *,
    kill: bool,
    blocked: frozenset[str],
    paused: bool,
    held: Mapping[str, str],
    hold_all: str | None,
    max_slippage: Decimal,
) -> Screened:
    """``screen_orders`` on the plan (an operator pause blocks every symbol), each hold logged."""
    screened = screen_orders(
        orders,
        kill_switch=kill,
        blocked_symbols=blocked if not paused else blocked | {o.symbol for o in orders},
        slippage={s: price_disagreement(t.last, t.mark) for s, t in snapshot.tickers.items()},
        max_slippage=max_slippage,
        held_increases=held,
        hold_all=hold_all,
    )
    for order, reason in screened.held:
        log.warning(
            "order_held",
            symbol=order.symbol,
            side=order.side,
            contracts=str(order.contracts),
            reduce_only=order.reduce_only,
            reason=reason,
        )
    return screened


def past_deadline(
    working_since: dict[str, datetime],
    orders: Sequence[PlannedOrder],
    now: datetime,
    deadline: timedelta,
) -> frozenset[str]:
    """Symbols worked with limit orders for at least ``deadline``. ``working_since`` (symbol ->
    first limit order of the current gap) is updated in place."""
    symbols = {order.symbol for order in orders}
    for symbol in list(working_since):
        if symbol not in symbols:
            del working_since[symbol]  # the hedge got there: the next gap starts afresh
    for symbol in symbols:
        working_since.setdefault(symbol, now)
    return frozenset(s for s in symbols if now - working_since[s] >= deadline)
