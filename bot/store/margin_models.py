"""The ``margin_state`` table: the margin behind each inverse hedge instrument at each tick
(``bot.core.margin.InstrumentMargin``). Migration 0005.

Registered on the same ``Base`` as ``bot.store.models`` (which imports this module at its end).
Rows are deleted with their tick, like ``position_risk``. Coin amounts are of ``coin``, the
instrument's settle coin (one wallet backs every inverse short on it).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import AccountMixin, Base, Coin, Symbol, _tick_fk


class MarginStateRow(AccountMixin, Base):
    """Wallet, required margin and shortfall of one inverse hedge instrument at one tick."""

    __tablename__ = "margin_state"
    __table_args__ = (UniqueConstraint("tick_id", "instrument"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tick_id: Mapped[int] = _tick_fk()
    instrument: Mapped[str] = mapped_column(Symbol)
    coin: Mapped[str] = mapped_column(Coin)
    balance: Mapped[Decimal]  # coin
    equity: Mapped[Decimal]  # coin: balance + unrealized PnL
    required: Mapped[Decimal]  # coin the coin's current shorts need
    short_usd: Mapped[Decimal]  # every inverse short on the coin, USD face
    shortfall_usd: Mapped[Decimal]  # hedge the wallet cannot carry this tick
    coins_missing: Mapped[Decimal]  # coin the wallet lacks to carry its targets
