"""The generic adapter driven by each profile's data (a recording client, recorded markets)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ccxt.base import errors as ccxt_errors

from bot.core.types import OrderState
from bot.exchange.ccxt_parse import balance_totals, parse_margin_wallets
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.profile_model import InfoRows
from bot.exchange.profiles import profile_for
from bot.exchange.spot_sources import merge_spot_balances
from tests.exchanges.recorded import RecordingClient, offline_exchange

CLIENT_ID = "hb-" + "0123456789abcdef0123456789abcd"


def _order_row(exchange: Any, symbol: str, **fields: Any) -> dict[str, Any]:
    row = {
        "id": "7",
        "symbol": symbol,
        "side": "sell",
        "status": "open",
        "amount": 100.0,
        "filled": 0.0,
        "clientOrderId": None,
        "info": {},
    }
    row.update(fields)
    return row


async def test_binance_looks_an_order_up_by_orig_client_order_id() -> None:
    exchange = offline_exchange("binancecoinm")
    row = _order_row(exchange, "BTC/USD:BTC", clientOrderId=CLIENT_ID)
    client = RecordingClient(exchange, {"fetch_order": row})
    port = CcxtPort(client, profile_for("binancecoinm"))
    status = await port.fetch_order_by_client_id("BTC/USD:BTC", CLIENT_ID)
    assert client.calls == [
        ("fetch_order", (None, "BTC/USD:BTC", {"origClientOrderId": CLIENT_ID}))
    ]
    assert status is not None
    assert (status.client_order_id, status.contracts, status.state) == (
        CLIENT_ID,
        Decimal(100),
        OrderState.OPEN,
    )


async def test_an_unknown_client_id_is_none_not_an_error() -> None:
    exchange = offline_exchange("binancecoinm")
    client = RecordingClient(exchange, {"fetch_order": ccxt_errors.OrderNotFound("-2013")})
    port = CcxtPort(client, profile_for("binancecoinm"))
    assert await port.fetch_order_by_client_id("BTC/USD:BTC", CLIENT_ID) is None


async def test_okx_ids_are_sent_alphanumeric_and_read_back_as_ours() -> None:
    exchange = offline_exchange("okx")
    sent = "hb" + CLIENT_ID[3:]
    row = _order_row(exchange, "BTC/USD:BTC", clientOrderId=sent)
    client = RecordingClient(exchange, {"fetch_order": row, "cancel_order": {}})
    port = CcxtPort(client, profile_for("okx"))
    status = await port.cancel_order("BTC/USD:BTC", CLIENT_ID)
    assert client.named("cancel_order") == [(None, "BTC/USD:BTC", {"clOrdId": sent})]
    assert client.named("fetch_order") == [(None, "BTC/USD:BTC", {"clOrdId": sent})]
    assert status.client_order_id == CLIENT_ID


async def test_deribit_finds_its_label_and_cancels_by_order_id() -> None:
    """ccxt's Deribit parser leaves clientOrderId empty; the label is in the raw order."""
    exchange = offline_exchange("deribit")
    mine = _order_row(exchange, "BTC/USD:BTC", amount=10_000.0, info={"label": CLIENT_ID})
    other = _order_row(exchange, "BTC/USD:BTC", id="8", info={"label": "manual"})
    client = RecordingClient(
        exchange, {"fetch_open_orders": [other, mine], "fetch_closed_orders": []}
    )
    port = CcxtPort(client, profile_for("deribit"))
    status = await port.cancel_order("BTC/USD:BTC", CLIENT_ID)
    assert client.named("cancel_order") == [("7", "BTC/USD:BTC", {})]
    assert status.contracts == Decimal(1_000)  # 10,000 USD of 10 USD contracts
    assert status.client_order_id == CLIENT_ID


async def test_position_mode_is_asked_where_ccxt_leaves_it_unset() -> None:
    exchange = offline_exchange("okx")  # OKX markets, MEXC-style profile behaviour below
    raw = {"symbol": "BTC/USD:BTC", "contracts": 5, "side": "short", "hedged": None}
    client = RecordingClient(
        exchange, {"fetch_position": raw, "fetch_position_mode": {"hedged": True}}
    )
    port = CcxtPort(client, profile_for("bingx"))
    positions = await port.fetch_positions(["BTC/USD:BTC"])
    assert positions["BTC/USD:BTC"].hedge_mode is True
    assert client.named("fetch_position_mode") == [("BTC/USD:BTC",)]


async def test_exchange_without_a_spot_wallet_reads_no_spot() -> None:
    client = RecordingClient(offline_exchange("binancecoinm"))
    port = CcxtPort(client, profile_for("binancecoinm"))
    assert await port.fetch_spot_balances() == {}
    assert client.calls == []


async def test_margin_wallet_equity_is_not_counted_twice() -> None:
    """Binance COIN-M reports marginBalance (balance + PnL) as total; the PnL is split out."""
    exchange = offline_exchange("binancecoinm")
    balance = {"total": {"BTC": 1.5}, "info": {}}
    position = {"symbol": "BTC/USD:BTC", "unrealizedPnl": 0.1, "contracts": 3, "side": "short"}
    client = RecordingClient(exchange, {"fetch_balance": balance, "fetch_positions": [position]})
    port = CcxtPort(client, profile_for("binancecoinm"))
    wallets = await port.fetch_margin_wallets()
    assert (wallets["BTC"].balance, wallets["BTC"].unrealized_pnl) == (
        Decimal("1.4"),
        Decimal("0.1"),
    )
    assert wallets["BTC"].equity == Decimal("1.5")
    assert client.named("fetch_balance") == [({},)]


def test_wallet_totals_read_from_raw_rows_when_ccxt_leaves_them_empty() -> None:
    """BingX coin-M: ccxt's total reads maxWithdrawAmount, absent there (shape, not a record)."""
    balance = {
        "info": {"data": [{"asset": "BTC", "balance": "0.5", "equity": "0.52"}]},
        "total": {"BTC": None},
    }
    rows = InfoRows("data", "asset", "equity")
    assert balance_totals(balance) == {}
    assert balance_totals(balance, rows) == {"BTC": Decimal("0.52")}
    wallets = parse_margin_wallets(balance, [], {}, "equity", rows)
    assert wallets["BTC"].equity == Decimal("0.52")


def test_merge_spot_balances_table() -> None:
    cases = [
        ([], {}),
        ([({"BTC": Decimal(1)}, None)], {"BTC": Decimal(1)}),
        (
            [({"BTC": Decimal(1)}, None), ({"BTC": Decimal(2), "SOL": Decimal(10)}, None)],
            {"BTC": Decimal(3), "SOL": Decimal(10)},
        ),
        (
            [({"SOL": Decimal(1_000), "USDT": Decimal(5)}, ["SOL"])],
            {"SOL": Decimal(1_000)},
        ),
        ([({"ETH": Decimal(1)}, None), ({"ETH": Decimal(-1)}, None)], {}),
    ]
    for parts, merged in cases:
        assert merge_spot_balances(parts) == merged
