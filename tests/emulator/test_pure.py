"""Pure parts of the emulator: signature check, number/symbol formatting, pagination, faults,
clock modes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import ccxt
import pytest

from bot.core.types import Market, OrderRequest
from bot.emulator.auth import check_request, sign
from bot.emulator.bybit_format import SymbolMap, bybit_id, fmt, tick_size
from bot.emulator.clock import MarketClock, default_mode
from bot.emulator.faults import FaultBook, FaultKind, fault_response, parse_fault
from bot.emulator.reply import ApiError, paginate
from bot.sim.engine import SimExchange
from bot.sim.feed import FixedPrices

D = Decimal
TS = "1700000000000"
SECRETS = {"test-key": "test-secret"}

# Computed independently of this code base with OpenSSL:
#   printf '%s' "${TS}test-key5000${PAYLOAD}" | openssl dgst -sha256 -hmac test-secret
VECTORS = [
    (
        b"category=inverse&symbol=BTCUSD",
        "947c9b11c9136402dd5b7e6eff5b11cbe55ce3c8e507c2703de0c571504141fd",
    ),
    (
        b'{"symbol":"BTCUSD","side":"Sell","orderType":"Market","category":"inverse","qty":"100"}',
        "2d8b9ba1a6d23bb0d9da61054120d02bc01cba9d4f5506c0bb8f34b227812342",
    ),
]


def headers(signature: str, timestamp: str = TS, key: str = "test-key") -> dict[str, str]:
    return {
        "X-BAPI-API-KEY": key,
        "X-BAPI-TIMESTAMP": timestamp,
        "X-BAPI-RECV-WINDOW": "5000",
        "X-BAPI-SIGN": signature,
    }


@pytest.mark.parametrize(("payload", "expected"), VECTORS)
def test_signature_matches_the_known_vector(payload: bytes, expected: str) -> None:
    assert sign("test-secret", TS, "test-key", "5000", payload) == expected
    assert check_request(headers(expected), payload, SECRETS, int(TS)) is None


@pytest.mark.parametrize(
    ("hdrs", "payload", "server_ms", "code"),
    [
        (headers(VECTORS[0][1], key="other"), VECTORS[0][0], int(TS), 10003),
        (headers(VECTORS[0][1]), b"category=inverse&symbol=ETHUSD", int(TS), 10004),
        (headers(VECTORS[0][1].upper()), VECTORS[0][0], int(TS), 10004),
        (headers(VECTORS[0][1]), b"symbol=BTCUSD&category=inverse", int(TS), 10004),  # re-sorted
        (headers(VECTORS[0][1]), VECTORS[0][0], int(TS) + 5001, 10002),  # too old
        (headers(VECTORS[0][1]), VECTORS[0][0], int(TS) - 1000, 10002),  # 1 s in the future
        (headers("x", timestamp="soon"), VECTORS[0][0], int(TS), 10002),
    ],
)
def test_signature_failures(
    hdrs: dict[str, str], payload: bytes, server_ms: int, code: int
) -> None:
    failure = check_request(hdrs, payload, SECRETS, server_ms)
    assert failure is not None
    assert failure.code == code


def test_recv_window_edges_and_header_case() -> None:
    payload, signature = VECTORS[0]
    lower = {k.lower(): v for k, v in headers(signature).items()}
    assert check_request(lower, payload, SECRETS, int(TS) + 5000) is None  # oldest accepted
    assert check_request(lower, payload, SECRETS, int(TS) - 999) is None  # newest accepted


def test_ccxt_signature_is_accepted_on_the_raw_query() -> None:
    """ccxt's own signing (GET query in insertion order, not percent-encoded, and POST JSON)."""
    exchange = ccxt.bybit({"apiKey": "test-key", "secret": "test-secret"})
    exchange.nonce = lambda: int(TS)
    get = exchange.sign(
        "v5/order/realtime", ["private"], "GET", {"symbol": "BTCUSD", "cursor": "a%3Ab", "x": None}
    )
    query = urlsplit(get["url"]).query
    assert query == "symbol=BTCUSD&cursor=a%3Ab&x=None"
    assert check_request(get["headers"], query.encode(), SECRETS, int(TS)) is None
    post = exchange.sign(
        "v5/order/create", ["private"], "POST", {"symbol": "BTCUSD", "reduceOnly": True}
    )
    assert check_request(post["headers"], post["body"].encode(), SECRETS, int(TS)) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("50000.0"), "50000"),
        (D("0.000011000"), "0.000011"),
        (D(0), "0"),
        (D("1E+2"), "100"),
        (None, ""),
        (7, "7"),
        (D("-0.5"), "-0.5"),
    ],
)
def test_fmt(value: Decimal | int | None, text: str) -> None:
    assert fmt(value) == text


def market(symbol: str, kind: str = "inverse", expiry: datetime | None = None) -> Market:
    base = symbol.split("/")[0]
    quote, settle = ("USD", base) if kind == "inverse" else ("USDT", "USDT")
    return Market(symbol, base, quote, settle, kind, D(1), expiry=expiry)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mkt", "bid"),
    [
        (market("BTC/USD:BTC"), "BTCUSD"),
        (market("BTC/USD:BTC-250328", expiry=datetime(2025, 3, 28, 8, tzinfo=UTC)), "BTCUSDH25"),
        (market("ETH/USD:ETH-241227", expiry=datetime(2024, 12, 27, 8, tzinfo=UTC)), "ETHUSDZ24"),
        (market("BTC/USDT:USDT", "linear"), "BTCUSDT"),
        (
            market("BTC/USDT:USDT-250328", "linear", datetime(2025, 3, 28, 8, tzinfo=UTC)),
            "BTC-28MAR25",
        ),
    ],
)
def test_bybit_ids(mkt: Market, bid: str) -> None:
    assert bybit_id(mkt) == bid
    assert SymbolMap.build([mkt]).market(mkt.kind, bid) == mkt


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        (D(50000), D("0.1")),
        (D(2500), D("0.01")),
        (D("150.5"), D("0.001")),
        (D("0.0001"), D("1E-8")),
    ],
)
def test_tick_size(price: Decimal, tick: Decimal) -> None:
    assert tick_size(price) == tick


def test_paginate() -> None:
    rows = list(range(5))
    assert paginate(rows, 2, None) == ([0, 1], "2")
    assert paginate(rows, 2, "2") == ([2, 3], "4")
    assert paginate(rows, 2, "4") == ([4], "")
    assert paginate(rows, 10, None) == (rows, "")
    with pytest.raises(ApiError, match="cursor"):
        paginate(rows, 2, "x")


def test_fault_book_counts_and_matching() -> None:
    book = FaultBook()
    book.add(parse_fault({"kind": "rate_limit", "path": "/v5/market/tickers", "count": 2}))
    book.add(parse_fault({"kind": "partial_fill", "fraction": "0.25"}))
    before = frozenset({FaultKind.RATE_LIMIT})
    assert book.take(before, "GET", "/v5/position/list") is None
    assert book.take(before, "GET", "/v5/market/tickers") is not None
    assert book.take(before, "GET", "/v5/market/tickers") is not None
    assert book.take(before, "GET", "/v5/market/tickers") is None
    request = OrderRequest("BTC/USD:BTC", "sell", D(10), False, "c")
    assert book.fill_fraction(request) == D("0.25")
    assert book.fill_fraction(request) is None
    assert book.pending() == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"kind": "nope"}, "unknown fault kind"),
        ({"kind": "timeout", "count": 0}, "count"),
        ({"kind": "partial_fill", "fraction": "1.5"}, "fraction"),
        ({"kind": "http_429", "status": 200}, "status"),
        ({"kind": "timeout", "colour": "red"}, "unknown fault fields"),
    ],
)
def test_invalid_faults(body: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_fault(body)


def test_fault_responses() -> None:
    too_many = fault_response(parse_fault({"kind": "http_429", "retry_after_s": 3}), 1)
    assert (too_many.status, too_many.headers["Retry-After"]) == (429, "3")
    assert fault_response(parse_fault({"kind": "maintenance"}), 1).status == 503
    server = fault_response(parse_fault({"kind": "server_error", "status": 502}), 1)
    assert (server.status, server.ret_code) == (502, 10016)
    with pytest.raises(ValueError, match="not answered before"):
        fault_response(parse_fault({"kind": "lost_response"}), 1)


def test_clock_modes_follow_the_wall_or_not() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    engine = SimExchange(FixedPrices({"BTC": D(50000)}), start=start)
    wall = [engine.now_ms + 5000]
    clock = MarketClock(engine, default_mode(False, False), lambda: wall[0])
    clock.before_request("GET", "/v5/position/list")
    assert engine.now_ms == wall[0]
    engine.advance(3600)  # the admin moved ahead: the wall clock never pulls it back
    clock.before_request("GET", "/v5/market/time")
    assert engine.now_ms == wall[0] + 3_600_000
    assert clock.server_ms() == wall[0]
    clock.mode = "manual"
    wall[0] += 10_000_000
    clock.before_request("GET", "/v5/market/time")
    assert engine.now_ms == wall[0] - 10_000_000 + 3_600_000
    with pytest.raises(ValueError, match="replay"):
        clock.mode = "step_per_tick"
    with pytest.raises(ValueError, match="replay"):
        default_mode(False, True)
    assert default_mode(True, True) == "step_per_tick"
    assert default_mode(True, False) == "manual"
    assert default_mode(False, False, follow_wall_clock=False) == "manual"
