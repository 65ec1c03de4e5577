"""Exchange faults during trading: a 429 burst and a long outage, partial fills, and a
reduce-only rejection. Each ends with the hedge at target, no order sent twice, none too big."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import pytest
from structlog.testing import capture_logs

from bot.core.types import OrderState
from bot.daemon.runner import Daemon
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.retry import RetryPolicy
from tests.integration.conftest import BTC, UNRESOLVED, Bot, Venue, eventually, order_rows

D = Decimal
ORDER_CREATE = "/v5/order/create"
MAX_ORDER_USD = D(20_000)
MAX_TOTAL_SHORT_USD = D(60_000)


async def test_429_burst_and_long_outage_end_without_duplicates_or_oversize(
    bot: Bot, venue: Venue
) -> None:
    config = bot.config(
        exchange={"order_lookup_grace_seconds": 1, "pause_on_unavailable_seconds": 0.3},
        limits={"max_order_usd": MAX_ORDER_USD, "max_total_short_usd": MAX_TOTAL_SHORT_USD},
    )
    # Paced as against Bybit, so that the outage starts while the plan's orders go out.
    runtime = await bot.open(config, paced=True)
    assert isinstance(runtime.port, CcxtPort)
    # Quicker in-call retries than the default, so that the outage is many ticks long.
    runtime.port.retry = RetryPolicy(attempts=3, base_delay_s=0.02, max_delay_s=0.1)
    # Exposure 75,000 USD, capped at 60,000 in orders of at most 20,000. The first three
    # order requests meet HTTP 429 (Retry-After: 1); once an order has filled, every request
    # meets a maintenance page for a while (a 10-minute outage, compressed).
    await venue.fault("http_429", path=ORDER_CREATE, method="POST", count=3, retry_after_s=1)
    daemon = Daemon(runtime.hedger, interval_s=0.1, misfire_grace_s=5)
    outage = 30

    async def start_outage_after_a_fill() -> bool:
        if venue.short() == 0:
            return False
        await venue.fault("maintenance", path="*", count=outage)
        return True

    async def settled() -> bool:
        if await venue.pending_faults():
            return False
        if venue.short() != MAX_TOTAL_SHORT_USD:
            return False
        return not await runtime.store.orders_in_states(
            "default", [OrderState(s) for s in UNRESOLVED]
        )

    with capture_logs() as logs:
        running = asyncio.ensure_future(daemon.run())
        try:
            await eventually(start_outage_after_a_fill, "a first fill")
            await eventually(settled, "the hedge at the cap with every order resolved", 60)
        finally:
            daemon.request_stop("test over")
            stats = await running

    faulted = Counter(kind for _path, kind in venue.fault_requests())
    assert faulted == {"http_429": 3, "maintenance": outage}
    orders = await venue.orders()
    # No client id twice, no order above max_order_usd (1 USD a contract), all filled.
    assert max(Counter(o["orderLinkId"] for o in orders).values()) == 1
    assert [(o["side"], D(o["qty"]), o["state"]) for o in orders] == [
        ("sell", MAX_ORDER_USD, "FILLED")
    ] * 3
    # Sells only, so the short only grew: it reached the cap and never went past it.
    assert venue.short() == sum(D(o["filled"]) for o in orders) == MAX_TOTAL_SHORT_USD
    # Every stored order is resolved; those that did not fill never reached the exchange.
    rows = order_rows(bot.db)
    filled = [cid for cid, state, *_ in rows if state == "FILLED"]
    assert filled == [o["orderLinkId"] for o in orders]
    assert {state for _cid, state, *_ in rows} == {"FILLED", "CANCELLED"}
    # The daemon kept ticking: failed ticks in the outage, paused ones, and it resumed by itself.
    statuses = Counter(status for (status,) in bot.rows("select status from ticks"))
    assert statuses["failed"] >= 1
    assert statuses["skipped"] >= 1
    assert stats.failures == statuses["failed"]
    errors = [error for (error,) in bot.rows("select error from ticks where status = 'failed'")]
    assert all("ExchangeNotAvailable" in error for error in errors), errors  # none cut short
    events = [e["event"] for e in logs]
    assert "trading_paused" in events
    assert "trading_resumed" in events
    assert events.index("trading_resumed") > events.index("trading_paused")
    last_tick = bot.rows("select status from ticks order by id desc limit 1")
    assert last_tick == [("ok",)]


@pytest.mark.parametrize("style", ["market", "limit"])
async def test_partial_fill_remainder_is_never_counted_twice(
    bot: Bot, venue: Venue, style: str
) -> None:
    # The emulator's market clock is manual: a resting remainder fills only when it is moved.
    execution: dict[str, object] = {"style": style}
    if style == "limit":  # a limit at the mark, so it takes at once; re-priced after 50 ms
        execution |= {"limit_offset": 0, "post_only": False, "reprice_after_seconds": 0.05}
    runtime = await bot.open(bot.config(execution=execution))
    hedger = runtime.hedger
    await venue.fault("partial_fill", fraction="0.4")

    first = await hedger.tick()
    [sent] = first.orders
    assert (sent.order_type, sent.contracts) == (style, D(75_000))
    assert venue.short() == 30_000  # 40 % filled, the rest rests
    [row] = await runtime.store.orders_in_states("default", list(OrderState))
    assert (row.state, row.filled_contracts) == (OrderState.PARTIALLY_FILLED, D(30_000))

    if style == "market":
        # The remainder is still working: nothing new goes out on that symbol.
        second = await hedger.tick()
        assert second.orders == ()
        assert [reason for _order, reason in second.held] == [
            "an earlier order on this symbol is unresolved"
        ]
        for _ in range(2):  # two more matches fill the rest
            await venue.post("/admin/clock/advance", {"seconds": 1})
        third = await hedger.tick()
        assert third.orders == ()
        rows = order_rows(bot.db)
        assert [(r[1], r[4]) for r in rows] == [("FILLED", D(75_000))]
        assert venue.short() == 75_000 == first.decision.plan.hedges[0].target_contracts
    else:
        # Stale after 50 ms: cancelled with 30,000 filled, and only what is left re-planned.
        await asyncio.sleep(0.06)
        second = await hedger.tick()
        [hedge] = second.decision.plan.hedges
        assert hedge.current_contracts == 30_000
        [replanned] = second.orders
        assert replanned.contracts == hedge.target_contracts - 30_000
        rows = order_rows(bot.db)
        assert [(r[1], r[4]) for r in rows] == [
            ("CANCELLED", 30_000),
            ("FILLED", replanned.contracts),
        ]
        assert venue.short() == hedge.target_contracts
    assert venue.short() == sum(r[4] for r in order_rows(bot.db))
    assert venue.short() == sum(D(o["filled"]) for o in await venue.orders())


async def test_reduce_only_rejection_during_a_trim_then_the_next_tick_trims(
    bot: Bot, venue: Venue
) -> None:
    runtime = await bot.open()
    hedger = runtime.hedger
    await hedger.tick()
    assert venue.short() == 75_000
    await venue.move("withdraw", "BTC", "0.5")
    target = venue.target()
    await venue.fault("reduce_only")

    rejected = await hedger.tick()  # no exception: the tick records the refusal and ends
    assert rejected.execution is not None
    [(cid, reason)] = rejected.execution.rejected
    assert "110017" in reason
    assert venue.short() == 75_000
    row = await runtime.store.get_order(cid)
    assert row is not None
    assert (row.state, row.side, row.reduce_only) == (OrderState.REJECTED, "buy", True)
    assert row.reject_reason is not None
    assert row.reject_reason.startswith("110017")

    trimmed = await hedger.tick()
    [trim] = trimmed.orders
    assert (trim.side, trim.reduce_only, trim.contracts) == ("buy", True, 75_000 - target)
    assert venue.short() == target
    assert [(o["side"], o["reduceOnly"], o["state"]) for o in await venue.orders()] == [
        ("sell", False, "FILLED"),
        ("buy", True, "FILLED"),
    ]
    assert [r[1] for r in order_rows(bot.db)] == ["FILLED", "REJECTED", "FILLED"]
    assert {status for (status,) in bot.rows("select status from ticks")} == {"ok"}
    assert (await runtime.port.fetch_positions([BTC]))[BTC].contracts == -target
