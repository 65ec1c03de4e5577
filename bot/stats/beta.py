"""Beta and correlation of an asset against a hedge instrument, with an explicit state.

Reference: hedging-math.md §3 and §7. ``beta = cov(r_A, r_B) / var(r_B)`` and
``rho = cov / (sd_A · sd_B)`` over log returns at one horizon. Two estimators:

- ``"ols"``: equal weights over the newest ``window`` returns; with an intercept, i.e. on
  de-meaned returns (``beta`` is the OLS slope of r_A on r_B).
- ``"ewma"``: the newest ``window`` returns with weights ``0.5 ** (age / half_life)`` (age in
  bars at the estimation horizon, 0 for the newest); exponentially weighted mean, covariance and
  variances. It forgets a past regime with a half-life of ``half_life`` bars.

The result always says whether it may be used: ``state`` is ``"ok"``, ``"insufficient_data"``
(fewer than ``min_observations`` returns, or a series without variance) or ``"stale"`` (the newest
return ended more than ``max_age`` before ``now``). ``beta`` and ``rho`` are None unless the state
is ok: there is never a silent default beta of 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from bot.stats.returns import (
    AlignedReturns,
    CloseSeries,
    FloatArray,
    aligned_returns,
    from_epoch,
    to_epoch,
)

Method = Literal["ols", "ewma"]
EstimateState = Literal["ok", "insufficient_data", "stale"]


@dataclass(frozen=True, slots=True)
class BetaEstimate:
    """One beta/correlation estimate of an asset (A) against a hedge (B).

    ``beta`` (dimensionless, USD of B per USD of A) and ``rho`` (correlation, −1..1) are set only
    when ``state == "ok"``. ``n`` is the number of returns used, ``effective_n`` the Kish
    effective sample size ((Σw)²/Σw², equal to ``n`` for OLS). ``window`` (returns),
    ``half_life`` (bars) and ``horizon_seconds`` (return length, e.g. 3600 or 86400) repeat the
    parameters. ``data_start``/``data_end`` bound the returns used (UTC); ``estimated_at`` is the
    ``now`` the estimate was made for. ``reason`` explains a state other than ok.
    """

    state: EstimateState
    beta: float | None
    rho: float | None
    n: int
    window: int
    method: Method
    half_life: float | None
    horizon_seconds: int
    data_start: datetime | None
    data_end: datetime | None
    estimated_at: datetime
    effective_n: float | None = None
    reason: str = ""
    # Set with beta when ok: the standard error of beta (same units), and the per-bar standard
    # deviations of the two return series (at the estimation horizon) that the fee-aware band
    # weighs (bot.core.no_trade).
    beta_se: float | None = None
    sd_asset: float | None = None
    sd_hedge: float | None = None

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def age(self, now: datetime) -> timedelta | None:
        """Time from the newest return used to ``now``; None when no data was used."""
        return None if self.data_end is None else now - self.data_end


def ols_moments(asset: FloatArray, hedge: FloatArray) -> tuple[float, float, float]:
    """Sample (cov(A, B), var(A), var(B)) with equal weights, about the means (ddof 1)."""
    # ``np.add.reduce(x) / n`` is what ``x.mean()`` computes, without its Python-level wrapper
    # (a third of the cost at these sizes; estimates are refreshed often in a backtest).
    da = asset - np.add.reduce(asset) / asset.size
    db = hedge - np.add.reduce(hedge) / hedge.size
    ddof = max(asset.size - 1, 1)
    return float(da @ db) / ddof, float(da @ da) / ddof, float(db @ db) / ddof


def ewma_weights(count: int, half_life: float) -> FloatArray:
    """Weights ``0.5 ** (age / half_life)`` for ``count`` bars, oldest first (newest = 1)."""
    ages = np.arange(count - 1, -1, -1, dtype=np.float64)
    weights: FloatArray = np.exp2(-ages / half_life)
    return weights


def ewma_moments(
    asset: FloatArray, hedge: FloatArray, half_life: float
) -> tuple[float, float, float, float]:
    """Exponentially weighted (cov(A, B), var(A), var(B), effective n), about weighted means.

    Returns are oldest first; ``half_life`` is in bars. The common normalisation (Σw) cancels in
    beta and rho, so the moments are left biased.
    """
    weights = ewma_weights(asset.size, half_life)
    total = float(weights.sum())
    da = asset - float(weights @ asset) / total
    db = hedge - float(weights @ hedge) / total
    cov = float(weights @ (da * db)) / total
    var_a = float(weights @ (da * da)) / total
    var_b = float(weights @ (db * db)) / total
    effective_n = total * total / float(weights @ weights)
    return cov, var_a, var_b, effective_n


def _window_bounds(returns: AlignedReturns) -> tuple[datetime | None, datetime | None]:
    if not len(returns):
        return None, None
    start = int(returns.ends[0]) - returns.horizon_seconds
    return from_epoch(start), from_epoch(int(returns.ends[-1]))


def estimate_from_returns(
    returns: AlignedReturns,
    *,
    method: Method,
    window: int,
    half_life: float | None,
    min_observations: int,
    max_age: timedelta,
    now: datetime,
) -> BetaEstimate:
    """Estimate from already aligned returns (see ``estimate_beta`` for the parameters)."""
    _check_params(method, window, half_life, min_observations)
    used = returns.tail(window)
    start, end = _window_bounds(used)

    def result(
        state: EstimateState,
        reason: str,
        beta: float | None = None,
        rho: float | None = None,
        effective_n: float | None = None,
        moments: tuple[float, float] | None = None,
    ) -> BetaEstimate:
        return BetaEstimate(
            state=state,
            beta=beta,
            rho=rho,
            n=len(used),
            window=window,
            method=method,
            half_life=half_life,
            horizon_seconds=returns.horizon_seconds,
            data_start=start,
            data_end=end,
            estimated_at=now,
            effective_n=effective_n,
            reason=reason,
            beta_se=None
            if beta is None or moments is None
            else beta_standard_error(beta, rho or 0.0, moments[0], moments[1], effective_n or 0.0),
            sd_asset=None if moments is None else math.sqrt(moments[0]),
            sd_hedge=None if moments is None else math.sqrt(moments[1]),
        )

    to_epoch(now)  # refuses a naive ``now``
    if end is not None and now - end > max_age:
        return result("stale", f"newest return ended at {end.isoformat()}, older than {max_age}")
    if end is None or len(used) < min_observations:
        return result("insufficient_data", f"{len(used)} returns, need at least {min_observations}")
    if half_life is None:  # "ols" (_check_params pairs "ewma" with a half-life)
        cov, var_a, var_b = ols_moments(used.asset, used.hedge)
        effective_n: float = float(len(used))
    else:
        cov, var_a, var_b, effective_n = ewma_moments(used.asset, used.hedge, half_life)
    if not (var_a > 0 and var_b > 0) or not math.isfinite(cov):
        return result("insufficient_data", "a series has no variance over the window")
    beta = cov / var_b
    rho = max(-1.0, min(1.0, cov / math.sqrt(var_a * var_b)))
    return result("ok", "", beta, rho, effective_n, (var_a, var_b))


def beta_standard_error(
    beta: float, rho: float, var_asset: float, var_hedge: float, effective_n: float
) -> float:
    """Standard error of an OLS slope: sqrt(residual variance / ((n − 2) · var_hedge)), with the
    residual variance var_asset·(1 − ρ²) and n the (Kish effective) number of returns.
    Infinite below 3 returns: nothing can be said about the slope."""
    if effective_n <= 2 or var_hedge <= 0:
        return math.inf
    residual = max(var_asset * (1.0 - rho * rho), 0.0)
    return math.sqrt(residual / ((effective_n - 2.0) * var_hedge))


def estimate_beta(
    asset_closes: CloseSeries,
    hedge_closes: CloseSeries,
    *,
    method: Method = "ols",
    window: int,
    half_life: float | None = None,
    min_observations: int,
    max_age: timedelta,
    now: datetime,
    aggregate_seconds: int | None = None,
) -> BetaEstimate:
    """Beta and rho of the asset's log returns against the hedge's, with an explicit state.

    ``window``: the newest returns used (count, at the estimation horizon). ``half_life``: EWMA
    half-life in bars (required for ``"ewma"``, refused for ``"ols"``). ``min_observations``:
    fewer usable returns give ``"insufficient_data"``. ``max_age``: the newest return must have
    ended within this of ``now`` (aware UTC), else ``"stale"``. ``aggregate_seconds``: estimate
    at that coarser horizon (e.g. 86400 for daily returns from hourly candles); returns that
    would span a missing candle or period are dropped, never filled.
    """
    returns = aligned_returns(asset_closes, hedge_closes, aggregate_seconds)
    return estimate_from_returns(
        returns,
        method=method,
        window=window,
        half_life=half_life,
        min_observations=min_observations,
        max_age=max_age,
        now=now,
    )


def _check_params(
    method: Method, window: int, half_life: float | None, min_observations: int
) -> None:
    if method not in ("ols", "ewma"):
        raise ValueError(f"unknown method {method!r} (use 'ols' or 'ewma')")
    if window < 2:
        raise ValueError(f"window must be at least 2 returns, got {window}")
    if not 2 <= min_observations <= window:
        raise ValueError(f"min_observations must be in 2..window, got {min_observations}")
    if method == "ewma" and (half_life is None or not half_life > 0):
        raise ValueError("method 'ewma' needs a half_life > 0 (bars)")
    if method == "ols" and half_life is not None:
        raise ValueError("half_life applies to method 'ewma' only")
