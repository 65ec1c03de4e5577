"""Tables for what the hedge rules estimate and decide: β estimates with their inputs, the
margin/liquidation view of each short per tick, and manual overrides (pause, hedge off)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import AccountMixin, Base, Coin, Symbol, _tick_fk


class BetaEstimateRow(AccountMixin, Base):
    """One β/ρ estimate of ``asset`` against ``hedge`` with the inputs that produced it."""

    __tablename__ = "beta_estimates"
    __table_args__ = (
        Index("ix_beta_estimates_account_pair_at", "account", "asset", "hedge", "estimated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    asset: Mapped[str] = mapped_column(Coin)
    hedge: Mapped[str] = mapped_column(Coin)
    state: Mapped[str] = mapped_column(String(32))  # ok | insufficient_data | stale
    beta: Mapped[float | None] = mapped_column(Float)
    rho: Mapped[float | None] = mapped_column(Float)
    beta_se: Mapped[float | None] = mapped_column(Float)  # standard error of beta (0006)
    method: Mapped[str] = mapped_column(String(8))  # ols | ewma
    window: Mapped[int] = mapped_column(Integer)  # returns
    half_life: Mapped[float | None] = mapped_column(Float)  # bars (EWMA)
    horizon_seconds: Mapped[int] = mapped_column(Integer)  # length of one return
    n: Mapped[int] = mapped_column(Integer)  # returns used
    data_start: Mapped[datetime | None]
    data_end: Mapped[datetime | None]
    estimated_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")


class PositionRiskRow(AccountMixin, Base):
    """Margin and liquidation of one short at one tick: the exchange's figure and our own."""

    __tablename__ = "position_risk"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tick_id: Mapped[int] = _tick_fk()
    symbol: Mapped[str] = mapped_column(Symbol)
    mark_price: Mapped[Decimal]
    entry_price: Mapped[Decimal]
    exchange_liquidation_price: Mapped[Decimal | None]
    own_liquidation_price: Mapped[Decimal | None]
    formula: Mapped[str] = mapped_column(String(64))  # e.g. "mark-basis cross"
    distance: Mapped[Decimal | None]  # fractional rise from mark to the price acted on
    margin_ratio: Mapped[Decimal | None]  # maintenance / equity


class ControlRow(AccountMixin, Base):
    """A manual override, as an append-only history: the newest row per account is in force."""

    __tablename__ = "controls"
    __table_args__ = (Index("ix_controls_account_at", "account", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    mode: Mapped[str] = mapped_column(String(16))  # active | paused | hedge_off
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(32), default="cli")
