"""OLS β estimates of a pair's windows in O(1) each, from prefix sums over the whole history.

The daemon estimates OLS β from the exact integer sums of a window's quantised log returns
(``bot.stats.ols_exact``). Those sums are differences of prefix sums: for the aligned returns
of a pair over the whole history (``bot.backtest.history``), the prefix sums of the int64 limb
terms (``limb_terms``) are computed once, and a window ``[lo, hi)``'s column sums are
``prefix[hi] − prefix[lo]``. numpy's cumulative sums wrap modulo 2**64, and so does that
difference, read as a signed int64: it is the exact window sum whenever that sum fits in int64,
which ``fits_int64`` guarantees (every term is then small enough). A window that does not fit
(a return beyond ``MAX_STEP``, counted by the last prefix column, or a window longer than
``MAX_WINDOW``) is summed from its quantised returns by ``window_sums``: the daemon's own
function, which decides the same way and gives the same integers. The estimate is then built
by ``ols_estimate``, as the daemon's is: every field is the same, bit for bit
(``tests/backtest/test_ols_windows.py`` checks it on real data and random gap patterns).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from bot.stats.beta import BetaEstimate, ols_estimate, refused, unusable_window
from bot.stats.ols_exact import (
    LIMB_TERMS,
    MAX_WINDOW,
    IntArray,
    Sums,
    beyond_int64,
    combine,
    limb_terms,
    quantisable,
    quantise,
    window_sums,
)
from bot.stats.returns import AlignedReturns, from_epoch


class OlsWindows:
    """The quantised aligned returns of one pair over the whole history and the prefix sums
    of their limb terms; ``estimate`` gives ``estimate_from_returns`` of any window of them."""

    __slots__ = ("_asset", "_ends", "_hedge", "_horizon", "_prefix", "_times")

    def __init__(self, returns: AlignedReturns, ends: list[int], times: dict[int, datetime]):
        """``returns``: the whole history's aligned returns, ``quantisable`` (see ``of``);
        ``ends``: their end times as a list (epoch s); ``times``: a cache of datetimes by
        epoch second, shared with other pairs (their windows end at the same times)."""
        asset, hedge = quantise(returns.asset), quantise(returns.hedge)
        columns = np.column_stack((limb_terms(asset, hedge), beyond_int64(asset, hedge)))
        prefix: IntArray = np.zeros((len(ends) + 1, LIMB_TERMS + 1), dtype=np.int64)
        np.cumsum(columns, axis=0, dtype=np.int64, out=prefix[1:])  # wraps modulo 2**64
        self._prefix = prefix
        self._asset, self._hedge = asset, hedge
        self._ends = ends
        self._horizon = returns.horizon_seconds
        self._times = times

    @classmethod
    def of(
        cls, returns: AlignedReturns, ends: list[int], times: dict[int, datetime]
    ) -> OlsWindows | None:
        """None when some return cannot be quantised (not finite, or beyond any log return):
        the caller then estimates each window from its returns, as the daemon does."""
        if not (quantisable(returns.asset) and quantisable(returns.hedge)):
            return None
        return cls(returns, ends, times)

    def estimate(
        self,
        lo: int,
        hi: int,
        window: int,
        min_observations: int,
        max_age: timedelta,
        now: datetime,
    ) -> BetaEstimate:
        """``estimate_from_returns`` (method ``"ols"``, with ``window`` returns, at least
        ``min_observations``, the newest within ``max_age`` of ``now``: parameters the caller
        has checked with ``check_params``) on returns ``[lo, hi)`` of the whole history (the
        aligned returns of the candles the daemon fetches)."""
        lo = max(lo, hi - window)  # ``returns.tail(window)``
        n = hi - lo
        start = end = None
        if n > 0:
            start = self._time(self._ends[lo] - self._horizon)
            end = self._time(self._ends[hi - 1])
        unusable = unusable_window(n, end, min_observations, max_age, now)
        if unusable is not None:
            return refused(
                *unusable,
                n=n,
                window=window,
                method="ols",
                half_life=None,
                horizon_seconds=self._horizon,
                start=start,
                end=end,
                now=now,
            )
        return ols_estimate(
            n,
            self._sums(lo, hi, window),
            window=window,
            horizon_seconds=self._horizon,
            start=start,
            end=end,
            now=now,
        )

    def _sums(self, lo: int, hi: int, window: int) -> Sums:
        """``window_sums`` of returns ``[lo, hi)``, from the prefix sums when they are exact."""
        if window <= MAX_WINDOW:
            # an array minus an array: wraps silently modulo 2**64 (a scalar would warn)
            totals: list[int] = (self._prefix[hi] - self._prefix[lo]).tolist()
            if not totals[LIMB_TERMS]:  # no return beyond MAX_STEP: every sum fits in int64
                return combine(totals)
        return window_sums(self._asset[lo:hi], self._hedge[lo:hi], window)

    def _time(self, epoch_s: int) -> datetime:
        known = self._times.get(epoch_s)
        if known is None:
            known = self._times[epoch_s] = from_epoch(epoch_s)
        return known
