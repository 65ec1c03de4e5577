"""The fee-aware no-trade region: how far a hedge may drift before a trade pays for itself. Pure.

A hedge off its target by x USD carries variance x²·σ_h² per bar (σ_h: the hedge instrument's
return volatility per bar); the target itself wanders with variance T²·σ_r² per bar (σ_r: the
volatility of the asset's returns relative to the hedge's, r_A − r_B: a proxy short in hedge
coins is β·units·P_A/P_B). Keeping x within ±h and trading back to the target costs
k·T²·σ_r²/(2h) per bar in fees (k: fee rate) against λ·σ_h²·h²/3 in risk (λ = γ/T: risk
aversion per USD of target). The sum is least at

    h / T = ((3·k / (4·γ)) · σ_r² / σ_h²) ** (1/3)

(the cube-root law of Whalley and Wilmott's asymptotic band and Leland's transaction-cost
hedging): wider when fees are high or the hedge's volatility low, narrower when the target
wanders more. It is clamped to ``[min_band, max_band]``; hedges whose target does not wander
(an asset on its own contract, a ratio rule, margin held USD-neutral) get ``min_band``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.core.types import ZERO, HedgeTarget


@dataclass(frozen=True, slots=True)
class NoTradeTerms:
    """``fee_rate``: taker fee, fraction of notional; ``risk_aversion``: γ, dimensionless (per
    USD of target: larger keeps the hedge tighter); bands are fractions of the target;
    ``trade_to``: where a trade out of the band stops, as a fraction of the band short of the
    target (0: at the target; 1: at the band's edge)."""

    fee_rate: Decimal = Decimal("0.00055")
    risk_aversion: Decimal = Decimal("0.4")
    min_band: Decimal = Decimal("0.02")
    max_band: Decimal = Decimal("0.5")
    trade_to: Decimal = Decimal("0.35")  # where a trade ends: 0 the target, 1 the band's edge


def tracking_ratio(sd_asset: float, sd_hedge: float, rho: float) -> float | None:
    """σ_r² / σ_h²: the variance of r_A − r_B over the variance of r_B (per-bar standard
    deviations and their correlation). None when the hedge has no variance."""
    if not sd_hedge > 0:
        return None
    relative = sd_asset * sd_asset + sd_hedge * sd_hedge - 2.0 * rho * sd_asset * sd_hedge
    return max(relative, 0.0) / (sd_hedge * sd_hedge)


def band_fraction(tracking: float | None, terms: NoTradeTerms) -> Decimal:
    """Half-width of the no-trade region as a fraction of the target (module docstring), to 6
    digits. ``tracking``: σ_r²/σ_h² (``tracking_ratio``); None or 0: ``min_band``."""
    if tracking is None or not tracking > 0 or not terms.fee_rate > 0:
        return terms.min_band
    width = (3.0 * float(terms.fee_rate) / (4.0 * float(terms.risk_aversion)) * tracking) ** (
        1.0 / 3.0
    )
    if not math.isfinite(width):
        return terms.max_band
    fraction = Decimal(f"{width:.6f}")
    return min(max(fraction, terms.min_band), terms.max_band)


def instrument_bands(
    targets: Sequence[HedgeTarget], band: Decimal | None, terms: NoTradeTerms
) -> dict[str, Decimal]:
    """Per instrument, the band as a fraction of its whole target: the USD width
    Σ band_i × target_i over the rule targets on it (``band`` when given, else each target's
    ``band_fraction``), divided by the instrument's target. Margin held USD-neutral
    (``HedgeTarget.collateral``) adds no width: a large collateral hedge must not widen a small
    rule's band. An instrument with only collateral targets gets ``band`` or ``min_band``."""
    width: dict[str, Decimal] = {}
    rules: dict[str, Decimal] = {}
    whole: dict[str, Decimal] = {}
    for target in targets:
        usd = max(target.target_short_usd, ZERO)
        symbol = target.instrument
        whole[symbol] = whole.get(symbol, ZERO) + usd
        if target.collateral:
            continue
        own = band if band is not None else band_fraction(target.tracking, terms)
        width[symbol] = width.get(symbol, ZERO) + own * usd
        rules[symbol] = rules.get(symbol, ZERO) + usd
    plain = band if band is not None else terms.min_band
    bands: dict[str, Decimal] = {}
    for symbol, total in whole.items():
        if rules.get(symbol, ZERO) > 0 and total > 0:
            bands[symbol] = width[symbol] / total
        else:
            bands[symbol] = plain
    return bands


def band_of(
    bands: Mapping[str, Decimal], symbol: str, band: Decimal | None, terms: NoTradeTerms
) -> Decimal:
    """The band of ``symbol`` (``instrument_bands``); a symbol without a target: the plain band."""
    found = bands.get(symbol)
    if found is not None:
        return found
    return band if band is not None else terms.min_band
