from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.core.types import OrderState, OrderStatus, PlannedOrder
from bot.store.repo import DuplicateOrderError, OrderRecord, Store, UnknownOrderError
from tests.store.conftest import T0, StepClock

BTC_PERP = "BTC/USD:BTC"


def planned(coid: str, contracts: str = "10") -> PlannedOrder:
    return PlannedOrder(BTC_PERP, "sell", Decimal(contracts), False, coid, "rebalance")


async def test_add_planned_orders_persists_and_returns_them(store: Store) -> None:
    tick_id = await store.start_tick("default", False, T0)
    records = await store.add_planned_orders(
        tick_id, "default", [planned("a", "12.5"), planned("b", "1")], OrderState.PENDING, T0
    )
    assert [r.client_order_id for r in records] == ["a", "b"]
    stored = await store.get_order("a")
    assert stored == records[0]
    assert stored == OrderRecord(
        id=records[0].id,
        client_order_id="a",
        account="default",
        tick_id=tick_id,
        symbol=BTC_PERP,
        side="sell",
        contracts=Decimal("12.5"),
        reduce_only=False,
        order_type="market",
        limit_price=None,
        state=OrderState.PENDING,
        exchange_order_id=None,
        filled_contracts=Decimal(0),
        average_price=None,
        fee=Decimal(0),
        fee_currency=None,
        reason="rebalance",
        reject_reason=None,
        created_at=T0,
        updated_at=T0,
        sent_at=None,
    )
    assert not stored.is_terminal
    assert await store.get_order("missing") is None
    assert await store.add_planned_orders(tick_id, "default", [], OrderState.PENDING, T0) == []


async def test_existing_client_order_id_is_refused_and_nothing_written(store: Store) -> None:
    await store.add_planned_orders(None, "default", [planned("a")], OrderState.PENDING, T0)
    with pytest.raises(DuplicateOrderError, match="already stored: a") as caught:
        await store.add_planned_orders(
            None, "default", [planned("new"), planned("a")], OrderState.PENDING, T0
        )
    assert caught.value.client_order_ids == ("a",)
    assert await store.get_order("new") is None
    # Not even under another account: client order ids are unique per database.
    with pytest.raises(DuplicateOrderError):
        await store.add_planned_orders(None, "other", [planned("a")], OrderState.DRY_RUN, T0)


async def test_client_order_id_repeated_in_a_batch_is_refused(store: Store) -> None:
    with pytest.raises(DuplicateOrderError, match="repeated within the batch: x"):
        await store.add_planned_orders(
            None, "default", [planned("x"), planned("y"), planned("x")], OrderState.PENDING, T0
        )
    assert await store.orders_in_states("default", OrderState) == []


async def test_concurrent_inserts_of_one_client_order_id(store: Store) -> None:
    """Two writers racing on one id: exactly one row, the loser gets DuplicateOrderError."""
    results = await asyncio.gather(
        *(
            store.add_planned_orders(None, "default", [planned("race")], OrderState.PENDING, T0)
            for _ in range(4)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, list) for r in results) == 1
    assert sum(isinstance(r, DuplicateOrderError) for r in results) == 3
    assert len(await store.orders_in_states("default", OrderState)) == 1


async def test_update_order_from_exchange_status(store: Store, clock: StepClock) -> None:
    await store.add_planned_orders(None, "default", [planned("a", "10")], OrderState.PENDING, T0)
    sent_at = T0 + timedelta(seconds=1)
    sent = await store.update_order("a", state=OrderState.OPEN, sent_at=sent_at)
    assert (sent.state, sent.sent_at, sent.updated_at) == (OrderState.OPEN, sent_at, clock.now)

    status = OrderStatus(
        client_order_id="a",
        exchange_order_id="ex-1",
        symbol=BTC_PERP,
        side="sell",
        state=OrderState.PARTIALLY_FILLED,
        contracts=Decimal(10),
        filled_contracts=Decimal(4),
        average_price=Decimal("50000.5"),
        fee=Decimal("0.0000004"),
        fee_currency="BTC",
    )
    partial = await store.update_order("a", status)
    assert (partial.state, partial.exchange_order_id, partial.filled_contracts) == (
        OrderState.PARTIALLY_FILLED,
        "ex-1",
        Decimal(4),
    )
    assert (partial.average_price, partial.fee, partial.fee_currency) == (
        Decimal("50000.5"),
        Decimal("0.0000004"),
        "BTC",
    )
    assert partial.sent_at == sent_at  # untouched by a status update

    explicit_time = T0 + timedelta(hours=1)
    rejected = await store.update_order(
        "a",
        OrderStatus("a", None, BTC_PERP, "sell", OrderState.OPEN, Decimal(10), Decimal(4)),
        state=OrderState.REJECTED,
        reject_reason="post-only would cross",
        updated_at=explicit_time,
    )
    assert (rejected.state, rejected.reject_reason, rejected.updated_at) == (
        OrderState.REJECTED,
        "post-only would cross",
        explicit_time,
    )
    assert rejected.exchange_order_id == "ex-1"  # a status without an id keeps the known one
    assert rejected.is_terminal
    assert await store.get_order("a") == rejected


async def test_update_order_errors(store: Store) -> None:
    with pytest.raises(UnknownOrderError):
        await store.update_order("nope", state=OrderState.OPEN)
    await store.add_planned_orders(None, "default", [planned("a")], OrderState.PENDING, T0)
    other = OrderStatus("b", None, BTC_PERP, "sell", OrderState.OPEN, Decimal(10))
    with pytest.raises(ValueError, match="status is for 'b'"):
        await store.update_order("a", other)


async def test_every_order_state_is_storable(store: Store) -> None:
    orders = [planned(f"o-{state.value}") for state in OrderState]
    await store.add_planned_orders(None, "default", orders, OrderState.PENDING, T0)
    for state in OrderState:
        await store.update_order(f"o-{state.value}", state=state)
    for state in OrderState:
        [record] = await store.orders_in_states("default", [state])
        assert record.client_order_id == f"o-{state.value}"


async def test_orders_in_states(store: Store) -> None:
    for minute, coid in enumerate(["a", "b", "c", "d"]):
        await store.add_planned_orders(
            None, "default", [planned(coid)], OrderState.PENDING, T0 - timedelta(minutes=minute)
        )
    await store.add_planned_orders(None, "other", [planned("z")], OrderState.PENDING, T0)
    await store.update_order("b", state=OrderState.UNKNOWN)
    await store.update_order("c", state=OrderState.FILLED)

    open_states = [OrderState.PENDING, OrderState.OPEN, OrderState.UNKNOWN]
    found = await store.orders_in_states("default", open_states)
    assert [o.client_order_id for o in found] == ["d", "b", "a"]  # oldest first
    assert [o.client_order_id for o in await store.orders_in_states("other", open_states)] == ["z"]
    assert await store.orders_in_states("default", []) == []
