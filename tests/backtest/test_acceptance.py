"""Acceptance on the real shared data (the scenario configs in config/backtest-*.yaml).

Windows here are at most a year or so to keep the suite quick; ``bench/backtest_acceptance.py``
runs the same checks over the whole SOL history (2022-04 .. 2026-05) and prints the figures.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.backtest import BacktestOptions, BacktestResult, MarketData, load_for, run_backtest
from bot.config.loader import load_config
from bot.config.models import Config
from tests.backtest.helpers import REPO, utc
from tests.shared_data import SHARED_DATA, require

CONFIGS = REPO / "config"
SOL_YEAR = BacktestOptions(start=utc(2024, 1, 1), end=utc(2025, 1, 1))


def _config(name: str) -> Config:
    return load_config(CONFIGS / f"backtest-{name}.yaml")


@pytest.fixture(scope="module")
def sol_market() -> MarketData:
    require(SHARED_DATA / "spot_1h")
    return load_for([_config("sol-btc-full")], SHARED_DATA, SOL_YEAR)


@pytest.fixture(scope="module")
def sol_runs(sol_market: MarketData) -> dict[str, BacktestResult]:
    return {
        name: run_backtest(_config(name), sol_market, SOL_YEAR, name=name)
        for name in ("sol-btc-full", "sol-btc-band0")
    }


def test_btc_hedged_with_its_own_inverse_perp() -> None:
    """Deribit's hourly index as the price (the inverse funding histories end in 2020, before
    the spot files start) and Deribit's hourly funding."""
    require(SHARED_DATA / "inverse_perp")
    options = BacktestOptions(start=utc(2019, 5, 1), end=utc(2020, 6, 30))
    config = _config("btc-inverse")
    result = run_backtest(config, load_for([config], SHARED_DATA, options), options)
    assert result.days == 426
    assert result.effectiveness is not None
    assert result.effectiveness >= 0.97
    assert result.costs.liquidations == 0
    assert not result.rejected
    assert result.costs.funding_received > 0
    assert result.costs.funding_paid > 0
    assert any("Deribit BTC-PERPETUAL hourly funding" in note for note in result.notes)


def test_sol_beta_hedged_with_btc_reaches_its_ceiling(sol_runs: dict[str, BacktestResult]) -> None:
    result = sol_runs["sol-btc-full"]
    assert result.ceiling is not None
    assert result.effectiveness is not None
    assert 0.4 < result.ceiling < 0.8  # ρ(SOL, BTC) of daily book PnL around 0.75
    assert result.effectiveness >= 0.97 * result.ceiling
    assert result.costs.liquidations == 0
    assert not result.rejected
    assert any("LINEAR perp, proxy" in note for note in result.notes)


def test_band_saves_fees_at_equal_effectiveness(sol_runs: dict[str, BacktestResult]) -> None:
    every_tick, banded = sol_runs["sol-btc-band0"], sol_runs["sol-btc-full"]
    assert every_tick.effectiveness is not None
    assert banded.effectiveness is not None
    assert abs(every_tick.effectiveness - banded.effectiveness) <= 0.01
    # each owner's band apart (SOL's hedge, and the 80 BTC of margin held USD-neutral on the
    # same perp, judged on the instrument's whole target): SOL's part trades on its own 5 %
    # (234 of the 246 decisions in 2024), not on 5 % of a total three to six times its size,
    # so the saving is smaller than when the band was the total's: 2.6x in 2024, not 3x
    assert every_tick.costs.fees > Decimal("2.5") * banded.costs.fees
    assert every_tick.outside_band_share > 0.99 > 0.05 > banded.outside_band_share
