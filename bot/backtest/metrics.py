"""Statistics of a replay: daily PnL, hedge effectiveness, the ρ² ceiling, drawdowns (float64).

Reference: hedging-math.md §7. Over the days of the run, with ΔU the daily USD change of the
unhedged book and ΔH that of the hedged book (fees and funding inside):

    effectiveness = 1 − var(ΔH) / var(ΔU).

The ceiling is measured on the same book: ΔG is the daily USD PnL of a "unit hedge", a short of
the hedge instrument worth 1 × the asset's USD value, resized every tick (over a tick from t−1 to
t: ``−V(t−1) · (P_B(t) / P_B(t−1) − 1)``, the USD PnL of an inverse or linear short). The best any
constant β could do is ρ²(ΔU, ΔG), with β* = −cov(ΔU, ΔG) / var(ΔG). For a book of several hedged
assets the ceiling is the R² of ΔU on all unit hedges at once (one column each; equal to ρ² for
one). Days are UTC days: the book is valued at each 00:00 UTC tick and ΔX is the change from one
midnight to the next (partial first and last days are left out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
DAY = 86_400


def midnights(times: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Indices of the ticks at 00:00 UTC."""
    return np.flatnonzero(times % DAY == 0).astype(np.int64)


def daily_changes(values: FloatArray, days: npt.NDArray[np.int64]) -> FloatArray:
    """Midnight-to-midnight changes of a per-tick series."""
    result: FloatArray = np.diff(values[days])
    return result


def daily_sums(per_tick: FloatArray, days: npt.NDArray[np.int64]) -> FloatArray:
    """Sums of per-tick amounts over each day ((midnight, next midnight]); ``per_tick[i]`` is
    what happened from tick i−1 to tick i."""
    cumulative = np.cumsum(per_tick)
    result: FloatArray = np.diff(cumulative[days])
    return result


def effectiveness(unhedged: FloatArray, hedged: FloatArray) -> float | None:
    """1 − var(ΔH)/var(ΔU); None with fewer than 3 days or a book that never moved."""
    if unhedged.size < 3:
        return None
    var_u = float(np.var(unhedged, ddof=1))
    if not var_u > 0:
        return None
    return 1.0 - float(np.var(hedged, ddof=1)) / var_u


@dataclass(frozen=True, slots=True)
class CeilingFit:
    """ρ(ΔU, ΔG), ρ², and the best constant multiple of the unit hedge β* (the short that ρ²
    needs, in units of the asset's value)."""

    rho: float
    rho2: float
    beta_star: float
    days: int


def unit_ceiling(unhedged: FloatArray, unit: FloatArray) -> CeilingFit | None:
    """ρ²(ΔU, ΔG) for one unit hedge (module docstring); None when undefined."""
    if unhedged.size < 3:
        return None
    cov = np.cov(unhedged, unit, ddof=1)
    var_u, var_g, cross = float(cov[0, 0]), float(cov[1, 1]), float(cov[0, 1])
    if not (var_u > 0 and var_g > 0):
        return None
    rho = cross / math.sqrt(var_u * var_g)
    return CeilingFit(rho, rho * rho, -cross / var_g, int(unhedged.size))


def book_ceiling(unhedged: FloatArray, units: list[FloatArray]) -> float | None:
    """R² of ΔU on every unit hedge together (with an intercept): the best constant β's."""
    if unhedged.size < len(units) + 3 or not units:
        return None
    total = float(np.sum((unhedged - unhedged.mean()) ** 2))
    if not total > 0:
        return None
    design = np.column_stack([np.ones_like(unhedged), *units])
    coefficients, *_ = np.linalg.lstsq(design, unhedged, rcond=None)
    residual = unhedged - design @ coefficients
    return 1.0 - float(residual @ residual) / total


def daily_volatility(changes: FloatArray) -> float | None:
    """Standard deviation of daily USD PnL (ddof 1)."""
    return float(np.std(changes, ddof=1)) if changes.size >= 2 else None


@dataclass(frozen=True, slots=True)
class Drawdown:
    """Largest peak-to-trough fall of a value series: USD and fraction of the peak."""

    usd: float
    fraction: float


def max_drawdown(values: FloatArray) -> Drawdown:
    if not values.size:
        return Drawdown(0.0, 0.0)
    peaks = np.maximum.accumulate(values)
    falls = peaks - values
    worst = int(np.argmax(falls))
    peak = float(peaks[worst])
    return Drawdown(float(falls[worst]), float(falls[worst]) / peak if peak > 0 else 0.0)


def unit_hedge_pnl(value: FloatArray, hedge_return: FloatArray) -> FloatArray:
    """Per-tick USD PnL of a short worth ``value[t−1]`` held from tick t−1 to t, where
    ``hedge_return[t]`` is the hedge instrument's price return over that interval (index 0: 0)."""
    pnl = np.zeros_like(value)
    pnl[1:] = -value[:-1] * hedge_return[1:]
    return pnl
