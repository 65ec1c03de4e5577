"""Price feeds: the no-look-ahead price rule, strict parsing, gaps, candles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.sim.errors import FeedError, FeedRangeError, ReplayDataError
from bot.sim.feed import FixedPrices, Gap, ReplayFeed, parse_file_name, timeframe_seconds
from tests.sim.conftest import REPLAY_DIR, D, read_closes, write_candles

H = timedelta(hours=1)
NOON = datetime(2024, 3, 24, 12, tzinfo=UTC)


def row(at: datetime, o: str, h: str, lo: str, c: str, v: str = "1") -> str:
    return f"{at.strftime('%Y-%m-%dT%H:%M:%SZ')},{o},{h},{lo},{c},{v}"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("binance_spot_BTCUSDT_1h.csv.gz", ("BTC", 3600)),
        ("binance_spot_SOLUSDT_1h.csv", ("SOL", 3600)),
        ("kraken_spot_ETHUSD_4h.csv", ("ETH", 14400)),
        ("binance_spot_1INCHUSDT_1d.csv.gz", ("1INCH", 86400)),
        ("README.md", None),
        ("binance_spot_BTCUSDT.csv", None),
    ],
)
def test_file_names(name: str, expected: tuple[str, int] | None) -> None:
    assert parse_file_name(name) == expected


def test_timeframes() -> None:
    assert [timeframe_seconds(t) for t in ("15m", "1h", "4h", "1d")] == [900, 3600, 14400, 86400]
    with pytest.raises(ValueError, match="unsupported timeframe"):
        timeframe_seconds("1w")


def test_fixed_prices_and_flat_candles() -> None:
    feed = FixedPrices({"BTC": D(50000)})
    assert feed.price("BTC", NOON) == D(50000)
    candles = feed.candles("BTC", NOON + timedelta(minutes=30), limit=3)
    assert [c.opened_at for c in candles] == [NOON - 3 * H, NOON - 2 * H, NOON - H]  # closed
    assert all(c.open == c.high == c.low == c.close == D(50000) for c in candles)
    with pytest.raises(FeedError, match="no price"):
        feed.price("ETH", NOON)
    with pytest.raises(FeedError, match="positive"):
        feed.set_price("BTC", D(0))


def test_replay_slice_loads_every_close_exactly() -> None:
    feed = ReplayFeed(REPLAY_DIR)
    assert feed.coins == ("BTC", "ETH", "SOL")
    assert feed.start == datetime(2024, 3, 1, tzinfo=UTC)
    assert feed.end == datetime(2024, 5, 1, tzinfo=UTC)  # the last candle's close time
    assert feed.step_seconds == 3600
    assert feed.gaps == []
    for coin in feed.coins:
        rows = read_closes(REPLAY_DIR / f"binance_spot_{coin}USDT_1h.csv.gz")
        assert len(rows) == 1464
        # before the first close: the first candle's open; then every close at its close time
        assert feed.price(coin, rows[0][0]) == rows[0][1]
        for opened, _, close in rows:
            assert feed.price(coin, opened + H) == close


def test_price_has_no_look_ahead() -> None:
    feed = ReplayFeed(REPLAY_DIR, coins=["BTC"])
    rows = read_closes(REPLAY_DIR / "binance_spot_BTCUSDT_1h.csv.gz")
    opened, _, _ = rows[10]
    previous_close = rows[9][2]
    assert feed.price("BTC", opened) == previous_close  # candle 10 is open, not closed
    assert feed.price("BTC", opened + H - timedelta(seconds=1)) == previous_close
    assert feed.price("BTC", opened + H) == rows[10][2]


def test_price_outside_the_data_raises() -> None:
    feed = ReplayFeed(REPLAY_DIR, coins=["ETH"])
    with pytest.raises(FeedRangeError, match="before"):
        feed.price("ETH", feed.start - timedelta(seconds=1))
    with pytest.raises(FeedRangeError, match="after"):
        feed.price("ETH", feed.end + timedelta(seconds=1))
    with pytest.raises(FeedError, match="no replay data"):
        feed.price("DOGE", feed.start)


def test_gap_is_reported_and_price_holds(tmp_path: Path) -> None:
    write_candles(
        tmp_path / "binance_spot_BTCUSDT_1h.csv",
        [
            row(NOON - H, "100", "101", "99", "100"),
            row(NOON, "100", "111", "99", "110"),
            # 13:00 missing (the 2023-03-24 Binance halt looked like this)
            row(NOON + 2 * H, "120", "125", "119", "121"),
            row(NOON + 3 * H, "121", "131", "120", "130"),
        ],
    )
    feed = ReplayFeed(tmp_path)
    assert feed.gaps == [Gap("BTC", NOON, NOON + 2 * H)]
    assert feed.price("BTC", NOON + H) == D(110)  # 12:00 candle closed
    assert feed.price("BTC", NOON + 2 * H) == D(110)  # held across the hole
    assert feed.price("BTC", NOON + 2 * H + timedelta(minutes=59)) == D(110)
    assert feed.price("BTC", NOON + 3 * H) == D(121)
    assert [c.opened_at for c in feed.candles("BTC", NOON + 4 * H, limit=10)] == [
        NOON - H,
        NOON,
        NOON + 2 * H,
        NOON + 3 * H,
    ]


GOOD = row(NOON, "100", "101", "99", "100")


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("2024-03-24T13:00:00Z,100,101,99", "expected 6 columns"),
        ("2024-03-24T13:00:00Z,100,101,abc,100,1", "low 'abc' is not a number"),
        ("2024-03-24T13:00:00Z,100,101,99,NaN,1", "not finite"),
        ("2024-03-24 13:00:00,100,101,99,100,1", "no UTC offset"),
        ("2024-03-24T13:00:00+02:00,100,101,99,100,1", "not UTC"),
        ("yesterday,100,101,99,100,1", "not ISO-8601"),
        ("2024-03-24T12:00:00Z,100,101,99,100,1", "duplicate timestamp"),
        ("2024-03-24T11:00:00Z,100,101,99,100,1", "out of order"),
        ("2024-03-24T13:30:00Z,100,101,99,100,1", "off the 3600s grid"),
        ("2024-03-24T13:00:00Z,100,101,99,102,1", "inconsistent OHLC"),
        ("2024-03-24T13:00:00Z,-1,101,-2,100,1", "prices must be > 0"),
        ("2024-03-24T13:00:00Z,100,101,99,100,-5", "volume must be >= 0"),
        ("2024-03-24T13:00:00Z,100,1e50,99,100,1", r"high 1E\+50 is above 1,000,000,000 USD"),
        ("2024-03-24T13:00:00Z,100,10001,99,100,1", "more than 100 times the previous close 100"),
    ],
)
def test_malformed_row_names_file_and_line(tmp_path: Path, bad: str, problem: str) -> None:
    path = write_candles(tmp_path / "binance_spot_BTCUSDT_1h.csv.gz", [GOOD, bad])
    with pytest.raises(ReplayDataError, match=problem) as caught:
        ReplayFeed(tmp_path)
    assert caught.value.path == str(path)
    assert caught.value.line == 3  # header is line 1
    assert str(caught.value).startswith(f"{path}:3: ")


def test_bad_header_and_empty_file(tmp_path: Path) -> None:
    write_candles(tmp_path / "binance_spot_BTCUSDT_1h.csv", [GOOD], header="time,o,h,l,c,v")
    with pytest.raises(ReplayDataError, match=r"_1h\.csv:1: header must be"):
        ReplayFeed(tmp_path)
    write_candles(tmp_path / "binance_spot_BTCUSDT_1h.csv", [])
    with pytest.raises(ReplayDataError, match="no candles"):
        ReplayFeed(tmp_path)


def test_folder_problems(tmp_path: Path) -> None:
    with pytest.raises(ReplayDataError, match="no candle files"):
        ReplayFeed(tmp_path)
    write_candles(tmp_path / "binance_spot_BTCUSDT_1h.csv", [GOOD])
    write_candles(tmp_path / "binance_spot_ETHUSDT_4h.csv", [GOOD])
    with pytest.raises(ReplayDataError, match="timeframe"):
        ReplayFeed(tmp_path)
    with pytest.raises(ReplayDataError, match="no candle file for XRP"):
        ReplayFeed(tmp_path, coins=["BTC", "XRP"])
    assert ReplayFeed(tmp_path, coins=["BTC"]).coins == ("BTC",)


def test_candles_are_closed_and_limited() -> None:
    feed = ReplayFeed(REPLAY_DIR, coins=["SOL"])
    rows = read_closes(REPLAY_DIR / "binance_spot_SOLUSDT_1h.csv.gz")
    until = rows[5][0] + timedelta(minutes=30)  # candle 5 in progress: not returned
    candles = feed.candles("SOL", until, limit=3)
    assert [c.opened_at for c in candles] == [rows[2][0], rows[3][0], rows[4][0]]
    assert [c.close for c in candles] == [rows[2][2], rows[3][2], rows[4][2]]
    since = feed.candles("SOL", feed.end, limit=2, since=rows[100][0])
    assert [c.opened_at for c in since] == [rows[100][0], rows[101][0]]


def test_daily_candles_aggregate_hours() -> None:
    feed = ReplayFeed(REPLAY_DIR, coins=["BTC"])
    hours = feed.candles("BTC", datetime(2024, 3, 2, tzinfo=UTC), limit=24)
    (day,) = feed.candles("BTC", datetime(2024, 3, 2, 23, tzinfo=UTC), limit=1, timeframe=86400)
    assert day.opened_at == datetime(2024, 3, 1, tzinfo=UTC)
    assert day.open == hours[0].open
    assert day.close == hours[-1].close
    assert day.high == max(c.high for c in hours)
    assert day.low == min(c.low for c in hours)
    assert day.volume == sum((c.volume for c in hours), D(0))
