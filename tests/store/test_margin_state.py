"""``margin_state`` on SQLite and PostgreSQL: exact round trip, one row per instrument per tick,
deleted with its tick, and what ``hedgebot status`` makes of it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.margin import InstrumentMargin
from bot.store.db import create_engine, current_revision, downgrade, head_revision, upgrade
from bot.store.margin_models import MarginStateRow
from bot.store.models import TickRow
from bot.store.repo import Store
from bot.store.rule_repo import RuleRecords
from bot.store.status_query import account_status
from tests.store.conftest import T0

BTC = InstrumentMargin(
    instrument="BTC/USD:BTC",
    coin="BTC",
    balance=Decimal("0.123456789012345678901234567"),
    equity=Decimal("0.1200000000000000000000000001"),
    required=Decimal("0.6759900000000000000000000003"),
    short_usd=Decimal("99900"),
    shortfall_usd=Decimal("1100000.045009990009990"),
    coins_missing=Decimal("2.850000000000000000009"),
)
ETH = InstrumentMargin(
    instrument="ETH/USD:ETH",
    coin="ETH",
    balance=Decimal(6),
    equity=Decimal(6),
    required=Decimal(0),
    short_usd=Decimal(0),
)


async def test_margin_state_round_trips_exactly(store: Store) -> None:
    records = RuleRecords(store.engine)
    tick_id = await store.start_tick("default", False, T0)
    other = await store.start_tick("other", False, T0)
    await records.record_margin_state(tick_id, "default", [BTC, ETH])
    await records.record_margin_state(other, "other", [ETH])
    assert await records.margin_state(tick_id) == [BTC, ETH]
    assert await records.margin_state(other) == [ETH]
    async with AsyncSession(store.engine) as session:
        accounts = (await session.scalars(select(MarginStateRow.account))).all()
    assert sorted(accounts) == ["default", "default", "other"]


async def test_no_views_write_nothing(store: Store) -> None:
    records = RuleRecords(store.engine)
    tick_id = await store.start_tick("default", False, T0)
    await records.record_margin_state(tick_id, "default", [])
    assert await records.margin_state(tick_id) == []


async def test_one_row_per_instrument_per_tick(store: Store) -> None:
    records = RuleRecords(store.engine)
    tick_id = await store.start_tick("default", False, T0)
    await records.record_margin_state(tick_id, "default", [BTC])
    with pytest.raises(IntegrityError):
        await records.record_margin_state(tick_id, "default", [BTC])
    with pytest.raises(IntegrityError):
        await records.record_margin_state(tick_id + 100, "default", [BTC])  # no such tick


async def test_rows_are_deleted_with_their_tick(store: Store) -> None:
    records = RuleRecords(store.engine)
    tick_id = await store.start_tick("default", False, T0)
    await records.record_margin_state(tick_id, "default", [BTC, ETH])
    async with AsyncSession(store.engine) as session, session.begin():
        await session.execute(delete(TickRow).where(TickRow.id == tick_id))
    async with AsyncSession(store.engine) as session:
        assert await session.scalar(select(func.count()).select_from(MarginStateRow)) == 0


async def test_status_shows_margin_without_a_short(store: Store) -> None:
    """An inverse hedge with a margin view and no short yet: wallet figures, no liquidation."""
    records = RuleRecords(store.engine)
    tick_id = await store.start_tick("default", False, T0)
    await records.record_margin_state(tick_id, "default", [BTC])
    await store.finish_tick(tick_id, "ok", T0)
    state = await account_status(store.engine, "default")
    assert state["margin"] == [
        {
            "symbol": "BTC/USD:BTC",
            "coin": "BTC",
            "balance": "0.123456789012345678901234567",
            "equity": "0.1200000000000000000000000001",
            "required": "0.6759900000000000000000000003",
            "short_usd": "99900",
            "shortfall_usd": "1100000.04500999000999",
            "coins_missing": "2.850000000000000000009",
            "mark_price": None,
            "liquidation_price": None,
            "liquidation_source": None,
            "own_liquidation_price": None,
            "formula": None,
            "distance": None,
            "margin_ratio": None,
        }
    ]
    assert state["collateral_actions"] == []


async def _tables(url: str) -> tuple[str | None, set[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        return await current_revision(engine), tables
    finally:
        await engine.dispose()


async def test_migration_0005_up_and_down(db_url: str) -> None:
    await upgrade(db_url, "0005")
    revision, tables = await _tables(db_url)
    assert (revision, "margin_state" in tables) == ("0005", True)
    await downgrade(db_url, "0004")
    revision, tables = await _tables(db_url)
    assert (revision, "margin_state" in tables, "collateral_actions" in tables) == (
        "0004",
        False,
        True,
    )
    await upgrade(db_url)
    assert (await _tables(db_url))[0] == head_revision()
