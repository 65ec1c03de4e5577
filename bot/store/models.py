"""The database schema (SQLAlchemy 2 declarative). Migrations in ``migrations/`` must match it.

Every table carries ``account`` (default ``"default"``) so one database can later serve several
accounts. Money, prices, rates and contract counts are :class:`~bot.store.coltypes.DecimalText`;
instants are :class:`~bot.store.coltypes.UTCDateTime`. Decimals inside JSON documents are strings.

Rows of the per-tick tables (snapshots, exposures, targets, instrument_hedges) are deleted with
their tick; orders outlive their tick (``tick_id`` becomes NULL).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum as PyEnum
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column

from bot.core.types import OrderState
from bot.store.coltypes import DecimalText, UTCDateTime

DEFAULT_ACCOUNT = "default"

# Named constraints are required for SQLite batch migrations to alter them later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONDoc = JSON().with_variant(JSONB(), "postgresql")

Coin = String(20)
Symbol = String(64)
ExternalId = String(128)


class TickStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


def _enum_values(enum: type[PyEnum]) -> list[str]:
    """Store enum *values* (``"ok"``), not member names (``"OK"``)."""
    return [str(member.value) for member in enum]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: DecimalText(),
        datetime: UTCDateTime(),
    }


class AccountMixin:
    account: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_ACCOUNT, server_default=DEFAULT_ACCOUNT
    )


def _tick_fk(*, nullable: bool = False, ondelete: str = "CASCADE") -> MappedColumn[Any]:
    return mapped_column(
        Integer, ForeignKey("ticks.id", ondelete=ondelete), nullable=nullable, index=True
    )


class TickRow(AccountMixin, Base):
    """One pass of the daemon's loop."""

    __tablename__ = "ticks"
    __table_args__ = (Index("ix_ticks_account_started_at", "account", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[TickStatus] = mapped_column(
        Enum(
            TickStatus,
            name="tick_status",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=_enum_values,
            validate_strings=True,
        )
    )
    dry_run: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    exchange_time: Mapped[datetime | None]  # the exchange's clock during the tick, if read


class SnapshotRow(AccountMixin, Base):
    """What a tick read from the exchange (``bot.core.types.Snapshot`` without markets)."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tick_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ticks.id", ondelete="CASCADE"), unique=True
    )
    taken_at: Mapped[datetime]
    spot: Mapped[dict[str, Any]] = mapped_column(JSONDoc)  # coin -> coins
    static: Mapped[dict[str, Any]] = mapped_column(JSONDoc)  # coin -> coins
    margin: Mapped[dict[str, Any]] = mapped_column(JSONDoc)  # coin -> MarginWallet fields
    positions: Mapped[dict[str, Any]] = mapped_column(JSONDoc)  # symbol -> Position fields
    prices: Mapped[dict[str, Any]] = mapped_column(JSONDoc)  # coin -> USD per coin
    funding: Mapped[dict[str, Any]] = mapped_column(JSONDoc)  # symbol -> FundingRate fields
    unknown_positions: Mapped[list[str]] = mapped_column(JSONDoc)  # symbols not listed


class ExposureRow(AccountMixin, Base):
    __tablename__ = "exposures"
    __table_args__ = (UniqueConstraint("tick_id", "asset"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tick_id: Mapped[int] = _tick_fk()
    asset: Mapped[str] = mapped_column(Coin)
    spot: Mapped[Decimal]  # coins
    collateral: Mapped[Decimal]  # coins
    price: Mapped[Decimal]  # USD per coin
    exposure_usd: Mapped[Decimal]


class TargetRow(AccountMixin, Base):
    """A ``HedgeTarget``: what one rule wanted short, before rounding to contracts."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tick_id: Mapped[int] = _tick_fk()
    asset: Mapped[str] = mapped_column(Coin)
    instrument: Mapped[str] = mapped_column(Symbol)
    ratio: Mapped[Decimal]
    beta: Mapped[Decimal]
    rho: Mapped[Decimal | None]
    proxy: Mapped[bool] = mapped_column(Boolean)
    target_short_usd: Mapped[Decimal]
    reason: Mapped[str] = mapped_column(Text)
    beta_se: Mapped[Decimal | None]  # standard error of beta, when estimated (0007)


class InstrumentHedgeRow(AccountMixin, Base):
    __tablename__ = "instrument_hedges"
    __table_args__ = (UniqueConstraint("tick_id", "instrument"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tick_id: Mapped[int] = _tick_fk()
    instrument: Mapped[str] = mapped_column(Symbol)
    target_short_usd: Mapped[Decimal]
    current_short_usd: Mapped[Decimal]
    target_contracts: Mapped[Decimal]
    current_contracts: Mapped[Decimal]
    notes: Mapped[list[str]] = mapped_column(JSONDoc)


class OrderRow(AccountMixin, Base):
    """An order, persisted before it is sent; ``client_order_id`` is the idempotency key."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("side IN ('buy', 'sell')", name="side"),
        CheckConstraint("order_type IN ('market', 'limit')", name="order_type"),
        Index("ix_orders_account_state", "account", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(ExternalId, unique=True)
    tick_id: Mapped[int | None] = _tick_fk(nullable=True, ondelete="SET NULL")
    symbol: Mapped[str] = mapped_column(Symbol)
    side: Mapped[str] = mapped_column(String(4))
    contracts: Mapped[Decimal]
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    order_type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[Decimal | None]
    state: Mapped[OrderState] = mapped_column(
        Enum(
            OrderState,
            name="order_state",
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=_enum_values,
            validate_strings=True,
        )
    )
    exchange_order_id: Mapped[str | None] = mapped_column(ExternalId)
    filled_contracts: Mapped[Decimal]
    average_price: Mapped[Decimal | None]
    fee: Mapped[Decimal]
    fee_currency: Mapped[str | None] = mapped_column(Coin)
    reason: Mapped[str] = mapped_column(Text)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class FillRow(AccountMixin, Base):
    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("account", "symbol", "trade_id"),
        CheckConstraint("side IN ('buy', 'sell')", name="side"),
        Index("ix_fills_account_symbol_ts", "account", "symbol", "ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    trade_id: Mapped[str] = mapped_column(ExternalId)
    symbol: Mapped[str] = mapped_column(Symbol)
    client_order_id: Mapped[str | None] = mapped_column(ExternalId, index=True)
    exchange_order_id: Mapped[str | None] = mapped_column(ExternalId)
    side: Mapped[str] = mapped_column(String(4))
    contracts: Mapped[Decimal]
    price: Mapped[Decimal]  # USD per coin
    fee: Mapped[Decimal]  # in fee_currency
    fee_currency: Mapped[str] = mapped_column(Coin)
    ts: Mapped[datetime]


class FundingPaymentRow(AccountMixin, Base):
    __tablename__ = "funding_payments"
    __table_args__ = (
        UniqueConstraint("account", "payment_id"),
        Index("ix_funding_payments_account_symbol_ts", "account", "symbol", "ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(ExternalId)
    symbol: Mapped[str] = mapped_column(Symbol)
    ts: Mapped[datetime]
    rate: Mapped[Decimal]
    position_contracts: Mapped[Decimal]  # signed, at settlement
    amount: Mapped[Decimal]  # signed, in currency: positive received
    currency: Mapped[str] = mapped_column(Coin)


# Tables of other modules, registered on Base.metadata (Alembic compares against it).
from bot.store import alert_models as _alert_models  # noqa: E402, F401
from bot.store import collateral_models as _collateral_models  # noqa: E402, F401
from bot.store import ledger_models as _ledger_models  # noqa: E402, F401
from bot.store import margin_models as _margin_models  # noqa: E402, F401
from bot.store import rule_models as _rule_models  # noqa: E402, F401
