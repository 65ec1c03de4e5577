"""The standard error of β on SQLite and PostgreSQL: stored with each estimate and each target
(NULL when there is none or it is not finite), and what ``hedgebot status`` shows of it."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.types import HedgeTarget, Snapshot
from bot.stats.beta import BetaEstimate
from bot.store.db import create_engine, current_revision, downgrade, upgrade
from bot.store.models import TargetRow
from bot.store.repo import Store
from bot.store.rule_repo import RuleRecords
from bot.store.status_query import account_status
from tests.store.conftest import T0

BTC_PERP = "BTC/USD:BTC"


def estimate(beta_se: float | None, beta: float | None = 1.25) -> BetaEstimate:
    return BetaEstimate(
        state="ok" if beta is not None else "insufficient_data",
        beta=beta,
        rho=None if beta is None else 0.8,
        n=240,
        window=240,
        method="ols",
        half_life=None,
        horizon_seconds=3600,
        data_start=T0 - timedelta(hours=240),
        data_end=T0,
        estimated_at=T0,
        beta_se=beta_se,
    )


async def test_each_estimate_stores_its_standard_error(store: Store) -> None:
    records = RuleRecords(store.engine)
    await records.record_beta_estimate("default", "SOL", "BTC", estimate(0.0312499))
    await records.record_beta_estimate("default", "WIF", "BTC", estimate(math.inf))  # n < 3
    await records.record_beta_estimate("default", "ETH", "BTC", estimate(None, beta=None))
    rows = {row.asset: row for row in await records.latest_beta_estimates("default")}
    assert rows["SOL"].beta_se == 0.0312499
    assert rows["WIF"].beta_se is None
    assert rows["ETH"].beta_se is None


async def test_each_target_stores_its_standard_error(store: Store) -> None:
    tick_id = await store.start_tick("default", False, T0)
    targets = [
        HedgeTarget(
            "SOL", BTC_PERP, Decimal(1), Decimal(1000), proxy=True, beta_se=Decimal("0.03")
        ),
        HedgeTarget("WIF", BTC_PERP, Decimal(1), Decimal(500), proxy=True, beta_se=Decimal("Inf")),
        HedgeTarget("BTC", BTC_PERP, Decimal(1), Decimal(2000)),
    ]
    await store.record_tick_state(tick_id, Snapshot(T0, {}, {}, {}, {}, {}, {}), [], targets, [])
    async with AsyncSession(store.engine) as session:
        stored = {row.asset: row.beta_se for row in await session.scalars(select(TargetRow))}
    assert stored == {"SOL": Decimal("0.03"), "WIF": None, "BTC": None}


async def test_status_shows_the_targets_standard_error_else_the_newest_estimates(
    store: Store,
) -> None:
    """The target's own; for a proxy target stored without one, the newest estimate's of its
    pair; none for a hedge whose β is not estimated, even with an estimate of its pair."""
    records = RuleRecords(store.engine)
    for asset, hedge, se in (("SOL", "BTC", 0.5), ("WIF", "BTC", 0.0625), ("ETH", "ETH", 0.25)):
        await records.record_beta_estimate("default", asset, hedge, estimate(se))
    await records.record_beta_estimate("default", "WIF", "BTC", estimate(0.125))  # newer
    tick_id = await store.start_tick("default", False, T0)
    targets = [
        HedgeTarget(
            "SOL",
            BTC_PERP,
            Decimal(1),
            Decimal(1000),
            beta=Decimal("1.234567"),
            proxy=True,
            beta_se=Decimal("0.0312499"),
        ),
        HedgeTarget("WIF", BTC_PERP, Decimal(1), Decimal(500), beta=Decimal(2), proxy=True),
        HedgeTarget("ETH", "ETH/USD:ETH", Decimal("0.5"), Decimal(300)),
    ]
    await store.record_tick_state(tick_id, Snapshot(T0, {}, {}, {}, {}, {}, {}), [], targets, [])
    await store.finish_tick(tick_id, "ok", T0)
    state = await account_status(store.engine, "default")
    shown = {row["asset"]: (row["beta"], row["beta_se"]) for row in state["assets"]}
    assert shown == {
        "SOL": ("1.234567", "0.0312499"),
        "WIF": ("2", "0.125"),
        "ETH": ("1", None),
    }


async def _columns(url: str, table: str) -> tuple[str | None, set[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(
                lambda c: {column["name"] for column in inspect(c).get_columns(table)}
            )
        return await current_revision(engine), names
    finally:
        await engine.dispose()


async def test_migrations_0006_and_0007_up_and_down(db_url: str) -> None:
    await upgrade(db_url, "0007")
    revision, names = await _columns(db_url, "targets")
    assert (revision, "beta_se" in names) == ("0007", True)
    assert "beta_se" in (await _columns(db_url, "beta_estimates"))[1]
    await downgrade(db_url, "0006")
    revision, names = await _columns(db_url, "targets")
    assert (revision, "beta_se" in names) == ("0006", False)
    assert "beta_se" in (await _columns(db_url, "beta_estimates"))[1]
    await downgrade(db_url, "0005")
    revision, names = await _columns(db_url, "beta_estimates")
    assert (revision, "beta_se" in names) == ("0005", False)
    await upgrade(db_url)
    assert "beta_se" in (await _columns(db_url, "targets"))[1]
