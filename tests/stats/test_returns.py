"""Log returns on a common grid: gaps are dropped, never filled; aggregation to complete days."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from bot.core.types import Candle
from bot.stats.returns import (
    CloseSeries,
    aggregate_closes,
    aligned_returns,
    from_epoch,
    log_returns,
    to_epoch,
)

from .realdata import HOUR, hourly_closes

T0 = to_epoch(datetime(2024, 1, 1, tzinfo=UTC))


def series(hours: list[int], closes: list[float], start: int = T0) -> CloseSeries:
    return CloseSeries.of([start + h * HOUR for h in hours], closes, HOUR)


def test_returns_spanning_a_missing_candle_are_dropped() -> None:
    s = series([0, 1, 2, 4, 5], [100.0, 110.0, 99.0, 120.0, 132.0])  # hour 3 missing
    r = log_returns(s)
    assert r.values.tolist() == pytest.approx([math.log(1.1), math.log(0.9), math.log(1.1)])
    # Each return is stamped with the close time of its second candle.
    assert r.ends.tolist() == [T0 + 2 * HOUR, T0 + 3 * HOUR, T0 + 6 * HOUR]
    assert r.horizon_seconds == HOUR


def test_aligned_returns_keep_only_intervals_both_have() -> None:
    asset = series([0, 1, 2, 3, 4], [10.0, 11.0, 12.1, 13.31, 14.641])
    hedge = series([0, 1, 3, 4], [100.0, 105.0, 110.25, 115.7625])  # hour 2 missing
    r = aligned_returns(asset, hedge)
    assert r.ends.tolist() == [T0 + 2 * HOUR, T0 + 5 * HOUR]
    assert r.asset.tolist() == pytest.approx([math.log(1.1)] * 2)
    assert r.hedge.tolist() == pytest.approx([math.log(1.05)] * 2)


def test_daily_aggregation_uses_complete_days_close_to_close() -> None:
    day = 24
    hours = [h for h in range(3 * day + 5) if h != day + 13]  # day 2 misses one hour; day 4 partial
    closes = [100.0 * 1.001**h for h in hours]
    daily = aggregate_closes(series(hours, closes), 86_400)
    assert daily.step_seconds == 86_400
    assert daily.opens.tolist() == [T0, T0 + 86_400, T0 + 2 * 86_400]  # the partial day dropped
    assert daily.closes.tolist() == pytest.approx([100.0 * 1.001**h for h in (23, 47, 71)])
    r = log_returns(daily)
    # A day with a missing hour still has an exact close-to-close return (nothing filled).
    assert r.values.tolist() == pytest.approx([24 * math.log(1.001)] * 2)


def test_aggregation_equals_summed_hourly_returns_without_gaps() -> None:
    rng = np.random.default_rng(7)
    closes = (100 * np.exp(np.cumsum(rng.normal(0, 0.01, 96)))).tolist()
    s = series(list(range(96)), closes)
    hourly = log_returns(s).values
    daily = log_returns(aggregate_closes(s, 86_400)).values
    # Day d's return = the 24 hourly returns ending at the closes of hours 24d..24d+23.
    assert daily.tolist() == pytest.approx(
        [hourly[24 * d - 1 : 24 * d + 23].sum() for d in (1, 2, 3)]
    )


def test_close_series_from_candles_and_validation() -> None:
    candles = [
        Candle(
            from_epoch(T0 + h * HOUR), Decimal(c), Decimal(c), Decimal(c), Decimal(c), Decimal(0)
        )
        for h, c in ((0, "1.5"), (1, "2"))
    ]
    s = CloseSeries.from_candles(candles, HOUR)
    assert s.closes.tolist() == [1.5, 2.0]
    assert s.last_close_time == from_epoch(T0 + 2 * HOUR)
    with pytest.raises(ValueError, match="strictly increasing"):
        series([1, 0], [1.0, 1.0])
    with pytest.raises(ValueError, match="grid"):
        CloseSeries.of([T0, T0 + 1800], [1.0, 1.0], HOUR)
    with pytest.raises(ValueError, match="> 0"):
        series([0, 1], [1.0, 0.0])
    with pytest.raises(ValueError, match="steps differ"):
        aligned_returns(series([0], [1.0]), CloseSeries.of([T0], [1.0], 60))
    with pytest.raises(ValueError, match="naive"):
        to_epoch(datetime(2024, 1, 1))


def test_real_data_grid_has_one_missing_hour() -> None:
    """README: 38,322 candles per long series, one missing hour (2023-03-24 13:00 UTC)."""
    sol, btc = hourly_closes("SOL"), hourly_closes("BTC")
    assert len(sol) == len(btc) == 38_322
    r = aligned_returns(sol, btc)
    assert len(r) == 38_320  # 38,321 consecutive pairs minus the one pair across the hole
    missing = to_epoch(datetime(2023, 3, 24, 13, tzinfo=UTC))
    assert missing not in set(sol.opens.tolist())
    assert missing + HOUR not in set(r.ends.tolist())  # the return ending at 13:00's close


def test_part_is_the_slice_of_a_checked_series() -> None:
    whole = series([0, 1, 2, 4, 5], [100.0, 110.0, 99.0, 120.0, 132.0])
    part = whole.part(1, 4)
    assert part.step_seconds == HOUR
    assert part.opens.tolist() == [T0 + HOUR, T0 + 2 * HOUR, T0 + 4 * HOUR]
    assert part.closes.tolist() == [110.0, 99.0, 120.0]
    assert not part.opens.flags.writeable
    assert not part.closes.flags.writeable
    assert len(whole.part(3, 3)) == 0
    assert log_returns(part).values.tolist() == log_returns(whole).values.tolist()[1:2]


def test_aligned_returns_of_series_on_one_grid_equal_the_matched_ones() -> None:
    """Same candle times (the usual case) skip the matching; the answer is the matched one's."""
    asset = series([0, 1, 2, 4, 5], [10.0, 11.0, 12.1, 13.31, 14.641])
    hedge = series([0, 1, 2, 4, 5], [100.0, 105.0, 110.25, 115.7625, 121.550625])
    r = aligned_returns(asset, hedge)
    ra, rb = log_returns(asset), log_returns(hedge)
    ends, ia, ib = np.intersect1d(ra.ends, rb.ends, assume_unique=True, return_indices=True)
    assert r.ends.tolist() == ends.tolist() == [T0 + 2 * HOUR, T0 + 3 * HOUR, T0 + 6 * HOUR]
    assert r.asset.tolist() == ra.values[ia].tolist()
    assert r.hedge.tolist() == rb.values[ib].tolist()
