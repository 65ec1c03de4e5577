"""Transfers and spot orders as each profile makes the adapter send them (a recording client;
Bybit end to end is tests/emulator/test_collateral.py)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from bot.core.types import OrderRequest, TransferRequest
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.errors import PermanentExchangeError
from bot.exchange.profiles import PROFILES, profile_for
from bot.exchange.venue import NoSandboxError
from tests.exchanges.recorded import FIXTURES, RecordingClient, offline_exchange

TRANSFER_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
REQUEST = TransferRequest(TRANSFER_ID, "BTC", Decimal("0.5"), "spot", "margin")
SPOT_ORDER = OrderRequest("BTC/USDT", "buy", Decimal("0.01"), False, "hb-spot")


def _port(exchange_id: str, answers: dict[str, Any] | None = None) -> tuple[CcxtPort, Any]:
    """A port over a recording client with the recorded markets (none where no fixture)."""
    if (FIXTURES / f"{exchange_id}.json").exists():
        exchange = offline_exchange(exchange_id)
    else:
        exchange = getattr(ccxt, exchange_id)()
    client = RecordingClient(exchange, answers)
    client.currencies = exchange.currencies  # what ccxt derives from the markets
    client.decimal_to_precision = exchange.decimal_to_precision
    return CcxtPort(client, profile_for(exchange_id)), client


@pytest.mark.parametrize(
    "exchange_id", sorted(i for i, p in PROFILES.items() if p.transfer_accounts is not None)
)
def test_transfer_accounts_are_ccxt_account_names(exchange_id: str) -> None:
    accounts = profile_for(exchange_id).transfer_accounts
    assert accounts is not None
    known = getattr(ccxt, exchange_id)().options["accountsByType"]
    assert all(name in known for name in accounts), (accounts, sorted(known))
    assert known[accounts[0]] != known[accounts[1]]


@pytest.mark.parametrize(
    "exchange_id", sorted(i for i, p in PROFILES.items() if p.transfer_accounts is None)
)
async def test_transfers_are_refused_where_unsupported(exchange_id: str) -> None:
    port, client = _port(exchange_id)
    with pytest.raises(PermanentExchangeError, match="transfers are not supported on"):
        await port.transfer(REQUEST)
    with pytest.raises(PermanentExchangeError, match="transfers are not supported on"):
        await port.fetch_transfer(TRANSFER_ID, "BTC")
    assert client.calls == []


@pytest.mark.parametrize(
    "exchange_id", sorted(i for i, p in PROFILES.items() if p.spot_order_params is None)
)
async def test_spot_orders_are_refused_where_unsupported(exchange_id: str) -> None:
    port, client = _port(exchange_id)
    with pytest.raises(PermanentExchangeError, match="spot orders are not supported on"):
        await port.create_spot_order(SPOT_ORDER)
    with pytest.raises(PermanentExchangeError, match="spot orders are not supported on"):
        await port.fetch_spot_order("BTC/USDT", "hb-spot")
    assert client.calls == []


async def test_a_spot_order_on_a_symbol_ccxt_does_not_list_as_spot_is_refused() -> None:
    port, client = _port("bybit")
    for symbol in ("SOL/USDT", "BTC/USD:BTC"):
        with pytest.raises(PermanentExchangeError, match="not a spot market"):
            await port.create_spot_order(OrderRequest(symbol, "sell", Decimal(1), False, "x"))
    assert client.named("create_order") == []


async def test_okx_sends_our_transfer_id_as_its_client_id() -> None:
    port, client = _port("okx", {"transfer": {"id": "754147", "status": None}})
    status = await port.transfer(REQUEST)
    assert client.named("transfer") == [
        ("BTC", 0.5, "funding", "trading", {"clientId": uuid.UUID(TRANSFER_ID).hex})
    ]
    assert (status.transfer_id, status.amount, status.state) == (TRANSFER_ID, 0.5, "SUCCESS")
    with pytest.raises(PermanentExchangeError, match="cannot be looked up"):
        await port.fetch_transfer(TRANSFER_ID, "BTC")


async def test_binance_coin_m_transfers_between_main_and_cm_futures_without_an_id() -> None:
    port, client = _port("binancecoinm", {"transfer": {"id": "1", "status": "ok"}})
    back = TransferRequest(TRANSFER_ID, "BTC", Decimal(1), "margin", "spot")
    status = await port.transfer(back)
    assert client.named("transfer") == [("BTC", 1.0, "inverse", "spot", {})]
    assert (status.source, status.destination, status.state) == ("margin", "spot", "SUCCESS")
    with pytest.raises(PermanentExchangeError, match="cannot be looked up"):
        await port.fetch_transfer(TRANSFER_ID, "BTC")


async def test_a_read_only_venue_never_transfers_or_trades_spot() -> None:
    exchange = offline_exchange("bybit")
    client = RecordingClient(exchange)
    port = CcxtPort(client, profile_for("bybit"), read_only_reason="no sandbox")
    with pytest.raises(NoSandboxError):
        await port.transfer(REQUEST)
    with pytest.raises(NoSandboxError):
        await port.create_spot_order(SPOT_ORDER)
    assert client.calls == []
