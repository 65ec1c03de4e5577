"""Known venue traps of Binance COIN-M, OKX, Deribit, BingX and MEXC, one test each.

The venue's answer (recorded in ccxt's test data, or quoted from the issue or docs page named
in the docstring) is replayed through the real async ccxt client (tests/exchanges/replay.py):
ccxt signs the request, parses the answer and raises its own exception for an error body; the
port then does what the daemon would see. Bybit and the traps every venue shares are in
test_venue_traps.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import ccxt.async_support as ccxt_async
import pytest
from structlog.testing import capture_logs

from bot.config.models import Config, HedgeConfig
from bot.core.sizing import contracts_for_usd
from bot.core.types import OrderRequest
from bot.daemon.setup import prepare_instruments
from bot.exchange.ccxt_parse import to_ms
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.errors import (
    ConfigurationMismatchError,
    OrderRejectedError,
    OrdersDisabledError,
)
from bot.exchange.profiles import BINGX, BYBIT, profile_for
from tests.exchanges.recorded import RecordingClient, fixture, offline_exchange
from tests.exchanges.replay import replay_client
from tests.exchanges.test_recorded import adapter_market

D = Decimal
BTC_USD = "BTC/USD:BTC"
CID = "hb-" + "0123456789abcdef0123456789abcd"


def _config() -> Config:
    """What ``prepare_instruments`` reads of the config: ``hedge`` only."""
    return cast(Config, SimpleNamespace(hedge=HedgeConfig(leverage=D(2))))


def _binance_rows() -> list[dict[str, Any]]:
    """The recorded dapi positionRisk answer (BTCUSD_PERP, one-way, positionAmt -3)."""
    rows: list[dict[str, Any]] = fixture("binancecoinm")["responses"]["fetchPositions"][
        "httpResponse"
    ]
    return rows


# -- Binance COIN-M ---------------------------------------------------------------------------


async def test_binance_coinm_positions_are_read_from_the_inverse_dapi_account() -> None:
    """ccxt's binance ``fetch_position`` reads OPTIONS positions only (NotSupported on a
    perpetual), and its list read goes to the USD-M account (fapi) unless told the inverse
    subtype. COIN-M positions come from dapi positionRisk: the port reads them there.

    Sources: https://developers.binance.com/docs/derivatives/coin-margined-futures/trade/rest-api/Position-Information,
    ccxt's recorded "inverse positions" case (ts/src/test/static/response/binance.json, input
    ``[null, {"subType": "inverse"}]``), https://github.com/ccxt/ccxt/pull/23090.
    """
    replay = replay_client("binancecoinm", {"leverageBracket": [], "positionRisk": _binance_rows()})
    with pytest.raises(ccxt_async.NotSupported):
        await replay.client.fetch_position(BTC_USD)  # the per-symbol read: options only
    replay.sent.clear()

    positions = await replay.port.fetch_positions([BTC_USD])
    assert positions[BTC_USD].contracts == D(-3)  # 3 contracts of 100 USD, short
    assert positions[BTC_USD].hedge_mode is False
    assert replay.urls("positionRisk")[0].startswith("https://dapi.binance.com/dapi/v1/")
    assert replay.urls("fapi") == []
    assert replay.urls("eapi") == []


async def test_binance_coinm_4061_position_side_vs_dual_side_setting() -> None:
    """With dualSidePosition on (hedge mode), an order without a LONG/SHORT positionSide is
    refused with -4061 "Order's position side does not match user's setting.". The start
    sees the account's two-sided rows and refuses it; an order refused anyway is a definite
    refusal with its code (ccxt raises OperationRejected), not an unknown outcome to look up.

    Sources: https://github.com/ccxt/ccxt/issues/7534 and #7040,
    https://developers.binance.com/docs/derivatives/coin-margined-futures/error-code.
    """
    one_way = _binance_rows()[0]
    sides = [
        {**one_way, "positionSide": "LONG", "positionAmt": "0"},
        {**one_way, "positionSide": "SHORT"},
    ]
    body = {"code": -4061, "msg": "Order's position side does not match user's setting."}
    replay = replay_client(
        "binancecoinm",
        {
            "leverageBracket": [],
            "positionRisk": sides,
            "marginType": {"code": -4046, "msg": "No need to change margin type."},
            "leverage": {"leverage": 2, "symbol": "BTCUSD_PERP"},
            "dapi/v1/order": (400, body),
        },
    )
    with pytest.raises(ConfigurationMismatchError, match="hedge"):
        await prepare_instruments(replay.port, _config(), [BTC_USD])

    with pytest.raises(OrderRejectedError) as refused:
        await replay.port.create_order(OrderRequest(BTC_USD, "sell", D(1), False, CID))
    assert refused.value.code == "-4061"
    assert "position side does not match" in str(refused.value)
    assert len(replay.urls("dapi/v1/order")) == 1  # sent once, no look-up


async def test_binance_coinm_4118_resting_reduce_only_orders_count_against_the_position() -> None:
    """A reduce-only order is refused with -4118 "ReduceOnly Order Failed. Please check your
    existing position and open orders" when resting reduce-only orders already cover the
    position. ccxt raises a plain ExchangeError for it, which would leave the order's outcome
    "unknown" (looked up, the tick stopped); the profile names it a definite refusal.

    Source: https://developers.binance.com/docs/derivatives/coin-margined-futures/error-code
    (-4118 REDUCE_ONLY_MARGIN_CHECK_FAILED).
    """
    body = {
        "code": -4118,
        "msg": "ReduceOnly Order Failed. Please check your existing position and open orders",
    }
    replay = replay_client("binancecoinm", {"dapi/v1/order": (400, body)})
    with pytest.raises(OrderRejectedError) as refused:
        await replay.port.create_order(OrderRequest(BTC_USD, "buy", D(3), True, CID))
    assert refused.value.code == "-4118"
    assert "ReduceOnly Order Failed" in str(refused.value)
    assert "-4118" in profile_for("binancecoinm").refusal_codes
    (sent,) = replay.sent
    assert sent[0] == "POST"
    assert "reduceOnly=true" in (sent[2] or sent[1])


# -- OKX ------------------------------------------------------------------------------------

OKX_POSITION = {
    "adl": "1",
    "avgPx": "60000",
    "cTime": "1700000000000",
    "ccy": "BTC",
    "instId": "BTC-USD-SWAP",
    "instType": "SWAP",
    "lever": "2",
    "liqPx": "120000",
    "markPx": "50000",
    "mgnMode": "cross",
    "notionalUsd": "300",
    "pos": "-3",
    "posId": "1",
    "posSide": "net",
    "upl": "0.001",
    "uTime": "1700000000000",
}


def _okx_positions(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": list(rows)}


async def test_okx_pos_side_is_required_in_long_short_mode() -> None:
    """In long/short (hedge) position mode OKX refuses an order without ``posSide``: sCode
    51000 "Parameter posSide error". hedgebot sends net-mode orders (no posSide), refuses a
    long/short account at start (its positions carry posSide long/short), and takes 51000 as
    a definite refusal with its code.

    Sources: https://github.com/ccxt/ccxt/pull/14605, https://github.com/freqtrade/freqtrade/issues/7932,
    https://www.okx.com/docs-v5/en/#order-book-trading-trade-post-place-order (posSide).
    """
    refusal = {
        "code": "1",
        "data": [
            {"clOrdId": "x", "ordId": "", "sCode": "51000", "sMsg": "Parameter posSide error "}
        ],
        "msg": "All operations failed",
    }
    short_side = {**OKX_POSITION, "posSide": "short", "pos": "3"}
    replay = replay_client(
        "okx",
        {
            "account/positions": _okx_positions(short_side),
            "account/set-leverage": {"code": "0", "msg": "", "data": [{"lever": "2"}]},
            "trade/batch-orders": refusal,
        },
    )
    with pytest.raises(ConfigurationMismatchError, match="hedge"):
        await prepare_instruments(replay.port, _config(), [BTC_USD])

    order = OrderRequest(BTC_USD, "sell", D(1), False, CID)
    assert "posSide" not in replay.port.order_params(order)
    with pytest.raises(OrderRejectedError) as refused:
        await replay.port.create_order(order)
    assert refused.value.code == "51000"
    (body,) = [b for m, u, b in replay.sent if m == "POST" and "batch-orders" in u]
    assert body is not None
    assert "posSide" not in body


async def test_okx_sizes_are_contracts_not_coins() -> None:
    """OKX ``pos`` and ``sz`` count contracts (BTC-USD-SWAP: 100 USD each), not coins: the
    recorded short of -3 is 300 USD, and a 10,000 USD hedge is sent as sz 100.

    Sources: https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-positions (pos:
    "Quantity of positions"; ctVal in the instrument), ccxt's recorded okx market
    (ctVal 100, ctValCcy USD).
    """
    replay = replay_client(
        "okx",
        {
            "account/positions": _okx_positions(OKX_POSITION),
            "trade/batch-orders": {"code": "0", "data": [{"ordId": "7", "sCode": "0"}]},
            "trade/order": {"code": "0", "data": []},
        },
    )
    position = (await replay.port.fetch_positions([BTC_USD]))[BTC_USD]
    market = (await replay.port.load_markets())[BTC_USD]
    assert position.contracts == D(-3)
    assert -position.contracts * market.contract_size == D(300)  # USD face, not 3 BTC
    contracts = contracts_for_usd(market, D(10_000), D(50_000))
    await replay.port.create_order(OrderRequest(BTC_USD, "sell", contracts, False, CID))
    (body,) = [b for m, _, b in replay.sent if m == "POST"]
    assert body is not None
    assert '"sz":"100"' in body


@pytest.mark.parametrize(
    ("gap_ms", "hours"), [(28_800_000, D(8)), (3_600_000, D(1)), (10_800_000, D(3))]
)
async def test_okx_funding_interval_comes_from_consecutive_funding_times(
    gap_ms: int, hours: Decimal
) -> None:
    """OKX may move a swap's funding from every 8 h to 4, 2 or 1 h; its docs say to read the
    interval from ``nextFundingTime`` − ``fundingTime``. hedgebot derives it from those two
    times, never assumes 8 h (ccxt names only some gaps: a 3 h gap comes back as "10800000").

    Sources: https://www.okx.com/docs-v5/en/#public-data-rest-api-get-funding-rate (quoted in
    https://github.com/rosssaunders/ccrxt/issues/84), https://github.com/ccxt/ccxt/pull/28431.
    """
    funding_time = 1_700_726_400_000
    answer = {
        "code": "0",
        "msg": "",
        "data": [
            {
                "fundingRate": "0.0001",
                "fundingTime": str(funding_time),
                "nextFundingTime": str(funding_time + gap_ms),
                "instId": "BTC-USD-SWAP",
                "instType": "SWAP",
                "method": "current_period",
                "nextFundingRate": "",
                "ts": str(funding_time - 600_000),
            }
        ],
    }
    replay = replay_client("okx", {"public/funding-rate": answer})
    rate = (await replay.port.fetch_funding_rates([BTC_USD]))[BTC_USD]
    assert rate.interval_hours == hours
    assert rate.next_funding_time == datetime(2023, 11, 23, 8, tzinfo=UTC)


# -- Deribit --------------------------------------------------------------------------------


async def test_deribit_amounts_are_usd_with_a_10_usd_minimum() -> None:
    """Deribit's BTC-PERPETUAL ``amount`` is USD, in multiples of its 10 USD contract (the
    minimum): 1,000 contracts go out as 10,000, 15 USD of hedge is one contract sent as 10,
    and 9 USD is no order at all.

    Sources: https://docs.deribit.com/#private-buy (amount: "USD for perpetual and inverse
    futures"), https://www.deribit.com/kb/deribit-inverse-perpetual (contract size 10 USD),
    ccxt deribit ``create_order`` docstring.
    """
    market = adapter_market(offline_exchange("deribit"), "deribit", BTC_USD)
    assert (market.contract_size, market.min_contracts) == (D(10), D(1))
    assert contracts_for_usd(market, D(15), D(50_000)) == 1
    assert contracts_for_usd(market, D(9), D(50_000)) == 0
    answer = {"jsonrpc": "2.0", "result": {"order": {"order_id": "1"}, "trades": []}}
    empty = {"jsonrpc": "2.0", "result": []}
    replay = replay_client(
        "deribit", {"private/sell": answer, "get_open_orders": empty, "get_order_history": empty}
    )
    request = OrderRequest(BTC_USD, "sell", D(1), False, CID)
    await replay.port.create_order(request)
    assert "amount=10&" in replay.urls("private/sell")[0]


async def test_funding_history_since_is_inclusive() -> None:
    """Deribit's funding history skips the entry stamped exactly at ``start_timestamp``: ccxt
    asks from ``since − 1``. hedgebot's own windows start at ``since`` itself and keep a row
    stamped exactly there (the settlement a restart resumes from is never dropped).

    Source: https://github.com/ccxt/ccxt/pull/20876 (deribit fetchFundingRateHistory since).
    """
    since = 1_705_622_400_000
    history = {
        "jsonrpc": "2.0",
        "result": [
            {"timestamp": since, "interest_8h": "0.0001", "index_price": "41317.2"},
            {"timestamp": since + 3_600_000, "interest_8h": "0.0002", "index_price": "41295"},
        ],
    }
    replay = replay_client("deribit", {"get_funding_rate_history": history})
    rows = await replay.client.fetch_funding_rate_history(BTC_USD, since)
    assert f"start_timestamp={since - 1}" in replay.urls("get_funding_rate_history")[0]
    assert next(r["timestamp"] for r in rows) == since

    exchange = offline_exchange("bybit")
    row = {"id": "f-1", "timestamp": since, "amount": 0.0001, "info": {"execQty": "100"}}
    client = RecordingClient(exchange, {"fetch_funding_history": [row]})
    port = CcxtPort(client, BYBIT)
    port._exchange_now = datetime.fromtimestamp((since + 3_600_000) / 1000, tz=UTC)
    start = datetime.fromtimestamp(since / 1000, tz=UTC)
    payments = await port.fetch_funding_payments(BTC_USD, start)
    assert client.named("fetch_funding_history")[0][1] == to_ms(start) == since
    assert [p.timestamp for p in payments] == [start]


# -- BingX, MEXC ----------------------------------------------------------------------------


def _bingx_client(answers: dict[str, Any]) -> RecordingClient:
    """A recording client over a BingX coin-M market (none is recorded: see PROVENANCE.md)."""
    market = {
        "id": "BTC-USD",
        "symbol": BTC_USD,
        "base": "BTC",
        "quote": "USD",
        "settle": "BTC",
        "type": "swap",
        "swap": True,
        "contract": True,
        "inverse": True,
        "linear": False,
        "contractSize": 100,
        "precision": {"amount": 1, "price": 0.1},
        "limits": {"amount": {"min": 1}},
        "active": True,
    }
    exchange = SimpleNamespace(
        markets={BTC_USD: market}, precisionMode=4, has={"fetchPositions": True}, urls={}
    )
    return RecordingClient(exchange, answers)


async def test_bingx_position_without_contracts_falls_back_to_the_raw_size() -> None:
    """ccxt's BingX parser returned ``contracts: None`` with the size in ``info.positionAmt``
    (and in ``notional``). Read as 0, the bot would short again every tick. The port falls back
    to the raw size, and a row with no readable size at all is unknown, never flat.

    Sources: https://github.com/ccxt/ccxt/issues/18840, https://github.com/ccxt/ccxt/pull/18776;
    hummingbot/hummingbot#6470 (a position misread as 0).
    """
    reported = {
        "symbol": BTC_USD,
        "contracts": None,
        "notional": "9",
        "side": "short",
        "entryPrice": 60000.0,
        "hedged": None,
        "info": {"positionAmt": "9", "availableAmt": "9", "positionSide": "SHORT"},
    }
    client = _bingx_client({"fetch_position": reported, "fetch_position_mode": {"hedged": False}})
    port = CcxtPort(client, BINGX)
    assert (await port.fetch_positions([BTC_USD]))[BTC_USD].contracts == D(-9)

    unreadable = {**reported, "info": {"positionSide": "SHORT"}}
    client.answers["fetch_position"] = unreadable
    with capture_logs() as logs:
        assert await port.fetch_positions([BTC_USD]) == {}  # unknown: not a flat position
    assert [e["event"] for e in logs] == ["position_unreadable"]


async def test_mexc_api_ordering_disabled_is_a_permanent_alerted_refusal() -> None:
    """MEXC answers ``{"code":1002,"message":"Contract not allow place order!"}`` while API
    ordering is disabled for a contract or account: no retry changes it. The first refusal is
    logged critical and every later order is refused without a request (no loop against the
    venue, tick after tick); the daemon records each as a rejected order and tells a person once
    with a critical ``orders_disabled`` alert (tests/daemon/test_orders_disabled_alert.py).

    Sources: https://github.com/ccxt/ccxt/issues/14474, #15055 and #14790,
    https://github.com/mexcdevelop/mexc-api-sdk/issues/96.
    """
    body = {"success": False, "code": 1002, "message": "Contract not allow place order!"}
    replay = replay_client("mexc", {"order/create": body})
    symbol = "ETH/USDT:USDT"
    with capture_logs() as logs:
        with pytest.raises(OrderRejectedError) as first:
            await replay.port.create_order(OrderRequest(symbol, "sell", D(400), False, CID))
        with pytest.raises(OrderRejectedError) as second:
            await replay.port.create_order(OrderRequest(symbol, "sell", D(400), False, "hb-2"))
    assert isinstance(first.value, OrdersDisabledError)
    assert isinstance(second.value, OrdersDisabledError)
    assert first.value.code == second.value.code == "1002"
    assert "Contract not allow place order" in str(second.value)
    assert len(replay.urls("order/create")) == 1
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("venue_refuses_api_orders", "critical")
    ]
