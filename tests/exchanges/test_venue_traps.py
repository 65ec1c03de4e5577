"""Known venue traps, one test each: Bybit (the emulator answering as Bybit does, through the
real ccxt client on 127.0.0.1) and the traps every venue shares.

Each docstring names its source. The other venues (Binance COIN-M, OKX, Deribit, BingX, MEXC)
are in test_venue_traps_recorded.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs

import aiohttp
import ccxt.async_support as ccxt_async
import pytest
from pydantic import SecretStr

from bot.config.models import Config, ExchangeConfig, HedgeConfig
from bot.config.secrets import Credentials
from bot.core.inverse import funding_payment_coin
from bot.core.types import OrderRequest
from bot.daemon.setup import prepare_instruments
from bot.emulator import RunningEmulator, start_emulator
from bot.emulator.routes_account import HEDGE_MODE_NOT_AVAILABLE
from bot.emulator.routes_order import POSITION_IDX_MISMATCH
from bot.exchange.ccxt_parse import from_ms, parse_funding_payment, parse_position
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.errors import (
    ConfigurationMismatchError,
    OrderRejectedError,
    PermanentExchangeError,
)
from bot.exchange.profiles import BYBIT
from bot.exchange.retry import RetryPolicy
from tests.emulator.conftest import BTC, ETH, KEY, SECRET, Admin, sim_config
from tests.exchanges.recorded import offline_exchange
from tests.exchanges.test_recorded import adapter_market

D = Decimal
CID = "hb-" + "0123456789abcdef0123456789abcd"


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    running = await start_emulator(sim_config())
    yield running
    await running.stop()


@pytest.fixture
async def admin(emu: RunningEmulator) -> AsyncIterator[Admin]:
    async with aiohttp.ClientSession() as session:
        yield Admin(session, emu.url)


@pytest.fixture
async def port(emu: RunningEmulator) -> AsyncIterator[CcxtPort]:
    """The daemon's port, built as ``from_config`` does (no retries: a retry shows as a second
    request in the emulator's log)."""
    config = ExchangeConfig(id="bybit", url=emu.url)
    built = CcxtPort.from_config(config, Credentials(SecretStr(KEY), SecretStr(SECRET)))
    built.retry = RetryPolicy(attempts=1)
    built.client.enableRateLimit = False
    yield built
    await built.close()


def _hedge_config(leverage: int = 2) -> Config:
    """What ``prepare_instruments`` reads of the config: ``hedge`` only."""
    return cast(Config, SimpleNamespace(hedge=HedgeConfig(leverage=D(leverage))))


async def _requests(admin: Admin, path: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await admin.get("/admin/requests"))["requests"]
    return [r for r in rows if r["path"] == path]


# -- Bybit ----------------------------------------------------------------------------------


async def test_bybit_inverse_perpetuals_are_one_way_only(port: CcxtPort, admin: Admin) -> None:
    """Bybit inverse perpetuals have no hedge mode (one-way only, classic and unified accounts):
    switch-mode answers 110029 "Hedge mode is not available for this symbol". hedgebot never
    switches: its orders are one-way orders (no ``positionIdx`` 1/2, no ``hedged`` flag), which
    Bybit fills on such an account.

    Sources: https://bybit-exchange.github.io/docs/v5/position/position-mode (the table of
    position modes per contract), https://bybit-exchange.github.io/docs/v5/error (110029).
    """
    client = port.client
    await port.load_markets()
    with pytest.raises(ccxt_async.BadRequest) as refused:
        await client.set_position_mode(True, BTC)
    assert f'"retCode":110029,"retMsg":"{HEDGE_MODE_NOT_AVAILABLE}"' in str(refused.value)

    params = port.order_params(OrderRequest(BTC, "sell", D(100), False, CID))
    wire = client.create_order_request(BTC, "market", "sell", 100.0, None, params)
    assert wire.get("positionIdx", 0) in (0, "0")  # one-way position
    assert "hedged" not in params
    assert "positionIdx" not in params
    status = await port.create_order(OrderRequest(BTC, "sell", D(100), False, CID))
    assert status.filled_contracts == 100


async def test_bybit_position_idx_must_match_the_position_mode(
    port: CcxtPort, admin: Admin
) -> None:
    """An account left in hedge mode refuses one-way orders with retCode 10001 "position idx
    not match position mode". It is a definite refusal: rejected with its code, never retried,
    never looked up as an unknown outcome, and nothing is placed.

    Sources: https://github.com/ccxt/ccxt/issues/16102 and #16952 (the exact answer),
    https://bybit-exchange.github.io/docs/v5/order/create-order (positionIdx).
    """
    await port.load_markets()
    await admin.post("/admin/hedge-mode", {"on": True})
    await admin.call("DELETE", "/admin/requests")
    with pytest.raises(OrderRejectedError) as refused:
        await port.create_order(OrderRequest(BTC, "sell", D(100), False, CID))
    assert refused.value.code == "10001"
    assert f'"retCode":10001,"retMsg":"{POSITION_IDX_MISMATCH}"' in str(refused.value)
    assert len(await _requests(admin, "/v5/order/create")) == 1
    assert await _requests(admin, "/v5/order/realtime") == []  # no look-up of a refusal
    assert (await admin.get("/admin/orders"))["orders"] == []


async def test_bybit_not_modified_answers_are_success_and_only_they(
    port: CcxtPort, admin: Admin
) -> None:
    """set-leverage answers 110043 "leverage not modified", switch-isolated 110026, switch-mode
    110025 when the account already is as asked: success. A real refusal stays one, even when
    its body happens to contain 110043 (here in the ``time`` field).

    Sources: https://bybit-exchange.github.io/docs/v5/error (110025, 110026, 110043),
    https://github.com/ccxt/ccxt/issues/6919 ("leverage not modified ... isn't error"),
    https://github.com/ccxt/ccxt/issues/18185 (position mode not modified).
    """
    await port.load_markets()
    await port.set_leverage(BTC, D(2))
    await port.set_leverage(BTC, D(2))  # 110043
    await port.set_margin_mode(BTC, "cross", D(2))  # 110026
    with pytest.raises(ccxt_async.NoChange) as unchanged:
        await port.client.set_position_mode(False, BTC)
    assert '"retCode":110025' in str(unchanged.value)
    assert "110025" in BYBIT.not_modified_codes
    codes = [r["retCode"] for r in await _requests(admin, "/v5/position/set-leverage")]
    assert codes == [0, 110043]

    await admin.post("/admin/clock/mode", {"mode": "manual"})
    await admin.post("/admin/clock/set", {"time_ms": 1_800_110_043_000})  # "time":…110043…
    with pytest.raises(PermanentExchangeError, match="leverage 500 outside"):
        await port.set_leverage(BTC, D(500))


async def test_bybit_inverse_positions_are_read_per_symbol_not_per_default_settle_coin(
    port: CcxtPort, admin: Admin
) -> None:
    """Bybit lists positions per category and settle coin: a query by ccxt's default settle
    coin (USDT) sees no inverse position at all, and each inverse perp settles in its own coin.
    The port asks for each hedged symbol by name (a flat one still answers a row), so shorts
    settled in BTC and in ETH are both read, and both wallets carry their PnL.

    Sources: https://bybit-exchange.github.io/docs/v5/position (symbol / settleCoin),
    https://github.com/Drakkar-Software/OctoBot-Tentacles/pull/749 ("bybit is splitting
    positions with settlement assets").
    """
    await port.load_markets()
    await port.create_order(OrderRequest(BTC, "sell", D(1000), False, "hb-btc"))
    await port.create_order(OrderRequest(ETH, "sell", D(100), False, "hb-eth"))
    await admin.post("/admin/price", {"coin": "BTC", "price": "40000"})
    await admin.post("/admin/price", {"coin": "ETH", "price": "2000"})
    listed = await port.client.private_get_v5_position_list(
        {"category": "inverse", "settleCoin": "USDT"}
    )
    assert listed["result"]["list"] == []  # the trap: nothing under the default settle coin

    await admin.call("DELETE", "/admin/requests")
    positions = await port.fetch_positions([BTC, ETH])
    assert (positions[BTC].contracts, positions[ETH].contracts) == (D(-1000), D(-100))
    queries = [parse_qs(r["query"]) for r in await _requests(admin, "/v5/position/list")]
    assert sorted(q["symbol"][0] for q in queries) == ["BTCUSD", "ETHUSD"]
    assert all(q["category"] == ["inverse"] for q in queries)
    wallets = await port.fetch_margin_wallets()
    assert wallets["BTC"].unrealized_pnl > 0
    assert wallets["ETH"].unrealized_pnl > 0


def test_bybit_inverse_notional_is_computed_from_contracts_not_read_from_ccxt() -> None:
    """ccxt's Bybit parser took an inverse position's ``notional`` from ``positionValue``, which
    on inverse contracts equals the initial margin (positionIM), until ccxt 4.5.34. hedgebot
    never reads ``notional``: the position's value is contracts × contract size / mark price,
    computed here. The raw row below is shaped after the issue's report (10,000 USD short at 5x,
    positionValue = positionIM = 0.04 BTC where the value is 0.2 BTC).

    Sources: https://github.com/ccxt/ccxt/issues/27709, https://github.com/ccxt/ccxt/pull/27715.
    """
    exchange = offline_exchange("bybit")
    market = adapter_market(exchange, "bybit", BTC)
    row = {
        "symbol": "BTCUSD",
        "side": "Sell",
        "size": "10000",
        "positionIdx": 0,
        "avgPrice": "50000",
        "markPrice": "50000",
        "positionValue": "0.04",
        "positionIM": "0.04",
        "leverage": "5",
        "tradeMode": 0,
        "unrealisedPnl": "0",
        "createdTime": "1709251200000",
        "updatedTime": "1709251200000",
    }
    fixed = exchange.parse_position(row, exchange.markets[BTC])
    before_fix = {**fixed, "notional": float(row["positionValue"])}  # ccxt < 4.5.34

    for raw in (fixed, before_fix):
        position = parse_position(raw, market, BYBIT.amount_unit)
        assert position.contracts == D(-10_000)
        assert position.mark_price is not None
        ours = funding_payment_coin(
            position.contracts, market.contract_size, position.mark_price, D(1)
        )
        assert ours == D("0.2")  # 10,000 contracts × 1 USD / 50,000 USD per BTC
    assert D(str(fixed["notional"])) == D("0.2")  # installed ccxt agrees with us
    assert D(str(before_fix["notional"])) != D("0.2")  # the old value was the margin


# -- any venue -------------------------------------------------------------------------------


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """The process's local time zone set to UTC−5/−4 for one test (then restored)."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.usefixtures("far_from_utc")
async def test_funding_timestamps_are_utc_milliseconds(port: CcxtPort, admin: Admin) -> None:
    """Funding times arrive as UTC epoch milliseconds: read in local time they shift by hours,
    read as seconds they land 1000× too far. Both broke funding settlement matching in
    hummingbot; here a local time zone 5 h from UTC changes nothing.

    Sources: the issue's list (hummingbot/hummingbot#4289), ccxt's funding-rate and
    funding-history structures (``timestamp``: ms since epoch, UTC),
    https://docs.ccxt.com/#/?id=funding-history-structure.
    """
    assert time.localtime(0).tm_hour != 0  # the zone really is not UTC
    moment = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert from_ms(1_709_280_000_000) == moment
    raw = {"id": "f-1", "timestamp": 1_709_280_000_000, "amount": 0.0001, "info": {}}
    market = adapter_market(offline_exchange("bybit"), "bybit", BTC)
    payment = parse_funding_payment(raw, market, "contracts")
    assert payment.timestamp == moment
    assert payment.timestamp.utcoffset() is not None

    rates = await port.fetch_funding_rates([BTC])
    following = rates[BTC].next_funding_time
    assert following is not None
    assert following.tzinfo is not None
    assert following.utcoffset() == UTC.utcoffset(None)
    assert following.hour % 8 == 0
    assert following.minute == 0
    now = datetime.fromtimestamp((await admin.get("/admin/state"))["now_ms"] / 1000, tz=UTC)
    assert timedelta(0) < following - now <= timedelta(hours=8)


async def test_hedge_mode_is_refused_at_start(port: CcxtPort, admin: Admin) -> None:
    """An account in hedge (dual-side) position mode would split the short across two
    position sides and make the position read ambiguous: the start refuses it before any
    order. (The emulator's admin switch plays an account left in hedge mode.)

    Sources: https://github.com/ccxt/ccxt/issues/7040 (Binance -4061 on hedge-mode accounts),
    https://github.com/ccxt/ccxt/issues/16102 (Bybit), hummingbot's one-way connectors
    (https://github.com/hummingbot/hummingbot/pull/8284).
    """
    await port.load_markets()
    await admin.post("/admin/hedge-mode", {"on": True})
    with pytest.raises(ConfigurationMismatchError, match="hedge \\(two-sided\\) position mode"):
        await prepare_instruments(port, _hedge_config(), [BTC])
    assert (await admin.get("/admin/orders"))["orders"] == []
    await admin.post("/admin/hedge-mode", {"on": False})
    await prepare_instruments(port, _hedge_config(), [BTC])  # one-way: accepted
