"""Orders are never lost or doubled: a lost acknowledgement, and a daemon killed with SIGKILL
between persisting an order and sending it, or between sending it and recording the answer."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from decimal import Decimal

import pytest

from bot.core.types import OrderState
from bot.daemon.runner import Daemon
from tests.integration.conftest import (
    UNRESOLVED,
    Bot,
    DaemonProcess,
    Venue,
    eventually,
    order_rows,
)

D = Decimal
ORDER_CREATE = "/v5/order/create"
# Where ``CcxtPort.fetch_order_by_client_id`` looks first: failing it fails the whole lookup.
OPEN_ORDERS = "/v5/order/realtime"


async def test_lost_ack_with_failed_lookup_is_resolved_after_a_restart(
    bot: Bot, venue: Venue
) -> None:
    runtime = await bot.open()
    target = venue.target()  # what the first plan aims at (its fee then moves it a little)
    # The order is placed but its answer never arrives (connection dropped), and the lookup
    # that follows fails too (every try of the retry policy meets a maintenance page; the
    # faults left over are cleared before the restart).
    await venue.fault("lost_response", path=ORDER_CREATE, drop=True)
    await venue.fault("maintenance", path=OPEN_ORDERS, method="GET", count=20)
    outcome = await runtime.hedger.tick()

    assert outcome.execution is not None
    [cid] = outcome.execution.unknown
    lost, *lookups = venue.fault_requests()
    assert lost == (ORDER_CREATE, "lost_response")
    assert lookups
    assert set(lookups) == {(OPEN_ORDERS, "maintenance")}
    [row] = await runtime.store.orders_in_states("default", list(OrderState))
    assert (row.client_order_id, row.state) == (cid, OrderState.UNKNOWN)
    assert venue.short() == 75_000  # the order did go through

    # Restart: a new runtime on the same database and the same emulator.
    await bot.close(runtime)
    await venue.clear_faults()
    runtime = await bot.open()
    outcome = await runtime.hedger.tick()

    assert outcome.orders == ()  # the order was found by its client id, not sent again
    orders = await venue.orders()
    assert [(o["orderLinkId"], o["state"], D(o["filled"])) for o in orders] == [
        (cid, "FILLED", D(75_000))
    ]
    [row] = await runtime.store.orders_in_states("default", list(OrderState))
    assert (row.client_order_id, row.state, row.filled_contracts) == (
        cid,
        OrderState.FILLED,
        D(75_000),
    )
    assert abs(venue.short() - target) <= 1


@pytest.mark.parametrize(
    ("fault", "moment"),
    [
        ("timeout", "persisted, never sent"),  # the emulator holds the request unprocessed
        ("lost_response", "sent, ack never recorded"),  # processed, then the answer stalls
    ],
)
async def test_sigkill_then_restart_sends_each_order_once(
    bot: Bot, venue: Venue, processes: list[DaemonProcess], fault: str, moment: str
) -> None:
    config = bot.write(exchange={"timeout_ms": 20_000, "order_lookup_grace_seconds": 0})
    target = venue.target()
    await venue.fault(fault, path=ORDER_CREATE, delay_s=60)
    first = await DaemonProcess.start(config)
    processes.append(first)

    async def pending_and_held() -> bool:
        rows = await asyncio.to_thread(order_rows, bot.db)
        return [r[1] for r in rows] == ["PENDING"] and venue.fault_requests() == [
            (ORDER_CREATE, fault)
        ]

    await eventually(pending_and_held, f"a PENDING row and the held request ({moment})")
    os.kill(first.pid, signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    [(killed_cid, state, *_)] = order_rows(bot.db)
    assert state == "PENDING"
    placed_before_restart = [o["orderLinkId"] for o in await venue.orders()]
    assert placed_before_restart == ([] if fault == "timeout" else [killed_cid])

    await venue.clear_faults()
    second = await DaemonProcess.start(config, "--ticks", "2")
    processes.append(second)
    assert await second.wait() == 0, second.err[-3000:]

    orders = await venue.orders()
    ids = Counter(o["orderLinkId"] for o in orders)
    assert max(ids.values()) == 1  # exactly one order per client id
    assert sum(D(o["filled"]) for o in orders) == venue.short()  # nothing else moved it
    assert abs(venue.short() - target) <= 1  # no two orders cover the same gap
    rows = order_rows(bot.db)
    assert not [r for r in rows if r[1] in UNRESOLVED]
    states = {cid: state for cid, state, *_ in rows}
    if fault == "timeout":  # never reached the exchange: closed, and the gap re-planned once
        assert '"event": "order_never_arrived"' in second.err
        assert states[killed_cid] == "CANCELLED"
        assert [o["orderLinkId"] for o in orders] == [c for c, s in states.items() if s == "FILLED"]
        assert len(orders) == 1
    else:  # it was placed: found by its client id and recorded, nothing sent again
        assert '"event": "order_reconciled"' in second.err
        assert states == {killed_cid: "FILLED"}
        assert [o["orderLinkId"] for o in orders] == [killed_cid]


async def test_a_stop_requested_mid_send_lets_the_tick_finish(bot: Bot, venue: Venue) -> None:
    """SIGINT/SIGTERM call ``request_stop``: the order in flight is answered and recorded."""
    runtime = await bot.open()
    # The order is placed and its answer held for 0.5 s (the client waits up to 1.5 s).
    await venue.fault("lost_response", path=ORDER_CREATE, delay_s=0.5)
    daemon = Daemon(runtime.hedger, interval_s=0.1, misfire_grace_s=5)
    running = asyncio.ensure_future(daemon.run())

    async def in_flight() -> bool:
        return venue.fault_requests() == [(ORDER_CREATE, "lost_response")]

    try:
        await eventually(in_flight, "the order request in flight")
    finally:
        daemon.request_stop("SIGTERM")
        stats = await running

    assert (stats.ticks, stats.failures) == (1, 0)
    assert bot.rows("select status, error from ticks") == [("ok", None)]
    [(cid, state, side, contracts, filled, _reduce_only)] = order_rows(bot.db)
    assert (state, side, contracts, filled) == ("FILLED", "sell", D(75_000), D(75_000))
    assert [o["orderLinkId"] for o in await venue.orders()] == [cid]
