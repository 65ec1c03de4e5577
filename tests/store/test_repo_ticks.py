from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.types import (
    Exposure,
    FundingRate,
    HedgeTarget,
    InstrumentHedge,
    MarginWallet,
    Market,
    OrderState,
    PlannedOrder,
    Position,
    Snapshot,
)
from bot.store.models import (
    ExposureRow,
    InstrumentHedgeRow,
    SnapshotRow,
    TargetRow,
    TickRow,
    TickStatus,
)
from bot.store.repo import Store, TickStateError, UnknownTickError
from tests.store.conftest import T0

BTC_PERP = "BTC/USD:BTC"
ETH_PERP = "ETH/USD:ETH"

SNAPSHOT = Snapshot(
    taken_at=T0,
    spot={"BTC": Decimal("1.50000000"), "ETH": Decimal("10")},
    static={"BTC": Decimal("0.25")},
    margin={"BTC": MarginWallet("BTC", Decimal("0.1"), Decimal("-0.00012345"))},
    positions={
        BTC_PERP: Position(
            BTC_PERP, Decimal(-1000), Decimal("50000.5"), margin_mode="cross", hedge_mode=False
        )
    },
    prices={"BTC": Decimal("50000.123456789"), "ETH": Decimal("3000")},
    markets={BTC_PERP: Market(BTC_PERP, "BTC", "USD", "BTC", "inverse", Decimal(100))},
    funding={BTC_PERP: FundingRate(BTC_PERP, Decimal("0.0001"), Decimal(8), T0)},
    unknown_positions=frozenset({ETH_PERP, "SOL/USD:SOL"}),
)
EXPOSURES = [
    Exposure("BTC", Decimal("1.75"), Decimal("0.09987655"), Decimal("50000.123456789")),
    Exposure("ETH", Decimal(10), Decimal(0), Decimal(3000)),
]
TARGETS = [
    HedgeTarget("BTC", BTC_PERP, Decimal("0.5"), Decimal("46000"), reason="plain"),
    HedgeTarget(
        "ETH", BTC_PERP, Decimal("0.3"), Decimal("8000"), Decimal("0.8"), Decimal("0.9"), True
    ),
]
HEDGES = [
    InstrumentHedge(
        BTC_PERP, Decimal(54000), Decimal(50000), Decimal(540), Decimal(500), ("a", "b")
    )
]


async def test_tick_lifecycle(store: Store) -> None:
    tick_id = await store.start_tick("default", dry_run=True, started_at=T0)
    [running] = await store.recent_ticks("default", 10)
    assert (running.id, running.status, running.dry_run) == (tick_id, TickStatus.RUNNING, True)
    assert running.finished_at is None

    finished_at = T0 + timedelta(seconds=3)
    await store.finish_tick(tick_id, "failed", finished_at, "boom", exchange_time=T0)
    [done] = await store.recent_ticks("default", 10)
    assert (done.status, done.finished_at, done.error, done.exchange_time) == (
        TickStatus.FAILED,
        finished_at,
        "boom",
        T0,
    )

    with pytest.raises(TickStateError, match="already finished as 'failed'"):
        await store.finish_tick(tick_id, TickStatus.OK, finished_at)
    with pytest.raises(UnknownTickError):
        await store.finish_tick(tick_id + 1000, TickStatus.OK, finished_at)
    with pytest.raises(ValueError, match="running"):
        await store.finish_tick(tick_id, TickStatus.RUNNING, finished_at)
    with pytest.raises(ValueError, match="not a valid TickStatus"):
        await store.finish_tick(tick_id, "done", finished_at)


async def test_recent_ticks_newest_first_per_account(store: Store) -> None:
    ids = [
        await store.start_tick("default", False, T0 + timedelta(minutes=minute))
        for minute in (1, 3, 2)
    ]
    await store.start_tick("other", False, T0 + timedelta(minutes=9))
    recent = await store.recent_ticks("default", 2)
    assert [tick.id for tick in recent] == [ids[1], ids[2]]
    assert {tick.account for tick in await store.recent_ticks("other", 10)} == {"other"}
    assert await store.recent_ticks("nobody", 10) == []


async def test_record_tick_state(store: Store) -> None:
    tick_id = await store.start_tick("acct-1", False, T0)
    await store.record_tick_state(tick_id, SNAPSHOT, EXPOSURES, TARGETS, HEDGES)

    async with AsyncSession(store.engine) as session:
        snapshot = await session.scalar(select(SnapshotRow))
        exposures = (await session.scalars(select(ExposureRow).order_by(ExposureRow.asset))).all()
        targets = (await session.scalars(select(TargetRow).order_by(TargetRow.asset))).all()
        [hedge] = (await session.scalars(select(InstrumentHedgeRow))).all()

    assert snapshot is not None
    assert (snapshot.tick_id, snapshot.account, snapshot.taken_at) == (tick_id, "acct-1", T0)
    assert snapshot.spot == {"BTC": "1.5", "ETH": "10"}
    assert snapshot.static == {"BTC": "0.25"}
    assert snapshot.margin == {
        "BTC": {"coin": "BTC", "balance": "0.1", "unrealized_pnl": "-0.00012345"}
    }
    assert snapshot.positions[BTC_PERP]["contracts"] == "-1000"
    assert snapshot.positions[BTC_PERP]["entry_price"] == "50000.5"
    assert snapshot.positions[BTC_PERP]["mark_price"] is None
    assert snapshot.positions[BTC_PERP]["hedge_mode"] is False
    assert snapshot.prices == {"BTC": "50000.123456789", "ETH": "3000"}
    assert snapshot.funding[BTC_PERP]["next_funding_time"] == "2026-01-02T03:04:05.678901+00:00"
    assert snapshot.unknown_positions == [ETH_PERP, "SOL/USD:SOL"]

    assert [(e.asset, e.spot, e.collateral, e.price, e.exposure_usd) for e in exposures] == [
        (x.asset, x.spot, x.collateral, x.price, x.exposure_usd) for x in EXPOSURES
    ]
    assert exposures[0].exposure_usd == Decimal("1.84987655") * Decimal("50000.123456789")
    assert {e.account for e in exposures} == {"acct-1"}
    assert [(t.ratio, t.beta, t.rho, t.proxy, t.reason) for t in targets] == [
        (Decimal("0.5"), Decimal(1), None, False, "plain"),
        (Decimal("0.3"), Decimal("0.8"), Decimal("0.9"), True, ""),
    ]
    assert (hedge.target_contracts, hedge.current_contracts, hedge.notes) == (
        Decimal(540),
        Decimal(500),
        ["a", "b"],
    )

    with pytest.raises(TickStateError, match="already recorded"):
        await store.record_tick_state(tick_id, SNAPSHOT, [], [], [])
    with pytest.raises(UnknownTickError):
        await store.record_tick_state(tick_id + 1000, SNAPSHOT, [], [], [])


async def _count(store: Store, model: type[object]) -> int:
    async with AsyncSession(store.engine) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_record_tick_state_is_one_transaction(store: Store) -> None:
    tick_id = await store.start_tick("default", False, T0)
    with pytest.raises(IntegrityError):  # two hedges on one instrument: the last insert fails
        await store.record_tick_state(tick_id, SNAPSHOT, EXPOSURES, TARGETS, HEDGES * 2)
    for model in (SnapshotRow, ExposureRow, TargetRow, InstrumentHedgeRow):
        assert await _count(store, model) == 0
    await store.record_tick_state(tick_id, SNAPSHOT, EXPOSURES, TARGETS, HEDGES)
    assert await _count(store, ExposureRow) == 2


async def test_deleting_a_tick_cascades_but_keeps_its_orders(store: Store) -> None:
    tick_id = await store.start_tick("default", False, T0)
    await store.record_tick_state(tick_id, SNAPSHOT, EXPOSURES, TARGETS, HEDGES)
    order = PlannedOrder(BTC_PERP, "sell", Decimal(40), False, "coid-1")
    await store.add_planned_orders(tick_id, "default", [order], OrderState.PENDING, T0)

    async with AsyncSession(store.engine) as session, session.begin():
        await session.execute(delete(TickRow).where(TickRow.id == tick_id))

    for model in (SnapshotRow, ExposureRow, TargetRow, InstrumentHedgeRow):
        assert await _count(store, model) == 0
    kept = await store.get_order("coid-1")
    assert kept is not None
    assert kept.tick_id is None
