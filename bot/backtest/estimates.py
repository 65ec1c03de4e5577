"""The daemon's β and volatility estimates (``bot.daemon.estimates.EstimateCache``), on the feed.

Same schedule (``strategies.requests.is_due`` for β, ``VOL_REFRESH`` for volatility), same
candles (what ``fetch_candles`` pages out of the simulator: the closed candles opened in
``[ceil((now − interval·count) / interval)·interval, now − interval]``, newest ``count``), same
statistics (``estimate_beta`` / ``realized_vol`` with ``estimate_for`` / ``vol_for``'s
parameters). The candles are sliced from the replay's arrays instead of being built as ``Candle``
objects page by page; at the data's own timeframe that is a slice, and a coarser one goes through
the feed's own aggregation (``ReplayFeed.candles``). ``tests/backtest`` compares the result with
``EstimateCache`` on real data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt

from bot.daemon.estimates import VOL_REFRESH
from bot.sim.feed import ReplayFeed
from bot.sim.series import from_epoch, to_epoch
from bot.stats.beta import BetaEstimate, estimate_beta
from bot.stats.returns import CloseSeries
from bot.stats.vol import realized_vol
from strategies.base import HedgeRule, collect_requests
from strategies.requests import is_due


class Estimates:
    """The latest β per ``(asset, hedge coin)`` and volatility per coin, refreshed when due."""

    def __init__(self, feed: ReplayFeed, rules: Sequence[HedgeRule]) -> None:
        self.feed = feed
        self.beta_requests, self.vol_requests = collect_requests(rules)
        self.betas: dict[tuple[str, str], BetaEstimate] = {}
        self.vols: dict[str, float] = {}
        self.refreshes = 0
        self._vols_at: dict[str, datetime] = {}
        self._arrays: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = {}

    @property
    def needed(self) -> bool:
        return bool(self.beta_requests or self.vol_requests)

    def refresh(self, now: datetime) -> None:
        """Re-estimate every due β and volatility (see the module docstring)."""
        now_s = to_epoch(now)
        for request in self.beta_requests:
            if not is_due(request, self.betas.get(request.key), now):
                continue
            p = request.params
            asset = self.closes(request.asset, p.interval_seconds, p.candles_needed, now_s)
            hedge = self.closes(request.hedge, p.interval_seconds, p.candles_needed, now_s)
            self.betas[request.key] = estimate_beta(
                asset,
                hedge,
                method=p.method,
                window=p.window,
                half_life=p.half_life,
                min_observations=p.min_observations,
                max_age=p.max_age,
                now=now,
                aggregate_seconds=p.aggregate_seconds,
            )
            self.refreshes += 1
        for vol in self.vol_requests:
            last = self._vols_at.get(vol.coin)
            if last is not None and now - last < VOL_REFRESH:
                continue
            series = self.closes(vol.coin, vol.interval_seconds, vol.candles_needed, now_s)
            value = realized_vol(
                series,
                vol.window,
                min_observations=max(2, vol.window // 2),
                now=now,
                max_age=vol.max_age,
            )
            self._vols_at[vol.coin] = now
            if value is None:
                self.vols.pop(vol.coin, None)
            else:
                self.vols[vol.coin] = value

    def closes(self, coin: str, interval_s: int, count: int, now_s: int) -> CloseSeries:
        """The closes the daemon would fetch at ``now_s`` (see the module docstring)."""
        first = -(-(now_s - interval_s * count) // interval_s) * interval_s
        last = now_s // interval_s * interval_s - interval_s
        series = self.feed.series(coin)
        if interval_s != series.step:
            candles = self.feed.candles(
                coin, from_epoch(now_s), count, since=from_epoch(first), timeframe=interval_s
            )
            return CloseSeries.from_candles(candles[-count:], interval_s)
        opens, closes = self._coin_arrays(coin)
        lo = int(np.searchsorted(opens, first, side="left"))
        hi = int(np.searchsorted(opens, last, side="right"))
        lo = max(lo, hi - count)
        return CloseSeries(interval_s, opens[lo:hi], closes[lo:hi])

    def _coin_arrays(self, coin: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        arrays = self._arrays.get(coin)
        if arrays is None:
            series = self.feed.series(coin)
            opens = np.asarray(series.opens, dtype=np.int64)
            closes = np.asarray([float(c) for c in series.close], dtype=np.float64)
            opens.flags.writeable = False
            closes.flags.writeable = False
            arrays = self._arrays[coin] = (opens, closes)
        return arrays
