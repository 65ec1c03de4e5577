"""Public market data through the real ccxt bybit client (and CcxtPort) against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async
import pytest

from bot.emulator import RunningEmulator
from bot.exchange.ccxt_port import CcxtPort
from tests.emulator.conftest import BTC, ETH, Admin

D = Decimal


async def test_load_markets_gives_inverse_perpetuals_with_their_contract_size(
    port: CcxtPort, client: Any
) -> None:
    markets = await port.load_markets()
    assert set(markets) == {BTC, ETH}
    assert markets[BTC].contract_size == 1
    assert markets[ETH].contract_size == 10
    raw = client.markets[BTC]
    assert (raw["id"], raw["type"], raw["inverse"], raw["settle"]) == (
        "BTCUSD",
        "swap",
        True,
        "BTC",
    )
    assert raw["precision"] == {"amount": 1.0, "price": 0.1}
    assert raw["active"] is True
    assert raw["info"]["fundingInterval"] == 480


async def test_fetch_time_and_tickers(port: CcxtPort, client: Any, emu: RunningEmulator) -> None:
    now = await port.fetch_time()
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
    assert emu.engine.now >= now  # the market clock follows the wall clock
    tickers = await port.fetch_tickers([BTC, ETH])
    assert tickers[BTC].last == tickers[BTC].mark == tickers[BTC].index == 50000
    assert tickers[ETH].last == 2500
    raw = await client.fetch_ticker(BTC)
    assert (raw["bid"], raw["ask"], raw["open"]) == (49999.9, 50000.1, 50000.0)
    assert raw["info"]["openInterestValue"] == "0"


async def test_spot_tickers_and_instruments(emu: RunningEmulator) -> None:
    spot = ccxt_async.bybit(
        {
            "urls": {"api": {"public": emu.url, "private": emu.url}},
            "has": {"fetchCurrencies": False},
            "options": {"fetchMarkets": {"types": ["spot"]}},
        }
    )
    try:
        markets = await spot.load_markets()
        assert set(markets) == {"BTC/USDT", "ETH/USDT"}
        ticker = await spot.fetch_ticker("BTC/USDT")
        assert ticker["last"] == 50000.0
        assert ticker["symbol"] == "BTC/USDT"
    finally:
        await spot.close()


async def test_ohlcv_newest_first_on_the_wire_and_mark_price(
    port: CcxtPort, client: Any, http: aiohttp.ClientSession, emu: RunningEmulator
) -> None:
    candles = await port.fetch_ohlcv(BTC, "1h", None, 3)
    assert len(candles) == 3
    assert candles[0].opened_at < candles[1].opened_at < candles[2].opened_at
    assert candles[-1].opened_at + timedelta(hours=2) > emu.engine.now  # the last closed one
    since = candles[0].opened_at
    again = await port.fetch_ohlcv(BTC, "1h", since, 2)
    assert [c.opened_at for c in again] == [c.opened_at for c in candles[:2]]
    mark = await client.fetch_ohlcv(BTC, "1h", None, 2, {"price": "mark"})
    assert [row[4] for row in mark] == [50000.0, 50000.0]
    assert mark[0][5] is None  # mark-price klines have no volume
    url = f"{emu.url}/v5/market/kline?category=inverse&symbol=BTCUSD&interval=60&limit=3"
    async with http.get(url) as response:
        rows = (await response.json())["result"]["list"]
    assert int(rows[0][0]) > int(rows[1][0]) > int(rows[2][0])
    assert len(rows[0]) == 7


async def test_funding_rate_and_history(port: CcxtPort, client: Any, admin: Admin) -> None:
    rates = await port.fetch_funding_rates([BTC])
    assert rates[BTC].rate == D("0.0001")
    assert rates[BTC].interval_hours == 8
    next_time = rates[BTC].next_funding_time
    assert next_time is not None
    assert next_time.hour % 8 == 0
    await admin.post("/admin/funding-rate", {"coin": "BTC", "rate": "0.0003"})
    await admin.post("/admin/clock/set", {"time_ms": int(next_time.timestamp() * 1000) + 1})
    history = await client.fetch_funding_rate_history(BTC, int(next_time.timestamp() * 1000) - 1)
    assert [(h["timestamp"], h["fundingRate"]) for h in history] == [
        (int(next_time.timestamp() * 1000), 0.0003)
    ]


async def test_instruments_pagination_status_and_unknown_route(
    http: aiohttp.ClientSession, emu: RunningEmulator
) -> None:
    base = f"{emu.url}/v5/market/instruments-info?category=inverse"

    async def get(url: str) -> dict[str, Any]:
        async with http.get(url) as response:
            data: dict[str, Any] = await response.json()
            return data

    first = await get(base + "&limit=1")
    assert [r["symbol"] for r in first["result"]["list"]] == ["BTCUSD"]
    cursor = first["result"]["nextPageCursor"]
    second = await get(base + f"&limit=1&cursor={cursor}")
    assert [r["symbol"] for r in second["result"]["list"]] == ["ETHUSD"]
    assert second["result"]["nextPageCursor"] == ""
    assert (await get(base + "&status=PreLaunch"))["result"]["list"] == []
    linear = await get(f"{emu.url}/v5/market/instruments-info?category=linear")
    assert linear["result"]["list"] == []
    async with http.get(f"{emu.url}/v5/nothing/here") as response:
        assert response.status == 404
        body = await response.json()
        assert body["retCode"] == 10017
        assert set(body) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
    async with http.get(f"{emu.url}/v5/market/tickers?category=inverse&symbol=XYZUSD") as response:
        assert (await response.json())["retMsg"] == "Not supported symbols"


async def test_bad_symbol_is_ccxt_bad_symbol(client: Any) -> None:
    await client.load_markets()
    with pytest.raises(ccxt_async.BadSymbol):
        await client.public_get_v5_market_tickers({"category": "inverse", "symbol": "XYZUSD"})


async def test_dated_future_and_changed_contract_size(
    make_port: Any, admin: Admin, emu: RunningEmulator
) -> None:
    expiry = emu.engine.now + timedelta(days=30)
    added = await admin.post(
        "/admin/markets", {"coin": "BTC", "expiry": expiry.isoformat(), "contract_size": "1"}
    )
    symbol = added["market"]["symbol"]
    assert symbol == f"BTC/USD:BTC-{expiry:%y%m%d}"
    await admin.post("/admin/contract-size", {"symbol": BTC, "contract_size": "100"})
    markets = await make_port().load_markets()
    assert markets[symbol].expiry is not None
    assert abs(markets[symbol].expiry - expiry) < timedelta(seconds=1)
    assert markets[BTC].contract_size == 100
    duplicate = await admin.call(
        "POST", "/admin/markets", {"coin": "BTC", "expiry": expiry.isoformat()}, ok=False
    )
    assert duplicate["ok"] is False


async def test_linear_market_added_by_the_admin(
    http: aiohttp.ClientSession, admin: Admin, emu: RunningEmulator
) -> None:
    added = await admin.post(
        "/admin/markets", {"coin": "ETH", "kind": "linear", "contract_size": "0.01"}
    )
    assert added["market"]["bybit_id"] == "ETHUSDT"
    base = f"{emu.url}/v5/market"
    async with http.get(f"{base}/instruments-info?category=linear") as response:
        (row,) = (await response.json())["result"]["list"]
    assert (row["contractType"], row["settleCoin"]) == ("LinearPerpetual", "USDT")
    assert row["lotSizeFilter"]["qtyStep"] == "0.01"
    async with http.get(f"{base}/tickers?category=linear&symbol=ETHUSDT") as response:
        (ticker,) = (await response.json())["result"]["list"]
    assert (ticker["lastPrice"], ticker["fundingRate"]) == ("2500", "0.0001")
