from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from bot.core.types import Fill, FundingPayment
from bot.store.repo import Store
from tests.store.conftest import T0

BTC_PERP = "BTC/USD:BTC"
ETH_PERP = "ETH/USD:ETH"


def fill(trade_id: str, minutes: int = 0, symbol: str = BTC_PERP) -> Fill:
    return Fill(
        trade_id=trade_id,
        client_order_id="coid-1",
        exchange_order_id="ex-1",
        symbol=symbol,
        side="sell",
        contracts=Decimal("3"),
        price=Decimal("50000.25"),
        fee=Decimal("0.0000000333"),
        fee_currency="BTC",
        timestamp=T0 + timedelta(minutes=minutes),
    )


def payment(payment_id: str, hours: int = 0, symbol: str = BTC_PERP) -> FundingPayment:
    return FundingPayment(
        payment_id=payment_id,
        symbol=symbol,
        timestamp=T0 + timedelta(hours=hours),
        rate=Decimal("0.0001"),
        position_contracts=Decimal(-1000),
        amount=Decimal("0.000002"),
        currency="BTC",
    )


async def test_record_fills_is_idempotent(store: Store) -> None:
    assert await store.record_fills("default", []) == 0
    assert await store.record_fills("default", [fill("t1", 1), fill("t2", 5)]) == 2
    assert await store.record_fills("default", [fill("t1", 1), fill("t2", 5)]) == 0
    assert await store.record_fills("default", [fill("t2", 5), fill("t3", 3), fill("t3", 3)]) == 1
    # The key is (account, symbol, trade_id): the same trade id elsewhere is another fill.
    assert await store.record_fills("other", [fill("t1")]) == 1
    assert await store.record_fills("default", [fill("t1", symbol=ETH_PERP)]) == 1


async def test_last_fill_time(store: Store) -> None:
    assert await store.last_fill_time("default", BTC_PERP) is None
    await store.record_fills("default", [fill("t1", 10), fill("t2", 2), fill("t3", 30, ETH_PERP)])
    await store.record_fills("other", [fill("t9", 60)])
    assert await store.last_fill_time("default", BTC_PERP) == T0 + timedelta(minutes=10)
    assert await store.last_fill_time("default", ETH_PERP) == T0 + timedelta(minutes=30)
    assert await store.last_fill_time("other", BTC_PERP) == T0 + timedelta(hours=1)


async def test_concurrent_fill_batches(store: Store) -> None:
    """Overlapping batches written at once: every fill stored once, no 'database is locked'."""
    batches = [[fill(f"t{i}", i) for i in range(start, start + 20)] for start in range(0, 50, 5)]
    counts = await asyncio.gather(*(store.record_fills("default", batch) for batch in batches))
    assert sum(counts) == 65
    assert await store.record_fills("default", [fill(f"t{i}") for i in range(65)]) == 0


async def test_record_funding_is_idempotent(store: Store) -> None:
    assert await store.record_funding("default", []) == 0
    assert await store.record_funding("default", [payment("p1", 0), payment("p2", 8)]) == 2
    assert await store.record_funding("default", [payment("p2", 8), payment("p3", 16)]) == 1
    assert await store.record_funding("other", [payment("p1")]) == 1


async def test_last_funding_time(store: Store) -> None:
    assert await store.last_funding_time("default", BTC_PERP) is None
    await store.record_funding(
        "default", [payment("p1", 16), payment("p2", 8), payment("p3", 24, ETH_PERP)]
    )
    assert await store.last_funding_time("default", BTC_PERP) == T0 + timedelta(hours=16)
    assert await store.last_funding_time("default", ETH_PERP) == T0 + timedelta(hours=24)
    assert await store.last_funding_time("other", BTC_PERP) is None
