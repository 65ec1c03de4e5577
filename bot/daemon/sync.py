"""Copy executions and funding payments from the exchange into the store, only when due.

Fills are due on a symbol after an order was sent or left working there; funding is due once the
exchange clock passes the next funding time seen at the last sync. Every symbol is synced once at
start-up. Inserts are idempotent, so a repeated or overlapping query never double-counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import structlog

from bot.core.types import Snapshot
from bot.exchange.errors import ExchangeError
from bot.exchange.port import ExchangePort
from bot.store.repo import Store

log = structlog.get_logger(__name__)


@dataclass
class HistorySync:
    port: ExchangePort
    store: Store
    account: str
    _fills_synced: set[str] = field(default_factory=set)
    _next_funding: dict[str, datetime | None] = field(default_factory=dict)

    def fills_due(self, symbol: str, traded: set[str]) -> bool:
        return symbol not in self._fills_synced or symbol in traded

    def funding_due(self, symbol: str, now: datetime) -> bool:
        if symbol not in self._next_funding:
            return True
        next_time = self._next_funding[symbol]
        return next_time is None or now >= next_time

    async def sync(self, symbols: Iterable[str], snapshot: Snapshot, traded: set[str]) -> None:
        """Sync what is due; an exchange failure leaves it due for the next tick."""
        for symbol in symbols:
            try:
                if self.fills_due(symbol, traded):
                    await self._sync_fills(symbol)
                    self._fills_synced.add(symbol)
                if self.funding_due(symbol, snapshot.taken_at):
                    await self._sync_funding(symbol)
                    rate = snapshot.funding.get(symbol)
                    self._next_funding[symbol] = rate.next_funding_time if rate else None
            except ExchangeError as exc:
                log.warning("sync_failed", symbol=symbol, error=str(exc))

    async def _sync_fills(self, symbol: str) -> None:
        since = await self.store.last_fill_time(self.account, symbol)
        fills = await self.port.fetch_fills(symbol, since)
        new = await self.store.record_fills(self.account, fills)
        if new:
            log.info("fills_recorded", symbol=symbol, count=new)

    async def _sync_funding(self, symbol: str) -> None:
        since = await self.store.last_funding_time(self.account, symbol)
        payments = await self.port.fetch_funding_payments(symbol, since)
        new = await self.store.record_funding(self.account, payments)
        if new:
            fresh = payments[-new:]
            log.info(
                "funding_recorded",
                symbol=symbol,
                count=new,
                amount=str(sum((p.amount for p in fresh), Decimal(0))),
                currency=fresh[0].currency,
                rate=str(fresh[-1].rate),
            )
