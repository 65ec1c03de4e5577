"""The ``collateral_actions`` table: every transfer and conversion leg the collateral policy
planned, written before it is sent. Migration 0004.

Registered on the same ``Base`` as ``bot.store.models`` (which imports this module at its end).
``(account, action_id)`` is unique: the action id is the idempotency key the exchange sees (a
transfer id, or a spot order's client order id). Rows outlive their tick (``tick_id`` becomes
NULL), as orders do.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import AccountMixin, Base, Coin, ExternalId, Symbol, _tick_fk

CollateralState = Literal["PENDING", "UNKNOWN", "SUCCESS", "FAILED", "DRY_RUN"]
COLLATERAL_STATES: tuple[str, ...] = get_args(CollateralState)
ACTION_KINDS = ("transfer", "spot_sell", "spot_buy")
WALLETS = ("spot", "margin")
SIDES = ("buy", "sell")


def _in(column: str, values: tuple[str, ...], *, nullable: bool = False) -> str:
    listed = f"{column} IN ({', '.join(repr(value) for value in values)})"
    return f"{column} IS NULL OR {listed}" if nullable else listed


class CollateralActionRow(AccountMixin, Base):
    """One planned collateral action (``bot.core.types.CollateralAction``) and its outcome."""

    __tablename__ = "collateral_actions"
    __table_args__ = (
        UniqueConstraint("account", "action_id"),
        CheckConstraint(_in("kind", ACTION_KINDS), name="kind"),
        CheckConstraint(_in("state", COLLATERAL_STATES), name="state"),
        CheckConstraint(_in("source", WALLETS, nullable=True), name="source"),
        CheckConstraint(_in("destination", WALLETS, nullable=True), name="destination"),
        CheckConstraint(_in("side", SIDES, nullable=True), name="side"),
        Index("ix_collateral_actions_account_state", "account", "state"),
        Index("ix_collateral_actions_account_created_at", "account", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    action_id: Mapped[str] = mapped_column(ExternalId)
    tick_id: Mapped[int | None] = _tick_fk(nullable=True, ondelete="SET NULL")
    kind: Mapped[str] = mapped_column(String(16))
    coin: Mapped[str] = mapped_column(Coin)
    amount: Mapped[Decimal]  # coins
    usd_value: Mapped[Decimal]  # USD at the planning price
    source: Mapped[str | None] = mapped_column(String(8))  # transfers: spot | margin
    destination: Mapped[str | None] = mapped_column(String(8))
    symbol: Mapped[str | None] = mapped_column(Symbol)  # spot legs, e.g. "SOL/USDT"
    side: Mapped[str | None] = mapped_column(String(4))  # spot legs
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
