"""Store access for the collateral policy's actions (table ``collateral_actions``).

Each method is its own transaction; reads return frozen :class:`CollateralActionRecord`, never ORM
rows. Idempotency: ``(account, action_id)`` is unique and :meth:`CollateralRecords.add_actions`
inserts with ``ON CONFLICT DO NOTHING``, so writing the same planned action twice (a retried
tick, a restarted daemon) keeps the first row as it is. On SQLite writes begin ``IMMEDIATE``
(see ``bot.store.db``).

Amounts are exact decimal text in the database, so sums are computed in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast, get_args

from sqlalchemy import Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.core.types import (
    ZERO,
    CollateralAction,
    CollateralActionKind,
    CollateralUsage,
    Side,
    WalletKind,
)
from bot.store.collateral_models import COLLATERAL_STATES, CollateralActionRow, CollateralState
from bot.store.db import SQLITE_BEGIN_OPTION
from bot.store.models import Base
from bot.store.records import StoreError

__all__ = [
    "COLLATERAL_STATES",
    "COUNTED_STATES",
    "UNFINISHED_STATES",
    "CollateralActionRecord",
    "CollateralRecords",
    "CollateralState",
    "UnknownCollateralActionError",
]

UNFINISHED_STATES: tuple[str, ...] = ("PENDING", "UNKNOWN")
# What counts against the daily caps: done, and not known to have failed.
COUNTED_STATES: tuple[str, ...] = ("SUCCESS", "PENDING", "UNKNOWN")

_TABLE = Base.metadata.tables[CollateralActionRow.__tablename__]
_KINDS: tuple[str, ...] = get_args(CollateralActionKind)
_WALLETS: tuple[str, ...] = get_args(WalletKind)
_SIDES: tuple[str, ...] = get_args(Side)


class UnknownCollateralActionError(StoreError, LookupError):
    pass


@dataclass(frozen=True, slots=True)
class CollateralActionRecord:
    """A stored collateral action with its state."""

    id: int
    account: str
    tick_id: int | None
    action_id: str
    kind: CollateralActionKind
    coin: str
    amount: Decimal  # coins
    usd_value: Decimal  # USD at the planning price
    source: WalletKind | None
    destination: WalletKind | None
    symbol: str | None
    side: Side | None
    state: str  # one of COLLATERAL_STATES
    reason: str
    error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_unfinished(self) -> bool:
        return self.state in UNFINISHED_STATES

    def to_action(self) -> CollateralAction:
        """The planned action, as it was written."""
        return CollateralAction(
            action_id=self.action_id,
            kind=self.kind,
            coin=self.coin,
            amount=self.amount,
            usd_value=self.usd_value,
            source=self.source,
            destination=self.destination,
            symbol=self.symbol,
            side=self.side,
            reason=self.reason,
        )


class CollateralRecords:
    """Each method is its own transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._dialect = engine.dialect.name
        self._reads = async_sessionmaker(engine, expire_on_commit=False)
        writer = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        self._writes = async_sessionmaker(writer, expire_on_commit=False)

    async def add_actions(
        self,
        tick_id: int | None,
        account: str,
        actions: Sequence[CollateralAction],
        state: str,
        at: datetime,
    ) -> None:
        """Persist actions before they are sent, in ``state`` (PENDING, or DRY_RUN).

        An ``action_id`` already stored for ``account`` (or repeated within ``actions``) is
        ignored: the first row is kept unchanged. ``created_at`` and ``updated_at`` are ``at``.
        """
        _check_state(state)
        if not actions:
            return
        rows = [_values(tick_id, account, action, state, at) for action in actions]
        statement: Insert
        if self._dialect == "postgresql":
            statement = postgresql.insert(_TABLE).on_conflict_do_nothing(
                index_elements=("account", "action_id")
            )
        elif self._dialect == "sqlite":
            statement = sqlite.insert(_TABLE).on_conflict_do_nothing(
                index_elements=("account", "action_id")
            )
        else:
            raise StoreError(f"unsupported database dialect {self._dialect!r}")
        async with self._writes() as session, session.begin():
            await session.execute(statement, rows)

    async def set_state(
        self,
        account: str,
        action_id: str,
        state: str,
        at: datetime,
        error: str | None = None,
    ) -> None:
        """Record an action's outcome: ``state``, ``updated_at = at`` and ``error`` (replaced:
        None clears it). Transitions are not validated: the exchange is the authority.
        Raises :class:`UnknownCollateralActionError`."""
        _check_state(state)
        statement = (
            update(CollateralActionRow)
            .where(
                CollateralActionRow.account == account,
                CollateralActionRow.action_id == action_id,
            )
            .values(state=state, updated_at=at, error=error)
            .returning(CollateralActionRow.id)
        )
        async with self._writes() as session, session.begin():
            if (await session.execute(statement)).first() is None:
                raise UnknownCollateralActionError(
                    f"no collateral action {action_id!r} for account {account!r}"
                )

    async def unfinished(self, account: str) -> list[CollateralActionRecord]:
        """Actions of ``account`` still PENDING or UNKNOWN, oldest first: to resolve on the
        exchange before planning anything new."""
        query = (
            select(CollateralActionRow)
            .where(
                CollateralActionRow.account == account,
                CollateralActionRow.state.in_(UNFINISHED_STATES),
            )
            .order_by(CollateralActionRow.created_at, CollateralActionRow.id)
        )
        async with self._reads() as session:
            return [_record(row) for row in await session.scalars(query)]

    async def usage(self, account: str, since: datetime) -> CollateralUsage:
        """What counts against the daily caps: actions created at or after ``since`` in
        SUCCESS, PENDING or UNKNOWN (an unresolved action counts, to be safe). Transfers in
        both directions add to ``transferred_usd`` and ``transferred_coins``; ``spot_sell``
        legs add to ``converted_usd``; ``spot_buy`` legs count nowhere."""
        query = select(
            CollateralActionRow.kind,
            CollateralActionRow.coin,
            CollateralActionRow.amount,
            CollateralActionRow.usd_value,
        ).where(
            CollateralActionRow.account == account,
            CollateralActionRow.created_at >= since,
            CollateralActionRow.state.in_(COUNTED_STATES),
        )
        transferred_usd = converted_usd = ZERO
        coins: dict[str, Decimal] = {}
        async with self._reads() as session:
            for kind, coin, amount, usd_value in await session.execute(query):
                if kind == "transfer":
                    transferred_usd += usd_value
                    coins[coin] = coins.get(coin, ZERO) + amount
                elif kind == "spot_sell":
                    converted_usd += usd_value
        return CollateralUsage(
            transferred_usd=transferred_usd,
            transferred_coins=coins,
            converted_usd=converted_usd,
        )

    async def recent(self, account: str, limit: int = 20) -> list[CollateralActionRecord]:
        """The newest ``limit`` actions of ``account``, newest first."""
        query = (
            select(CollateralActionRow)
            .where(CollateralActionRow.account == account)
            .order_by(CollateralActionRow.created_at.desc(), CollateralActionRow.id.desc())
            .limit(limit)
        )
        async with self._reads() as session:
            return [_record(row) for row in await session.scalars(query)]


def _check_state(state: str) -> None:
    if state not in COLLATERAL_STATES:
        raise ValueError(f"unknown collateral action state {state!r}")


def _values(
    tick_id: int | None, account: str, action: CollateralAction, state: str, at: datetime
) -> dict[str, Any]:
    return {
        "account": account,
        "tick_id": tick_id,
        "action_id": action.action_id,
        "kind": action.kind,
        "coin": action.coin,
        "amount": action.amount,
        "usd_value": action.usd_value,
        "source": action.source,
        "destination": action.destination,
        "symbol": action.symbol,
        "side": action.side,
        "state": state,
        "reason": action.reason,
        "error": None,
        "created_at": at,
        "updated_at": at,
    }


def _checked(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise StoreError(f"unexpected stored value {value!r} (expected one of {allowed})")
    return value


def _wallet(value: str | None) -> WalletKind | None:
    return None if value is None else cast(WalletKind, _checked(value, _WALLETS))


def _record(row: CollateralActionRow) -> CollateralActionRecord:
    return CollateralActionRecord(
        id=row.id,
        account=row.account,
        tick_id=row.tick_id,
        action_id=row.action_id,
        kind=cast(CollateralActionKind, _checked(row.kind, _KINDS)),
        coin=row.coin,
        amount=row.amount,
        usd_value=row.usd_value,
        source=_wallet(row.source),
        destination=_wallet(row.destination),
        symbol=row.symbol,
        side=None if row.side is None else cast(Side, _checked(row.side, _SIDES)),
        state=row.state,
        reason=row.reason,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
