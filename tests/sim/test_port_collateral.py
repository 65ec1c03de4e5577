"""SimExchangePort: transfers by id and spot market orders over the engine."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.core.types import OrderRequest, OrderState, TransferRequest
from bot.exchange.errors import OrderRejectedError, PermanentExchangeError
from bot.exchange.sim_port import SimExchangePort
from tests.sim.conftest import T0, D, EngineFactory

TID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture
def port(make_engine: EngineFactory) -> SimExchangePort:
    engine = make_engine(
        prices={"BTC": D(50_000), "SOL": D(100)},
        spot={"BTC": D(1), "SOL": D(10)},
        margin={"BTC": D(1)},
        fee_rate=D("0.001"),
    )
    return SimExchangePort(engine)


async def test_transfer_and_look_it_up(port: SimExchangePort) -> None:
    request = TransferRequest(TID, "BTC", D("0.25"), "spot", "margin")
    status = await port.transfer(request)
    assert (status.transfer_id, status.coin, status.amount, status.state) == (
        TID,
        "BTC",
        D("0.25"),
        "SUCCESS",
    )
    assert (status.source, status.destination, status.timestamp) == ("spot", "margin", T0)
    assert await port.fetch_transfer(TID, "BTC") == status
    assert await port.fetch_transfer(TID, "SOL") is None
    assert await port.fetch_transfer("other", "BTC") is None
    assert await port.transfer(request) == status  # a resend moves nothing
    assert (await port.fetch_spot_balances())["BTC"] == D("0.75")
    assert (await port.fetch_margin_wallets())["BTC"].balance == D("1.25")
    with pytest.raises(PermanentExchangeError, match="already used"):  # the id, another move
        await port.transfer(TransferRequest(TID, "BTC", D("0.25"), "margin", "spot"))
    with pytest.raises(PermanentExchangeError):
        await port.transfer(TransferRequest("big", "BTC", D(5), "spot", "margin"))
    assert await port.fetch_transfer("big", "BTC") is None


async def test_spot_orders(port: SimExchangePort) -> None:
    sold = await port.create_spot_order(OrderRequest("SOL/USDT", "sell", D(5), False, "s-1"))
    assert (sold.state, sold.filled_contracts, sold.fee, sold.fee_currency) == (
        OrderState.FILLED,
        5,
        D("0.5"),
        "USDT",
    )
    assert await port.fetch_spot_order("SOL/USDT", "s-1") == sold
    assert await port.fetch_spot_order("BTC/USDT", "s-1") is None
    assert await port.fetch_spot_order("SOL/USDT", "nobody") is None
    balances = await port.fetch_spot_balances()
    assert (balances["SOL"], balances["USDT"]) == (5, D("499.5"))
    with pytest.raises(OrderRejectedError) as caught:
        await port.create_spot_order(OrderRequest("BTC/USDT", "buy", D(1), False, "b-1"))
    assert caught.value.code == "insufficient_balance"
    with pytest.raises(OrderRejectedError) as caught:
        await port.create_spot_order(OrderRequest("SOL/USDT", "sell", D(1), False, "s-1"))
    assert caught.value.code == "duplicate_client_id"
    limit = OrderRequest("SOL/USDT", "sell", D(1), False, "l-1", "limit", Decimal(200))
    with pytest.raises(PermanentExchangeError, match="market"):
        await port.create_spot_order(limit)
