"""Market data over ccxt: tickers, funding rates and candles (a part of ``CcxtPort``).

Numbers leave as Decimal; a funding interval is read from the venue or derived from consecutive
funding times, never assumed (``bot.exchange.ccxt_parse.funding_interval_hours``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from bot.core.types import Candle, FundingRate, Ticker
from bot.exchange.ccxt_collateral import CcxtCollateral
from bot.exchange.ccxt_parse import dec, from_ms, funding_interval_hours, to_ms

ZERO = Decimal(0)
log = structlog.get_logger("bot.exchange.ccxt_port")  # the events' logger name stays the same


class CcxtMarketData(CcxtCollateral):
    """Tickers, funding rates and candles of the port's exchange."""

    async def fetch_tickers(self, symbols: Sequence[str]) -> Mapping[str, Ticker]:
        await self.load_markets()
        known = self.client.markets or {}
        # One call per market type: ccxt asks one category (spot, inverse, linear) per request.
        groups: dict[str, list[str]] = {}
        for symbol in symbols:
            if symbol in known:
                market = known[symbol]
                kind = f"{market.get('type')}:{market.get('subType')}"
                groups.setdefault(kind, []).append(symbol)
        raw: dict[str, Any] = {}
        for group in groups.values():
            raw.update(
                await self._call("fetch_tickers", lambda g=group: self.client.fetch_tickers(g))  # type: ignore[misc]
            )
        tickers: dict[str, Ticker] = {}
        for symbol in (s for g in groups.values() for s in g):
            item = raw.get(symbol)
            last = dec(item.get("last")) if item else None
            if item is None or last is None:
                continue
            tickers[symbol] = Ticker(
                symbol=symbol,
                last=last,
                mark=dec(item.get("markPrice")),
                index=dec(item.get("indexPrice")),
                timestamp=from_ms(item["timestamp"]) if item.get("timestamp") else None,
            )
        return tickers

    async def fetch_funding_rates(self, symbols: Sequence[str]) -> Mapping[str, FundingRate]:
        if not symbols or not self.client.has.get("fetchFundingRates"):
            return {}
        raw = await self._call(
            "fetch_funding_rates", lambda: self.client.fetch_funding_rates(list(symbols))
        )
        rates: dict[str, FundingRate] = {}
        for symbol in symbols:
            item = raw.get(symbol)
            rate = dec(item.get("fundingRate")) if item else None
            if item is None or rate is None:
                continue
            hours = funding_interval_hours(item)
            if hours is None and self.profile.funding_interval_default_hours is not None:
                hours = Decimal(self.profile.funding_interval_default_hours)
            if hours is None:
                # Never assumed (8 h is not universal: OKX, Bybit and Binance move contracts
                # to 4 h or 1 h): a rate whose interval is unknown is left out, as unknown.
                log.warning(
                    "funding_interval_unknown", symbol=symbol, interval=item.get("interval")
                )
                continue
            rates[symbol] = FundingRate(
                symbol=symbol,
                rate=rate,
                interval_hours=hours,
                next_funding_time=from_ms(item["fundingTimestamp"])
                if item.get("fundingTimestamp")
                else None,
                predicted_rate=dec(item.get("nextFundingRate")),
            )
        return rates

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: datetime | None, limit: int
    ) -> Sequence[Candle]:
        since_ms = to_ms(since) if since else None
        rows = await self._call(
            "fetch_ohlcv", lambda: self.client.fetch_ohlcv(symbol, timeframe, since_ms, limit)
        )
        return [
            Candle(
                from_ms(r[0]),
                dec(r[1]) or ZERO,
                dec(r[2]) or ZERO,
                dec(r[3]) or ZERO,
                dec(r[4]) or ZERO,
                dec(r[5]) or ZERO,
            )
            for r in rows
        ]
