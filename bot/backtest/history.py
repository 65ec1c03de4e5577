"""What the daemon's estimates would read, cut from each coin's whole history computed once.

The daemon fetches, at each refresh, the closed candles opened in ``[ceil((now − interval·count)
/ interval)·interval, now − interval]`` (the newest ``count``) and computes log returns from
them (``bot.stats.returns``). A replay refreshes thousands of times over one history, so here:

- ``closes``: those candles, as a view of the coin's whole close series (no ``Candle`` objects,
  no re-validation); at a timeframe other than the data's, the feed's own aggregation;
- ``aligned``: the aligned returns of a β request, taken from the aligned log returns of the
  two coins' whole histories (aggregated to the request's horizon first, when it has one).

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

import numpy as np

from bot.sim.feed import ReplayFeed
from bot.sim.series import from_epoch
from bot.stats.returns import AlignedReturns, CloseSeries, aggregate_closes, aligned_returns
from strategies.requests import BetaRequest


class History:
    """Whole-history closes and returns of a feed's coins, built on first use."""

    def __init__(self, feed: ReplayFeed) -> None:
        self.feed = feed
        self._whole: dict[str, CloseSeries] = {}  # per coin, at the data's step
        # per (coin, period): the complete periods, their opens, and their last candles' opens
        self._periods: dict[tuple[str, int], tuple[CloseSeries, list[int], list[int]]] = {}
        # per (asset, hedge, horizon): the aligned returns, and their ends as a list (bisect)
        self._pairs: dict[tuple[str, str, int], tuple[AlignedReturns, list[int]]] = {}
        # per (coin, interval, count, horizon): the last ``_span`` asked, with its ``now_s``
        self._spans: dict[tuple[str, int, int, int], tuple[int, tuple[int, int] | None]] = {}

    def closes(self, coin: str, interval_s: int, count: int, now_s: int) -> CloseSeries:
        """The closes the daemon would fetch at ``now_s`` (module docstring)."""
        step = self.feed.series(coin).step
        if interval_s != step:
            first = -(-(now_s - interval_s * count) // interval_s) * interval_s
            candles = self.feed.candles(
                coin, from_epoch(now_s), count, since=from_epoch(first), timeframe=interval_s
            )
            return CloseSeries.from_candles(candles[-count:], interval_s)
        lo, hi = self._window(coin, interval_s, count, now_s)
        return self._whole_series(coin).part(lo, hi)

    def aligned(self, request: BetaRequest, now_s: int) -> AlignedReturns | None:
        """``aligned_returns`` of the closes of both coins the daemon would fetch at ``now_s``,
        at the request's horizon (module docstring). None when it cannot be cut from the
        whole history (candles at another timeframe than the data's, an empty window, or no
        complete period in it): the caller then computes it from ``closes``."""
        p = request.params
        horizon = p.horizon_seconds
        spans = []
        for coin in (request.asset, request.hedge):
            if self.feed.series(coin).step != p.interval_seconds:
                return None
            span = self._span(coin, p.interval_seconds, p.candles_needed, now_s, horizon)
            if span is None:
                return None
            spans.append(span)
        first = max(spans[0][0], spans[1][0])
        last = min(spans[0][1], spans[1][1])
        whole, ends = self._pair(request.asset, request.hedge, horizon)
        lo = bisect_left(ends, first + 2 * horizon)
        hi = max(lo, bisect_right(ends, last + horizon))
        return AlignedReturns(horizon, whole.ends[lo:hi], whole.asset[lo:hi], whole.hedge[lo:hi])

    # -- whole histories ---------------------------------------------------------------------

    def _window(self, coin: str, interval_s: int, count: int, now_s: int) -> tuple[int, int]:
        """Indices ``[lo, hi)`` of the fetched candles in the whole series (at its step)."""
        first = -(-(now_s - interval_s * count) // interval_s) * interval_s
        last = now_s // interval_s * interval_s - interval_s
        opens = self.feed.series(coin).opens  # the same times as the whole series, as a list
        lo = bisect_left(opens, first)
        hi = bisect_right(opens, last)
        return max(lo, hi - count), hi

    def _span(
        self, coin: str, interval_s: int, count: int, now_s: int, horizon_s: int
    ) -> tuple[int, int] | None:
        """First and last open (at the horizon) of the fetched window; None when empty. The
        last answer per coin is kept: every request with that coin asks the same at a tick."""
        key = (coin, interval_s, count, horizon_s)
        known = self._spans.get(key)
        if known is not None and known[0] == now_s:
            return known[1]
        span = self._find_span(coin, interval_s, count, now_s, horizon_s)
        self._spans[key] = (now_s, span)
        return span

    def _find_span(
        self, coin: str, interval_s: int, count: int, now_s: int, horizon_s: int
    ) -> tuple[int, int] | None:
        lo, hi = self._window(coin, interval_s, count, now_s)
        if hi <= lo:
            return None
        opens = self.feed.series(coin).opens
        if horizon_s == interval_s:
            return opens[lo], opens[hi - 1]
        period_opens, last_opens = self._period_lists(coin, horizon_s)
        first = bisect_left(last_opens, opens[lo])
        last = bisect_right(last_opens, opens[hi - 1])
        if last <= first:
            return None
        return period_opens[first], period_opens[last - 1]

    def _whole_series(self, coin: str) -> CloseSeries:
        whole = self._whole.get(coin)
        if whole is None:
            series = self.feed.series(coin)
            whole = self._whole[coin] = CloseSeries(
                series.step,
                np.asarray(series.opens, dtype=np.int64),
                np.asarray([float(c) for c in series.close], dtype=np.float64),
            )
        return whole

    def _aggregated(self, coin: str, period_s: int) -> CloseSeries:
        known = self._periods.get((coin, period_s))
        if known is None:
            whole = self._whole_series(coin)
            periods = aggregate_closes(whole, period_s)
            # the open of each period's last candle, for ``_find_span``
            last_opens = (periods.opens + (period_s - whole.step_seconds)).tolist()
            known = self._periods[(coin, period_s)] = (periods, periods.opens.tolist(), last_opens)
        return known[0]

    def _period_lists(self, coin: str, period_s: int) -> tuple[list[int], list[int]]:
        """Each complete period's open, and its last candle's open (lists, for bisect)."""
        self._aggregated(coin, period_s)
        _, opens, last_opens = self._periods[(coin, period_s)]
        return opens, last_opens

    def _at_horizon(self, coin: str, horizon_s: int) -> CloseSeries:
        whole = self._whole_series(coin)
        return whole if horizon_s == whole.step_seconds else self._aggregated(coin, horizon_s)

    def _pair(self, asset: str, hedge: str, horizon_s: int) -> tuple[AlignedReturns, list[int]]:
        known = self._pairs.get((asset, hedge, horizon_s))
        if known is None:
            aligned = aligned_returns(
                self._at_horizon(asset, horizon_s), self._at_horizon(hedge, horizon_s)
            )
            known = self._pairs[(asset, hedge, horizon_s)] = (aligned, aligned.ends.tolist())
        return known
