"""Wallet transfers, spot market orders and reducing orders under water, through the real ccxt
bybit client (and CcxtPort) against the emulator's classic account."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from bot.config.models import SimBalances
from bot.core.types import OrderRequest, OrderState, TransferRequest, WalletKind
from bot.emulator import RunningEmulator, start_emulator
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.errors import OrderRejectedError, OutcomeUnknownError, PermanentExchangeError
from tests.emulator.conftest import BTC, Admin, PortFactory, sim_config

D = Decimal
TRANSFER = "/v5/asset/transfer/inter-transfer"
FEE = D("0.00055")


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    """BTC 50,000, ETH 2,500, SOL 100; spot 1 BTC + 100 SOL, margin 1 BTC + 20 ETH."""
    config = sim_config(
        prices={"BTC": D(50000), "ETH": D(2500), "SOL": D(100)},
        balances=SimBalances(spot={"BTC": D(1), "SOL": D(100)}, margin={"BTC": D(1), "ETH": D(20)}),
    )
    running = await start_emulator(config)
    yield running
    await running.stop()


def move(
    coin: str, amount: str, source: WalletKind, destination: WalletKind, tid: str | None = None
) -> TransferRequest:
    return TransferRequest(tid or str(uuid.uuid4()), coin, D(amount), source, destination)


def spot(symbol: str, side: str, amount: str, cid: str) -> OrderRequest:
    return OrderRequest(symbol, side, D(amount), False, cid)  # type: ignore[arg-type]


async def wallets(port: CcxtPort, coin: str) -> tuple[Decimal, Decimal]:
    """(spot, margin) balance of ``coin`` as the port reads them."""
    spot_balances = await port.fetch_spot_balances()
    margin = await port.fetch_margin_wallets()
    return spot_balances.get(coin, D(0)), margin[coin].balance if coin in margin else D(0)


# -- transfers ------------------------------------------------------------------------------


async def test_transfer_spot_to_margin_and_back(port: CcxtPort, admin: Admin) -> None:
    there = move("BTC", "0.25", "spot", "margin")
    status = await port.transfer(there)
    assert (status.transfer_id, status.coin, status.amount, status.state) == (
        there.transfer_id,
        "BTC",
        D("0.25"),
        "SUCCESS",
    )
    assert (status.source, status.destination) == ("spot", "margin")
    assert status.timestamp is not None
    assert await wallets(port, "BTC") == (D("0.75"), D("1.25"))
    back = await port.transfer(move("BTC", "0.1", "margin", "spot"))
    assert back.state == "SUCCESS"
    assert await wallets(port, "BTC") == (D("0.85"), D("1.15"))
    sol = await port.transfer(move("SOL", "12.5", "spot", "margin"))  # a coin without a wallet
    assert sol.amount == D("12.5")
    assert await wallets(port, "SOL") == (D("87.5"), D("12.5"))
    found = await port.fetch_transfer(there.transfer_id, "BTC")
    assert found is not None
    assert (found.amount, found.source, found.destination, found.state) == (
        D("0.25"),
        "spot",
        "margin",
        "SUCCESS",
    )
    assert await port.fetch_transfer(there.transfer_id, "SOL") is None  # another coin
    assert await port.fetch_transfer(str(uuid.uuid4()), "BTC") is None
    logged = (await admin.get("/admin/transfers"))["transfers"]
    assert [(t["transferId"], t["coin"], t["from"], t["to"]) for t in logged] == [
        (there.transfer_id, "BTC", "spot", "margin"),
        (back.transfer_id, "BTC", "margin", "spot"),
        (sol.transfer_id, "SOL", "spot", "margin"),
    ]


async def test_transfer_amount_is_truncated_to_the_coin_precision(port: CcxtPort) -> None:
    status = await port.transfer(move("BTC", "0.1234567", "spot", "margin"))
    assert status.amount == D("0.123456")  # never rounded up past what the wallet holds
    assert await wallets(port, "BTC") == (D("0.876544"), D("1.123456"))
    with pytest.raises(PermanentExchangeError, match="precision"):
        await port.transfer(move("BTC", "0.0000001", "spot", "margin"))


async def test_a_repeated_transfer_id_moves_nothing_twice(port: CcxtPort, client: Any) -> None:
    request = move("BTC", "0.3", "spot", "margin")
    first = await port.transfer(request)
    again = await port.transfer(request)  # 131214 TransferId exist: the first one is the answer
    assert (again.transfer_id, again.amount, again.state) == (
        first.transfer_id,
        D("0.3"),
        "SUCCESS",
    )
    assert await wallets(port, "BTC") == (D("0.7"), D("1.3"))
    with pytest.raises(OrderRejectedError) as caught:  # the id, for another move
        await port.transfer(move("BTC", "0.3", "margin", "spot", request.transfer_id))
    assert caught.value.code == "131214"
    with pytest.raises(ccxt_async.BadRequest, match="131214"):
        await client.transfer("BTC", 0.3, "spot", "contract", {"transferId": request.transfer_id})
    assert await wallets(port, "BTC") == (D("0.7"), D("1.3"))


async def test_refused_transfers(port: CcxtPort, client: Any) -> None:
    with pytest.raises(OrderRejectedError) as caught:
        await port.transfer(move("BTC", "5", "spot", "margin"))
    assert caught.value.code == "131212"  # insufficient balance
    with pytest.raises(PermanentExchangeError, match="same wallet"):
        await port.transfer(move("BTC", "0.1", "spot", "spot"))
    with pytest.raises(ccxt_async.BadRequest, match="131204"):
        await client.transfer("BTC", 0.1, "spot", "unified", {"transferId": str(uuid.uuid4())})
    with pytest.raises(ccxt_async.BadRequest, match="transferId"):
        await client.transfer("BTC", 0.1, "spot", "contract", {"transferId": "not-a-uuid"})
    assert await wallets(port, "BTC") == (D(1), D(1))


@pytest.mark.parametrize("drop", [False, True])
async def test_a_lost_transfer_response_is_unknown_then_found(
    make_port: PortFactory, admin: Admin, drop: bool
) -> None:
    port = make_port(timeout_ms=1500)
    await port.load_markets()
    await admin.fault("lost_response", path=TRANSFER, delay_s=2.5, drop=drop)
    request = move("BTC", "0.4", "spot", "margin")
    with pytest.raises(OutcomeUnknownError):
        await port.transfer(request)
    found = await port.fetch_transfer(request.transfer_id, "BTC")  # it went through
    assert found is not None
    assert (found.amount, found.state) == (D("0.4"), "SUCCESS")
    assert await wallets(port, "BTC") == (D("0.6"), D("1.4"))
    assert await port.transfer(request) == found  # a resend moves nothing
    assert await wallets(port, "BTC") == (D("0.6"), D("1.4"))
    lost = [r for r in (await admin.get("/admin/requests"))["requests"] if r["fault"]]
    assert [(r["path"], r["retCode"], r["fault"]) for r in lost] == [(TRANSFER, 0, "lost_response")]


@pytest.mark.parametrize(
    ("kind", "fields"),
    [("timeout", {"delay_s": 2.5}), ("server_error", {}), ("maintenance", {})],
)
async def test_a_transfer_refused_before_processing_is_unknown_then_absent(
    make_port: PortFactory, admin: Admin, kind: str, fields: dict[str, Any]
) -> None:
    port = make_port(timeout_ms=1500)
    await port.load_markets()
    await admin.fault(kind, path=TRANSFER, **fields)
    request = move("BTC", "0.4", "spot", "margin")
    with pytest.raises(OutcomeUnknownError):
        await port.transfer(request)
    assert await port.fetch_transfer(request.transfer_id, "BTC") is None  # never applied
    assert await wallets(port, "BTC") == (D(1), D(1))
    assert (await port.transfer(request)).state == "SUCCESS"  # safe to send again
    assert await wallets(port, "BTC") == (D("0.6"), D("1.4"))


# -- spot market orders ---------------------------------------------------------------------


async def test_spot_sell_then_buy_moves_the_spot_wallets(port: CcxtPort, admin: Admin) -> None:
    sold = await port.create_spot_order(spot("SOL/USDT", "sell", "10", "hb-sell-1"))
    assert (sold.symbol, sold.side, sold.state) == ("SOL/USDT", "sell", OrderState.FILLED)
    assert (sold.contracts, sold.filled_contracts, sold.average_price) == (10, 10, 100)
    assert (sold.fee, sold.fee_currency) == (D(1000) * FEE, "USDT")
    bought = await port.create_spot_order(spot("BTC/USDT", "buy", "0.01", "hb-buy-1"))
    assert (bought.contracts, bought.filled_contracts, bought.average_price) == (
        D("0.01"),
        D("0.01"),
        50000,
    )
    assert (bought.fee, bought.fee_currency) == (D("0.01") * FEE, "BTC")  # in the coin received
    balances = await port.fetch_spot_balances()
    assert balances["SOL"] == 90
    assert balances["USDT"] == D(1000) * (1 - FEE) - 500
    assert balances["BTC"] == 1 + D("0.01") * (1 - FEE)
    assert (await port.fetch_margin_wallets())["BTC"].balance == 1  # margin untouched
    assert await port.fetch_spot_order("SOL/USDT", "hb-sell-1") == sold
    assert await port.fetch_spot_order("BTC/USDT", "hb-buy-1") == bought
    assert await port.fetch_spot_order("BTC/USDT", "hb-sell-1") is None  # another pair
    assert await port.fetch_spot_order("SOL/USDT", "nobody") is None
    logged = (await admin.get("/admin/spot-orders"))["orders"]
    assert [(o["orderLinkId"], o["amount"], o["feeCurrency"]) for o in logged] == [
        ("hb-sell-1", "10", "USDT"),
        ("hb-buy-1", "0.01", "BTC"),
    ]
    assert (await admin.get("/admin/orders"))["orders"] == []  # no derivatives order


async def test_spot_refusals(port: CcxtPort) -> None:
    with pytest.raises(OrderRejectedError) as caught:
        await port.create_spot_order(spot("SOL/USDT", "sell", "101", "too-much"))
    assert caught.value.code == "170131"
    refused = await port.fetch_spot_order("SOL/USDT", "too-much")  # recorded, as Bybit does
    assert refused is not None
    assert refused.state == OrderState.REJECTED
    with pytest.raises(OrderRejectedError) as caught:
        await port.create_spot_order(spot("BTC/USDT", "buy", "0.001", "no-usdt"))
    assert caught.value.code == "170131"
    with pytest.raises(OrderRejectedError) as caught:
        await port.create_spot_order(spot("SOL/USDT", "sell", "0.01", "tiny"))  # 1 USDT
    assert caught.value.code == "170140"
    await port.create_spot_order(spot("SOL/USDT", "sell", "1", "once"))
    with pytest.raises(OrderRejectedError) as caught:
        await port.create_spot_order(spot("SOL/USDT", "sell", "1", "once"))
    assert caught.value.code == "170141"
    with pytest.raises(PermanentExchangeError, match="not a spot market"):
        await port.create_spot_order(spot("DOGE/USDT", "buy", "1", "doge"))
    with pytest.raises(PermanentExchangeError, match="not a spot market"):
        await port.create_spot_order(spot(BTC, "buy", "1", "perp"))
    assert (await port.fetch_spot_balances())["SOL"] == 99


async def test_spot_market_buy_in_quote_coin_by_default(
    client: Any, admin: Admin, emu: RunningEmulator
) -> None:
    """Without marketUnit a classic market Buy's qty is quote coin, as on Bybit; ccxt reads
    such an order's amount from its fills."""
    await admin.post("/admin/deposit", {"coin": "USDT", "amount": 150})
    await client.load_markets()
    await client.create_order("SOL/USDT", "market", "buy", 0, None, {"cost": 100})
    assert client.last_request_body.count('"qty":"100"') == 1
    (row,) = await client.fetch_canceled_and_closed_orders("SOL/USDT")
    assert (row["filled"], row["cost"], row["info"]["marketUnit"]) == (1.0, 100.0, "")
    assert emu.engine.spot_balances()["SOL"] == 100 + 1 - FEE
    assert emu.engine.spot_balances()["USDT"] == 50


async def test_a_lost_spot_order_response_is_unknown_then_found(
    make_port: PortFactory, admin: Admin
) -> None:
    port = make_port(timeout_ms=1500)
    await port.load_markets()
    await admin.fault("lost_response", delay_s=2.5)
    with pytest.raises(OutcomeUnknownError):
        await port.create_spot_order(spot("SOL/USDT", "sell", "5", "lost-spot"))
    found = await port.fetch_spot_order("SOL/USDT", "lost-spot")
    assert found is not None
    assert (found.state, found.filled_contracts) == (OrderState.FILLED, 5)


# -- reducing orders with a negative available balance ---------------------------------------


async def test_reducing_orders_fill_with_negative_available(
    port: CcxtPort, admin: Admin, emu: RunningEmulator
) -> None:
    """5x short of 40,000 USD at 50,000 on 0.3 BTC; at 75,000 the 0.27 BTC loss leaves about
    -0.13 BTC available (liquidation is near 79,000)."""
    await port.transfer(move("BTC", "0.7", "margin", "spot"))
    await port.set_leverage(BTC, D(5))
    await port.create_order(OrderRequest(BTC, "sell", D(40_000), False, "open"))
    await admin.post("/admin/price", {"coin": "BTC", "price": 75000})
    assert emu.engine.available_balance("BTC") < D("-0.12")
    trimmed = await port.create_order(OrderRequest(BTC, "buy", D(10_000), True, "trim-ro"))
    assert trimmed.state == OrderState.FILLED
    plain = await port.create_order(OrderRequest(BTC, "buy", D(10_000), False, "trim-plain"))
    assert plain.state == OrderState.FILLED
    assert (await port.fetch_positions([BTC]))[BTC].contracts == -20_000
    with pytest.raises(OrderRejectedError) as caught:  # closes and flips: still checked
        await port.create_order(OrderRequest(BTC, "buy", D(60_000), False, "flip"))
    assert caught.value.code == "110007"
    closed = await port.create_order(OrderRequest(BTC, "buy", D(20_000), True, "close"))
    assert closed.state == OrderState.FILLED
    assert (await port.fetch_positions([BTC]))[BTC].contracts == 0
