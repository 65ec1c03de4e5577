"""Authentication failures and injected faults, as the real ccxt client and CcxtPort see them."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from bot.core.types import OrderRequest, OrderState
from bot.emulator import RunningEmulator
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.errors import (
    AuthenticationFailedError,
    ClockSkewError,
    ExchangeUnavailableError,
    OrderRejectedError,
    OutcomeUnknownError,
    RateLimitedError,
)
from tests.emulator.conftest import BTC, SECRET, Admin, PortFactory

D = Decimal
TICKERS = "/v5/market/tickers"


def sell(contracts: int, cid: str) -> OrderRequest:
    return OrderRequest(BTC, "sell", D(contracts), False, cid)


async def test_wrong_secret(make_port: PortFactory) -> None:
    port = make_port(secret="not-the-secret")
    await port.load_markets()  # public: fine
    with pytest.raises(ccxt_async.AuthenticationError, match="10004"):
        await port.client.fetch_positions()
    with pytest.raises(AuthenticationFailedError):
        await port.fetch_margin_wallets()


async def test_stale_timestamp_is_invalid_nonce(port: CcxtPort, client: Any) -> None:
    await port.load_markets()
    client.options["timeDifference"] = 6000  # ccxt signs 6 s in the past; the window is 5 s
    with pytest.raises(ccxt_async.InvalidNonce, match="10002"):
        await client.fetch_positions()
    # temporary for the daemon (a request delayed under load looks the same); the message says
    # what to check when it persists
    with pytest.raises(ClockSkewError, match="clock"):
        await port.fetch_positions([BTC])
    client.options["timeDifference"] = 0
    assert (await port.fetch_positions([BTC]))[BTC].contracts == 0


async def test_unknown_key(emu: RunningEmulator) -> None:
    client = ccxt_async.bybit(
        {
            "apiKey": "nobody",
            "secret": SECRET,
            "urls": {"api": {"public": emu.url, "private": emu.url}},
        }
    )
    try:
        with pytest.raises(ccxt_async.AuthenticationError, match="10003"):
            await client.private_get_v5_account_info()
    finally:
        await client.close()


async def test_http_429_with_retry_after(port: CcxtPort, client: Any, admin: Admin) -> None:
    await port.load_markets()
    await admin.fault("http_429", path=TICKERS, count=2, retry_after_s=3)
    with pytest.raises(ccxt_async.RateLimitExceeded):
        await client.fetch_ticker(BTC)
    with pytest.raises(RateLimitedError) as limited:
        await port.fetch_tickers([BTC])
    assert limited.value.retry_after_s == 3
    assert (await port.fetch_tickers([BTC]))[BTC].last == 50000  # count used up


async def test_rate_limit_ret_code(port: CcxtPort, client: Any, admin: Admin) -> None:
    await port.load_markets()
    await admin.fault("rate_limit", path="/v5/position/list")
    with pytest.raises(ccxt_async.RateLimitExceeded, match="10006"):
        await client.fetch_position(BTC)


async def test_server_errors(port: CcxtPort, client: Any, admin: Admin) -> None:
    await port.load_markets()
    await admin.fault("server_error", path=TICKERS)
    with pytest.raises(ccxt_async.ExchangeError, match="10016") as error:
        await client.fetch_ticker(BTC)
    assert not isinstance(error.value, ccxt_async.NetworkError)  # the retCode wins over HTTP 500
    await admin.fault("server_error", path=TICKERS, message="Request timeout, please try again")
    with pytest.raises(ccxt_async.RequestTimeout):
        await client.fetch_ticker(BTC)
    await admin.fault("maintenance", path=TICKERS, count=2)
    with pytest.raises(ccxt_async.ExchangeNotAvailable):
        await client.fetch_ticker(BTC)
    with pytest.raises(ExchangeUnavailableError):
        await port.fetch_tickers([BTC])


async def test_timeout_is_not_processed(
    make_port: PortFactory, admin: Admin, emu: RunningEmulator
) -> None:
    port = make_port(timeout_ms=1500)
    await port.load_markets()
    await admin.fault("timeout", path="/v5/order/create", delay_s=2.5)
    with pytest.raises(ccxt_async.RequestTimeout):
        await port.client.create_order(BTC, "market", "sell", 100, None, {"clientOrderId": "t-1"})
    assert emu.engine.order_status(client_id="t-1") is None
    logged = [r for r in (await admin.get("/admin/requests"))["requests"] if r["fault"]]
    assert [(r["path"], r["fault"]) for r in logged] == [("/v5/order/create", "timeout")]


@pytest.mark.parametrize("drop", [False, True])
async def test_lost_response_after_the_order_was_placed(
    make_port: PortFactory, admin: Admin, emu: RunningEmulator, drop: bool
) -> None:
    port = make_port(timeout_ms=1500)
    await port.load_markets()
    await admin.fault("lost_response", delay_s=2.5, drop=drop)
    with pytest.raises(OutcomeUnknownError):
        await port.create_order(sell(100, "lost-1"))
    status = await port.fetch_order_by_client_id(BTC, "lost-1")  # the order went through
    assert status is not None
    assert (status.state, status.filled_contracts) == (OrderState.FILLED, 100)
    orders = (await admin.get("/admin/orders"))["orders"]
    assert [o["orderLinkId"] for o in orders] == ["lost-1"]
    lost = [r for r in (await admin.get("/admin/requests"))["requests"] if r["fault"]]
    assert [(r["path"], r["retCode"], r["fault"]) for r in lost] == [
        ("/v5/order/create", 0, "lost_response")
    ]


async def test_lost_response_raw_ccxt_classes(
    make_port: PortFactory, admin: Admin, emu: RunningEmulator
) -> None:
    client = make_port(timeout_ms=1500).client
    await client.load_markets()
    await admin.fault("lost_response", drop=True)
    with pytest.raises(ccxt_async.ExchangeNotAvailable):
        await client.create_order(BTC, "market", "sell", 100, None, {"clientOrderId": "d-1"})
    await admin.fault("lost_response", delay_s=2.5)
    with pytest.raises(ccxt_async.RequestTimeout):
        await client.create_order(BTC, "market", "sell", 100, None, {"clientOrderId": "d-2"})
    assert emu.engine.positions([BTC])[BTC].contracts == -200


async def test_partial_fills_progress_with_the_clock(port: CcxtPort, admin: Admin) -> None:
    await admin.post("/admin/clock/mode", {"mode": "manual"})
    await admin.fault("partial_fill", fraction="0.4")
    first = await port.create_order(sell(100, "part-1"))
    assert (first.state, first.filled_contracts) == (OrderState.PARTIALLY_FILLED, 40)
    await admin.post("/admin/clock/advance", {"seconds": 1})
    second = await port.fetch_order_by_client_id(BTC, "part-1")
    assert second is not None
    assert (second.state, second.filled_contracts) == (OrderState.PARTIALLY_FILLED, 80)
    await admin.post("/admin/clock/advance", {"seconds": 1})
    third = await port.fetch_order_by_client_id(BTC, "part-1")
    assert third is not None
    assert (third.state, third.filled_contracts) == (OrderState.FILLED, 100)
    other = await port.create_order(sell(100, "part-2"))  # the fault applied to one order
    assert other.state == OrderState.FILLED


async def test_forced_reduce_only_rejection(
    port: CcxtPort, admin: Admin, emu: RunningEmulator
) -> None:
    await admin.fault("reduce_only")
    with pytest.raises(OrderRejectedError) as rejected:
        await port.create_order(sell(100, "ro-1"))
    assert rejected.value.code == "110017"
    assert emu.engine.order_status(client_id="ro-1") is None


async def test_fault_admin(admin: Admin) -> None:
    added = await admin.fault("timeout", path="/v5/market/time", count=3)
    assert added["fault"]["count"] == 3
    listed = (await admin.get("/admin/faults"))["faults"]
    assert [f["kind"] for f in listed] == ["timeout"]
    await admin.call("DELETE", "/admin/faults")
    assert (await admin.get("/admin/faults"))["faults"] == []
    bad = await admin.call("POST", "/admin/faults", {"kind": "meteor"}, ok=False)
    assert bad["ok"] is False


async def test_request_log_never_holds_the_secret_or_signature(
    port: CcxtPort, client: Any, admin: Admin
) -> None:
    await port.fetch_positions([BTC])
    signature = client.last_request_headers["X-BAPI-SIGN"]
    log = await admin.get("/admin/requests")
    text = json.dumps(log)
    assert SECRET not in text
    assert signature not in text
    entries = [(r["method"], r["path"], r["retCode"]) for r in log["requests"]]
    assert ("GET", "/v5/position/list", 0) in entries
    await admin.call("DELETE", "/admin/requests")
    assert (await admin.get("/admin/requests"))["requests"] == []


async def test_admin_wallet_moves(port: CcxtPort, admin: Admin) -> None:
    """Deposits and withdrawals go through the engine's checks (a 400 when refused)."""
    refused = await admin.call(
        "POST", "/admin/withdraw", {"coin": "BTC", "amount": "5", "wallet": "margin"}, ok=False
    )
    assert "InsufficientFundsError" in refused["error"]
    await admin.post("/admin/deposit", {"coin": "BTC", "amount": "2", "wallet": "margin"})
    assert (await port.fetch_margin_wallets())["BTC"].balance == 3
