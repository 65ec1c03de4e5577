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
    full, _ = outcome(config, market, dataclasses.replace(options, skip_ahead=False))
    fast, replay = outcome(config, market, dataclasses.replace(options, skip_ahead=True))
    assert full.keys() == fast.keys()
    for key in full:
        assert same(fast[key], full[key]), key
    # the predictor indexes its prices by tick: tick i is at start + i × step
    times = replay.recording.times
    assert times == [replay.start_s + i * replay.step_s for i in range(len(times))]
    return 0 if replay._window is None else replay._window.skipped


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


def test_bench_ratio_book_on_real_data(tmp_path: Path) -> None:
    """The bench's ratio book: ten coins on their own inverse perps, a year of hourly candles
    with Binance funding (settlements every 8 hours)."""
    sys.path.insert(0, str(REPO / "bench"))
    import backtest_bench as bench

    require(SHARED_DATA / "spot_1h")
    bench.write_hourly(SHARED_DATA, tmp_path / "hourly")
    config = bench.config(bench.TEN, "0.05", "ratio")
    market = load_for([config], tmp_path / "hourly")
    skipped = assert_same(config, market, BacktestOptions())
    assert skipped > 5000  # of 8,761 ticks


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


def test_no_window_without_plain_rules(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_candles(data, "BTC", START, walk(3, 200, 40_000, 0.01))
    write_candles(data, "SOL", START, walk(4, 200, 100, 0.02))
    config = sim_config(
        rules="  - {kind: beta, asset: SOL, ratio: 1, hedge_with: BTC}",
        spot="{SOL: 100}",
        margin="{BTC: 1}",
    )
    market = load_for([config], data)
    assert Replay(config, market, BacktestOptions())._window is None
    assert assert_same(config, market, BacktestOptions()) == 0
