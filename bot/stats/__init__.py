"""Pure statistics on candle closes: log returns, beta/correlation and realized volatility.

Everything here is a pure function of its arguments (no I/O, no clock): the daemon fetches the
candles and passes ``now``. Statistics are float64 (numpy); money never passes through here.
"""

from bot.stats.beta import BetaEstimate, EstimateState, Method, estimate_beta, ewma_moments
from bot.stats.returns import (
    AlignedReturns,
    CloseSeries,
    Returns,
    aggregate_closes,
    aligned_returns,
    log_returns,
)
from bot.stats.vol import SECONDS_PER_YEAR, realized_vol

__all__ = [
    "SECONDS_PER_YEAR",
    "AlignedReturns",
    "BetaEstimate",
    "CloseSeries",
    "EstimateState",
    "Method",
    "Returns",
    "aggregate_closes",
    "aligned_returns",
    "estimate_beta",
    "ewma_moments",
    "log_returns",
    "realized_vol",
]
