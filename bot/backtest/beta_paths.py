"""β, ρ and the proxy target factor of a ``kind: beta`` rule at every tick of a run, vectorised.

The skip-ahead (``bot.backtest.skip``) records a tick without evaluating its rules only when it
is certain of their answers. A proxy rule whose β is re-estimated at every tick (refresh at most
one step: the default hourly OLS over 720 returns) has a new β at every tick, so no constant
factor describes it; ``beta_paths`` gives, for every tick at once, the float β and ρ of the
estimate ``History.ols`` would give there, from float prefix sums of the same whole-history
aligned returns over the same windows (``History.windows``). Those floats differ from the exact
estimate's (quantised sums, ``bot.stats.ols_exact``) by far less than 1e-9, so every decision
taken from them keeps a margin: ``PROXIMITY`` on ρ, ``ROUNDING`` on β (the rule rounds both to
``BETA_PLACES``).

``proxy_factors``: where the rule certainly keeps its proxy (usable, ρ clearly at or above its
floor, no other candidate clearly ahead by more than the switch margin, β clearly positive: no
event, no taper, the same state), the lowest and highest target per USD of exposure it may
have; NaN elsewhere (the window ends there). With a fee-aware band (no ``band:``), a lower bound
of the rule's own band per tick too (``band_fraction`` of the estimate's tracking ratio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.backtest.history import History
from bot.core.no_trade import NoTradeTerms
from strategies.beta import BetaRule
from strategies.beta_choice import BETA_PLACES
from strategies.requests import BetaRequest

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
PROXIMITY = 3e-6  # ρ within this of a threshold: not certain (rounding 5e-7, float error 1e-9)
ROUNDING = 1.01 * 10.0**-BETA_PLACES  # the rule's rounded β is within this of the float one
BAND_SLACK = 2e-6  # the band is rounded to 6 digits: keep this below the float width


@dataclass(frozen=True, slots=True)
class BetaPaths:
    """Per tick: the estimate's β, ρ and per-bar standard deviations (float; NaN where there
    are none), whether it may be ok (``possible``: not certainly stale or too short) and
    whether it certainly is (``certain``)."""

    beta: Floats
    rho: Floats
    sd_asset: Floats
    sd_hedge: Floats
    possible: Bools
    certain: Bools


def beta_paths(
    history: History, request: BetaRequest, times: npt.NDArray[np.int64]
) -> BetaPaths | None:
    """``history.ols(request, t)`` at every instant of ``times`` (epoch s) in float; None for
    what ``History.windows`` does not cover, and for EWMA."""
    params = request.params
    if params.method != "ols":
        return None
    cut = history.windows(request, times)
    if cut is None:
        return None
    whole, lo, hi, present = cut
    a, b = whole.asset, whole.hedge
    count = hi - lo
    n = count.astype(np.float64)
    sums = [_window_sum(x, lo, hi) for x in (a, b, a * a, b * b, a * b)]
    sa, sb, saa, sbb, sab = sums
    with np.errstate(all="ignore"):
        sxx = n * saa - sa * sa
        syy = n * sbb - sb * sb
        sxy = n * sab - sa * sb
        beta = sxy / syy
        rho = np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0)
        pairs = n * (n - 1.0)
        sd_asset = np.sqrt(sxx / pairs)
        sd_hedge = np.sqrt(syy / pairs)
        clear = (sxx > 1e-9 * n * saa + n * n * 1e-18) & (syy > 1e-9 * n * sbb + n * n * 1e-18)
    ends = whole.ends
    newest = ends[np.clip(hi - 1, 0, max(ends.size - 1, 0))] if ends.size else np.zeros_like(hi)
    fresh = (times - newest) <= params.max_age.total_seconds()  # stale: now − end > max_age
    enough = (count >= params.min_observations) & (count >= 2)
    unusable = present & ((count == 0) | ~enough | ~fresh)
    finite = np.isfinite(beta) & np.isfinite(rho)
    certain = present & enough & fresh & clear & finite
    return BetaPaths(beta, rho, sd_asset, sd_hedge, ~unusable, certain)


def _window_sum(values: Floats, lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64]) -> Floats:
    prefix = np.zeros(values.size + 1, dtype=np.float64)
    np.cumsum(values, out=prefix[1:])
    out: Floats = prefix[hi] - prefix[lo]
    return out


@dataclass(frozen=True, slots=True)
class ProxyFactors:
    """Per tick, the lowest and highest target short USD per USD of exposure of the rule on
    its proxy (NaN where it may not keep it) and, with a fee-aware band, a lower bound of its
    own band (None: the fixed ``band:``)."""

    low: list[float]
    high: list[float]
    band: list[float] | None


def proxy_factors(
    rule: BetaRule,
    coin: str,
    paths: dict[str, BetaPaths],
    no_trade: NoTradeTerms | None,
) -> ProxyFactors:
    """See the module docstring. ``coin``: the proxy held; ``paths``: per candidate coin the
    rule may choose (listed, not the asset), its β paths; ``no_trade``: the fee-aware band's
    terms, or None with a fixed band."""
    held = paths[coin]
    floor = float(rule.rho_floor)
    keep = held.certain & (held.rho >= floor + PROXIMITY) & (held.beta >= ROUNDING)
    if rule.hedge_with == "auto":
        margin = float(rule.switch_margin)
        for other, path in paths.items():
            if other != coin:  # NaN ρ (no variance) where it may be usable: not certain
                ahead = path.rho - held.rho <= margin - PROXIMITY
                keep &= ~path.possible | ahead
    beta = np.round(held.beta, BETA_PLACES)
    ratio = float(rule.ratio)
    low = np.where(keep, ratio * (beta - ROUNDING), np.nan)
    high = np.where(keep, ratio * (beta + ROUNDING), np.nan)
    band = None if no_trade is None else _band_floor(held, no_trade)
    return ProxyFactors(low.tolist(), high.tolist(), band)


def _band_floor(held: BetaPaths, terms: NoTradeTerms) -> list[float]:
    """``band_fraction(tracking_ratio(sd_asset, sd_hedge, ρ))`` per tick, less its rounding
    (NaN where the tracking ratio is not positive: the band is then ``min_band``, which the
    caller takes as the floor)."""
    rho = np.round(held.rho, BETA_PLACES)
    sd_a, sd_h = held.sd_asset, held.sd_hedge
    with np.errstate(all="ignore"):
        relative = np.maximum(sd_a * sd_a + sd_h * sd_h - 2.0 * rho * sd_a * sd_h, 0.0)
        tracking = relative / (sd_h * sd_h)
        scale = 3.0 * float(terms.fee_rate) / (4.0 * float(terms.risk_aversion))
        width = (scale * tracking) ** (1.0 / 3.0) - BAND_SLACK
    low, high = float(terms.min_band), float(terms.max_band)
    floor = np.clip(width, low, high)
    floor = np.where(np.isfinite(floor) & (tracking > 0) & (sd_h > 0), floor, low)
    if not float(terms.fee_rate) > 0:
        floor = np.full(floor.shape, low)
    return [value if math.isfinite(value) else low for value in floor.tolist()]
