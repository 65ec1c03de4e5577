"""Realized volatility from candle closes, annualized.

``vol = std(log returns) × sqrt(SECONDS_PER_YEAR / horizon)``; for hourly candles that is the
hourly standard deviation × sqrt(8760), as in shared/data/README.md. Returns spanning a missing
candle are dropped (``bot.stats.returns``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from bot.stats.returns import CloseSeries, from_epoch, log_returns

SECONDS_PER_YEAR = 8760 * 3600  # 365 days, the convention of the data README


def realized_vol(
    series: CloseSeries,
    window: int,
    *,
    min_observations: int = 2,
    now: datetime | None = None,
    max_age: timedelta | None = None,
) -> float | None:
    """Annualized volatility (fraction, 0.8 = 80 %) of the newest ``window`` log returns.

    None when fewer than ``min_observations`` returns are available, or, when ``now`` and
    ``max_age`` are given, when the newest return ended more than ``max_age`` before ``now``:
    a missing volatility is never reported as zero. Sample standard deviation (ddof 1).
    """
    returns = log_returns(series)
    values = returns.values[-window:] if window > 0 else returns.values[:0]
    if values.size < max(min_observations, 2):
        return None
    if now is not None and max_age is not None:
        newest = from_epoch(int(returns.ends[-1]))
        if now - newest > max_age:
            return None
    per_bar = float(values.std(ddof=1))
    return per_bar * math.sqrt(SECONDS_PER_YEAR / returns.horizon_seconds)
