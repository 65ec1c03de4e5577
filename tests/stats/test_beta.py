"""β and ρ: exact on constructed data, explicit states, and the README's table on real data."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.stats.beta import (
    BetaEstimate,
    Method,
    estimate_beta,
    estimate_from_returns,
    ewma_moments,
    ewma_weights,
)
from bot.stats.returns import AlignedReturns, CloseSeries, aligned_returns, from_epoch, to_epoch
from bot.stats.vol import realized_vol

from .realdata import DATA_DIR, HOUR, hourly_closes

T0 = to_epoch(datetime(2024, 1, 1, tzinfo=UTC))
DAY = timedelta(days=1)


def pair(hedge_returns: np.ndarray, asset_returns: np.ndarray) -> tuple[CloseSeries, CloseSeries]:
    """Two hourly series whose log returns are exactly the given ones."""
    opens = T0 + HOUR * np.arange(hedge_returns.size + 1, dtype=np.int64)
    hedge = 100 * np.exp(np.concatenate([[0.0], np.cumsum(hedge_returns)]))
    asset = 10 * np.exp(np.concatenate([[0.0], np.cumsum(asset_returns)]))
    return CloseSeries(HOUR, opens.copy(), asset), CloseSeries(HOUR, opens.copy(), hedge)


def end_of(series: CloseSeries) -> datetime:
    last = series.last_close_time
    assert last is not None
    return last


@pytest.mark.parametrize(("method", "half_life"), [("ols", None), ("ewma", 50.0)])
def test_exact_linear_relation_gives_its_slope_and_rho_one(
    method: Method, half_life: float | None
) -> None:
    hedge_r = np.random.default_rng(1).normal(0, 0.01, 500)
    asset, hedge = pair(hedge_r, 1.5 * hedge_r + 0.0002)
    est = estimate_beta(
        asset,
        hedge,
        method=method,
        window=400,
        half_life=half_life,
        min_observations=100,
        max_age=timedelta(hours=2),
        now=end_of(asset),
    )
    assert est.state == "ok"
    assert est.beta == pytest.approx(1.5, abs=1e-9)
    assert est.rho == pytest.approx(1.0, abs=1e-9)
    assert est.n == 400
    assert est.data_end == end_of(asset)
    assert est.data_start == end_of(asset) - timedelta(hours=400)
    assert est.estimated_at == end_of(asset)


def test_ewma_with_a_huge_half_life_is_ols() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(0, 0.01, 300)
    y = 1.2 * x + rng.normal(0, 0.01, 300)
    returns = AlignedReturns(HOUR, T0 + HOUR * np.arange(1, 301, dtype=np.int64), y, x)
    now = from_epoch(T0 + 301 * HOUR)

    def run(method: Method, half_life: float | None) -> BetaEstimate:
        return estimate_from_returns(
            returns,
            method=method,
            window=300,
            half_life=half_life,
            min_observations=2,
            max_age=DAY,
            now=now,
        )

    ols, ewma = run("ols", None), run("ewma", 1e12)
    assert ewma.beta == pytest.approx(ols.beta, rel=1e-9)
    assert ewma.rho == pytest.approx(ols.rho, rel=1e-9)
    assert ewma.effective_n == pytest.approx(300)


def test_ewma_weight_halves_every_half_life() -> None:
    weights = ewma_weights(11, half_life=5.0)
    assert weights[-1] == 1.0  # newest
    assert weights[-6] == pytest.approx(0.5)
    assert weights[0] == pytest.approx(0.25)
    cov, _var_a, var_b, n_eff = ewma_moments(np.array([1.0, -1.0]), np.array([2.0, -2.0]), 1.0)
    assert cov / var_b == pytest.approx(0.5)
    assert n_eff == pytest.approx(9 / 5)


def estimate(
    asset: CloseSeries,
    hedge: CloseSeries,
    now: datetime,
    *,
    method: Method = "ols",
    half_life: float | None = None,
    min_observations: int = 100,
) -> BetaEstimate:
    return estimate_beta(
        asset,
        hedge,
        method=method,
        window=200,
        half_life=half_life,
        min_observations=min_observations,
        max_age=DAY,
        now=now,
    )


def test_insufficient_data_and_stale_states_never_give_a_beta() -> None:
    hedge_r = np.random.default_rng(3).normal(0, 0.01, 50)
    asset, hedge = pair(hedge_r, 2 * hedge_r)
    end = end_of(asset)
    few = estimate(asset, hedge, end)
    assert (few.state, few.beta, few.rho, few.n) == ("insufficient_data", None, None, 50)
    assert "50 returns, need at least 100" in few.reason
    stale = estimate(asset, hedge, end + DAY + timedelta(seconds=1), min_observations=10)
    assert (stale.state, stale.beta, stale.rho) == ("stale", None, None)
    fresh = estimate(asset, hedge, end + DAY, min_observations=10)
    assert fresh.state == "ok"
    assert fresh.beta == pytest.approx(2.0)
    empty = CloseSeries.of([], [], HOUR)
    none = estimate(empty, empty, end, min_observations=10)
    assert (none.state, none.beta, none.n, none.data_end) == ("insufficient_data", None, 0, None)
    flat_asset, flat_hedge = pair(np.zeros(150), np.zeros(150))
    flat = estimate(flat_asset, flat_hedge, end_of(flat_asset))
    assert (flat.state, flat.beta, flat.reason) == (
        "insufficient_data",
        None,
        "a series has no variance over the window",
    )


def test_bad_parameters_are_refused() -> None:
    asset, hedge = pair(np.zeros(3), np.zeros(3))
    now = end_of(asset)
    with pytest.raises(ValueError, match="half_life"):
        estimate(asset, hedge, now, method="ewma")
    with pytest.raises(ValueError, match="ewma' only"):
        estimate(asset, hedge, now, half_life=10.0)
    with pytest.raises(ValueError, match="min_observations"):
        estimate(asset, hedge, now, min_observations=500)
    with pytest.raises(ValueError, match="naive"):
        estimate(asset, hedge, datetime(2024, 1, 1), min_observations=2)


# --- real data: shared/data/sanity_beta_corr.csv ---------------------------------------------


def table() -> dict[str, dict[str, str]]:
    with (DATA_DIR / "sanity_beta_corr.csv").open(newline="") as handle:
        return {row["asset"]: row for row in csv.DictReader(handle)}


NOW = datetime(2026, 5, 17, tzinfo=UTC)  # just after the data ends (2026-05-16)


def full_overlap(asset: str, hedge: str, aggregate_seconds: int | None = None) -> BetaEstimate:
    """OLS over every common return of the two real series, as the README's table does."""
    return estimate_beta(
        hourly_closes(asset),
        hourly_closes(hedge),
        method="ols",
        window=100_000,
        min_observations=1000,
        max_age=timedelta(days=3),
        now=NOW,
        aggregate_seconds=aggregate_seconds,
    )


@pytest.mark.parametrize(
    ("asset", "hedge"), [("SOL", "BTC"), ("SOL", "ETH"), ("AVAX", "BTC"), ("AVAX", "ETH")]
)
def test_hourly_ols_matches_the_readme_table(asset: str, hedge: str) -> None:
    row = table()[asset]
    suffix = hedge.lower() + "_h"
    est = full_overlap(asset, hedge)
    assert est.state == "ok"
    assert est.n == int(row["n_hourly"]) == 38_320
    assert est.beta is not None
    assert est.rho is not None
    assert abs(est.beta - float(row[f"beta_{suffix}"])) < 0.02
    assert abs(est.rho - float(row[f"corr_{suffix}"])) < 0.02
    # Measured: the same to 4 decimals (SOL/BTC: beta 1.4111, rho 0.7330).
    assert round(est.beta, 3) == round(float(row[f"beta_{suffix}"]), 3)
    assert round(est.rho, 3) == round(float(row[f"corr_{suffix}"]), 3)


@pytest.mark.parametrize(
    ("asset", "hedge"), [("SOL", "BTC"), ("SOL", "ETH"), ("AVAX", "BTC"), ("AVAX", "ETH")]
)
def test_daily_aggregated_ols_matches_the_readme_table(asset: str, hedge: str) -> None:
    row = table()[asset]
    suffix = hedge.lower() + "_d"
    est = full_overlap(asset, hedge, aggregate_seconds=86_400)
    assert est.state == "ok"
    assert est.horizon_seconds == 86_400
    # The table counts 1,596 daily returns: it includes the partial last day (2026-05-16 ends
    # with the 18:00 candle). We use complete days only, so one fewer.
    assert est.n == int(row["n_daily"]) - 1 == 1_595
    assert est.beta is not None
    assert est.rho is not None
    assert abs(est.beta - float(row[f"beta_{suffix}"])) < 0.02
    assert abs(est.rho - float(row[f"corr_{suffix}"])) < 0.02


def test_epps_effect_daily_correlation_is_higher_than_hourly() -> None:
    """hedging-math.md §7: short-horizon correlation is biased down (SOL/BTC 0.733 -> 0.751)."""
    hourly, daily = full_overlap("SOL", "BTC"), full_overlap("SOL", "BTC", 86_400)
    assert hourly.rho is not None
    assert daily.rho is not None
    assert daily.rho - hourly.rho == pytest.approx(0.0176, abs=0.001)


def test_realized_vol_matches_the_readme_table() -> None:
    vol = realized_vol(hourly_closes("SOL"), window=100_000)
    assert vol is not None
    assert vol == pytest.approx(float(table()["SOL"]["ann_vol"]), abs=0.001)  # 0.9842
    stale = realized_vol(
        hourly_closes("SOL"), 24, now=NOW + timedelta(days=2), max_age=timedelta(hours=2)
    )
    assert stale is None


def test_real_data_estimate_goes_stale_when_the_candles_stop() -> None:
    sol, btc = hourly_closes("SOL"), hourly_closes("BTC")
    later = datetime(2026, 6, 1, tzinfo=UTC)
    est = estimate_beta(sol, btc, window=720, min_observations=360, max_age=DAY, now=later)
    assert (est.state, est.beta, est.rho) == ("stale", None, None)
    assert est.data_end == datetime(2026, 5, 16, 19, tzinfo=UTC)  # the 18:00 candle's close


def test_ewma_follows_a_real_regime_change_faster_than_the_ols_window() -> None:
    """SOL's beta to BTC rose from ~1.0 to ~1.6 at the end of March 2022.

    How the date was found (once, offline): OLS betas of SOL on BTC hourly log returns over the
    720 hours before and after every day from 2022 to 2026; 2022-03-28 02:00 UTC is among the
    largest before/after jumps (0.994 -> 1.600) that is not a one-off crash (the larger
    2022-10-19 jump is FTX). From that instant we re-estimate every hour: a 720-hour OLS window
    and an EWMA with a one-week half-life (168 h), and count the hours each needs to cover half
    of the way from the old level to the new one.
    """
    returns = aligned_returns(hourly_closes("SOL"), hourly_closes("BTC"))
    change = int(np.searchsorted(returns.ends, to_epoch(datetime(2022, 3, 28, 2, tzinfo=UTC))))
    window = 720

    def ols_level(start: int, stop: int) -> float:
        part = AlignedReturns(
            HOUR, returns.ends[start:stop], returns.asset[start:stop], returns.hedge[start:stop]
        )
        est = estimate_from_returns(
            part,
            method="ols",
            window=window,
            half_life=None,
            min_observations=window,
            max_age=DAY,
            now=from_epoch(int(part.ends[-1])),
        )
        assert est.beta is not None
        return est.beta

    old, new = ols_level(change - window, change), ols_level(change, change + window)
    assert (round(old, 3), round(new, 3)) == (0.994, 1.600)
    halfway = old + 0.5 * (new - old)

    def hours_to_halfway(method: Method, half_life: float | None) -> int:
        for hours in range(window + 1):
            stop = change + hours
            part = AlignedReturns(
                HOUR, returns.ends[:stop], returns.asset[:stop], returns.hedge[:stop]
            )
            est = estimate_from_returns(
                part,
                method=method,
                window=window if method == "ols" else 4 * window,
                half_life=half_life,
                min_observations=window,
                max_age=timedelta(hours=2),
                now=from_epoch(int(part.ends[-1])),
            )
            assert est.state == "ok"
            assert est.beta is not None
            if est.beta >= halfway:
                return hours
        return window + 1

    ols_hours = hours_to_halfway("ols", None)
    ewma_hours = hours_to_halfway("ewma", 168.0)
    assert ewma_hours < ols_hours
    assert (ewma_hours, ols_hours) == (185, 391)  # measured; the data are fixed
    assert math.isclose(halfway, 1.297, abs_tol=0.001)


def test_a_short_history_is_used_from_the_stated_minimum_on() -> None:
    """The default estimator (720 hourly returns) answers from a week of returns (168) on,
    with every return it has, and its standard error shrinks as the history grows."""
    from bot.config.rule_params import DEFAULT_MIN_RETURNS, BetaEstimatorConfig

    config = BetaEstimatorConfig()
    assert (config.window, config.min_returns) == (720, DEFAULT_MIN_RETURNS) == (720, 168)
    rng = np.random.default_rng(11)
    hedge_r = rng.normal(0, 0.01, 720)
    asset_r = 1.5 * hedge_r + rng.normal(0, 0.01, 720)
    errors = []
    for size in (167, 168, 400, 720):
        asset, hedge = pair(hedge_r[:size], asset_r[:size])
        found = estimate_beta(
            asset,
            hedge,
            method="ols",
            window=config.window,
            min_observations=config.min_returns,
            max_age=DAY,
            now=end_of(asset),
        )
        if size < 168:
            assert found.state == "insufficient_data"
            continue
        assert found.state == "ok"
        assert found.n == size
        assert found.beta == pytest.approx(1.5, abs=4 * (found.beta_se or 1))
        errors.append(found.beta_se)
    assert errors == sorted(errors, reverse=True)
