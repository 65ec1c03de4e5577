"""The daemon's persistence API.

Every public method is its own transaction. Reads return frozen dataclasses
(:class:`~bot.store.records.TickRecord`, :class:`~bot.store.records.OrderRecord`), never ORM rows,
so nothing is tied to a session after it returns. Refusals raise
:class:`~bot.store.records.StoreError` subclasses (re-exported here). On SQLite
every write transaction begins ``IMMEDIATE`` (see ``bot.store.db``), so read-then-write methods
do not fail with "database is locked" when another writer is active; ``busy_timeout`` waits
instead.

Idempotency:

* orders: ``client_order_id`` is unique. :meth:`Store.add_planned_orders` checks for existing ids
  inside the write transaction and raises :class:`DuplicateOrderError` naming them; nothing of the
  batch is written. A concurrent insert that slips past the check hits the unique constraint and
  is reported the same way.
* fills and funding payments: ``INSERT ... ON CONFLICT DO NOTHING ... RETURNING id`` (SQLite and
  PostgreSQL dialect constructs) on the natural keys ``(account, symbol, trade_id)`` and
  ``(account, payment_id)``; the number of returned ids is the number of new rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Insert, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.types import (
    Exposure,
    Fill,
    FundingPayment,
    HedgeTarget,
    InstrumentHedge,
    OrderState,
    OrderStatus,
    PlannedOrder,
    Snapshot,
)
from bot.store.codec import snapshot_documents
from bot.store.db import SQLITE_BEGIN_OPTION, create_engine
from bot.store.models import (
    Base,
    FillRow,
    FundingPaymentRow,
    OrderRow,
    SnapshotRow,
    TickRow,
    TickStatus,
)
from bot.store.records import (
    DuplicateOrderError,
    OrderRecord,
    StoreError,
    TickRecord,
    TickStateError,
    UnknownOrderError,
    UnknownTickError,
    apply_status,
    exposure_row,
    fill_values,
    funding_values,
    hedge_row,
    order_record,
    order_row,
    target_row,
    tick_record,
)

__all__ = [
    "DuplicateOrderError",
    "OrderRecord",
    "Store",
    "StoreError",
    "TickRecord",
    "TickStateError",
    "UnknownOrderError",
    "UnknownTickError",
]

_FILLS = Base.metadata.tables[FillRow.__tablename__]
_FUNDING = Base.metadata.tables[FundingPaymentRow.__tablename__]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    """Owns an engine (disposed by :meth:`close`). ``clock`` stamps ``orders.updated_at``."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = clock
        self._reads = async_sessionmaker(engine, expire_on_commit=False)
        writer = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        self._writes = async_sessionmaker(writer, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, *, clock: Callable[[], datetime] = utc_now) -> Store:
        """A store on a new engine (``bot.store.db.create_engine``); the schema is not touched."""
        return cls(create_engine(url), clock=clock)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def close(self) -> None:
        await self._engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        async with self._reads() as session:
            yield session

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        async with self._writes() as session, session.begin():
            yield session

    # -- ticks -------------------------------------------------------------------------------

    async def start_tick(self, account: str, dry_run: bool, started_at: datetime) -> int:
        """Record a tick as ``running``; returns its id."""
        async with self._write() as session:
            row = TickRow(
                account=account, started_at=started_at, status=TickStatus.RUNNING, dry_run=dry_run
            )
            session.add(row)
            await session.flush()
            return row.id

    async def finish_tick(
        self,
        tick_id: int,
        status: TickStatus | str,
        finished_at: datetime,
        error: str | None = None,
        *,
        exchange_time: datetime | None = None,
    ) -> None:
        """Close a running tick with ``ok``, ``failed`` or ``skipped``."""
        final = TickStatus(status)
        if final is TickStatus.RUNNING:
            raise ValueError("a tick cannot finish as 'running'")
        async with self._write() as session:
            row = await session.get(TickRow, tick_id, with_for_update=True)
            if row is None:
                raise UnknownTickError(f"no tick {tick_id}")
            if row.status is not TickStatus.RUNNING:
                raise TickStateError(f"tick {tick_id} already finished as {row.status.value!r}")
            row.status = final
            row.finished_at = finished_at
            row.error = error
            if exchange_time is not None:
                row.exchange_time = exchange_time

    async def record_tick_state(
        self,
        tick_id: int,
        snapshot: Snapshot,
        exposures: Sequence[Exposure],
        targets: Sequence[HedgeTarget],
        hedges: Sequence[InstrumentHedge],
    ) -> None:
        """Store what a tick saw and decided, in one transaction, under the tick's account."""
        async with self._write() as session:
            tick = await session.get(TickRow, tick_id)
            if tick is None:
                raise UnknownTickError(f"no tick {tick_id}")
            existing = await session.scalar(
                select(SnapshotRow.id).where(SnapshotRow.tick_id == tick_id)
            )
            if existing is not None:
                raise TickStateError(f"state of tick {tick_id} is already recorded")
            account = tick.account
            session.add(
                SnapshotRow(
                    tick_id=tick_id,
                    account=account,
                    taken_at=snapshot.taken_at,
                    **snapshot_documents(snapshot),
                )
            )
            session.add_all(exposure_row(tick_id, account, item) for item in exposures)
            session.add_all(target_row(tick_id, account, item) for item in targets)
            session.add_all(hedge_row(tick_id, account, item) for item in hedges)

    async def recent_ticks(self, account: str, limit: int = 20) -> list[TickRecord]:
        """The newest ``limit`` ticks of ``account``, newest first."""
        query = (
            select(TickRow)
            .where(TickRow.account == account)
            .order_by(TickRow.started_at.desc(), TickRow.id.desc())
            .limit(limit)
        )
        async with self._read() as session:
            return [tick_record(row) for row in await session.scalars(query)]

    # -- orders ------------------------------------------------------------------------------

    async def add_planned_orders(
        self,
        tick_id: int | None,
        account: str,
        orders: Sequence[PlannedOrder],
        state: OrderState,
        created_at: datetime,
    ) -> list[OrderRecord]:
        """Persist orders before they are sent: all of them, or none.

        Raises :class:`DuplicateOrderError` (listing the ids) if any ``client_order_id`` exists
        already or repeats within ``orders``. Orders are market orders; ``updated_at`` starts
        equal to ``created_at``.
        """
        ids = [order.client_order_id for order in orders]
        repeated = {cid for cid in ids if ids.count(cid) > 1}
        if repeated:
            raise DuplicateOrderError(repeated, "repeated within the batch")
        if not orders:
            return []
        try:
            async with self._write() as session:
                existing = await session.scalars(
                    select(OrderRow.client_order_id).where(OrderRow.client_order_id.in_(ids))
                )
                if found := existing.all():
                    raise DuplicateOrderError(found)
                rows = [order_row(tick_id, account, order, state, created_at) for order in orders]
                session.add_all(rows)
                await session.flush()
                return [order_record(row) for row in rows]
        except IntegrityError as exc:  # a concurrent writer stored one of them first
            async with self._read() as session:
                existing = await session.scalars(
                    select(OrderRow.client_order_id).where(OrderRow.client_order_id.in_(ids))
                )
                if found := existing.all():
                    raise DuplicateOrderError(found) from exc
            raise

    async def update_order(
        self,
        client_order_id: str,
        status: OrderStatus | None = None,
        state: OrderState | None = None,
        reject_reason: str | None = None,
        sent_at: datetime | None = None,
        exchange_order_id: str | None = None,
        updated_at: datetime | None = None,
    ) -> OrderRecord:
        """Apply what the exchange reported (``status``) and/or explicit changes.

        From ``status``: state, filled contracts and fee always; exchange order id, average
        price, fee currency and reject reason when given. Explicit arguments are applied after
        it and win. ``updated_at`` defaults to the store's clock. State transitions are not
        validated here: the exchange is the authority. Raises :class:`UnknownOrderError`.
        """
        if status is not None and status.client_order_id != client_order_id:
            raise ValueError(f"status is for {status.client_order_id!r}, not {client_order_id!r}")
        async with self._write() as session:
            row = await session.scalar(
                select(OrderRow)
                .where(OrderRow.client_order_id == client_order_id)
                .with_for_update()
            )
            if row is None:
                raise UnknownOrderError(f"no order with client_order_id {client_order_id!r}")
            if status is not None:
                apply_status(row, status)
            if state is not None:
                row.state = state
            if reject_reason is not None:
                row.reject_reason = reject_reason
            if sent_at is not None:
                row.sent_at = sent_at
            if exchange_order_id is not None:
                row.exchange_order_id = exchange_order_id
            row.updated_at = updated_at if updated_at is not None else self._clock()
            await session.flush()
            return order_record(row)

    async def get_order(self, client_order_id: str) -> OrderRecord | None:
        async with self._read() as session:
            row = await session.scalar(
                select(OrderRow).where(OrderRow.client_order_id == client_order_id)
            )
            return None if row is None else order_record(row)

    async def orders_in_states(
        self, account: str, states: Iterable[OrderState]
    ) -> list[OrderRecord]:
        """Orders of ``account`` in any of ``states``, oldest first."""
        wanted = list(states)
        if not wanted:
            return []
        query = (
            select(OrderRow)
            .where(OrderRow.account == account, OrderRow.state.in_(wanted))
            .order_by(OrderRow.created_at, OrderRow.id)
        )
        async with self._read() as session:
            return [order_record(row) for row in await session.scalars(query)]

    # -- fills and funding -------------------------------------------------------------------

    async def record_fills(self, account: str, fills: Iterable[Fill]) -> int:
        """Store new fills, ignoring ones already stored; returns how many were new."""
        rows = [fill_values(account, fill) for fill in fills]
        return await self._insert_new(_FILLS, ("account", "symbol", "trade_id"), rows)

    async def record_funding(self, account: str, payments: Iterable[FundingPayment]) -> int:
        """Store new funding payments, ignoring ones already stored; returns how many were new."""
        rows = [funding_values(account, payment) for payment in payments]
        return await self._insert_new(_FUNDING, ("account", "payment_id"), rows)

    async def _insert_new(
        self, table: Table, key: tuple[str, ...], rows: list[dict[str, Any]]
    ) -> int:
        if not rows:
            return 0
        dialect = self._engine.dialect.name
        statement: Insert
        if dialect == "postgresql":
            statement = postgresql.insert(table).on_conflict_do_nothing(index_elements=key)
        elif dialect == "sqlite":
            statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=key)
        else:
            raise StoreError(f"unsupported database dialect {dialect!r}")
        async with self._write() as session:
            connection = await session.connection()
            result = await connection.execute(statement.returning(table.c.id), rows)
            return len(result.all())

    async def last_fill_time(self, account: str, symbol: str) -> datetime | None:
        """Time of the newest stored fill on ``symbol``: where to resume fetching."""
        query = select(func.max(FillRow.ts)).where(
            FillRow.account == account, FillRow.symbol == symbol
        )
        async with self._read() as session:
            return await session.scalar(query)

    async def last_funding_time(self, account: str, symbol: str) -> datetime | None:
        """Time of the newest stored funding payment on ``symbol``."""
        query = select(func.max(FundingPaymentRow.ts)).where(
            FundingPaymentRow.account == account, FundingPaymentRow.symbol == symbol
        )
        async with self._read() as session:
            return await session.scalar(query)
