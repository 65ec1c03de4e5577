from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from bot.core.types import Fill
from bot.store.coltypes import canonical_decimal
from bot.store.repo import Store
from tests.store.conftest import T0

TINY = Decimal("0.000000012345678901234567")
HUGE = Decimal("123456789012345678901234567890123456789.000000000000000000001")  # 60 digits


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (Decimal(0), "0"),
        (Decimal("-0.000"), "0"),
        (Decimal("1.10"), "1.1"),
        (Decimal("100"), "100"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-2.5E-3"), "-0.0025"),
        (TINY, "0.000000012345678901234567"),
        (HUGE, "123456789012345678901234567890123456789.000000000000000000001"),
        (7, "7"),
    ],
)
def test_canonical_decimal(value: Decimal | int, stored: str) -> None:
    assert canonical_decimal(value) == stored
    assert Decimal(stored) == value


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (Decimal("NaN"), ValueError),
        (Decimal("Infinity"), ValueError),
        (0.1, TypeError),
        (True, TypeError),
        ("1.5", TypeError),
    ],
)
def test_canonical_decimal_refuses(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        canonical_decimal(value)  # type: ignore[arg-type]


def _fill(trade_id: str, contracts: Decimal, price: Decimal, ts: datetime) -> Fill:
    return Fill(
        trade_id=trade_id,
        client_order_id=None,
        exchange_order_id=None,
        symbol="BTC/USD:BTC",
        side="sell",
        contracts=contracts,
        price=price,
        fee=Decimal("-0.00000001"),
        fee_currency="BTC",
        timestamp=ts,
    )


async def test_decimals_round_trip_exactly(store: Store) -> None:
    await store.record_fills("default", [_fill("t1", TINY, HUGE, T0)])
    async with store.engine.connect() as connection:
        raw = (await connection.execute(text("SELECT contracts, price, fee FROM fills"))).one()
    assert tuple(raw) == (
        "0.000000012345678901234567",
        "123456789012345678901234567890123456789.000000000000000000001",
        "-0.00000001",
    )
    assert await store.last_fill_time("default", "BTC/USD:BTC") == T0


async def test_aware_datetimes_round_trip_as_utc(store: Store) -> None:
    tokyo = timezone(timedelta(hours=9))
    started = datetime(2026, 3, 4, 14, 30, 0, 123456, tzinfo=tokyo)
    tick_id = await store.start_tick("default", dry_run=True, started_at=started)
    [tick] = await store.recent_ticks("default", 1)
    assert tick.id == tick_id
    assert tick.started_at == started
    assert tick.started_at.tzinfo is UTC
    assert tick.started_at.hour == 5
    assert tick.started_at.microsecond == 123456


async def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await store.start_tick("default", dry_run=False, started_at=datetime(2026, 1, 1))
    assert await store.recent_ticks("default", 5) == []


async def test_float_is_refused(store: Store) -> None:
    fill = replace(_fill("t1", Decimal(1), Decimal(1), T0), price=0.1)  # type: ignore[arg-type]
    with pytest.raises(StatementError, match="expected Decimal or int, got float"):
        await store.record_fills("default", [fill])
    assert await store.last_fill_time("default", "BTC/USD:BTC") is None
