"""What the daemon's estimates would read, cut from each coin's whole history computed once.

The daemon fetches, at each refresh, the closed candles opened in ``[ceil((now − interval·count)
/ interval)·interval, now − interval]`` (the newest ``count``) and computes log returns from
them (``bot.stats.returns``). A replay refreshes thousands of times over one history, so here:

- ``closes``: those candles, as a view of the coin's whole close series at that timeframe (no
  ``Candle`` objects, no re-validation); a timeframe longer than the data's is aggregated once
  over the whole data as the feed aggregates candles (a candle per interval holding any of the
  data's candles, closing at the last of them);
- ``aligned``: the aligned returns of a β request, taken from the aligned log returns of the
  two coins' whole histories (aggregated to the request's horizon first, when it has one);
- ``ols``: an OLS request's estimate on those returns, from prefix sums of the whole history's
  quantised returns (``bot.backtest.ols_windows``) without cutting them.

Why the cut equals the daemon's computation: a log return is formed from two candles exactly
one step apart and stamped with the second one's close time (``end``), so the returns the daemon
forms from a contiguous window of candles are exactly the whole history's returns whose two
candles lie in that window: ``end − 2·step ≥ first open`` and ``end − step ≤ last open``. A
period aggregated from the window is complete in it exactly when it is complete in the whole
history and its last candle lies in the window. Each return's value is the same float (the
logarithm is taken element by element, the difference of the same two logarithms), in the same
order, so the statistics computed from them are identical. ``tests/backtest`` checks this on
random gap patterns and against ``EstimateCache``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from bot.backtest.ols_windows import OlsWindows
from bot.sim.feed import ReplayFeed
from bot.sim.series import from_epoch
from bot.stats.beta import BetaEstimate, check_params
from bot.stats.returns import AlignedReturns, CloseSeries, aggregate_closes, aligned_returns
from strategies.requests import BetaRequest

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class _OlsPlan:
    """An OLS request's constants for ``History.ols``: the ``_span`` keys of its two coins,
    its horizon (s), the pair's whole-history return ends (epoch s) and prefix sums (None: the
    request is not served from them), and the estimator's window, minimum and maximum age."""

    request: BetaRequest
    asset_span: tuple[str, int, int, int]
    hedge_span: tuple[str, int, int, int]
    horizon: int
    ends: list[int]
    windows: OlsWindows | None
    window: int
    min_observations: int
    max_age: timedelta


class History:
    """Whole-history closes and returns of a feed's coins, built on first use."""

    def __init__(self, feed: ReplayFeed) -> None:
        self.feed = feed
        # per (coin, interval): the candles at that interval over the whole data, their opens
        self._bases: dict[tuple[str, int], tuple[CloseSeries, list[int]]] = {}
        # per (coin, interval, period): the complete periods, their opens, their last candles'
        self._periods: dict[tuple[str, int, int], tuple[CloseSeries, list[int], list[int]]] = {}
        # per (asset, hedge, interval, horizon): the aligned returns, their ends (for bisect)
        self._pairs: dict[tuple[str, str, int, int], tuple[AlignedReturns, list[int]]] = {}
        # per (coin, interval, count, horizon): the last ``_span`` asked, with its ``now_s``
        self._spans: dict[tuple[str, int, int, int], tuple[int, tuple[int, int] | None]] = {}
        # per (asset, hedge, interval, horizon): the OLS prefix sums (None: not quantisable)
        self._ols: dict[tuple[str, str, int, int], OlsWindows | None] = {}
        self._times: dict[int, datetime] = {}  # datetimes of window bounds, by epoch second
        self._plans: dict[int, _OlsPlan] = {}  # by id of the request (kept in the plan)

    def closes(self, coin: str, interval_s: int, count: int, now_s: int) -> CloseSeries:
        """The closes the daemon would fetch at ``now_s`` (module docstring)."""
        if interval_s % self.feed.series(coin).step:  # the feed's own answer (an error)
            first, _ = _fetched_range(interval_s, count, now_s)
            candles = self.feed.candles(
                coin, from_epoch(now_s), count, since=from_epoch(first), timeframe=interval_s
            )
            return CloseSeries.from_candles(candles[-count:], interval_s)
        lo, hi = self._window(coin, interval_s, count, now_s)
        return self._base(coin, interval_s)[0].part(lo, hi)

    def aligned(self, request: BetaRequest, now_s: int) -> AlignedReturns | None:
        """``aligned_returns`` of the closes of both coins the daemon would fetch at ``now_s``,
        at the request's horizon (module docstring). None when it cannot be cut from the
        whole history (an interval that is no multiple of the data's step, an empty window,
        or no complete period in it): the caller then computes it from ``closes``."""
        cut = self._cut(request, now_s)
        if cut is None:
            return None
        lo, hi = cut
        p = request.params
        whole = self._pair(request.asset, request.hedge, p.interval_seconds, p.horizon_seconds)[0]
        return AlignedReturns(
            p.horizon_seconds, whole.ends[lo:hi], whole.asset[lo:hi], whole.hedge[lo:hi]
        )

    def ols(self, request: BetaRequest, now_s: int, now: datetime) -> BetaEstimate | None:
        """``estimate_on_returns(request, aligned(request, now_s), now)`` for an OLS request, in
        O(1) from the pair's prefix sums (``bot.backtest.ols_windows``): the same estimate. None
        where ``aligned`` is None, or when the pair's returns cannot be quantised."""
        plan = self._plans.get(id(request))
        if plan is None or plan.request is not request:
            plan = self._plans[id(request)] = self._plan(request)
        windows = plan.windows
        if windows is None:
            return None
        asset = self._span_at(plan.asset_span, now_s)
        hedge = self._span_at(plan.hedge_span, now_s)
        if asset is None or hedge is None:
            return None
        # ``_cut``, with the request's constants looked up once
        first = asset[0] if asset[0] > hedge[0] else hedge[0]
        last = asset[1] if asset[1] < hedge[1] else hedge[1]
        horizon = plan.horizon
        lo = bisect_left(plan.ends, first + 2 * horizon)
        hi = bisect_right(plan.ends, last + horizon)
        return windows.estimate(
            lo, hi if hi > lo else lo, plan.window, plan.min_observations, plan.max_age, now
        )

    def windows(
        self, request: BetaRequest, now_s: npt.NDArray[np.int64]
    ) -> tuple[AlignedReturns, IntArray, IntArray, BoolArray] | None:
        """``ols``'s windows at many instants at once: the pair's whole-history aligned
        returns, and per instant ``[lo, hi)`` of the estimate's returns in them (the newest
        ``window`` of ``aligned(request, now_s)``) and whether both coins had candles there.
        Only for returns at the candles' own interval (no ``aggregate_to``) on data whose
        step divides it; None otherwise."""
        p = request.params
        interval, horizon, count = p.interval_seconds, p.horizon_seconds, p.candles_needed
        coins = (request.asset, request.hedge)
        if horizon != interval or any(interval % self.feed.series(c).step for c in coins):
            return None
        present = np.ones(now_s.shape, dtype=bool)
        firsts: list[IntArray] = []
        lasts: list[IntArray] = []
        first_open = -(-(now_s - interval * count) // interval) * interval  # _fetched_range
        last_open = now_s // interval * interval - interval
        for coin in coins:  # ``_window`` and ``_find_span`` at the candles' own interval
            opens = self._base(coin, interval)[0].opens
            hi = np.searchsorted(opens, last_open, side="right")
            lo = np.maximum(np.searchsorted(opens, first_open, side="left"), hi - count)
            here = hi > lo
            present &= here
            firsts.append(opens[np.where(here, lo, 0)])
            lasts.append(opens[np.where(here, hi - 1, 0)])
        whole = self._pair(request.asset, request.hedge, interval, horizon)[0]
        lo = np.searchsorted(whole.ends, np.maximum(firsts[0], firsts[1]) + 2 * horizon, "left")
        hi = np.searchsorted(whole.ends, np.minimum(lasts[0], lasts[1]) + horizon, "right")
        hi = np.maximum(hi, lo)
        return whole, np.maximum(lo, hi - p.window), hi, present

    def _plan(self, request: BetaRequest) -> _OlsPlan:
        """What ``ols`` needs of ``request``, found once (its parameters checked as
        ``estimate_from_returns`` checks them)."""
        p = request.params
        check_params(p.method, p.window, p.half_life, p.min_observations)
        interval, horizon, count = p.interval_seconds, p.horizon_seconds, p.candles_needed
        key = (request.asset, request.hedge, interval, horizon)
        windows: OlsWindows | None = None
        ends: list[int] = []
        if not any(interval % self.feed.series(coin).step for coin in key[:2]):
            whole, ends = self._pair(*key)
            if key not in self._ols:
                self._ols[key] = OlsWindows.of(whole, ends, self._times)
            windows = self._ols[key]
        return _OlsPlan(
            request,
            (request.asset, interval, count, horizon),
            (request.hedge, interval, count, horizon),
            horizon,
            ends,
            windows,
            p.window,
            p.min_observations,
            p.max_age,
        )

    def _cut(self, request: BetaRequest, now_s: int) -> tuple[int, int] | None:
        """Indices ``[lo, hi)`` of ``aligned(request, now_s)`` in the pair's whole-history
        aligned returns; None where ``aligned`` is None."""
        p = request.params
        interval, horizon = p.interval_seconds, p.horizon_seconds
        spans = []
        for coin in (request.asset, request.hedge):
            if interval % self.feed.series(coin).step:
                return None
            span = self._span(coin, interval, p.candles_needed, now_s, horizon)
            if span is None:
                return None
            spans.append(span)
        first = max(spans[0][0], spans[1][0])
        last = min(spans[0][1], spans[1][1])
        ends = self._pair(request.asset, request.hedge, interval, horizon)[1]
        lo = bisect_left(ends, first + 2 * horizon)
        return lo, max(lo, bisect_right(ends, last + horizon))

    # -- whole histories ---------------------------------------------------------------------

    def _window(self, coin: str, interval_s: int, count: int, now_s: int) -> tuple[int, int]:
        """Indices ``[lo, hi)`` of the fetched candles in the whole series at ``interval_s``."""
        first, last = _fetched_range(interval_s, count, now_s)
        opens = self._base(coin, interval_s)[1]
        lo = bisect_left(opens, first)
        hi = bisect_right(opens, last)
        return max(lo, hi - count), hi

    def _span(
        self, coin: str, interval_s: int, count: int, now_s: int, horizon_s: int
    ) -> tuple[int, int] | None:
        """First and last open (at the horizon) of the fetched window; None when empty. The
        last answer per coin is kept: every request with that coin asks the same at a tick."""
        return self._span_at((coin, interval_s, count, horizon_s), now_s)

    def _span_at(self, key: tuple[str, int, int, int], now_s: int) -> tuple[int, int] | None:
        """``_span`` of ``key`` = (coin, interval, count, horizon)."""
        known = self._spans.get(key)
        if known is not None and known[0] == now_s:
            return known[1]
        span = self._find_span(key[0], key[1], key[2], now_s, key[3])
        self._spans[key] = (now_s, span)
        return span

    def _find_span(
        self, coin: str, interval_s: int, count: int, now_s: int, horizon_s: int
    ) -> tuple[int, int] | None:
        lo, hi = self._window(coin, interval_s, count, now_s)
        if hi <= lo:
            return None
        opens = self._base(coin, interval_s)[1]
        if horizon_s == interval_s:
            return opens[lo], opens[hi - 1]
        _, period_opens, last_opens = self._aggregated(coin, interval_s, horizon_s)
        first = bisect_left(last_opens, opens[lo])
        last = bisect_right(last_opens, opens[hi - 1])
        if last <= first:
            return None
        return period_opens[first], period_opens[last - 1]

    def _base(self, coin: str, interval_s: int) -> tuple[CloseSeries, list[int]]:
        """The coin's candles at ``interval_s`` (a multiple of the data's step) over the whole
        data, and their open times as a list. At a longer interval, a candle per interval
        holding any of the data's candles, closing at the last of them: what the feed's
        ``candles`` (and so the simulated exchange) answers for that timeframe."""
        known = self._bases.get((coin, interval_s))
        if known is None:
            series = self.feed.series(coin)
            opens = np.asarray(series.opens, dtype=np.int64)
            closes = np.asarray([float(c) for c in series.close], dtype=np.float64)
            if interval_s == series.step:
                open_list = series.opens  # the feed's own list: the same times
            else:
                buckets = opens // interval_s
                last = np.append(buckets[1:] != buckets[:-1], True)
                opens, closes = buckets[last] * interval_s, closes[last]
                open_list = opens.tolist()
            known = self._bases[(coin, interval_s)] = (
                CloseSeries(interval_s, opens, closes),
                open_list,
            )
        return known

    def _aggregated(
        self, coin: str, interval_s: int, period_s: int
    ) -> tuple[CloseSeries, list[int], list[int]]:
        """The complete periods of the series at ``interval_s``, their opens, and the open of
        each one's last candle (lists, for bisect)."""
        known = self._periods.get((coin, interval_s, period_s))
        if known is None:
            periods = aggregate_closes(self._base(coin, interval_s)[0], period_s)
            last_opens = (periods.opens + (period_s - interval_s)).tolist()
            known = (periods, periods.opens.tolist(), last_opens)
            self._periods[(coin, interval_s, period_s)] = known
        return known

    def _at_horizon(self, coin: str, interval_s: int, horizon_s: int) -> CloseSeries:
        if horizon_s == interval_s:
            return self._base(coin, interval_s)[0]
        return self._aggregated(coin, interval_s, horizon_s)[0]

    def _pair(
        self, asset: str, hedge: str, interval_s: int, horizon_s: int
    ) -> tuple[AlignedReturns, list[int]]:
        key = (asset, hedge, interval_s, horizon_s)
        known = self._pairs.get(key)
        if known is None:
            aligned = aligned_returns(
                self._at_horizon(asset, interval_s, horizon_s),
                self._at_horizon(hedge, interval_s, horizon_s),
            )
            known = self._pairs[key] = (aligned, aligned.ends.tolist())
        return known


def _fetched_range(interval_s: int, count: int, now_s: int) -> tuple[int, int]:
    """First and last open time (epoch s) of the candles the daemon fetches at ``now_s``: from
    ``ceil((now − interval·count) / interval)·interval`` to the last candle closed by ``now``."""
    first = -(-(now_s - interval_s * count) // interval_s) * interval_s
    return first, now_s // interval_s * interval_s - interval_s
