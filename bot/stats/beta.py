"""Beta and correlation of an asset against a hedge instrument, with an explicit state.

Reference: hedging-math.md §3 and §7. ``beta = cov(r_A, r_B) / var(r_B)`` and
``rho = cov / (sd_A · sd_B)`` over log returns at one horizon. Two estimators:

- ``"ols"``: equal weights over the newest ``window`` returns; with an intercept, i.e. on
  de-meaned returns (``beta`` is the OLS slope of r_A on r_B). Computed from exact integer sums
  of the returns quantised to 2**-36 (``bot.stats.ols_exact``): the result depends only on the
  window's returns, so the backtest's prefix sums give the daemon's estimate bit for bit.
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

from bot.stats.ols_exact import Sums, ols_from_sums, quantisable, quantise, window_sums
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
    """Sample (cov(A, B), var(A), var(B)) with equal weights, about the means (ddof 1).

    The float two-pass formula: the reference the exact OLS path (``ols_exact``) is tested
    against; estimates no longer use it (its last bits depend on the summation order)."""
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


NO_VARIANCE = "a series has no variance over the window"


def unusable_window(
    n: int, end: datetime | None, min_observations: int, max_age: timedelta, now: datetime
) -> tuple[EstimateState, str] | None:
    """The state and reason of a window of ``n`` returns whose newest ended at ``end`` (None:
    no return) when it gives no estimate at ``now``: stale first, then too few; else None."""
    if end is not None and now - end > max_age:
        return "stale", f"newest return ended at {end.isoformat()}, older than {max_age}"
    if end is None or n < min_observations:
        return "insufficient_data", f"{n} returns, need at least {min_observations}"
    return None


def refused(
    state: EstimateState,
    reason: str,
    *,
    n: int,
    window: int,
    method: Method,
    half_life: float | None,
    horizon_seconds: int,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> BetaEstimate:
    """An estimate without β (a state other than ok, and why)."""
    return BetaEstimate(
        state=state,
        beta=None,
        rho=None,
        n=n,
        window=window,
        method=method,
        half_life=half_life,
        horizon_seconds=horizon_seconds,
        data_start=start,
        data_end=end,
        estimated_at=now,
        reason=reason,
    )


def accepted(
    beta: float,
    rho: float,
    var_asset: float,
    var_hedge: float,
    effective_n: float,
    *,
    n: int,
    window: int,
    method: Method,
    half_life: float | None,
    horizon_seconds: int,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> BetaEstimate:
    """An ok estimate: β and ρ with the standard error and the per-bar deviations the
    fee-aware band weighs, from the window's variances (return units squared)."""
    return BetaEstimate(
        state="ok",
        beta=beta,
        rho=rho,
        n=n,
        window=window,
        method=method,
        half_life=half_life,
        horizon_seconds=horizon_seconds,
        data_start=start,
        data_end=end,
        estimated_at=now,
        effective_n=effective_n,
        beta_se=beta_standard_error(beta, rho, var_asset, var_hedge, effective_n),
        sd_asset=math.sqrt(var_asset),
        sd_hedge=math.sqrt(var_hedge),
    )


def ols_estimate(
    n: int,
    sums: Sums | None,
    *,
    window: int,
    horizon_seconds: int,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> BetaEstimate:
    """The OLS estimate of a usable window (``unusable_window`` None) of ``n`` returns, from
    their exact quantised sums (``bot.stats.ols_exact``; None for returns that cannot be
    quantised: not finite, so without moments): ok, or insufficient when a series has no
    variance. The daemon's path (``estimate_from_returns``) and the backtest's
    (``bot.backtest.ols_windows``) both end here, so every field is computed one way."""
    moments = None if sums is None else ols_from_sums(n, sums)
    if moments is None:
        return refused(
            "insufficient_data",
            NO_VARIANCE,
            n=n,
            window=window,
            method="ols",
            half_life=None,
            horizon_seconds=horizon_seconds,
            start=start,
            end=end,
            now=now,
        )
    beta, rho, var_a, var_b = moments
    return accepted(
        beta,
        rho,
        var_a,
        var_b,
        float(n),
        n=n,
        window=window,
        method="ols",
        half_life=None,
        horizon_seconds=horizon_seconds,
        start=start,
        end=end,
        now=now,
    )


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
    """Estimate from already aligned returns (see ``estimate_beta`` for the parameters).

    OLS: from the exact sums of the quantised returns (``bot.stats.ols_exact``), so the result
    depends only on the window's returns, never on how they were summed. EWMA: float moments.
    """
    check_params(method, window, half_life, min_observations)
    used = returns.tail(window)
    start, end = _window_bounds(used)
    n, horizon = len(used), returns.horizon_seconds
    to_epoch(now)  # refuses a naive ``now``
    unusable = unusable_window(n, end, min_observations, max_age, now)
    if unusable is not None:
        return refused(
            *unusable,
            n=n,
            window=window,
            method=method,
            half_life=half_life,
            horizon_seconds=horizon,
            start=start,
            end=end,
            now=now,
        )
    if half_life is None:  # "ols" (check_params pairs "ewma" with a half-life)
        sums = None
        if quantisable(used.asset) and quantisable(used.hedge):
            sums = window_sums(quantise(used.asset), quantise(used.hedge), window)
        return ols_estimate(
            n, sums, window=window, horizon_seconds=horizon, start=start, end=end, now=now
        )
    cov, var_a, var_b, effective_n = ewma_moments(used.asset, used.hedge, half_life)
    if not (var_a > 0 and var_b > 0) or not math.isfinite(cov):
        return refused(
            "insufficient_data",
            NO_VARIANCE,
            n=n,
            window=window,
            method=method,
            half_life=half_life,
            horizon_seconds=horizon,
            start=start,
            end=end,
            now=now,
        )
    beta = cov / var_b
    rho = max(-1.0, min(1.0, cov / math.sqrt(var_a * var_b)))
    return accepted(
        beta,
        rho,
        var_a,
        var_b,
        effective_n,
        n=n,
        window=window,
        method=method,
        half_life=half_life,
        horizon_seconds=horizon,
        start=start,
        end=end,
        now=now,
    )


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


def check_params(
    method: Method, window: int, half_life: float | None, min_observations: int
) -> None:
    """ValueError for estimator parameters ``estimate_from_returns`` refuses."""
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
