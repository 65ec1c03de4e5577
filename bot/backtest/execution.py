"""A replay's decision carried out on the simulated exchange as the daemon's tick carries it out:
the collateral actions first, then the orders screened (slippage; increases held while their
margin coin's funding failed) and sent."""

from __future__ import annotations

from decimal import Decimal

from bot.backtest.collateral import UsageWindow, execute_actions
from bot.backtest.run_types import Activity
from bot.core.risk import price_disagreement, screen_orders
from bot.core.types import PlannedOrder, Snapshot
from bot.daemon.decide import Decision
from bot.daemon.execute import order_request
from bot.daemon.order_gate import UNFUNDED, held_increases
from bot.sim.engine import SimExchange
from bot.sim.errors import RejectError


def execute_decision(
    sim: SimExchange,
    decision: Decision,
    snapshot: Snapshot,
    usage: UsageWindow,
    activity: Activity,
    max_slippage: Decimal,
) -> bool:
    """Run ``decision`` on ``sim`` (``snapshot``: the one it was made from, with tickers),
    counting in ``usage`` and ``activity``. True when an order went out or a coin moved."""
    unfunded, moved = move_collateral(sim, decision, snapshot, usage, activity)
    tickers = snapshot.tickers  # screen_orders reads the slippage of the orders' symbols
    ordered = {order.symbol for order in decision.plan.orders}
    screened = screen_orders(
        decision.plan.orders,
        kill_switch=False,
        slippage={
            s: price_disagreement(tickers[s].last, tickers[s].mark) for s in ordered if s in tickers
        },
        max_slippage=max_slippage,
        held_increases=unfunded,
    )
    activity.held += len(screened.held)
    activity.held_unfunded += sum(reason == UNFUNDED for _, reason in screened.held)
    for order in screened.allowed:
        send_order(sim, order, activity)
    return bool(screened.allowed) or moved


def move_collateral(
    sim: SimExchange,
    decision: Decision,
    snapshot: Snapshot,
    usage: UsageWindow,
    activity: Activity,
) -> tuple[dict[str, str], bool]:
    """Run the decision's collateral actions on the engine: the symbols whose increases
    must wait (their coin's funding failed, as the daemon's tick holds them) and whether
    any coin moved."""
    if not decision.collateral.actions:
        return {}, False
    outcome = execute_actions(sim, decision.collateral.actions)
    for done in outcome.done:
        usage.add(done)
    activity.collateral.extend(outcome.done)
    unfunded = held_increases(  # as the daemon's tick: increases wait, reductions go out
        snapshot,
        decision.plan.orders,
        incomplete_coins=outcome.failed_coins,
        unprepared={},
        held_everywhere=None,
    )
    return unfunded, outcome.changed


def send_order(sim: SimExchange, order: PlannedOrder, activity: Activity) -> None:
    """Place ``order`` (counted in ``activity.orders``); a reject is recorded, not raised."""
    try:
        sim.create_order(order_request(order))  # the daemon's request (decide's are at market)
        activity.orders += 1
    except RejectError as exc:
        when = f"{sim.now:%Y-%m-%d %H:%M}"
        activity.rejected.append(f"{when} {order.side} {order.contracts} {order.symbol}: {exc}")
