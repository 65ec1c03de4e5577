"""The ledger's records on SQLite and PostgreSQL: adoptions and the fills summed from orders,
final ones once, unfinished ones read again until they are final."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.core.ledger import in_flight
from bot.core.types import OrderState, OrderStatus, PlannedOrder
from bot.daemon.ledger_watch import LedgerWatch
from bot.store.ledger_repo import Adoption, LedgerRecords
from bot.store.repo import Store
from tests.store.conftest import T0

BTC = "BTC/USD:BTC"
ETH = "ETH/USD:ETH"
D = Decimal


def order(cid: str, symbol: str, side: str, contracts: str) -> PlannedOrder:
    return PlannedOrder(symbol, side, D(contracts), False, cid, "test")  # type: ignore[arg-type]


async def fill(
    store: Store, cid: str, symbol: str, side: str, filled: str, state: OrderState
) -> None:
    record = await store.get_order(cid)
    assert record is not None
    status = OrderStatus(cid, None, symbol, side, state, record.contracts, D(filled))  # type: ignore[arg-type]
    await store.update_order(cid, status)


async def test_adoptions_and_fills_make_the_ledger(store: Store) -> None:
    records = LedgerRecords(store.engine)
    watch = LedgerWatch(records, "default")
    tick = await store.start_tick("default", False, T0)
    await store.add_planned_orders(
        tick,
        "default",
        [
            order("a", BTC, "sell", "100"),
            order("b", BTC, "buy", "30"),
            order("c", ETH, "sell", "9"),
        ],
        OrderState.PENDING,
        T0,
    )
    await fill(store, "a", BTC, "sell", "100", OrderState.FILLED)
    await fill(store, "b", BTC, "buy", "10", OrderState.PARTIALLY_FILLED)
    ledger, unfinished = await watch.positions()
    flying = in_flight(unfinished)
    assert ledger == {BTC: D(-90), ETH: D(0)}  # c has not filled yet
    assert flying == {BTC: D(20), ETH: D(9)}
    assert watch.folded_upto == 1  # a is final and summed once; b and c are read again
    await fill(store, "b", BTC, "buy", "30", OrderState.FILLED)
    await fill(store, "c", ETH, "sell", "9", OrderState.FILLED)
    ledger, unfinished = await watch.positions()
    assert ledger == {BTC: D(-70), ETH: D(-9)}
    assert unfinished == []
    # An adoption is the new origin: only orders created from then on count.
    later = T0 + timedelta(minutes=5)
    await records.adopt("default", [Adoption(ETH, D(-50), later, "test")])
    assert (await records.adoptions("default"))[ETH] == Adoption(ETH, D(-50), later, "test")
    watch.adopted = None
    ledger, _ = await watch.positions()
    assert ledger == {BTC: D(-70), ETH: D(-50)}
    assert (await records.adoptions("other")) == {}
