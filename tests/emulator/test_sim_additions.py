"""The one engine method added for the emulator: ``SimExchange.set_contract_size``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.core.types import OrderRequest
from bot.sim.engine import SimExchange
from bot.sim.errors import InvalidRequestError, UnknownSymbolError
from bot.sim.feed import FixedPrices

D = Decimal
BTC = "BTC/USD:BTC"


def engine() -> SimExchange:
    return SimExchange(
        FixedPrices({"BTC": D(50000)}),
        start=datetime(2024, 1, 1, tzinfo=UTC),
        margin_balances={"BTC": D(1)},
    )


def test_set_contract_size_changes_the_market_and_the_value_of_positions() -> None:
    sim = engine()
    sim.create_order(OrderRequest(BTC, "sell", D(100), False, "a"))
    sim.set_contract_size(BTC, D(10))
    assert sim.market(BTC).contract_size == 10
    assert sim.positions([BTC])[BTC].contracts == -100  # counts kept, value x10
    sim.set_price("BTC", D(40000))
    pnl = sim.positions([BTC])[BTC].unrealized_pnl
    assert pnl == D(-100) * 10 * (D(1) / 50000 - D(1) / 40000)


@pytest.mark.parametrize("size", [D(0), D(-1), D("NaN")])
def test_set_contract_size_refuses_non_positive(size: Decimal) -> None:
    with pytest.raises(InvalidRequestError):
        engine().set_contract_size(BTC, size)


def test_set_contract_size_unknown_symbol() -> None:
    with pytest.raises(UnknownSymbolError):
        engine().set_contract_size("XYZ/USD:XYZ", D(1))
