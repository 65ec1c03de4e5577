"""Each profile against recorded exchange answers (tests/exchanges/fixtures, see PROVENANCE.md).

Recorded markets, balances and positions go through ccxt's OWN parsers (an offline ccxt
instance), then through the adapter's parse functions; orders go through ``CcxtPort`` into a
recording client, and where ccxt exposes its request builder, through it too (the wire amount).
The hedge is 10,000 USD at a reference price of 50,000 USD/BTC (2,500 USD/ETH for ETH markets).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bot.core.exposure import face_usd, short_contracts
from bot.core.sizing import contracts_for_usd
from bot.core.types import Market, OrderRequest
from bot.exchange.ccxt_parse import parse_margin_wallets, parse_market, parse_position
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.profiles import profile_for
from tests.exchanges.recorded import RecordingClient, fixture, offline_exchange

HEDGE_USD = Decimal(10_000)
PRICES = {"BTC": Decimal(50_000), "ETH": Decimal(2_500)}
CLIENT_ID = "hb-" + "0123456789abcdef0123456789abcd"  # as bot.core.ids makes them (33 chars)


def adapter_market(exchange: Any, exchange_id: str, symbol: str) -> Market:
    profile = profile_for(exchange_id)
    market = parse_market(
        exchange.markets[symbol],
        exchange.precisionMode,
        profile.min_amount_is_contract_size,
        profile.amount_unit,
    )
    assert market is not None
    return market


# exchange, symbol, kind, contract size, contracts for 10,000 USD, ccxt create_order amount
HEDGES = [
    ("bybit", "BTC/USD:BTC", "inverse", Decimal(1), Decimal(10_000), 10_000.0),
    ("binancecoinm", "BTC/USD:BTC", "inverse", Decimal(100), Decimal(100), 100.0),
    ("binancecoinm", "ETH/USD:ETH", "inverse", Decimal(10), Decimal(1_000), 1_000.0),
    ("okx", "BTC/USD:BTC", "inverse", Decimal(100), Decimal(100), 100.0),
    ("okx", "BTC/USDT:USDT", "linear", Decimal("0.01"), Decimal(20), 20.0),
    ("deribit", "BTC/USD:BTC", "inverse", Decimal(10), Decimal(1_000), 10_000.0),
    ("deribit", "BTC/USDT:USDT", "linear", Decimal("0.001"), Decimal(200), 0.2),
    ("mexc", "ETH/USDT:USDT", "linear", Decimal("0.01"), Decimal(400), 400.0),
    ("weex", "ETH/USDT:USDT", "linear", Decimal("0.001"), Decimal(4_000), 4.0),
]


@pytest.mark.parametrize(
    ("exchange_id", "symbol", "kind", "contract_size", "contracts", "amount"), HEDGES
)
async def test_a_10k_usd_hedge_is_sent_in_the_exchanges_amount_unit(
    exchange_id: str,
    symbol: str,
    kind: str,
    contract_size: Decimal,
    contracts: Decimal,
    amount: float,
) -> None:
    exchange = offline_exchange(exchange_id)
    profile = profile_for(exchange_id)
    market = adapter_market(exchange, exchange_id, symbol)
    price = PRICES[market.base]
    assert (market.kind, market.contract_size) == (kind, contract_size)
    assert market.expiry is None  # perpetuals, even where ccxt dates them in the year 3000

    wanted = contracts_for_usd(market, HEDGE_USD, price)
    assert wanted == contracts
    assert face_usd(market, wanted, price) == HEDGE_USD

    client = RecordingClient(exchange, {"create_order": {"id": "42"}})
    port = CcxtPort(client, profile)
    status = await port.create_order(OrderRequest(symbol, "sell", wanted, False, CLIENT_ID))

    (args,) = client.named("create_order")
    assert args[:5] == (symbol, "market", "sell", amount, None)
    assert args[5] == {profile.client_id_param: profile.exchange_client_id(CLIENT_ID)}
    assert (status.exchange_order_id, status.contracts) == ("42", contracts)


def test_the_exchanges_own_request_builders_carry_those_amounts() -> None:
    """ccxt's own request builders (what goes over the wire) for the same hedges."""
    bybit = offline_exchange("bybit").create_order_request(
        "BTC/USD:BTC", "market", "sell", 10_000.0, None, {"clientOrderId": CLIENT_ID}
    )
    assert (bybit["category"], bybit["qty"], bybit["orderLinkId"]) == (
        "inverse",
        "10000",
        CLIENT_ID,
    )
    binance = offline_exchange("binancecoinm").create_order_request(
        "BTC/USD:BTC", "market", "sell", 100.0, None, {"clientOrderId": CLIENT_ID}
    )
    assert (binance["symbol"], binance["quantity"]) == ("BTCUSD_PERP", "100")
    assert binance["newClientOrderId"] == CLIENT_ID
    okx_id = profile_for("okx").exchange_client_id(CLIENT_ID)
    okx = offline_exchange("okx").create_order_request(
        "BTC/USD:BTC", "market", "sell", 100.0, None, {"clientOrderId": okx_id}
    )
    assert (okx["instId"], okx["sz"], okx["clOrdId"]) == ("BTC-USD-SWAP", "100", okx_id)
    assert okx_id.isalnum()
    assert len(okx_id) == 32
    weex = offline_exchange("weex").create_contract_order_request(
        "ETH/USDT:USDT", "market", "sell", 4.0, None, {}
    )
    assert weex["quantity"] == "4"  # ETH, not contracts


def test_deribit_sends_usd_amounts_and_labels_over_the_wire() -> None:
    exchange = offline_exchange("deribit")
    sent: list[str] = []

    def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        sent.append(url)
        return {"jsonrpc": "2.0", "result": {"order": {"order_id": "1"}, "trades": []}}

    exchange.fetch = fetch
    exchange.create_order("BTC/USD:BTC", "market", "sell", 10_000.0, None, {"label": CLIENT_ID})
    (url,) = sent
    assert url.startswith("https://www.deribit.com/api/v2/private/sell?")
    assert "instrument_name=BTC-PERPETUAL&amount=10000&type=market" in url
    assert f"label={CLIENT_ID}" in url


def test_binance_coinm_recorded_inverse_short() -> None:
    """Recorded dapi positionRisk: BTCUSD_PERP positionAmt -3 (100 USD contracts)."""
    data = fixture("binancecoinm")
    exchange = offline_exchange("binancecoinm")
    profile = profile_for("binancecoinm")
    market = adapter_market(exchange, "binancecoinm", "BTC/USD:BTC")
    raw = data["responses"]["fetchPositions"]["httpResponse"][0]
    ccxt_position = exchange.parse_position_risk(raw, exchange.markets["BTC/USD:BTC"])
    recorded = data["responses"]["fetchPositions"]["parsedResponse"][0]
    assert {k: ccxt_position[k] for k in recorded} == recorded  # installed ccxt parses as recorded

    position = parse_position(ccxt_position, market, profile.amount_unit)
    assert position.contracts == Decimal(-3)
    assert short_contracts(position) == Decimal(3)
    assert face_usd(market, short_contracts(position), PRICES["BTC"]) == Decimal(300)  # hedge
    assert position.entry_price == Decimal("68911.00000037")
    assert position.mark_price == Decimal("68234.2")
    assert position.leverage == Decimal(20)
    assert position.margin_mode == "cross"
    assert position.liquidation_price == Decimal("72491.16879818")
    assert position.hedge_mode is False  # positionSide BOTH: one-way mode

    # Exposure contributed: the coin-margined wallet's equity. No dapi balance is recorded, so
    # the wallet is the position's unrealized PnL alone: 0.00004318 BTC.
    wallets = parse_margin_wallets({}, [ccxt_position], {market.symbol: market}, "equity")
    assert wallets["BTC"].balance == 0
    assert wallets["BTC"].equity == Decimal("0.00004318")

    # The 10,000 USD target against the recorded 300 USD short: 97 more contracts to sell.
    assert contracts_for_usd(market, HEDGE_USD, PRICES["BTC"]) - short_contracts(position) == 97


def test_deribit_balance_total_is_equity_and_usd_sized_short() -> None:
    data = fixture("deribit")
    exchange = offline_exchange("deribit")
    profile = profile_for("deribit")
    balance = exchange.parse_balance(data["responses"]["fetchBalance"]["httpResponse"]["result"])
    recorded_total = data["responses"]["fetchBalance"]["parsedResponse"]["total"]
    assert {coin: balance["total"][coin] for coin in recorded_total} == recorded_total

    market = adapter_market(exchange, "deribit", "BTC/USD:BTC")
    assert (market.amount_step, market.min_contracts) == (Decimal(1), Decimal(1))  # 10 USD
    # Synthetic position (no inverse perp is recorded): a 10,000 USD short, size -10000.
    ccxt_position = exchange.parse_position(
        data["synthetic"]["position"], exchange.markets["BTC/USD:BTC"]
    )
    assert ccxt_position["contracts"] == -10_000  # ccxt passes Deribit's signed USD size through
    position = parse_position(ccxt_position, market, profile.amount_unit)
    assert position.contracts == Decimal(-1_000)
    assert face_usd(market, short_contracts(position), PRICES["BTC"]) == HEDGE_USD

    wallets = parse_margin_wallets(
        balance, [ccxt_position], {market.symbol: market}, profile.margin_total
    )
    assert "BTC" not in wallets  # recorded BTC equity 0 and no PnL: no BTC collateral
    assert wallets["USDC"].equity == Decimal("42.217")


def test_option_and_spot_markets_are_not_hedge_instruments() -> None:
    exchange = offline_exchange("deribit")
    option = exchange.markets["BTC/USD:BTC-240126-39000-C"]
    assert parse_market(option, exchange.precisionMode) is None


def test_recorded_markets_expose_the_contract_sizes_of_the_reference() -> None:
    """hedging-math.md §1: 1 USD Bybit, 100 USD Binance BTCUSD_PERP, 10 USD Binance ETH."""
    sizes = {
        (exchange_id, symbol): adapter_market(
            offline_exchange(exchange_id), exchange_id, symbol
        ).contract_size
        for exchange_id, symbol in (
            ("bybit", "BTC/USD:BTC"),
            ("binancecoinm", "BTC/USD:BTC"),
            ("binancecoinm", "ETH/USD:ETH"),
            ("okx", "BTC/USD:BTC"),
            ("deribit", "BTC/USD:BTC"),
        )
    }
    assert sizes == {
        ("bybit", "BTC/USD:BTC"): Decimal(1),
        ("binancecoinm", "BTC/USD:BTC"): Decimal(100),
        ("binancecoinm", "ETH/USD:ETH"): Decimal(10),
        ("okx", "BTC/USD:BTC"): Decimal(100),
        ("deribit", "BTC/USD:BTC"): Decimal(10),
    }
