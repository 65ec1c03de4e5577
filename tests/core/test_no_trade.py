"""The fee-aware no-trade band (bot.core.no_trade): wider with the fee rate, narrower with the
hedge's volatility, clamped, and summed per instrument over the rule targets only."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from bot.core.no_trade import NoTradeTerms, band_fraction, instrument_bands, tracking_ratio
from bot.core.planner import PlannerSettings, plan_hedges
from bot.core.types import HedgeTarget
from bot.stats.beta import beta_standard_error

from .factories import BTC, inverse, position, settings, snapshot, target

D = Decimal
TERMS = NoTradeTerms(fee_rate=D("0.00055"), risk_aversion=D("0.15"))


def band(fee: str, sd_relative: float, sd_hedge: float) -> Decimal:
    terms = NoTradeTerms(fee_rate=D(fee), risk_aversion=D("0.15"))
    return band_fraction((sd_relative / sd_hedge) ** 2, terms)


# (fee rate, σ of r_A − r_B per hour, σ of the hedge per hour) -> band (fraction of target),
# each from ((3·fee / (4·0.15)) · σ_r² / σ_h²) ** (1/3), clamped to [0.02, 0.5]
TABLE = [
    ("0.0001", 0.01, 0.01, D("0.079370")),
    ("0.00055", 0.01, 0.01, D("0.140102")),
    ("0.002", 0.01, 0.01, D("0.215443")),
    ("0.00055", 0.01, 0.005, D("0.222398")),
    ("0.00055", 0.01, 0.02, D("0.088259")),
    ("0.00055", 0.01, 0.04, D("0.055600")),
    ("0.00055", 0.001, 0.05, D("0.02")),  # the floor
    ("0.01", 0.05, 0.005, D("0.5")),  # the ceiling
]


@pytest.mark.parametrize(("fee", "sd_relative", "sd_hedge", "expected"), TABLE)
def test_the_band_table(fee: str, sd_relative: float, sd_hedge: float, expected: Decimal) -> None:
    assert band(fee, sd_relative, sd_hedge) == expected


def test_the_band_widens_with_the_fee_rate_and_narrows_with_volatility() -> None:
    fees = [band(fee, 0.01, 0.01) for fee in ("0.0001", "0.00055", "0.002")]
    assert fees == sorted(fees)
    assert len(set(fees)) == 3
    vols = [band("0.00055", 0.01, sd) for sd in (0.005, 0.01, 0.02, 0.04)]
    assert vols == sorted(vols, reverse=True)
    assert len(set(vols)) == 4


def test_hedges_whose_target_does_not_wander_get_the_narrowest_band() -> None:
    assert band_fraction(None, TERMS) == TERMS.min_band
    assert band_fraction(0.0, TERMS) == TERMS.min_band
    assert tracking_ratio(0.02, 0.02, 1.0) == 0.0
    assert tracking_ratio(0.02, 0.0, 0.5) is None


def test_an_instruments_band_is_its_rules_width_and_collateral_adds_none() -> None:
    symbol = "BTC/USD:BTC"
    rule = HedgeTarget("SOL", symbol, D(1), D(100_000), tracking=1.0)
    margin = HedgeTarget("BTC", symbol, D(1), D(900_000), collateral=True)
    (fraction,) = instrument_bands([rule, margin], None, TERMS).values()
    own = band_fraction(1.0, TERMS)
    assert fraction * D(1_000_000) == own * D(100_000)
    # an explicit band applies to the rules' part the same way
    (plain,) = instrument_bands([rule, margin], D("0.05"), TERMS).values()
    assert plain * D(1_000_000) == D("0.05") * D(100_000)
    # only collateral: the plain (narrowest) band
    assert instrument_bands([margin], None, TERMS) == {symbol: TERMS.min_band}


def test_the_standard_error_of_beta_is_the_ols_one() -> None:
    rng = np.random.default_rng(7)
    hedge = rng.normal(0, 0.01, 500)
    asset = 1.3 * hedge + rng.normal(0, 0.008, 500)
    slope, _ = np.polyfit(hedge, asset, 1)
    residual = asset - np.polyval(np.polyfit(hedge, asset, 1), hedge)
    expected = np.sqrt(residual @ residual / (500 - 2) / ((hedge - hedge.mean()) ** 2).sum())
    cov = np.cov(asset, hedge)
    rho = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    # with sample (ddof 1) moments, (n − 1)·var cancels between RSS and Σ(x − x̄)²
    got = beta_standard_error(slope, rho, cov[0, 0], cov[1, 1], 500.0)
    assert got == pytest.approx(expected, rel=1e-9)


def fee_aware(**terms: Decimal) -> PlannerSettings:
    return replace(settings(), band=None, no_trade=replace(NoTradeTerms(), **terms))


def test_a_trade_out_of_the_fee_aware_band_stops_part_way_into_it() -> None:
    """Band 10 % of a 100,000 USD target, trade_to 0.5: a short of 80,000 is raised to 95,000
    (5 % short of target), one of 120,000 trimmed to 105,000; within the band nothing trades."""
    snap_for = lambda held: snapshot(  # noqa: E731
        markets={BTC: inverse(BTC, 1)},
        prices={"BTC": 50_000},
        positions={BTC: position(BTC, held, entry=50_000)},
    )
    rule = replace(target(BTC, 100_000, asset="SOL"), tracking=1e-12)
    terms = {"min_band": D("0.1"), "trade_to": D("0.5")}
    up = plan_hedges([rule], snap_for(80_000), fee_aware(**terms), "u")
    assert [(o.side, o.contracts) for o in up.orders] == [("sell", D(15_000))]
    down = plan_hedges([rule], snap_for(120_000), fee_aware(**terms), "d")
    assert [(o.side, o.contracts) for o in down.orders] == [("buy", D(15_000))]
    inside = plan_hedges([rule], snap_for(91_000), fee_aware(**terms), "i")
    assert inside.orders == ()
    # to the target itself with trade_to 0, and always with a plain band
    full = plan_hedges([rule], snap_for(80_000), fee_aware(min_band=D("0.1"), trade_to=D(0)), "f")
    assert [o.contracts for o in full.orders] == [D(20_000)]
    plain = plan_hedges([rule], snap_for(80_000), settings(band="0.1"), "p")
    assert [o.contracts for o in plain.orders] == [D(20_000)]
    # a target that does not wander (own perp, ratio rule) goes to the target
    plain_rule = replace(rule, tracking=None)
    own = plan_hedges([plain_rule], snap_for(80_000), fee_aware(**terms), "o")
    assert [o.contracts for o in own.orders] == [D(20_000)]
    # a lifted hedge (target 0) is closed in full
    lifted = replace(rule, target_short_usd=D(0))
    closed = plan_hedges([lifted], snap_for(80_000), fee_aware(**terms), "c")
    assert [(o.side, o.contracts) for o in closed.orders] == [("buy", D(80_000))]
