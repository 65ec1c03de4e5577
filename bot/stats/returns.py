"""Candle closes -> log returns on a common grid, never filling a gap.

Time convention (as in ``bot.sim.feed``): a candle is stamped with its OPEN time and its close is
known at ``open + step``. A log return ``ln(C_t / C_{t-1})`` is formed only from two candles
exactly one step apart, so a return never spans a missing candle: the two returns next to a hole
are dropped, nothing is interpolated or carried forward. Each return is stamped with the close
time of its second candle (``end``, epoch seconds UTC); it covers ``[end - horizon, end]``.

Aggregation to a coarser horizon (e.g. hourly -> daily, see hedging-math.md §7 on the Epps
effect) uses the close of the last candle of each period, and only periods whose last candle is
the period's final one (a complete period): the daily return is then ``ln(C_day / C_prev_day)``,
which equals the sum of that day's hourly log returns when no hour is missing, and stays exact
(close to close, nothing filled) when one is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from bot.core.types import Candle

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_epoch(at: datetime) -> int:
    """Whole epoch seconds (UTC) of an aware datetime; ValueError for a naive one."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: use an aware UTC datetime")
    return (at - _EPOCH) // timedelta(seconds=1)


def from_epoch(seconds: int) -> datetime:
    """Aware UTC datetime of whole epoch seconds."""
    return _EPOCH + timedelta(seconds=int(seconds))


def _frozen(array: npt.NDArray[np.generic]) -> None:
    array.flags.writeable = False


@dataclass(frozen=True, slots=True, eq=False)
class CloseSeries:
    """Closes of one instrument's candles, oldest first.

    ``opens``: candle open times, epoch seconds UTC, strictly increasing and on one grid of
    ``step_seconds`` (missing candles are simply absent). ``closes``: close prices, USD per coin
    (any positive unit works: only ratios are used). The arrays are made read-only.
    """

    step_seconds: int
    opens: IntArray
    closes: FloatArray

    def __post_init__(self) -> None:
        if self.step_seconds <= 0:
            raise ValueError(f"step_seconds must be > 0, got {self.step_seconds}")
        if self.opens.shape != self.closes.shape or self.opens.ndim != 1:
            raise ValueError("opens and closes must be 1-d arrays of one length")
        if self.opens.size:
            steps = np.diff(self.opens)
            if np.any(steps <= 0):
                raise ValueError("candle open times must be strictly increasing")
            if np.any(steps % self.step_seconds):
                raise ValueError(f"candle open times are off the {self.step_seconds}s grid")
            if not np.all(np.isfinite(self.closes)) or np.any(self.closes <= 0):
                raise ValueError("closes must be finite and > 0")
        _frozen(self.opens)
        _frozen(self.closes)

    @classmethod
    def of(
        cls,
        opens: Sequence[int] | Sequence[datetime] | IntArray,
        closes: Sequence[float] | Sequence[Decimal] | FloatArray,
        step_seconds: int,
    ) -> CloseSeries:
        """Build from open times (epoch seconds or aware datetimes) and closes (USD per coin)."""
        stamps = [to_epoch(t) if isinstance(t, datetime) else int(t) for t in opens]
        return cls(
            step_seconds,
            np.asarray(stamps, dtype=np.int64),
            np.asarray([float(c) for c in closes], dtype=np.float64),
        )

    @classmethod
    def from_candles(cls, candles: Sequence[Candle], step_seconds: int) -> CloseSeries:
        """Build from the exchange port's candles (``opened_at`` aware UTC, Decimal closes)."""
        return cls.of([c.opened_at for c in candles], [c.close for c in candles], step_seconds)

    def __len__(self) -> int:
        return int(self.opens.size)

    def part(self, start: int, stop: int) -> CloseSeries:
        """Candles ``[start, stop)`` (indices): views of these arrays, not checked again (a
        contiguous part of a checked series keeps every property ``__post_init__`` checks)."""
        part = object.__new__(CloseSeries)
        object.__setattr__(part, "step_seconds", self.step_seconds)
        object.__setattr__(part, "opens", self.opens[start:stop])
        object.__setattr__(part, "closes", self.closes[start:stop])
        return part

    @property
    def close_times(self) -> IntArray:
        """When each close became known: open + step (epoch seconds)."""
        return self.opens + self.step_seconds

    @property
    def last_close_time(self) -> datetime | None:
        """When the newest close became known, or None for an empty series."""
        return None if not len(self) else from_epoch(int(self.opens[-1]) + self.step_seconds)


@dataclass(frozen=True, slots=True, eq=False)
class Returns:
    """Log returns of one series; ``ends[i]`` is the close time (epoch s) ending ``values[i]``."""

    horizon_seconds: int
    ends: IntArray
    values: FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class AlignedReturns:
    """Log returns of two series over the same intervals (same ``ends``, same horizon)."""

    horizon_seconds: int
    ends: IntArray
    asset: FloatArray
    hedge: FloatArray

    def __len__(self) -> int:
        return int(self.ends.size)

    def tail(self, count: int) -> AlignedReturns:
        """The newest ``count`` returns (all of them when there are fewer)."""
        start = max(len(self) - max(count, 0), 0)
        return AlignedReturns(
            self.horizon_seconds, self.ends[start:], self.asset[start:], self.hedge[start:]
        )


def log_returns(series: CloseSeries) -> Returns:
    """``ln(C_t / C_{t-1})`` for each pair of candles exactly one step apart (gaps dropped)."""
    consecutive = np.diff(series.opens) == series.step_seconds
    values = np.diff(np.log(series.closes))[consecutive]
    ends = series.close_times[1:][consecutive]
    return Returns(series.step_seconds, ends, values)


def aggregate_closes(series: CloseSeries, period_seconds: int) -> CloseSeries:
    """One close per complete period of ``period_seconds`` (a multiple of the step).

    Periods are aligned to the epoch (so ``86400`` gives UTC days). A period's close is the
    close of its last candle, and a period counts only if that candle is the period's final one:
    an incomplete period (e.g. the day still in progress) is dropped, never filled.
    """
    step = series.step_seconds
    if period_seconds <= 0 or period_seconds % step:
        raise ValueError(f"period {period_seconds}s must be a positive multiple of {step}s")
    if period_seconds == step or not len(series):
        return series
    buckets = series.opens // period_seconds
    is_last = np.append(buckets[1:] != buckets[:-1], True)
    complete = is_last & ((series.opens + step) % period_seconds == 0)
    return CloseSeries(
        period_seconds,
        (buckets[complete] * period_seconds).astype(np.int64),
        series.closes[complete].copy(),
    )


def aligned_returns(
    asset: CloseSeries, hedge: CloseSeries, aggregate_seconds: int | None = None
) -> AlignedReturns:
    """Log returns of ``asset`` and ``hedge`` over the intervals both have, oldest first.

    Both series must share a step. With ``aggregate_seconds`` the closes are first reduced to
    complete periods of that length (see ``aggregate_closes``).
    """
    if asset.step_seconds != hedge.step_seconds:
        raise ValueError(f"series steps differ: {asset.step_seconds}s vs {hedge.step_seconds}s")
    if aggregate_seconds is not None:
        asset = aggregate_closes(asset, aggregate_seconds)
        hedge = aggregate_closes(hedge, aggregate_seconds)
    ra, rb = log_returns(asset), log_returns(hedge)
    if np.array_equal(ra.ends, rb.ends):  # the usual case (no gap in either): nothing to match
        return AlignedReturns(ra.horizon_seconds, ra.ends, ra.values, rb.values)
    ends, ia, ib = np.intersect1d(ra.ends, rb.ends, assume_unique=True, return_indices=True)
    return AlignedReturns(ra.horizon_seconds, ends.astype(np.int64), ra.values[ia], rb.values[ib])
