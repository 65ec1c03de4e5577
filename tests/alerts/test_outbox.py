"""The outbox and the condition states, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.alerts import Alert, ConditionState, Severity, make_alert
from bot.store.alert_models import AlertOutboxRow
from bot.store.db import create_engine, downgrade, upgrade
from bot.store.models import TickRow, TickStatus
from bot.store.outbox import Outbox, OutboxPolicy, stage_alerts

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def alert(n: int, severity: Severity | str = "warning", account: str = "default") -> Alert:
    return make_alert(
        "order_rejected",
        severity,
        f"alert {n}",
        raised_at=T0 + timedelta(seconds=n),
        values={"n": n},
        account=account,
        instrument="BTC/USD:BTC",
    )


async def test_add_pending_in_order_and_mark_delivered(engine: AsyncEngine) -> None:
    policy = OutboxPolicy(channels=frozenset({"mqtt", "apprise"}))
    outbox = Outbox(engine, policy=policy)
    alerts = [alert(n) for n in range(5)]
    ids = await outbox.add(alerts)
    assert ids == sorted(ids)
    pending = await outbox.pending("mqtt", limit=3)
    assert [entry.alert for entry in pending] == alerts[:3]  # the same alerts, ids and times
    assert await outbox.mark_delivered("mqtt", ids[:2], T0) == 2
    assert await outbox.mark_delivered("mqtt", ids[:2], T0) == 0  # already delivered
    assert [entry.alert.alert_id for entry in await outbox.pending("mqtt")] == [
        a.alert_id for a in alerts[2:]
    ]
    assert await outbox.pending_count("apprise") == 5  # its own marker
    [newest, *_rest] = await outbox.recent(limit=5)
    assert newest.alert == alerts[-1]
    oldest = (await outbox.recent(limit=5))[-1]
    assert (oldest.mqtt.state, oldest.mqtt.delivered_at) == ("delivered", T0)
    assert (oldest.apprise.state, oldest.apprise.delivered_at) == ("pending", None)


async def test_channels_not_configured_are_off(engine: AsyncEngine) -> None:
    outbox = Outbox(engine, policy=OutboxPolicy(channels=frozenset({"mqtt"})))
    await outbox.add([alert(1)])
    [entry] = await outbox.recent()
    assert (entry.mqtt.state, entry.apprise.state) == ("pending", "off")
    assert await outbox.pending("apprise") == []


async def test_staging_is_idempotent_by_alert_id(engine: AsyncEngine) -> None:
    outbox = Outbox(engine)
    same = alert(1)
    assert len(await outbox.add([same, same])) == 1
    assert await outbox.add([same]) == []
    assert len(await outbox.recent()) == 1


async def test_stage_alerts_commits_or_rolls_back_with_the_callers_state(
    engine: AsyncEngine,
) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def tick_with_alert(fail: bool) -> None:
        async with sessions() as session, session.begin():
            session.add(TickRow(started_at=T0, status=TickStatus.RUNNING, dry_run=False))
            await stage_alerts(session, [alert(1 if fail else 2)])
            if fail:
                raise RuntimeError("the tick failed after staging")

    with pytest.raises(RuntimeError):
        await tick_with_alert(fail=True)
    await tick_with_alert(fail=False)
    async with sessions() as session:
        ticks = await session.scalar(select(func.count()).select_from(TickRow))
    messages = [entry.alert.message for entry in await Outbox(engine).recent()]
    assert (ticks, messages) == (1, ["alert 2"])


async def _kept(session: AsyncSession) -> list[str]:
    rows = await session.scalars(select(AlertOutboxRow.message).order_by(AlertOutboxRow.id))
    return list(rows)


async def test_bound_drops_info_then_warnings_never_criticals(engine: AsyncEngine) -> None:
    outbox = Outbox(engine, policy=OutboxPolicy(max_rows=6))
    order = ["critical", "warning", "info"] * 3 + ["critical"] * 5
    for n, severity in enumerate(order):  # one write at a time, as the daemon does
        await outbox.add([alert(n, severity)])
    messages = [entry.alert.message for entry in reversed(await outbox.recent(limit=100))]
    criticals = [f"alert {n}" for n, severity in enumerate(order) if severity == "critical"]
    assert messages == criticals  # 8 rows > 6: over the bound with criticals only
    # The same bound, step by step: info went first (oldest first), then warnings.
    other = Outbox(engine, account="other", policy=OutboxPolicy(max_rows=6))
    for n, severity in enumerate(["critical", "warning", "info"] * 3):
        await other.add([alert(n, severity, account="other")])
    shown = [(e.alert.severity.value, e.alert.message) for e in reversed(await other.recent())]
    assert shown == [
        ("critical", "alert 0"),
        ("warning", "alert 1"),
        ("critical", "alert 3"),
        ("warning", "alert 4"),
        ("critical", "alert 6"),
        ("warning", "alert 7"),
    ]
    assert len(await outbox.recent(limit=100)) == 8  # the bound is per account


async def test_bound_drops_delivered_rows_first(engine: AsyncEngine) -> None:
    outbox = Outbox(engine, policy=OutboxPolicy(max_rows=4))
    ids = await outbox.add([alert(n, "info") for n in range(4)])
    await outbox.mark_delivered("mqtt", ids[2:], T0)  # the two newest were delivered
    await outbox.add([alert(10, "info"), alert(11, "warning")])
    kept = [entry.alert.message for entry in reversed(await outbox.recent())]
    assert kept == ["alert 0", "alert 1", "alert 10", "alert 11"]


async def test_conditions_round_trip_and_forget(engine: AsyncEngine) -> None:
    outbox = Outbox(engine, account="acct")
    state = ConditionState(True, 3, T0, True, T0 + timedelta(minutes=1), "BTC", "BTC/USD:BTC")
    quiet = ConditionState(last_notified_at=T0)
    await outbox.record([alert(1, account="acct")], {"a": state, "b": quiet})
    assert await outbox.load_conditions() == {"a": state, "b": quiet}
    changed = ConditionState(active=True, streak=1, since=T0)
    await outbox.record([], {"a": changed}, forget=["b"])
    assert await outbox.load_conditions() == {"a": changed}
    assert await Outbox(engine, account="default").load_conditions() == {}


async def test_migration_0002_up_and_down(db_url: str) -> None:
    await upgrade(db_url)
    await downgrade(db_url, "0001")
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert not {"alert_outbox", "alert_conditions"} & tables
        assert "orders" in tables
    finally:
        await engine.dispose()
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        await Outbox(engine).add([alert(1)])
        assert len(await Outbox(engine).recent()) == 1
    finally:
        await engine.dispose()
