"""The ``position_adoptions`` table: positions the daemon took as they were (migration 0008).

The daemon's ledger of a symbol (``bot.core.ledger``) is its latest adoption (none: a flat
start) plus the fills of every order it created since. A position is adopted when the account
is first taken with ``exchange.adopt_positions: true``, or when the venue's state does not
outlive the daemon (the in-process simulator, the embedded emulator).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import AccountMixin, Base, Symbol


class PositionAdoptionRow(AccountMixin, Base):
    """One position taken as it was read: the ledger's origin for its symbol from then on."""

    __tablename__ = "position_adoptions"
    __table_args__ = (Index("ix_position_adoptions_account_symbol", "account", "symbol"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(Symbol)
    contracts: Mapped[Decimal]  # signed: a short is negative
    adopted_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200))
