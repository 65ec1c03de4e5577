"""Account and trading flows through CcxtPort (and the raw ccxt client) against the emulator."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from bot.core.types import OrderRequest, OrderState
from bot.emulator import RunningEmulator
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.errors import OrderNotFoundError, OrderRejectedError
from tests.emulator.conftest import BTC, ETH, Admin

D = Decimal


def sell(contracts: int, cid: str, **kw: Any) -> OrderRequest:
    return OrderRequest(BTC, "sell", D(contracts), False, cid, **kw)


def buy(contracts: int, cid: str, **kw: Any) -> OrderRequest:
    return OrderRequest(BTC, "buy", D(contracts), kw.pop("reduce_only", False), cid, **kw)


async def orders_with(admin: Admin, cid: str) -> list[dict[str, Any]]:
    return [o for o in (await admin.get("/admin/orders"))["orders"] if o["orderLinkId"] == cid]


async def test_balances_contract_and_spot(port: CcxtPort, client: Any) -> None:
    assert await port.fetch_spot_balances() == {"BTC": 1}
    wallets = await port.fetch_margin_wallets()
    assert (wallets["BTC"].balance, wallets["ETH"].balance) == (1, 20)
    assert client.options["enableUnifiedAccount"] is False  # query-api said classic
    contract = await client.fetch_balance({"type": "swap", "subType": "inverse"})
    assert (contract["BTC"]["free"], contract["BTC"]["used"], contract["BTC"]["total"]) == (1, 0, 1)


async def test_short_then_reduce_only_trims(port: CcxtPort, client: Any, admin: Admin) -> None:
    placed = await port.create_order(sell(10_000, "hedge-1"))
    assert (placed.state, placed.filled_contracts) == (OrderState.FILLED, 10_000)
    assert placed.exchange_order_id is not None
    assert placed.average_price == 50000
    assert placed.fee == D("0.00011")  # 10,000 USD / 50,000 × 0.055 %
    found = await port.fetch_order_by_client_id(BTC, "hedge-1")
    assert found == placed
    position = (await port.fetch_positions([BTC]))[BTC]
    assert (position.contracts, position.entry_price, position.mark_price) == (
        -10_000,
        50000,
        50000,
    )
    assert position.liquidation_price is None  # 1x short on a 1 BTC cross wallet: unreachable
    raw = await client.fetch_position(BTC)
    assert (raw["side"], raw["contracts"], raw["hedged"]) == ("short", 10000.0, False)
    assert raw["notional"] == pytest.approx(0.2)

    trimmed = await port.create_order(buy(4_000, "hedge-2", reduce_only=True))
    assert (trimmed.state, trimmed.reduce_only) == (OrderState.FILLED, True)
    assert (await port.fetch_positions([BTC]))[BTC].contracts == -6_000

    with pytest.raises(OrderRejectedError) as rejected:
        await port.create_order(buy(7_000, "hedge-3", reduce_only=True))
    assert rejected.value.code == "110017"
    assert (await port.fetch_positions([BTC]))[BTC].contracts == -6_000
    assert await orders_with(admin, "hedge-3") == []  # refused: not an accepted order
    everything = (await admin.get("/admin/orders?all=1"))["orders"]
    assert [o["state"] for o in everything if o["orderLinkId"] == "hedge-3"] == ["REJECTED"]

    fills = await port.fetch_fills(BTC, None)
    assert [(f.client_order_id, f.side, f.contracts) for f in fills] == [
        ("hedge-1", "sell", 10_000),
        ("hedge-2", "buy", 4_000),
    ]
    assert all(f.fee_currency == "BTC" and f.fee > 0 for f in fills)
    trades = await client.fetch_my_trades(BTC)
    assert {t["takerOrMaker"] for t in trades} == {"taker"}


async def test_positions_listing_and_flat_symbol(port: CcxtPort, client: Any) -> None:
    flat = await client.fetch_position(BTC)
    assert (flat["contracts"], flat["side"], flat["markPrice"]) == (0.0, None, 50000.0)
    assert await client.fetch_positions() == []
    await port.create_order(sell(100, "p-1"))
    listed = await client.fetch_positions()
    assert [(p["symbol"], p["contracts"]) for p in listed] == [(BTC, 100.0)]


async def test_duplicate_client_id_is_rejected_and_placed_once(
    port: CcxtPort, admin: Admin
) -> None:
    await port.create_order(sell(100, "dup-1"))
    with pytest.raises(OrderRejectedError) as rejected:
        await port.create_order(sell(100, "dup-1"))
    assert rejected.value.code == "110072"
    assert len(await orders_with(admin, "dup-1")) == 1
    assert (await port.fetch_positions([BTC]))[BTC].contracts == -100


async def test_insufficient_balance(port: CcxtPort) -> None:
    with pytest.raises(OrderRejectedError) as rejected:
        await port.create_order(sell(10_000_000, "too-big"))  # 200 BTC of face on 1 BTC
    assert rejected.value.code == "110007"


async def test_post_only_limit_rests_then_fills_when_the_price_moves(
    port: CcxtPort, client: Any, admin: Admin
) -> None:
    request = sell(500, "lim-1", order_type="limit", limit_price=D(51000), post_only=True)
    resting = await port.create_order(request)
    assert (resting.state, resting.filled_contracts) == (OrderState.OPEN, 0)
    open_orders = await port.fetch_open_orders([BTC])
    assert [o.client_order_id for o in open_orders] == ["lim-1"]
    raw = (await client.fetch_open_orders(BTC))[0]
    assert (raw["timeInForce"], raw["price"], raw["type"]) == ("PO", 51000.0, "limit")
    await admin.post("/admin/price", {"coin": "BTC", "price": "51500"})
    filled = await port.fetch_order_by_client_id(BTC, "lim-1")
    assert filled is not None
    assert (filled.state, filled.average_price) == (OrderState.FILLED, 51000)
    trades = await client.fetch_my_trades(BTC)
    assert [t["takerOrMaker"] for t in trades] == ["maker"]
    assert await port.fetch_open_orders([BTC]) == []


async def test_post_only_that_would_take_is_accepted_then_cancelled(port: CcxtPort) -> None:
    request = sell(500, "lim-x", order_type="limit", limit_price=D(49000), post_only=True)
    status = await port.create_order(request)
    assert (status.state, status.filled_contracts) == (OrderState.CANCELLED, 0)


async def test_cancel_and_cancel_unknown(port: CcxtPort, client: Any) -> None:
    request = buy(300, "lim-2", order_type="limit", limit_price=D(45000))
    await port.create_order(request)
    cancelled = await port.cancel_order(BTC, "lim-2")
    assert cancelled.state == OrderState.CANCELLED
    # already closed: Bybit answers 110001; the port returns the closed status (a fill or a
    # cancel may race ours), and only an order the exchange never had is "not found"
    again = await port.cancel_order(BTC, "lim-2")
    assert again.state == OrderState.CANCELLED
    with pytest.raises(OrderNotFoundError):
        await port.cancel_order(BTC, "never-placed")
    with pytest.raises(ccxt_async.OrderNotFound):
        await client.cancel_order("no-such-id", BTC)
    closed = await client.fetch_canceled_and_closed_orders(BTC)
    assert [(o["clientOrderId"], o["status"]) for o in closed] == [("lim-2", "canceled")]


async def test_classic_fetch_order_reads_history_open_orders_too(
    port: CcxtPort, client: Any
) -> None:
    placed = await port.create_order(buy(300, "lim-3", order_type="limit", limit_price=D(45000)))
    order = await client.fetch_order(placed.exchange_order_id, BTC, {"acknowledged": False})
    assert (order["clientOrderId"], order["status"], order["amount"]) == ("lim-3", "open", 300.0)
    assert order["reduceOnly"] is False
    assert client.last_request_url.split("?")[0].endswith("/v5/order/history")


async def test_leverage_and_margin_mode_are_idempotent(
    port: CcxtPort, client: Any, emu: RunningEmulator
) -> None:
    await port.set_leverage(BTC, D(3))
    await port.set_leverage(BTC, D(3))  # 110043 "leverage not modified": tolerated
    with pytest.raises(ccxt_async.BadRequest, match="110043"):
        await client.set_leverage(3, BTC)
    await port.set_margin_mode(BTC, "isolated", D(3))
    await port.set_margin_mode(BTC, "isolated", D(3))  # 110026: tolerated
    with pytest.raises(ccxt_async.MarginModeAlreadySet):
        await client.set_margin_mode("isolated", BTC, {"leverage": 3})
    position = emu.engine.positions([BTC])[BTC]
    assert (position.leverage, position.margin_mode) == (3, "isolated")
    await port.create_order(sell(1000, "iso-1"))
    raw = await client.fetch_position(BTC)
    assert (raw["leverage"], raw["info"]["tradeMode"]) == (3.0, 1)
    liquidation = emu.engine.positions([BTC])[BTC].liquidation_price
    assert liquidation is not None
    reported = (await port.fetch_positions([BTC]))[BTC].liquidation_price
    assert reported == liquidation.quantize(D("0.1"))  # to the tick, as Bybit
    assert raw["initialMargin"] == pytest.approx(0.02 / 3)


async def test_funding_after_the_clock_passes_a_settlement(
    port: CcxtPort, client: Any, admin: Admin
) -> None:
    await port.create_order(sell(10_000, "fund-1"))
    await admin.post("/admin/clock/advance", {"seconds": 8 * 3600})
    payments = await port.fetch_funding_payments(BTC, None)
    assert len(payments) == 1
    payment = payments[0]
    assert payment.amount == D("0.00002")  # 10,000 USD / 50,000 × 0.01 %, received by the short
    assert (payment.rate, payment.position_contracts, payment.currency) == (
        D("0.0001"),
        -10_000,
        "BTC",
    )
    assert (await port.fetch_margin_wallets())["BTC"].balance == D(1) - D("0.00011") + D("0.00002")
    raw = (await client.fetch_funding_history(BTC))[0]["info"]
    assert (raw["execType"], raw["side"], raw["execFee"], raw["execQty"]) == (
        "Funding",
        "Sell",
        "-0.00002",
        "10000",
    )


async def test_eth_contracts_of_ten_usd(port: CcxtPort, client: Any) -> None:
    placed = await port.create_order(OrderRequest(ETH, "sell", D(25), False, "eth-1"))
    assert placed.state == OrderState.FILLED
    raw = await client.fetch_position(ETH)
    assert raw["contracts"] == 25.0
    assert raw["notional"] == pytest.approx(0.1)  # 25 × 10 USD / 2,500


async def test_hedge_mode_fault_shows_in_positions(
    port: CcxtPort, client: Any, admin: Admin
) -> None:
    await port.create_order(sell(100, "h-1"))
    await admin.post("/admin/hedge-mode", {"on": True})
    position = (await port.fetch_positions([BTC]))[BTC]
    assert (position.hedge_mode, position.contracts) == (True, -100)
    raw = await client.fetch_positions()
    assert [(p["side"], p["info"]["positionIdx"]) for p in raw] == [("short", 2)]
    with pytest.raises(ccxt_async.BadRequest, match="position idx not match position mode"):
        await client.create_order(BTC, "market", "sell", 1)


async def test_key_description_is_configurable(client: Any, admin: Admin) -> None:
    info = (await client.private_get_v5_user_query_api())["result"]
    assert (info["uta"], info["unified"], info["readOnly"], info["ips"]) == (0, 0, 0, ["127.0.0.1"])
    assert "Withdraw" not in info["permissions"]["Wallet"]
    await admin.post("/admin/api-key", {"withdraw": True, "ips": ["*"], "read_only": True})
    info = (await client.private_get_v5_user_query_api())["result"]
    assert ("Withdraw" in info["permissions"]["Wallet"], info["ips"]) == (True, ["*"])
    assert (await client.private_get_v5_account_info())["result"]["unifiedMarginStatus"] == 1
    await client.load_markets()
    with pytest.raises(ccxt_async.PermissionDenied):
        await client.create_order(BTC, "market", "sell", 1)


async def test_order_validation_ret_codes(client: Any) -> None:
    await client.load_markets()
    create = client.private_post_v5_order_create
    base = {"category": "inverse", "symbol": "BTCUSD", "side": "Buy", "orderType": "Limit"}
    with pytest.raises(ccxt_async.BadRequest, match="10001"):
        await create({**base, "qty": "10", "price": "45000.05"})  # off the 0.1 tick
    with pytest.raises(ccxt_async.BadRequest, match="10001"):
        await create({**base, "qty": "1.5", "price": "45000"})  # off the qty step
    with pytest.raises(ccxt_async.BadSymbol):
        await create({**base, "symbol": "XYZUSD", "qty": "1", "price": "1"})
    with pytest.raises(ccxt_async.BadRequest, match="orderLinkId"):
        await create({**base, "qty": "1", "price": "45000", "orderLinkId": "x" * 37})
    ok = await create({**base, "qty": "1", "price": "45000", "orderLinkId": "v-1"})
    assert set(ok["result"]) == {"orderId", "orderLinkId"}


async def test_order_history_filters(port: CcxtPort, client: Any, emu: RunningEmulator) -> None:
    await port.create_order(sell(100, "f-1"))
    await port.create_order(buy(100, "f-2", order_type="limit", limit_price=D(40000)))
    await port.create_order(buy(100, "f-3", order_type="limit", limit_price=D(40100)))
    history = client.private_get_v5_order_history

    async def links(**params: Any) -> list[str]:
        response = await history({"category": "inverse", **params})
        return [row["orderLinkId"] for row in response["result"]["list"]]

    assert await links() == ["f-3", "f-2", "f-1"]  # newest first, open ones included
    assert await links(orderStatus="Filled") == ["f-1"]
    assert await links(orderStatus="New", limit="1") == ["f-3"]
    assert await links(settleCoin="ETH") == []
    now = emu.engine.now_ms
    assert await links(startTime=str(now + 1), endTime=str(now + 2)) == []
    assert await links(orderLinkId="f-2") == ["f-2"]
    realtime = await client.private_get_v5_order_realtime({"category": "inverse"})
    assert [r["orderLinkId"] for r in realtime["result"]["list"]] == ["f-3", "f-2"]
    executions = await client.private_get_v5_execution_list(
        {"category": "inverse", "orderLinkId": "f-1"}
    )
    assert [(r["execType"], r["isMaker"]) for r in executions["result"]["list"]] == [
        ("Trade", False)
    ]


async def test_account_margin_mode_and_position_mode(
    port: CcxtPort, client: Any, emu: RunningEmulator, admin: Admin
) -> None:
    await client.load_markets()
    set_mode = client.private_post_v5_account_set_margin_mode
    with pytest.raises(ccxt_async.MarginModeAlreadySet):
        await set_mode({"setMarginMode": "REGULAR_MARGIN"})
    assert (await set_mode({"setMarginMode": "ISOLATED_MARGIN"}))["result"] == {"reasons": []}
    with pytest.raises(ccxt_async.ExchangeError, match="3400045"):
        await set_mode({"setMarginMode": "PORTFOLIO_MARGIN"})
    # Inverse perpetuals are one-way only: hedge mode is refused for them (110029).
    with pytest.raises(ccxt_async.BadRequest, match="110029"):
        await client.set_position_mode(True, BTC)
    with pytest.raises(ccxt_async.NoChange):
        await client.set_position_mode(False, BTC)
    # A dated inverse future may switch (the emulator's position mode is account-wide).
    expiry = emu.engine.now + timedelta(days=30)
    added = await admin.post("/admin/markets", {"coin": "BTC", "expiry": expiry.isoformat()})
    future = added["market"]["symbol"]
    await client.load_markets(True)
    await client.set_position_mode(True, future)
    with pytest.raises(ccxt_async.NoChange):
        await client.set_position_mode(True, future)
    await client.set_position_mode(False, future)
    await port.create_order(sell(100, "pm-1"))
    with pytest.raises(ccxt_async.BadRequest, match="110024"):
        await client.set_position_mode(True, future)
