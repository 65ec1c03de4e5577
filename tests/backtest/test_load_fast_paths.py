"""The bulk (vectorised) loading paths give exactly what the strict per-row paths give, and leave
every bad row to the strict path, which names the file and line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.backtest.candles import _fast_series, canonical_epochs, load_candles, read_text
from bot.backtest.funding import FundingHistory, load_history
from bot.backtest.parsing import HOUR
from bot.sim.errors import ReplayDataError
from bot.sim.series import DecimalColumn, load_series
from tests.shared_data import SHARED_DATA, require

BTC_FUNDING = SHARED_DATA / "perp_binance_usdm" / "binance_usdm_BTCUSDT_funding.csv"
BTC_CANDLES = SHARED_DATA / "spot_1h" / "binance_spot_BTCUSDT_1h.csv.gz"
FUNDING_HEADER = "timestamp,symbol,funding_rate"


def crlf_copy(source: Path, folder: Path) -> Path:
    """The same file with CRLF line ends: the bulk paths refuse it, the strict ones read it."""
    target = folder / source.name.removesuffix(".gz")
    target.write_bytes(read_text(source).replace("\n", "\r\n").encode())
    return target


def intervals_per_row(times: tuple[int, ...]) -> tuple[int, ...]:
    """Reference: each settlement's hours since the previous (the first: to the next), >= 1."""
    out = []
    for i in range(len(times)):
        span = times[i] - times[i - 1] if i else times[1] - times[0]
        out.append(max(span // HOUR, 1))
    return tuple(out)


def contents(history: FundingHistory) -> tuple[object, ...]:
    return history.coin, history.source, history.times, history.rates, history.interval_hours


def test_bulk_funding_equals_strict_on_real_file(tmp_path: Path) -> None:
    path = require(BTC_FUNDING)
    fast = load_history("binance_usdm", "BTC", [path])
    strict = load_history("binance_usdm", "BTC", [crlf_copy(path, tmp_path)])
    assert contents(fast) == contents(strict)
    assert fast.interval_hours == intervals_per_row(fast.times)
    lines = read_text(path).splitlines()[1:]
    assert fast.rates == tuple(Decimal(line.split(",")[2]) for line in lines)
    assert all(type(t) is int for t in fast.times)
    assert all(type(h) is int for h in fast.interval_hours)


def test_bulk_funding_over_parts_equals_one_file(tmp_path: Path) -> None:
    lines = read_text(require(BTC_FUNDING)).splitlines()
    half = len(lines) // 2
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "part1.csv").write_text("\n".join(lines[:half]) + "\n")
    (first / "part2.csv").write_text("\n".join([lines[0], *lines[half:]]) + "\n")
    parts = load_history("binance_usdm", "BTC", sorted(first.iterdir()))
    whole = load_history("binance_usdm", "BTC", [BTC_FUNDING])
    assert contents(parts) == contents(whole)
    # A part that starts at or before the previous part's last settlement is refused.
    (second / "part1.csv").write_text("\n".join(lines[:half]) + "\n")
    (second / "part2.csv").write_text("\n".join([lines[0], *lines[half - 1 :]]) + "\n")
    with pytest.raises(ReplayDataError) as error:
        load_history("binance_usdm", "BTC", sorted(second.iterdir()))
    assert str(error.value).startswith(f"{second / 'part2.csv'}:2: duplicate settlement")


def test_lone_settlement_is_eight_hours(tmp_path: Path) -> None:
    path = tmp_path / "binance_usdm_BTCUSDT_funding.csv"
    path.write_text(f"{FUNDING_HEADER}\n2024-01-01T00:00:00Z,BTCUSDT,0.0001\n")
    assert load_history("binance_usdm", "BTC", [path]).interval_hours == (8,)


@pytest.mark.parametrize(
    ("third", "where"),
    [
        ("2024-01-01T16:00:00Z,BTCUSDT,1.5", ":4: funding rate 1.5 outside -1..1"),
        ("2024-01-01T16:00:00Z,BTCUSDT,-1.0000000000000000001", ":4: funding rate -1.0000"),
        ("2024-01-01T08:00:00Z,BTCUSDT,0.0001", ":4: duplicate settlement 2024-01-01 08:00"),
        ("2024-01-01T04:00:00Z,BTCUSDT,0.0001", ":4: out-of-order settlement 2024-01-01 04:00"),
    ],
)
def test_bad_funding_row_names_file_and_line(tmp_path: Path, third: str, where: str) -> None:
    path = tmp_path / "binance_usdm_BTCUSDT_funding.csv"
    good = "2024-01-01T00:00:00Z,BTCUSDT,0.0001\n2024-01-01T08:00:00Z,BTCUSDT,-0.0002\n"
    path.write_text(f"{FUNDING_HEADER}\n{good}{third}\n2024-01-02T00:00:00Z,BTCUSDT,0\n")
    with pytest.raises(ReplayDataError) as error:
        load_history("binance_usdm", "BTC", [path])
    assert str(error.value).startswith(f"{path}{where}")


def test_rate_of_exactly_one_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "binance_usdm_BTCUSDT_funding.csv"
    path.write_text(
        f"{FUNDING_HEADER}\n2024-01-01T00:00:00Z,BTCUSDT,1.000\n"
        "2024-01-01T08:00:00Z,BTCUSDT,-0.99999999999999999999\n"
    )
    history = load_history("binance_usdm", "BTC", [path])
    assert history.rates == (Decimal("1.000"), Decimal("-0.99999999999999999999"))
    assert str(history.rates[0]) == "1.000"


def test_bulk_candles_equal_strict_on_real_file(tmp_path: Path) -> None:
    path = require(BTC_CANDLES)
    text = read_text(path)
    fast = _fast_series(text, "BTC", HOUR)
    assert fast is not None
    strict = load_series(crlf_copy(path, tmp_path), "BTC", HOUR)
    assert fast == strict
    assert load_candles(path, "BTC", HOUR) == strict
    columns = list(zip(*(line.split(",") for line in text.splitlines()[1:]), strict=True))
    expected = [list(map(Decimal, column)) for column in columns[1:]]
    got = [fast.open, fast.high, fast.low, fast.close, fast.volume]
    for column, wanted in zip(got, expected, strict=True):
        assert list(column) == wanted
        assert [str(d) for d in column] == [str(d) for d in wanted]  # same digits, not just ==


def test_decimal_column_reads_like_a_list() -> None:
    texts = ["1.50", "2", "3e2"]
    wanted = [Decimal(t) for t in texts]
    column = DecimalColumn(list(texts))
    assert len(column) == 3
    assert column[0] == wanted[0]  # one item at a time while the column is unconverted
    assert str(column[-1]) == "3E+2"
    assert column[1:] == wanted[1:]
    assert column == wanted
    assert wanted == column
    assert column == DecimalColumn(list(texts))
    assert column != wanted[:2]
    assert column != tuple(wanted)  # like a list
    assert list(column) == wanted
    assert len(column) == 3
    assert column[0] == wanted[0]
    assert repr(column) == repr(wanted)


@pytest.mark.parametrize("odd", ["1_000.5", "１000.5"])  # underscore, full-width digit
def test_unusual_number_text_goes_to_the_strict_loader(tmp_path: Path, odd: str) -> None:
    path = tmp_path / "binance_spot_XUSDT_1h.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        f"2024-01-01T00:00:00Z,1000,1000.5,999,1000,{odd}\n"
        "2024-01-01T01:00:00Z,1000,1001,999,1000.5,2\n",
        encoding="utf-8",
    )
    assert _fast_series(read_text(path), "X", HOUR) is None
    series = load_candles(path, "X", HOUR)
    assert series == load_series(path, "X", HOUR)
    assert series.volume == [Decimal("1000.5"), Decimal(2)]


def test_stamp_with_a_nul_is_not_canonical() -> None:
    assert canonical_epochs(["2024-01-01T00:00:00Z"]) is not None
    assert canonical_epochs(["2024-01-01T00:00\x0000Z"]) is None
    assert canonical_epochs(["2024-01-01T00:00:00Z", "2024-01-01T01:00:00"]) is None
