"""OLS from exact integer sums of quantised returns (``bot.stats.ols_exact``).

- the sums are exact whichever way they are taken (int64 limbs, Python ints), so an estimate
  depends only on its window's returns: not on their order, not on the guard's choice;
- a window with returns too large for the int64 sums (the overflow guard) is exact too, and
  matches a float reference where the returns are exact multiples of the quantum;
- the quantisation moves β, ρ and the standard deviations by far less than 1e-6 relative
  from the float two-pass formula, on real hourly and daily returns.
"""

from __future__ import annotations

import math
from datetime import timedelta
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.stats.beta import BetaEstimate, estimate_from_returns, ols_moments
from bot.stats.ols_exact import (
    MAX_STEP,
    MAX_WINDOW,
    QUANTUM,
    fits_int64,
    ols_from_sums,
    quantisable,
    quantise,
    window_sums,
)
from bot.stats.returns import AlignedReturns, aggregate_closes, aligned_returns, from_epoch

from .realdata import HOUR, hourly_closes

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z


def returns_of(asset: np.ndarray, hedge: np.ndarray, horizon: int = HOUR) -> AlignedReturns:
    ends = T0 + horizon * np.arange(1, asset.size + 1, dtype=np.int64)
    return AlignedReturns(
        horizon, ends, np.asarray(asset, dtype=np.float64), np.asarray(hedge, dtype=np.float64)
    )


def ols(returns: AlignedReturns, window: int | None = None) -> BetaEstimate:
    return estimate_from_returns(
        returns,
        method="ols",
        window=window or max(len(returns), 2),
        half_life=None,
        min_observations=2,
        max_age=timedelta(days=1),
        now=from_epoch(int(returns.ends[-1])),
    )


def python_sums(a: list[int], b: list[int]) -> tuple[int, int, int, int, int]:
    """The reference: plain Python ints."""
    return (
        sum(a),
        sum(b),
        sum(x * y for x, y in zip(a, b, strict=True)),
        sum(x * x for x in a),
        sum(y * y for y in b),
    )


def float_reference(asset: np.ndarray, hedge: np.ndarray) -> tuple[float, float, float, float]:
    """β, ρ, sd_asset, sd_hedge from exact rational moments (``Fraction`` of each float)."""
    a = [Fraction(float(x)) for x in asset]
    b = [Fraction(float(y)) for y in hedge]
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True)) / (n - 1)
    var_a = sum((x - ma) ** 2 for x in a) / (n - 1)
    var_b = sum((y - mb) ** 2 for y in b) / (n - 1)
    rho = float(cov) / math.sqrt(float(var_a) * float(var_b))
    return float(cov / var_b), rho, math.sqrt(float(var_a)), math.sqrt(float(var_b))


# --- exact sums ------------------------------------------------------------------------------

steps = st.integers(min_value=-(2**37), max_value=2**37)


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(st.tuples(steps, steps), min_size=1, max_size=300),
    window=st.integers(min_value=300, max_value=MAX_WINDOW),
)
def test_int64_limb_sums_are_the_exact_sums(pairs: list[tuple[int, int]], window: int) -> None:
    """Values up to 2**37 in size: their products (2**74) and sums overflow int64 many times
    over, yet the limb sums are the exact integers."""
    a = np.array([p[0] for p in pairs], dtype=np.int64)
    b = np.array([p[1] for p in pairs], dtype=np.int64)
    assert fits_int64(a, b, window)
    assert window_sums(a, b, window) == python_sums(a.tolist(), b.tolist())


def test_the_guard_sends_large_returns_and_long_windows_to_python_ints() -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(-(2**37), 2**37, 500)
    b = rng.integers(-(2**37), 2**37, 500)
    assert fits_int64(a, b, 500)
    assert not fits_int64(a, b, MAX_WINDOW + 1)  # a window longer than the int64 sums allow
    big = a.copy()
    big[17] = -MAX_STEP  # one return at the limit: no longer within int64
    assert not fits_int64(big, b, 500)
    assert not fits_int64(a, big, 500)
    # 2**55: its square (2**110) and a window of them are far beyond int64 and beyond the limbs
    big[:5] = 2**55
    for x, y, window in ((big, b, 500), (a, b, MAX_WINDOW + 1)):
        assert window_sums(x, y, window) == python_sums(x.tolist(), y.tolist())


def test_huge_returns_are_exact_and_match_a_float_reference() -> None:
    """A window with returns far beyond the int64 sums' range (|r| up to 1e5: no log return of
    prices is that large, but any quantisable value must be summed exactly) goes through the
    overflow guard. Its returns are exact multiples of the quantum, so quantising changes
    nothing: the estimate matches exact rational moments to 1e-12 relative, and equals (==)
    the one from the same returns in another order."""
    rng = np.random.default_rng(8)
    hedge = np.round(rng.normal(0, 0.02, 720) / 2**-20) * 2**-20  # multiples of 2**-20
    asset = np.round((1.3 * hedge + rng.normal(0, 0.02, 720)) / 2**-20) * 2**-20
    hedge[100], asset[100] = 20.5, 39.75  # beyond MAX_STEP (|r| < 4 for the int64 sums)
    hedge[400], asset[400] = -3000.25, -100_000.0  # limb products of 2**73: int64 would wrap
    assert np.array_equal(quantise(asset).astype(np.float64) * QUANTUM, asset)  # exact
    assert not fits_int64(quantise(asset), quantise(hedge), 720)
    est = ols(returns_of(asset, hedge))
    assert est.state == "ok"
    beta, rho, sd_a, sd_h = float_reference(asset, hedge)
    assert est.beta == pytest.approx(beta, rel=1e-12)
    assert est.rho == pytest.approx(rho, rel=1e-12)
    assert est.sd_asset == pytest.approx(sd_a, rel=1e-12)
    assert est.sd_hedge == pytest.approx(sd_h, rel=1e-12)
    order = rng.permutation(720)
    shuffled = ols(returns_of(asset[order], hedge[order]))
    assert (shuffled.beta, shuffled.rho, shuffled.beta_se) == (est.beta, est.rho, est.beta_se)
    assert (shuffled.sd_asset, shuffled.sd_hedge) == (est.sd_asset, est.sd_hedge)


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    size=st.integers(min_value=3, max_value=800),
    scale=st.sampled_from([1e-4, 1e-2, 0.3, 5.0]),
)
def test_an_estimate_does_not_depend_on_the_order_of_its_returns(
    seed: int, size: int, scale: float
) -> None:
    """Integer sums are order-free: the same returns in another order give the same floats
    (with float sums, a reordering moves the last bits)."""
    rng = np.random.default_rng(seed)
    hedge = rng.normal(0, scale, size)
    asset = 0.8 * hedge + rng.normal(0, scale, size)
    est = ols(returns_of(asset, hedge))
    order = rng.permutation(size)
    other = ols(returns_of(asset[order], hedge[order]))
    fields = ("state", "beta", "rho", "beta_se", "sd_asset", "sd_hedge", "effective_n")
    assert [getattr(other, f) for f in fields] == [getattr(est, f) for f in fields]


def test_sums_without_variance_or_with_one_return_give_nothing() -> None:
    assert ols_from_sums(1, (5, 3, 15, 25, 9)) is None
    assert ols_from_sums(3, (6, 9, 18, 12, 30)) is None  # a = (2, 2, 2): no variance
    found = ols_from_sums(2, (0, 0, 2, 2, 2))  # a = b = (1, -1)
    assert found is not None
    beta, rho, var_a, var_b = found
    assert (beta, rho) == (1.0, 1.0)
    assert var_a == var_b == 2 * QUANTUM * QUANTUM
    flat = ols(returns_of(np.full(50, 0.01), np.linspace(-0.01, 0.01, 50)))
    assert (flat.state, flat.reason) == (
        "insufficient_data",
        "a series has no variance over the window",
    )


def test_returns_that_cannot_be_quantised_give_no_estimate() -> None:
    hedge = np.linspace(-0.01, 0.01, 50)
    for bad in (math.nan, math.inf, 2.0**21):
        asset = hedge.copy()
        asset[7] = bad
        assert not quantisable(asset)
        est = ols(returns_of(asset, hedge))
        assert (est.state, est.beta, est.n) == ("insufficient_data", None, 50)


# --- real data: quantisation against the float two-pass formula ------------------------------


def real_returns(asset: str, hedge: str, daily: bool) -> AlignedReturns:
    a, b = hourly_closes(asset), hourly_closes(hedge)
    if daily:
        a, b = aggregate_closes(a, 86_400), aggregate_closes(b, 86_400)
    return aligned_returns(a, b)


PAIRS = [("SOL", "BTC"), ("ETH", "BTC"), ("AVAX", "ETH"), ("DOGE", "BTC"), ("XRP", "ETH")]


@settings(max_examples=120, deadline=None)
@given(
    pair=st.sampled_from(PAIRS),
    daily=st.booleans(),
    window=st.integers(min_value=20, max_value=2000),
    position=st.floats(min_value=0.0, max_value=1.0),
)
def test_quantisation_moves_beta_by_less_than_1e_minus_6(
    pair: tuple[str, str], daily: bool, window: int, position: float
) -> None:
    """Measured: at most 2.3e-10 relative (β; ρ and sd less), asserted here at 1e-6 (the
    tolerance issue 14 set); ``beta_se`` follows from them."""
    whole = real_returns(*pair, daily)
    window = min(window, len(whole))
    stop = window + int(position * (len(whole) - window))
    part = returns_of(whole.asset[stop - window : stop], whole.hedge[stop - window : stop])
    est = ols(part)
    cov, var_a, var_b = ols_moments(part.asset, part.hedge)
    assert est.state == "ok"
    assert est.beta == pytest.approx(cov / var_b, rel=1e-6)
    assert est.rho == pytest.approx(cov / math.sqrt(var_a * var_b), rel=1e-6)
    assert est.sd_asset == pytest.approx(math.sqrt(var_a), rel=1e-6)
    assert est.sd_hedge == pytest.approx(math.sqrt(var_b), rel=1e-6)


def test_quantisation_error_on_real_windows_is_below_1e_minus_9() -> None:
    """Every 720-hour window of SOL/BTC, a day apart: the largest relative move of β."""
    whole = real_returns("SOL", "BTC", daily=False)
    worst = 0.0
    for stop in range(720, len(whole), 24):
        part = returns_of(whole.asset[stop - 720 : stop], whole.hedge[stop - 720 : stop])
        est = ols(part)
        cov, _, var_b = ols_moments(part.asset, part.hedge)
        assert est.beta is not None
        worst = max(worst, abs(est.beta / (cov / var_b) - 1))
    assert worst < 1e-9
