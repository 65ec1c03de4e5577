"""β and volatility estimates the rules need, refreshed on their own schedule (not every tick).

Candles come through the exchange port (``COIN/USDT`` spot candles). A failed refresh keeps the
previous estimate (whose age the rule judges) and is logged; it never becomes a silent β of 1.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import structlog

from bot.core.types import Candle
from bot.exchange.errors import ExchangeError
from bot.exchange.port import ExchangePort
from bot.stats.beta import BetaEstimate
from strategies.base import HedgeRule, collect_requests
from strategies.requests import estimate_for, is_due, vol_for

log = structlog.get_logger(__name__)
PAGE = 1000  # candles per request (Bybit's kline limit)
VOL_REFRESH = timedelta(hours=1)


def candle_symbol(coin: str) -> str:
    """The spot market whose candles stand for ``coin``'s price history."""
    return f"{coin}/USDT"


async def fetch_candles(
    port: ExchangePort, coin: str, interval: str, interval_s: int, count: int, now: datetime
) -> list[Candle]:
    """The newest ``count`` candles of ``coin``, oldest first, paging ``PAGE`` at a time."""
    since = now - timedelta(seconds=interval_s * count)
    candles: dict[datetime, Candle] = {}
    while since < now and len(candles) < count:
        page = await port.fetch_ohlcv(candle_symbol(coin), interval, since, min(PAGE, count))
        if not page:
            break
        for candle in page:
            candles[candle.opened_at] = candle
        newest = max(c.opened_at for c in page)
        if newest <= since:
            break
        since = newest + timedelta(seconds=interval_s)
    return [candles[t] for t in sorted(candles)][-count:]


class EstimateCache:
    """The latest estimates by key, refreshed when due."""

    def __init__(
        self,
        port: ExchangePort,
        on_estimate: Callable[[str, str, BetaEstimate], Awaitable[None]] | None = None,
    ) -> None:
        self.port = port
        self.on_estimate = on_estimate  # e.g. store it with its inputs
        self.betas: dict[tuple[str, str], BetaEstimate] = {}
        self.vols: dict[str, float] = {}
        self._vols_at: dict[str, datetime] = {}

    async def refresh(self, rules: Sequence[HedgeRule], now: datetime) -> None:
        """Re-estimate every due β and volatility; keep the previous value on failure."""
        beta_requests, vol_requests = collect_requests(rules)
        for request in beta_requests:
            if not is_due(request, self.betas.get(request.key), now):
                continue
            params = request.params
            try:
                asset = await fetch_candles(
                    self.port,
                    request.asset,
                    params.interval,
                    params.interval_seconds,
                    params.candles_needed,
                    now,
                )
                hedge = await fetch_candles(
                    self.port,
                    request.hedge,
                    params.interval,
                    params.interval_seconds,
                    params.candles_needed,
                    now,
                )
            except ExchangeError as exc:
                log.warning(
                    "beta_refresh_failed", asset=request.asset, hedge=request.hedge, error=str(exc)
                )
                continue
            estimate = estimate_for(request, asset, hedge, now)
            self.betas[request.key] = estimate
            log.info(
                "beta_estimated",
                asset=request.asset,
                hedge=request.hedge,
                state=estimate.state,
                beta=estimate.beta,
                rho=estimate.rho,
                n=estimate.n,
                window=estimate.window,
                method=estimate.method,
                half_life=estimate.half_life,
                data_end=estimate.data_end.isoformat() if estimate.data_end else None,
            )
            if self.on_estimate is not None:
                await self.on_estimate(request.asset, request.hedge, estimate)
        for vol_request in vol_requests:
            last = self._vols_at.get(vol_request.coin)
            if last is not None and now - last < VOL_REFRESH:
                continue
            try:
                candles = await fetch_candles(
                    self.port,
                    vol_request.coin,
                    vol_request.interval,
                    vol_request.interval_seconds,
                    vol_request.candles_needed,
                    now,
                )
            except ExchangeError as exc:
                log.warning("vol_refresh_failed", coin=vol_request.coin, error=str(exc))
                continue
            vol = vol_for(vol_request, candles, now)
            self._vols_at[vol_request.coin] = now
            if vol is None:
                self.vols.pop(vol_request.coin, None)
            else:
                self.vols[vol_request.coin] = vol
