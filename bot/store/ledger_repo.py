"""Store access for the daemon's ledger of positions: adoptions (``position_adoptions``) and the
fills of the orders it created (``orders``). Each method is its own transaction; amounts are
exact decimal text in the database, so sums are computed in Python (``bot.core.ledger``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.store.db import SQLITE_BEGIN_OPTION
from bot.store.ledger_models import PositionAdoptionRow
from bot.store.models import OrderRow
from bot.store.records import OrderRecord, order_record


@dataclass(frozen=True, slots=True)
class Adoption:
    """A position taken as it was read: ``contracts`` signed, at ``at``."""

    symbol: str
    contracts: Decimal
    at: datetime
    reason: str


class LedgerRecords:
    """Reads and writes of the ledger's origins, and of the orders it sums."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._reads = async_sessionmaker(engine, expire_on_commit=False)
        writer = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        self._writes = async_sessionmaker(writer, expire_on_commit=False)

    async def adoptions(self, account: str) -> dict[str, Adoption]:
        """The latest adoption of each symbol of ``account``."""
        query = (
            select(PositionAdoptionRow)
            .where(PositionAdoptionRow.account == account)
            .order_by(PositionAdoptionRow.adopted_at, PositionAdoptionRow.id)
        )
        async with self._reads() as session:
            rows = list(await session.scalars(query))
        return {r.symbol: Adoption(r.symbol, r.contracts, r.adopted_at, r.reason) for r in rows}

    async def adopt(self, account: str, adoptions: list[Adoption]) -> None:
        """Record ``adoptions`` in one transaction."""
        if not adoptions:
            return
        async with self._writes() as session, session.begin():
            session.add_all(
                PositionAdoptionRow(
                    account=account,
                    symbol=a.symbol,
                    contracts=a.contracts,
                    adopted_at=a.at,
                    reason=a.reason[:200],
                )
                for a in adoptions
            )

    async def orders_after(self, account: str, after_id: int) -> list[OrderRecord]:
        """Orders of ``account`` whose id is above ``after_id``, in id order."""
        query = (
            select(OrderRow)
            .where(OrderRow.account == account, OrderRow.id > after_id)
            .order_by(OrderRow.id)
        )
        async with self._reads() as session:
            return [order_record(row) for row in await session.scalars(query)]
