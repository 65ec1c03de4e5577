"""Skip-ahead (``bot.backtest.skip``) against the full per-tick path.

Every run is replayed twice, ``BacktestOptions.skip_ahead`` off and on, and compared field by
field with ``==``: the per-tick recording, the activity, the engine's executions (orders, fees,
funding, liquidations) and every figure of the summary. On real data (the bench's ratio book,
a year of hourly candles for ten coins) and on generated paths that stress the predictor's
margins: prices drifting slowly to the band's edge and back, narrow and wide bands, funding
settlements with large rates, thin margin that binds or gets liquidated, several book shapes.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from bot.backtest import BacktestOptions, MarketData, load_for
from bot.backtest.result import summarize
from bot.backtest.runner import Replay
from bot.backtest.skip import QuietWindow
from bot.config.loader import load_config
from bot.config.models import Config
from tests.backtest.helpers import REPO, sim_config, utc, write_binance_funding, write_candles
from tests.shared_data import SHARED_DATA, require

START = utc(2024, 1, 1)


def outcome(config: Config, market: MarketData, options: BacktestOptions) -> tuple[dict, Replay]:  # type: ignore[type-arg]
    replay = Replay(config, market, options)
    replay.run()
    out: dict[str, object] = {}
    for name, record in (("rec", replay.recording), ("act", replay.activity)):
        for f in dataclasses.fields(record):
            out[f"{name}.{f.name}"] = getattr(record, f.name)
    result = summarize(replay, "run", 0.0)
    for f in dataclasses.fields(result):
        out[f"result.{f.name}"] = getattr(result, f.name)
    out["executions"] = list(replay.sim.executions())
    out["owned"] = replay.owned
    return out, replay


def assert_same(config: Config, market: MarketData, options: BacktestOptions) -> int:
    """Both runs equal; the number of ticks the skip-ahead recorded without judging them."""
    window = same_window(config, market, options)
    return 0 if window is None else window.skipped


def same_window(config: Config, market: MarketData, options: BacktestOptions) -> QuietWindow | None:
    """Both runs equal; the skip-ahead's window (its counts), None if it had none."""
    full, _ = outcome(config, market, dataclasses.replace(options, skip_ahead=False))
    fast, replay = outcome(config, market, dataclasses.replace(options, skip_ahead=True))
    assert full.keys() == fast.keys()
    for key in full:
        assert same(fast[key], full[key]), key
    # the predictor indexes its prices by tick: tick i is at start + i × step
    times = replay.recording.times
    assert times == [replay.start_s + i * replay.step_s for i in range(len(times))]
    return replay._window


def same(a: object, b: object) -> bool:
    """Exactly equal (``==``), looking into arrays, dataclasses and containers; NaN equals NaN."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            return bool(np.array_equal(x, y, equal_nan=True))
        return bool(np.array_equal(x, y))
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    if isinstance(a, (list, tuple)):
        return (
            type(a) is type(b)
            and len(a) == len(b)  # type: ignore[arg-type]
            and all(same(x, y) for x, y in zip(a, b, strict=False))  # type: ignore[call-overload]
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


BENCH_BOOKS = {  # ``bench/backtest_bench.py``'s books: ticks of 8,761 skipped, settlements of
    # 1,095 renewed, at least
    "ratio": (5000, 500),  # ten coins on their own inverse perps
    "beta": (5000, 500),  # eight coins β-adjusted on the BTC perp, daily OLS
    "proxy": (5000, 500),  # eight on hedge_with auto over BTC and ETH, hourly OLS: 16 β paths
    "funding": (5000, 500),  # each on its own perp with a funding modifier and its clocks
}


@pytest.mark.parametrize("book", sorted(BENCH_BOOKS))
def test_bench_books_on_real_data(tmp_path: Path, book: str) -> None:
    """The bench's books over a year of real hourly candles with Binance funding (settlements
    every 8 hours)."""
    sys.path.insert(0, str(REPO / "bench"))
    import backtest_bench as bench

    require(SHARED_DATA / "spot_1h")
    bench.write_hourly(SHARED_DATA, tmp_path / "hourly")
    config = bench.config(bench.TEN, "0.05", book)
    market = load_for([config], tmp_path / "hourly")
    window = same_window(config, market, BacktestOptions())
    assert window is not None
    skipped, settled = BENCH_BOOKS[book]
    assert window.skipped > skipped
    assert window.settled > settled


def test_bundled_btc_inverse_config() -> None:
    config = load_config(REPO / "config" / "backtest-btc-inverse.yaml")
    options = BacktestOptions(start=utc(2024, 1, 1))
    market = load_for([config], REPO / "data" / "backtest", options)
    assert assert_same(config, market, options) > 1000


def walk(seed: int, hours: int, start: float, vol: float, drift: float = 0.0) -> list[str]:
    rng = np.random.default_rng(seed)
    steps = rng.normal(drift, vol, hours)
    return [f"{start * math.exp(x):.6g}" for x in np.cumsum(steps)]


def edge_path(hours: int, start: float, band: float) -> list[str]:
    """Slow swings of about the band's width: the target keeps approaching its band's edge,
    crossing it now and then by a hair."""
    out = []
    for hour in range(hours):
        swing = 1 + band * 2.1 * math.sin(hour / 37.0) + 1e-4 * math.sin(hour / 3.0)
        out.append(f"{start * swing:.8g}")
    return out


SHAPES = {
    "one coin": ("  - {asset: BTC, ratio: 1}", "{BTC: 1}", "{BTC: 2}"),
    "two coins": (
        "  - {asset: BTC, ratio: 0.7}\n  - {asset: ETH, ratio: 1}",
        "{BTC: 1, ETH: 20}",
        "{BTC: 0.5, ETH: 10}",
    ),
    "half hedge": ("  - {asset: BTC, ratio: 0.5}", "{BTC: 2}", "{BTC: 2}"),
    "margin only": ("  - {asset: ETH, ratio: 1}", "{}", "{ETH: 30}"),
    "thin margin": (
        "  - {asset: BTC, ratio: 1}\n  - {asset: ETH, ratio: 0.5}",
        "{BTC: 3, ETH: 60}",
        "{BTC: 0.05, ETH: 1}",
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("band", ["0.005", "0.02", "0.1"])
@pytest.mark.parametrize("seed", [1, 2])
def test_generated_paths(tmp_path: Path, shape: str, band: str, seed: int) -> None:
    rules, spot, margin = SHAPES[shape]
    hours = 1500
    data = tmp_path / "data"
    data.mkdir()
    if seed == 1:  # the target drifting to the band's edge and back
        btc, eth = edge_path(hours, 40_000, float(band)), edge_path(hours, 2_000, float(band) * 0.8)
    else:  # volatile walks with a trend (thin margin: liquidations)
        btc, eth = walk(seed, hours, 40_000, 0.01, 0.0015), walk(seed + 7, hours, 2_000, 0.012)
    write_candles(data, "BTC", START, btc)
    write_candles(data, "ETH", START, eth)
    for coin, rate in (("BTC", "0.003"), ("ETH", "-0.002")):
        settlements = [(START + timedelta(hours=8 * i), rate) for i in range(hours // 8)]
        write_binance_funding(data, coin, settlements)
    config = sim_config(rules=rules, spot=spot, margin=margin, band=band)
    options = BacktestOptions(funding={"BTC": "binance_usdm", "ETH": "binance_usdm"})
    market = load_for([config], data, options)
    skipped = assert_same(config, market, options)
    if shape in ("half hedge", "margin only", "one coin"):
        assert skipped > 100  # the skip-ahead was exercised


def follower(seed: int, hours: int, start: float) -> list[str]:
    """A coin moving with BTC's ``walk(seed, ...)`` and ETH's ``walk(seed + 2, ...)`` (β about
    1.2 and 0.5) plus noise of its own whose size changes over time: ρ with either proxy
    wanders through the gates' floors."""
    rng = np.random.default_rng(seed)
    btc = rng.normal(0.0, 0.006, hours)
    eth = np.random.default_rng(seed + 2).normal(0.0, 0.007, hours)
    own = np.random.default_rng(seed + 5).normal(0.0, 1.0, hours)
    noise = own * 0.004 * (1.5 + np.sin(np.arange(hours) / 90.0))
    steps = 1.2 * btc + 0.5 * eth + noise
    return [f"{start * math.exp(x):.6g}" for x in np.cumsum(steps)]


BETA_BOOKS = {
    "fixed proxy": (
        "  - {asset: BTC, ratio: 1}\n  - {kind: beta, asset: SOL, ratio: 1, hedge_with: BTC}"
    ),
    "daily proxy and own": (
        "  - {asset: BTC, ratio: 1}\n"
        "  - {kind: beta, asset: SOL, ratio: 0.7, hedge_with: BTC, estimator: {interval: 1h,"
        " aggregate_to: 1d, window: 30, refresh_minutes: 1440, max_age_hours: 72}}"
    ),
    "auto proxy": (
        "  - {asset: BTC, ratio: 1}\n  - {asset: ETH, ratio: 1}\n"
        "  - {kind: beta, asset: SOL, ratio: 0.8, rho_floor: 0.3,"
        " estimator: {interval: 1h, window: 200, refresh_minutes: 300, max_age_hours: 6}}"
    ),
    "auto proxy hourly, gate": (
        "  - {asset: BTC, ratio: 1}\n  - {asset: ETH, ratio: 1}\n"
        "  - {kind: beta, asset: SOL, ratio: 0.8, rho_floor: 0.85, rho_taper: 0.1,"
        " switch_margin: 0.01, estimator: {interval: 1h, window: 48}}"
    ),
    "auto proxy, gate": (
        "  - {asset: BTC, ratio: 1}\n  - {asset: ETH, ratio: 1}\n"
        "  - {kind: beta, asset: SOL, ratio: 0.8, rho_floor: 0.9, rho_taper: 0.1,"
        " rho_breakdown_hours: 7,"
        " estimator: {interval: 1h, window: 48, refresh_minutes: 300, max_age_hours: 6}}"
    ),
}


@pytest.mark.parametrize("book", sorted(BETA_BOOKS))
@pytest.mark.parametrize("seed", [3, 4])
def test_beta_rules_on_generated_paths(tmp_path: Path, book: str, seed: int) -> None:
    """``kind: beta`` rules, a proxy sharing the BTC perp with BTC's own rule: the window
    holds while the rules' answers are steady (no β due, no β too old, the same states) and
    survives funding settlements; β refreshed hourly, daily, or chosen among proxies."""
    hours = 1200
    data = tmp_path / "data"
    data.mkdir()
    write_candles(data, "BTC", START, walk(seed, hours, 40_000, 0.006))
    write_candles(data, "ETH", START, walk(seed + 2, hours, 2_000, 0.007))
    write_candles(data, "SOL", START, follower(seed, hours, 100))
    settlements = [(START + timedelta(hours=8 * i), "0.0004") for i in range(hours // 8)]
    write_binance_funding(data, "BTC", settlements)
    config = sim_config(
        rules=BETA_BOOKS[book],
        spot="{SOL: 300, BTC: 0.3}",
        margin="{BTC: 2, ETH: 20}" if book.startswith("auto") else "{BTC: 2}",
        band="0.03",
        extra_sim="    inverse_perps: [BTC, ETH]" if book.startswith("auto") else "",
    )
    options = BacktestOptions(funding={"BTC": "binance_usdm"})
    market = load_for([config], data, options)
    window = same_window(config, market, options)
    assert window is not None
    print(book, seed, window.skipped, window.settled)
    # the window held between refreshes, or followed the β (less often near a floor of 0.85)
    assert window.skipped > (100 if "gate" in book else 300)
    assert window.settled > 20  # and past funding settlements


@pytest.mark.parametrize("policy", [False, True])
def test_margin_without_a_rule(tmp_path: Path, policy: bool) -> None:
    """BTC only margins SOL's proxy hedge and is held USD-neutral by a collateral target (its
    exposure the margin wallet's, its band none of its own) on the same perp; with a
    collateral policy (tight distances: top-ups from spot BTC), which must stay idle at every
    skipped tick. The shape of ``bench/hedge_quality.py``."""
    hours = 900
    data = tmp_path / "data"
    data.mkdir()
    write_candles(data, "BTC", START, walk(3, hours, 40_000, 0.006))
    write_candles(data, "ETH", START, walk(5, hours, 2_000, 0.007))
    write_candles(data, "SOL", START, follower(3, hours, 100))
    extra = (
        "collateral: {min_liquidation_distance: 0.3, release_above_distance: 0.6}" if policy else ""
    )
    config = sim_config(
        rules="  - {kind: beta, asset: SOL, ratio: 1, hedge_with: BTC}",
        spot="{SOL: 300, BTC: 0.2}",
        margin="{BTC: 0.6}" if policy else "{BTC: 2}",
        band="0.03",
        leverage="3",
        extra=extra,
    )
    market = load_for([config], data)
    window = same_window(config, market, BacktestOptions())
    assert window is not None
    assert window.skipped > 100


@pytest.mark.parametrize("after", [1, 5])
def test_funding_modifier_clocks(tmp_path: Path, after: int) -> None:
    """A funding modifier whose breach and calm last ``after`` hours before it acts, on rates
    that swing across both thresholds every few settlements: each clock runs out between two
    settlements (5 hours) or at the next tick (1 hour)."""
    hours = 900
    data = tmp_path / "data"
    data.mkdir()
    write_candles(data, "BTC", START, walk(5, hours, 40_000, 0.004))
    rates = ("0.0003", "0.0002", "-0.0001", "0.00001", "0.0004", "0.0003", "0.0001")
    settlements = [(START + timedelta(hours=8 * i), rates[i % 7]) for i in range(hours // 8)]
    write_binance_funding(data, "BTC", settlements)
    config = sim_config(
        rules="  - {kind: beta, asset: BTC, ratio: 1, hedge_with: BTC, funding_modifier: {"
        f"max_cost_annualized: 0.1, after_hours: {after}, restore_below_annualized: 0.02,"
        f" restore_after_hours: {after}, floor_ratio: 0.2}}}}",
        spot="{BTC: 1}",
        margin="{BTC: 1}",
    )
    options = BacktestOptions(funding={"BTC": "binance_usdm"})
    market = load_for([config], data, options)
    window = same_window(config, market, options)
    assert window is not None
    assert window.skipped > 200


def test_no_window_for_rules_with_activation_windows(tmp_path: Path) -> None:
    """Activation windows and a volatility trigger act at instants the rule does not keep in
    its state: no tick is skipped."""
    data = tmp_path / "data"
    data.mkdir()
    write_candles(data, "BTC", START, walk(3, 200, 40_000, 0.01))
    config = sim_config(
        rules="  - {kind: beta, asset: BTC, ratio: 1, hedge_with: BTC,"
        " windows: [{every: daily, at: '08:00', duration_hours: 12}]}",
        spot="{BTC: 1}",
        margin="{BTC: 1}",
    )
    market = load_for([config], data)
    assert Replay(config, market, BacktestOptions())._window is None
    assert assert_same(config, market, BacktestOptions()) == 0


MARGIN_BOOKS = {  # the books of ``test_margin_equivalence``, on the bundled replay data
    "shortfall": ("{SOL: 1000}", "{BTC: 0.5}", "5", "", ""),
    "fund from spot": (
        "{SOL: 1000, BTC: 0.6}",
        "{BTC: 0.2}",
        "5",
        "",
        "collateral: {fund_from: spot, convert: false, fee_rate: 0.00055,"
        " max_transfer_per_day_usd: 30000, max_convert_per_day_usd: 20000}",
    ),
    "convert": (
        "{SOL: 1000, BTC: 0.6}",
        "{BTC: 0.2}",
        "5",
        "",
        "collateral: {fund_from: spot, convert: true, fee_rate: 0.00055,"
        " max_transfer_per_day_usd: 30000, max_convert_per_day_usd: 20000}",
    ),
    "release": (
        "{SOL: 1000}",
        "{BTC: 10}",
        "2",
        "  - {asset: BTC, ratio: 1}\n",
        "collateral: {fund_from: spot, max_transfer_per_day_usd: 50000}",
    ),
    "neutral margin": (
        "{SOL: 1000}",
        "{BTC: 10}",
        "5",
        "",
        "collateral: {fund_from: spot, max_transfer_per_day_usd: 50000}",
    ),
}


@pytest.mark.parametrize("book", sorted(MARGIN_BOOKS))
def test_margin_books_with_collateral(book: str) -> None:
    """A SOL proxy on the BTC perp (hourly β) with BTC margin held USD-neutral or under its own
    rule, a collateral policy topping up from spot (transfers, conversions under daily caps)
    and releasing surplus: the policy must be idle (``IdleCheck``) at every skipped tick."""
    from tests.backtest.test_margin_equivalence import OPTIONS, REPLAY, SOL_ON_BTC

    spot, margin, leverage, more, extra = MARGIN_BOOKS[book]
    config = sim_config(
        rules=SOL_ON_BTC + more, spot=spot, margin=margin, leverage=leverage, extra=extra
    )
    options = dataclasses.replace(OPTIONS, skip_ahead=True)
    market = load_for([config], REPLAY, options)
    window = same_window(config, market, options)
    assert window is not None
    if book in ("release", "neutral margin"):
        assert window.skipped > 300


def test_hedge_quality_shape_on_real_data(tmp_path: Path) -> None:
    """``bench/hedge_quality.py``'s SOL/BTC book with every default (OLS over 720 hourly
    returns re-estimated every hour, the fee-aware band, the ρ gate) over half a year of the
    real hourly data: BTC margin held USD-neutral on the perp SOL is hedged on, a collateral
    policy watching its distance."""
    sys.path.insert(0, str(REPO / "bench"))
    import hedge_quality as bench

    require(SHARED_DATA / "spot_1h")
    start = "2024-01-01"
    hedge_price = bench.first_close(SHARED_DATA, "BTC", start)
    margin = round(10 * 10_000 * bench.first_close(SHARED_DATA, "SOL", start) / hedge_price, 4)
    text = bench.CONFIG.format(
        replay=REPO / "data" / "replay",
        asset="SOL",
        hedge="BTC",
        hold=10_000,
        margin=margin,
        fee=bench.FEE,
    )
    path = tmp_path / "sol-btc.yaml"
    path.write_text(text)
    config = load_config(path)
    options = BacktestOptions(
        start=utc(2024, 1, 2), end=utc(2024, 7, 2), funding={"SOL": "config", "BTC": "config"}
    )
    market = load_for([config], SHARED_DATA, options)
    window = same_window(config, market, options)
    assert window is not None
    assert window.skipped > 2500  # of 4,369 ticks
