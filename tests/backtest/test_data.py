"""Loading a data folder: strictness (file and line of every problem), gaps, funding formats."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.backtest.candles import _fast_series, deribit_index_series, load_candles, read_text
from bot.backtest.data import DERIBIT_INDEX, choose_funding, load_market_data
from bot.backtest.funding import FundingPlan, FundingSource, load_history
from bot.sim.errors import ReplayDataError
from bot.sim.series import load_series, to_epoch
from tests.backtest.helpers import REPO, run, sim_config, utc, write_binance_funding, write_candles
from tests.shared_data import SHARED_DATA, require

SPOT = SHARED_DATA / "spot_1h"
INVERSE = SHARED_DATA / "inverse_perp"
GOOD = [
    "timestamp,open,high,low,close,volume",
    "2024-01-01T00:00:00Z,100,101,99,100.5,1",
    "2024-01-01T01:00:00Z,100.5,102,100,101,2",
    "2024-01-01T02:00:00Z,101,101.5,100.5,101,0",
]


def test_fast_loader_equals_the_simulators_loader() -> None:
    for path in (
        require(SPOT / "binance_spot_SOLUSDT_1h.csv.gz"),  # has the 2023-03-24 gap
        REPO / "data" / "replay" / "binance_spot_BTCUSDT_1h.csv.gz",
    ):
        assert load_candles(path, "X", 3600) == load_series(path, "X", 3600)


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (3, "2024-01-01T01:00:00Z,100.5,102,100,abc,2"),  # not a number
        (3, "2024-01-01T01:00:00Z,100.5,102,100,101"),  # a cell missing
        (3, "2024-01-01T00:00:00Z,100.5,102,100,101,2"),  # duplicate timestamp
        (3, "2024-01-01T01:30:00Z,100.5,102,100,101,2"),  # off the hourly grid
        (3, "2024-01-01T01:00:00+02:00,100.5,102,100,101,2"),  # not UTC
        (3, "2024-01-01T01:00:00Z,100.5,102,101.5,101,2"),  # low above the close
        (3, "2024-01-01T01:00:00Z,100.5,102,100,101,-2"),  # negative volume
        (3, "2024-01-01T01:00:00Z,100.5,102,100,nan,2"),  # not finite
        (1, "timestamp,open,high,low,close"),  # header (replaces line 1)
    ],
)
def test_malformed_candles_name_the_file_and_line(tmp_path: Path, line: int, text: str) -> None:
    path, problem = refusal_of_both_loaders(tmp_path, line, text)
    assert problem.startswith(f"{path}:{line}: ")


def refusal_of_both_loaders(tmp_path: Path, line: int, text: str) -> tuple[Path, str]:
    """(the file, the error) of GOOD with ``line`` replaced by ``text``: the fast loader's error,
    checked equal to the strict loader's."""
    rows = list(GOOD)
    rows[line - 1] = text
    path = tmp_path / "binance_spot_BTCUSDT_1h.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ReplayDataError) as ours:
        load_candles(path, "BTC", 3600)
    with pytest.raises(ReplayDataError) as reference:
        load_series(path, "BTC", 3600)
    assert str(ours.value) == str(reference.value)
    return path, str(ours.value)


@pytest.mark.parametrize(
    ("line", "text", "problem"),
    [
        (3, "2024-01-01T01:00:00Z,100.5,1e50,100,101,2", "high 1E+50 is above 1,000,000,000 USD"),
        (3, "2024-01-01T01:00:00Z,1e23,1e23,1e23,1e23,2", "open 1E+23 is above 1,000,000,000"),
        (
            3,
            "2024-01-01T01:00:00Z,100.5,10050.1,100,101,2",
            "high 10050.1 is more than 100 times the previous close 100.5",
        ),
        (
            3,
            "2024-01-01T01:00:00Z,100.5,102,1.0049,101,2",
            "low 1.0049 is less than 1/100 of the previous close 100.5",
        ),
        (
            2,
            "2024-01-01T00:00:00Z,100,100.5,1.004,100.5,1",
            "high 100.5 is more than 100 times the low 1.004 of the same candle",
        ),
        (
            4,
            "2024-01-01T02:00:00Z,101,101.5,1.009,101,0",
            "low 1.009 is less than 1/100 of the previous close 101",
        ),
    ],
)
def test_absurd_prices_and_jumps_name_the_file_line_and_value(
    tmp_path: Path, line: int, text: str, problem: str
) -> None:
    """Both loaders refuse a price above 1e9 USD and a candle spanning more than 100 times (from
    the previous close through its low and high), with the same message."""
    path, refused = refusal_of_both_loaders(tmp_path, line, text)
    assert refused.startswith(f"{path}:{line}: {problem}")


def test_prices_at_the_limits_are_taken_by_both_loaders(tmp_path: Path) -> None:
    """Exactly 1e9 USD, and exactly 100 times (up, down, within a candle), are still prices."""
    rows = [
        GOOD[0],
        "2024-01-01T00:00:00Z,100,100,1,1,1",  # low = high / 100
        "2024-01-01T01:00:00Z,1,100,1,100,1",  # high = 100 x the previous close
        "2024-01-01T02:00:00Z,100,100,1,1,1",  # low = the previous close / 100
        "2024-01-01T03:00:00Z,10000000,1000000000,10000000,1000000000,1",
    ]
    path = tmp_path / "binance_spot_BTCUSDT_1h.csv"
    path.write_text("\n".join(rows[:4]) + "\n")
    assert load_candles(path, "BTC", 3600) == load_series(path, "BTC", 3600)
    high = tmp_path / "high" / "binance_spot_BTCUSDT_1h.csv"
    high.parent.mkdir()
    high.write_text("\n".join([GOOD[0], *rows[4:]]) + "\n")
    series = load_candles(high, "BTC", 3600)
    assert series == load_series(high, "BTC", 3600)
    assert series.high == [Decimal(10**9)]


def test_every_real_and_bundled_candle_file_passes_the_checks() -> None:
    """The price and jump limits leave all real data alone, on the fast path."""
    files = [
        *sorted(require(SPOT).glob("*_1h.csv.gz")),
        *sorted((REPO / "data" / "backtest").glob("*_1h.csv.gz")),
        *sorted((REPO / "data" / "replay").glob("*_1h.csv.gz")),
    ]
    assert len(files) >= 17
    for path in files:
        assert _fast_series(read_text(path), "X", 3600) is not None, path
    series = deribit_index_series(
        [require(INVERSE / "deribit_BTC-PERPETUAL_funding_index_1h_part1.csv")]
    )
    assert len(series.close) > 10_000


def test_a_deribit_index_spike_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "deribit_BTC-PERPETUAL_funding_index_1h_part1.csv"
    header = "timestamp,timestamp_ms,index_price,prev_index_price,interest_8h,interest_1h"
    rows = [
        "2020-01-01T00:00:00Z,1577836800000,7200,,0,0",
        "2020-01-01T01:00:00Z,1577840400000,7210,7200,0,0",
        "2020-01-01T02:00:00Z,1577844000000,900000,7210,0,0",
    ]
    path.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(ReplayDataError) as caught:
        deribit_index_series([path])
    assert str(caught.value).startswith(
        f"{path}:4: high 900000 is more than 100 times the previous close 7210"
    )
    dearer = tmp_path / "dearer" / path.name  # another path: deribit_rows caches by path
    dearer.parent.mkdir()
    dearer.write_text("\n".join([header, *rows[:2], rows[2].replace("900000", "1e12")]) + "\n")
    with pytest.raises(ReplayDataError) as caught:
        deribit_index_series([dearer])
    assert str(caught.value).startswith(f"{dearer}:4: index_price 1E+12 is above 1,000,000,000")


@pytest.mark.parametrize(
    ("name", "body", "where"),
    [
        (
            "binance_usdm_BTCUSDT_funding.csv",
            "timestamp,symbol,funding_rate\n2024-01-01T00:00:00Z,BTCUSDT,0.0001\n"
            "2024-01-01T08:00:00Z,BTCUSDT,1e-4x\n",
            ":3: funding_rate '1e-4x' is not a number",
        ),
        (
            "binance_usdm_BTCUSDT_funding.csv",
            "timestamp,symbol,funding_rate\n2024-01-01T08:00:00Z,BTCUSDT,0.0001\n"
            "2024-01-01T00:00:00Z,BTCUSDT,0.0001\n",
            ":3: out-of-order settlement",
        ),
        (
            "bitmex_XBTUSD_funding_raw.csv",
            "timestamp,symbol,fundingInterval,fundingRate,fundingRateDaily\n"
            "2020-01-01T04:00:00Z,XBTUSD,2000-01-01T08:30:00Z,0.0001,0.0003\n",
            ":2: fundingInterval '2000-01-01T08:30:00Z' is not whole hours",
        ),
        (
            "binance_usdm_BTCUSDT_funding.csv",
            "timestamp,symbol,funding_rate\n2024-01-01T00:10:00Z,BTCUSDT,0.0001\n",
            ":2: timestamp 2024-01-01T00:10:00Z is not on a whole hour",
        ),
    ],
)
def test_malformed_funding_names_the_file_and_line(
    tmp_path: Path, name: str, body: str, where: str
) -> None:
    path = tmp_path / name
    path.write_text(body)
    source: FundingSource = "bitmex" if name.startswith("bitmex") else "binance_usdm"
    with pytest.raises(ReplayDataError, match=None) as error:
        load_history(source, "BTC", [path])
    assert str(error.value).startswith(f"{path}{where}")


def test_deribit_file_is_taken_in_time_order_and_reported() -> None:
    path = require(INVERSE / "deribit_BTC-PERPETUAL_funding_index_1h_part1.csv")
    series = deribit_index_series([path])
    assert series.opens == sorted(series.opens)
    assert not series.gaps
    history = load_history("deribit", "BTC", [path])
    assert history.interval_hours[1:3] == (1, 1)
    market = load_market_data(SHARED_DATA, ["BTC"], to_epoch(utc(2019, 6, 1)), None)
    assert market.price_sources["BTC"] == DERIBIT_INDEX
    assert market.repairs["deribit"] == (
        f"{path.name}: line(s) 4313 out of time order, taken in time order",
    )
    start, end = to_epoch(utc(2019, 6, 1)), to_epoch(utc(2020, 6, 1))
    assert choose_funding(market, "BTC", start, end).source == "deribit"  # type: ignore[union-attr]
    assert choose_funding(market, "BTC", start, end, "bitmex").source == "bitmex"  # type: ignore[union-attr]
    assert choose_funding(market, "BTC", start, end, "config") is None


def test_gaps_are_reported_and_the_price_holds() -> None:
    """Binance halted spot trading on 2023-03-24: the 13:00 candle is missing in every file."""
    cfg = sim_config(rules="  - {asset: SOL, ratio: 0.5}", spot="{SOL: 100}", margin="{SOL: 100}")
    result = run(cfg, SHARED_DATA, utc(2023, 3, 24), utc(2023, 3, 25))
    assert [(g.coin, g.from_open, g.to_open) for g in result.gaps] == [
        ("SOL", utc(2023, 3, 24, 12), utc(2023, 3, 24, 14))
    ]
    hours = {int(t): i for i, t in enumerate(result.series.times)}
    at = to_epoch(utc(2023, 3, 24, 14))  # the close of 13:00 is missing: 12:00's close holds
    assert result.series.unhedged[hours[at]] == result.series.unhedged[hours[at - 3600]]
    assert any("gap(s) in the candles" in note for note in result.notes)


def test_funding_grid_mixes_schedules_and_reports_fallbacks(tmp_path: Path) -> None:
    """BitMEX settles at 04/12/20 UTC, Binance at 00/08/16: the engine's grid is 4 h; each coin
    settles at its own instants only; outside its history the config's constant applies."""
    start = utc(2020, 1, 1)
    bitmex = tmp_path / "bitmex_XBTUSD_funding_raw.csv"
    rows = [
        f"{(start + timedelta(hours=4 + 8 * i)):%Y-%m-%dT%H:%M:%SZ},XBTUSD,"
        f"2000-01-01T08:00:00Z,0.000{i + 1},0"
        for i in range(3)
    ]
    bitmex.write_text(
        "timestamp,symbol,fundingInterval,fundingRate,fundingRateDaily\n" + "\n".join(rows) + "\n"
    )
    eth = write_binance_funding(
        tmp_path, "ETH", [(start + timedelta(hours=8 * i), "0.0002") for i in range(3)]
    )
    plan = FundingPlan(
        ("BTC", "ETH", "SOL"),
        {
            "BTC": load_history("bitmex", "BTC", [bitmex]),
            "ETH": load_history("binance_usdm", "ETH", [eth]),
        },
        {"SOL": Decimal("0.0003")},
        Decimal("0.0001"),
        8,
        to_epoch(start),
        to_epoch(start + timedelta(days=2)),
    )
    assert plan.grid_hours == 4
    hour = 3600
    at4, at8 = to_epoch(start) + 4 * hour, to_epoch(start) + 8 * hour
    assert plan.rates_at(at4) == {"BTC": Decimal("0.0001"), "ETH": 0, "SOL": 0}
    assert plan.rates_at(at8) == {"BTC": 0, "ETH": Decimal("0.0002"), "SOL": Decimal("0.0003")}
    late = to_epoch(start) + 40 * hour  # after both histories: the config's constants, every 8 h
    assert plan.rates_at(late) == {
        "BTC": Decimal("0.0001"),
        "ETH": Decimal("0.0001"),
        "SOL": Decimal("0.0003"),
    }
    seen = plan.funding_rate("BTC", "BTC/USD:BTC", at8 + hour)
    assert (seen.rate, seen.interval_hours) == (Decimal("0.0001"), Decimal(8))  # no look-ahead
    assert any("BTC: 1 settlement(s) without history" in n for n in plan.notes())


def test_missing_prices_are_a_clear_error(tmp_path: Path) -> None:
    write_candles(tmp_path, "BTC", utc(2024, 1, 1), [100] * 48)
    with pytest.raises(ReplayDataError, match="no candle file for ETH"):
        load_market_data(tmp_path, ["BTC", "ETH"])
    with pytest.raises(ReplayDataError, match=r"no prices for BTC over 2023-01-01 00:00\.\."):
        load_market_data(tmp_path, ["BTC"], to_epoch(utc(2023, 1, 1)), None)
