"""What a rule needs estimated before it can decide, and how to estimate it from candles.

The daemon collects ``BetaRequest``s (``BetaRule.beta_requests``) and ``VolRequest``s
(``BetaRule.vol_requests``), fetches spot candles through the exchange port on each request's
schedule, and passes the results to the rules in ``RuleInputs.betas`` (keyed
``(asset, hedge_coin)``) and ``RuleInputs.realized_vol`` (keyed by coin).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.types import Candle
from bot.stats.beta import BetaEstimate, Method, estimate_from_returns
from bot.stats.returns import AlignedReturns, CloseSeries, aligned_returns
from bot.stats.vol import realized_vol


@dataclass(frozen=True, slots=True)
class BetaParams:
    """Estimator settings. ``window``/``min_observations``: returns at the horizon
    (``aggregate_seconds`` or ``interval_seconds``); ``half_life``: bars (EWMA)."""

    interval: str  # candle timeframe to fetch, e.g. "1h"
    interval_seconds: int
    window: int
    method: Method
    half_life: float | None
    aggregate_seconds: int | None  # e.g. 86400: daily returns from hourly candles
    min_observations: int
    max_age: timedelta  # an estimate whose newest return is older is stale
    refresh: timedelta  # re-estimate this often

    @property
    def horizon_seconds(self) -> int:
        return self.aggregate_seconds or self.interval_seconds

    @property
    def candles_needed(self) -> int:
        """Candles to fetch per coin: the window, one period before it and the one in progress."""
        per_return = self.horizon_seconds // self.interval_seconds
        return (self.window + 2) * per_return


@dataclass(frozen=True, slots=True)
class BetaRequest:
    """Estimate β(asset, hedge coin) from ``<coin>/USDT`` spot candles of both coins."""

    asset: str
    hedge: str
    params: BetaParams

    @property
    def key(self) -> tuple[str, str]:
        """The ``RuleInputs.betas`` key of the result."""
        return (self.asset, self.hedge)


@dataclass(frozen=True, slots=True)
class VolRequest:
    """Annualized realized volatility of ``coin`` over the newest ``window`` candles."""

    coin: str
    interval: str
    interval_seconds: int
    window: int
    max_age: timedelta

    @property
    def candles_needed(self) -> int:
        return self.window + 2


def is_due(request: BetaRequest, previous: BetaEstimate | None, now: datetime) -> bool:
    """Whether to (re-)estimate now: no estimate yet, or ``params.refresh`` since the last."""
    return due_since(request, None if previous is None else previous.estimated_at, now)


def due_since(request: BetaRequest, estimated_at: datetime | None, now: datetime) -> bool:
    """``is_due`` given when the last estimate was made (None: never)."""
    return estimated_at is None or now - estimated_at >= request.params.refresh


def estimate_for(
    request: BetaRequest,
    asset_candles: Sequence[Candle],
    hedge_candles: Sequence[Candle],
    now: datetime,
) -> BetaEstimate:
    """Run ``request`` on candles (oldest first) of the asset and of the hedge coin.

    A candle still in progress at ``now`` (open + interval > now) is dropped.
    """
    p = request.params
    returns = aligned_returns(  # ``estimate_beta``'s first step
        _closed(asset_candles, p.interval_seconds, now),
        _closed(hedge_candles, p.interval_seconds, now),
        p.aggregate_seconds,
    )
    return estimate_on_returns(request, returns, now)


def estimate_on_returns(
    request: BetaRequest, returns: AlignedReturns, now: datetime
) -> BetaEstimate:
    """``request``'s estimate from the aligned returns of its candles (at its horizon)."""
    p = request.params
    return estimate_from_returns(
        returns,
        method=p.method,
        window=p.window,
        half_life=p.half_life,
        min_observations=p.min_observations,
        max_age=p.max_age,
        now=now,
    )


def vol_for(request: VolRequest, candles: Sequence[Candle], now: datetime) -> float | None:
    """Run ``request`` on candles (oldest first; one in progress is dropped); None when too few
    or too old."""
    series = _closed(candles, request.interval_seconds, now)
    return realized_vol(
        series,
        request.window,
        min_observations=max(2, request.window // 2),
        now=now,
        max_age=request.max_age,
    )


def _closed(candles: Sequence[Candle], interval_seconds: int, now: datetime) -> CloseSeries:
    step = timedelta(seconds=interval_seconds)
    done = [c for c in candles if c.opened_at + step <= now]
    return CloseSeries.from_candles(done, interval_seconds)
