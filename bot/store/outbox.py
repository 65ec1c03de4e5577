"""The alert outbox and the alert rules' condition states (tables: ``bot.store.alert_models``).

Alerts are written here before anything is sent. :func:`stage_alerts` adds them inside a
transaction the caller already holds (so an alert commits or rolls back with the state that
caused it); :meth:`Outbox.add` and :meth:`Outbox.record` are transactions of their own.
Publishers read :meth:`Outbox.pending` per channel in ``id`` order and call
:meth:`Outbox.mark_delivered` only once the channel acknowledged.

The outbox is bounded per account (``OutboxPolicy.max_rows``): when a write takes it past the
bound, rows go in this order, oldest first, until it fits: rows already delivered on every
configured channel, then undelivered ``info`` alerts, then undelivered ``warning`` alerts.
Undelivered ``critical`` alerts are never dropped, so the table may exceed the bound with them
only. Dropping undelivered alerts is logged (``alerts_dropped``).

Messages and values are passed through ``bot.logs.scrub_text`` before they are stored, so a
registered secret (API key, broker password) never reaches a row, nor any payload built from it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from sqlalchemy import ColumnElement, and_, delete, func, not_, select, true, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from bot.alerts.model import DEFAULT_ACCOUNT, Alert, AlertStatus, Severity
from bot.alerts.rules import ConditionState
from bot.logs import scrub_text
from bot.store.alert_models import AlertConditionRow, AlertOutboxRow
from bot.store.db import SQLITE_BEGIN_OPTION

__all__ = [
    "CHANNELS",
    "Channel",
    "Delivery",
    "Outbox",
    "OutboxEntry",
    "OutboxPolicy",
    "stage_alerts",
]

log = structlog.get_logger(__name__)

Channel = Literal["mqtt", "apprise"]
CHANNELS: tuple[Channel, ...] = ("mqtt", "apprise")
PENDING, DELIVERED, OFF = "pending", "delivered", "off"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    """The bound (``None``: unbounded) and the channels new alerts are pending on."""

    max_rows: int | None = None
    channels: frozenset[Channel] = frozenset({"mqtt"})


@dataclass(frozen=True, slots=True)
class Delivery:
    state: str  # pending, delivered or off
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    alert: Alert
    created_at: datetime
    mqtt: Delivery
    apprise: Delivery

    def delivery(self, channel: Channel) -> Delivery:
        return self.mqtt if channel == "mqtt" else self.apprise


def _state_column(channel: Channel) -> InstrumentedAttribute[str]:
    return AlertOutboxRow.mqtt_state if channel == "mqtt" else AlertOutboxRow.apprise_state


def _row(alert: Alert, policy: OutboxPolicy, now: datetime) -> AlertOutboxRow:
    def state(channel: Channel) -> str:
        return PENDING if channel in policy.channels else OFF

    return AlertOutboxRow(
        alert_id=alert.alert_id,
        account=alert.account,
        kind=alert.kind,
        severity=alert.severity.value,
        status=alert.status.value,
        condition=alert.condition,
        message=scrub_text(alert.message),
        numbers={key: scrub_text(value) for key, value in alert.values.items()},
        asset=alert.asset,
        instrument=alert.instrument,
        raised_at=alert.raised_at,
        created_at=now,
        mqtt_state=state("mqtt"),
        apprise_state=state("apprise"),
    )


def _entry(row: AlertOutboxRow) -> OutboxEntry:
    alert = Alert(
        kind=row.kind,
        severity=Severity(row.severity),
        message=row.message,
        raised_at=row.raised_at,
        values={str(key): str(value) for key, value in row.numbers.items()},
        account=row.account,
        asset=row.asset,
        instrument=row.instrument,
        status=AlertStatus(row.status),
        condition=row.condition,
        alert_id=row.alert_id,
    )
    return OutboxEntry(
        id=row.id,
        alert=alert,
        created_at=row.created_at,
        mqtt=Delivery(row.mqtt_state, row.mqtt_delivered_at),
        apprise=Delivery(row.apprise_state, row.apprise_delivered_at),
    )


async def stage_alerts(
    session: AsyncSession,
    alerts: Sequence[Alert],
    policy: OutboxPolicy | None = None,
    *,
    now: datetime | None = None,
) -> list[int]:
    """Add ``alerts`` to the outbox in the caller's transaction (flushed, not committed).

    Idempotent by ``alert_id`` (an alert already stored is skipped). Enforces
    ``policy.max_rows`` in the same transaction. Returns the new rows' ids. Wake the publisher
    after the commit (``AlertService.notify()``), or it finds them at its next poll.
    """
    if not alerts:
        return []
    policy = policy or OutboxPolicy()
    stamp = now or utc_now()
    wanted = list({alert.alert_id: alert for alert in alerts}.values())
    query = select(AlertOutboxRow.alert_id).where(
        AlertOutboxRow.alert_id.in_([alert.alert_id for alert in wanted])
    )
    stored = set((await session.scalars(query)).all())
    rows = [_row(alert, policy, stamp) for alert in wanted if alert.alert_id not in stored]
    session.add_all(rows)
    await session.flush()
    for account in sorted({alert.account for alert in alerts}):
        await _enforce_bound(session, account, policy)
    return [row.id for row in rows]


async def _enforce_bound(session: AsyncSession, account: str, policy: OutboxPolicy) -> None:
    if policy.max_rows is None:
        return
    table = AlertOutboxRow
    mine = table.account == account
    total = await session.scalar(select(func.count()).select_from(table).where(mine)) or 0
    excess = total - policy.max_rows
    if excess <= 0:
        return
    done: ColumnElement[bool] = and_(
        true(), *(_state_column(channel) != PENDING for channel in sorted(policy.channels))
    )
    tiers: list[tuple[str, ColumnElement[bool]]] = [
        ("delivered", done),
        ("info", and_(not_(done), table.severity == Severity.INFO.value)),
        ("warning", and_(not_(done), table.severity == Severity.WARNING.value)),
    ]
    dropped: dict[str, int] = {}
    for tier, condition in tiers:
        query = select(table.id).where(mine, condition).order_by(table.id).limit(excess)
        ids = list((await session.scalars(query)).all())
        if ids:
            await session.execute(delete(table).where(table.id.in_(ids)))
            dropped[tier] = len(ids)
            excess -= len(ids)
        if excess <= 0:
            break
    undelivered = {tier: count for tier, count in dropped.items() if tier != "delivered"}
    if undelivered:
        log.warning("alerts_dropped", account=account, max_rows=policy.max_rows, **undelivered)
    if excess > 0:
        log.warning("alerts_outbox_over_bound", account=account, critical_rows=total - excess)


def _condition(row: AlertConditionRow) -> ConditionState:
    return ConditionState(
        active=row.active,
        streak=row.streak,
        since=row.since,
        notified=row.notified,
        last_notified_at=row.last_notified_at,
        asset=row.asset,
        instrument=row.instrument,
    )


def _apply(row: AlertConditionRow, state: ConditionState, now: datetime) -> None:
    row.active = state.active
    row.streak = state.streak
    row.since = state.since
    row.notified = state.notified
    row.last_notified_at = state.last_notified_at
    row.asset = state.asset
    row.instrument = state.instrument
    row.updated_at = now


class Outbox:
    """The outbox and condition states of one account, on an engine owned by the caller."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        account: str = DEFAULT_ACCOUNT,
        policy: OutboxPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.account = account
        self.policy = policy or OutboxPolicy()
        self._clock = clock
        self._reads = async_sessionmaker(engine, expire_on_commit=False)
        writer = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        self._writes = async_sessionmaker(writer, expire_on_commit=False)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        async with self._writes() as session, session.begin():
            yield session

    async def stage(self, session: AsyncSession, alerts: Sequence[Alert]) -> list[int]:
        """:func:`stage_alerts` with this outbox's policy and clock."""
        return await stage_alerts(session, alerts, self.policy, now=self._clock())

    async def add(self, alerts: Sequence[Alert]) -> list[int]:
        """Write ``alerts`` in a transaction of their own; returns their ids."""
        return await self.record(alerts)

    async def record(
        self,
        alerts: Sequence[Alert],
        conditions: Mapping[str, ConditionState] | None = None,
        forget: Collection[str] = (),
    ) -> list[int]:
        """Write alerts and the condition states that produced them, in one transaction.

        ``conditions`` are stored (inserted or replaced) by key; keys in ``forget`` are deleted.
        """
        conditions = conditions or {}
        if not alerts and not conditions and not forget:
            return []
        now = self._clock()
        async with self._write() as session:
            ids = await stage_alerts(session, alerts, self.policy, now=now)
            await self._store_conditions(session, conditions, forget, now)
            return ids

    async def _store_conditions(
        self,
        session: AsyncSession,
        conditions: Mapping[str, ConditionState],
        forget: Collection[str],
        now: datetime,
    ) -> None:
        table = AlertConditionRow
        mine = table.account == self.account
        if forget:
            await session.execute(delete(table).where(mine, table.condition_key.in_(forget)))
        if not conditions:
            return
        query = select(table).where(mine, table.condition_key.in_(list(conditions)))
        existing = {row.condition_key: row for row in await session.scalars(query)}
        for key, state in conditions.items():
            row = existing.get(key)
            if row is None:
                row = AlertConditionRow(account=self.account, condition_key=key)
                session.add(row)
            _apply(row, state, now)

    async def load_conditions(self) -> dict[str, ConditionState]:
        query = select(AlertConditionRow).where(AlertConditionRow.account == self.account)
        async with self._reads() as session:
            return {row.condition_key: _condition(row) for row in await session.scalars(query)}

    async def pending(self, channel: Channel, limit: int = 100) -> list[OutboxEntry]:
        """Undelivered alerts of ``channel``, oldest (lowest id) first."""
        column = _state_column(channel)
        query = (
            select(AlertOutboxRow)
            .where(AlertOutboxRow.account == self.account, column == PENDING)
            .order_by(AlertOutboxRow.id)
            .limit(limit)
        )
        async with self._reads() as session:
            return [_entry(row) for row in await session.scalars(query)]

    async def pending_count(self, channel: Channel) -> int:
        column = _state_column(channel)
        query = (
            select(func.count())
            .select_from(AlertOutboxRow)
            .where(AlertOutboxRow.account == self.account, column == PENDING)
        )
        async with self._reads() as session:
            return int(await session.scalar(query) or 0)

    async def mark_delivered(
        self, channel: Channel, ids: Collection[int], at: datetime | None = None
    ) -> int:
        """Record that ``channel`` acknowledged these rows; returns how many changed."""
        if not ids:
            return 0
        values: dict[str, Any] = (
            {"mqtt_state": DELIVERED, "mqtt_delivered_at": at or self._clock()}
            if channel == "mqtt"
            else {"apprise_state": DELIVERED, "apprise_delivered_at": at or self._clock()}
        )
        column = _state_column(channel)
        statement = (
            update(AlertOutboxRow)
            .where(AlertOutboxRow.id.in_(list(ids)), column == PENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        async with self._write() as session:
            result = await session.execute(statement)
            return int(getattr(result, "rowcount", 0) or 0)

    async def recent(self, limit: int = 20) -> list[OutboxEntry]:
        """The newest ``limit`` alerts of the account, newest first."""
        query = (
            select(AlertOutboxRow)
            .where(AlertOutboxRow.account == self.account)
            .order_by(AlertOutboxRow.id.desc())
            .limit(limit)
        )
        async with self._reads() as session:
            return [_entry(row) for row in await session.scalars(query)]
