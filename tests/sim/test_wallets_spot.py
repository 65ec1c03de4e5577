"""Reducing orders with a negative available balance, transfers by id, spot market orders."""

from __future__ import annotations

import pytest

from bot.core.types import OrderState
from bot.sim.engine import SimExchange
from bot.sim.errors import (
    DuplicateIdError,
    InsufficientFundsError,
    InvalidRequestError,
    RejectCode,
    RejectError,
)
from tests.sim.conftest import BTC_PERP, T0, D, EngineFactory, order

# -- reducing orders are never blocked by margin --------------------------------------------


def _short_under_water(make_engine: EngineFactory) -> SimExchange:
    """5x short of 40,000 USD at 50,000 (0.16 BTC initial margin) on 0.3 BTC; BTC rallies to
    80,000: a 0.3 BTC loss leaves -0.16 BTC available (liquidations off)."""
    sim = make_engine(fee_rate=D("0.00055"), margin={"BTC": D("0.3")}, liquidations=False)
    sim.set_leverage(BTC_PERP, D(5))
    sim.create_order(order("sell", 40_000, "open"))
    sim.set_price("BTC", D(80_000))
    assert sim.available_balance("BTC") < D("-0.15")
    return sim


@pytest.mark.parametrize("reduce_only", [True, False])
def test_a_trim_and_a_close_fill_with_negative_available(
    make_engine: EngineFactory, reduce_only: bool
) -> None:
    sim = _short_under_water(make_engine)
    trim = sim.create_order(order("buy", 10_000, "trim", reduce_only=reduce_only))
    assert trim.state is OrderState.FILLED
    assert sim.positions([BTC_PERP])[BTC_PERP].contracts == -30_000
    close = sim.create_order(order("buy", 30_000, "close", reduce_only=reduce_only))
    assert close.state is OrderState.FILLED
    assert sim.positions([BTC_PERP])[BTC_PERP].contracts == 0
    # the loss was realized: 40,000 × (1/50,000 − 1/80,000) = 0.3 BTC, plus the fees
    fees = D("0.00055") * (D(40_000) / D(50_000) + D(40_000) / D(80_000))
    assert sim.margin_balance("BTC") == D("0.3") - D("0.3") - fees


def test_a_resting_reducing_limit_reserves_nothing(make_engine: EngineFactory) -> None:
    sim = _short_under_water(make_engine)
    before = sim.available_balance("BTC")
    resting = sim.create_order(order("buy", 20_000, "tp", limit=70_000))
    assert resting.state is OrderState.OPEN
    assert sim.available_balance("BTC") == before
    sim.set_price("BTC", D(70_000))
    assert sim.order_status(client_id="tp").state is OrderState.FILLED  # type: ignore[union-attr]


def test_closing_and_flipping_is_still_checked(make_engine: EngineFactory) -> None:
    sim = _short_under_water(make_engine)
    with pytest.raises(RejectError) as caught:
        sim.create_order(order("buy", 50_000, "flip"))  # closes 40,000, opens 10,000 long
    assert caught.value.code is RejectCode.INSUFFICIENT_BALANCE
    assert sim.positions([BTC_PERP])[BTC_PERP].contracts == -40_000
    # and an order on the position's own side is checked as before
    with pytest.raises(RejectError):
        sim.create_order(order("sell", 1_000, "more"))


def test_a_healthy_flip_still_passes(make_engine: EngineFactory) -> None:
    sim = make_engine(margin={"BTC": D(1)})
    sim.create_order(order("sell", 10_000, "s"))
    flipped = sim.create_order(order("buy", 20_000, "flip"))
    assert flipped.state is OrderState.FILLED
    assert sim.positions([BTC_PERP])[BTC_PERP].contracts == 10_000


# -- transfers by id ------------------------------------------------------------------------


def test_transfer_ids_are_idempotency_keys(make_engine: EngineFactory) -> None:
    sim = make_engine(spot={"BTC": D(2)}, margin={"BTC": D(1)})
    entry = sim.transfer("BTC", D("0.5"), "spot", "margin", transfer_id="t-1")
    assert (entry.reference, entry.amount, entry.source, entry.destination) == (
        "t-1",
        D("0.5"),
        "spot",
        "margin",
    )
    assert entry.timestamp == T0
    with pytest.raises(DuplicateIdError, match="t-1"):
        sim.transfer("BTC", D("0.5"), "spot", "margin", transfer_id="t-1")
    with pytest.raises(DuplicateIdError):  # whatever the rest of the request
        sim.transfer("BTC", D("0.1"), "margin", "spot", transfer_id="t-1")
    assert sim.spot_balances() == {"BTC": D("1.5")}
    assert sim.margin_balance("BTC") == D("1.5")
    assert sim.transfer_by_id("t-1") == entry
    assert sim.transfer_by_id("t-2") is None
    back = sim.transfer("BTC", D("0.25"), "margin", "spot", transfer_id="t-2")
    assert sim.transfer_by_id("t-2") == back
    assert [e.reference for e in sim.ledger()] == ["t-1", "t-2"]
    with pytest.raises(InvalidRequestError):
        sim.transfer("BTC", D("0.1"), transfer_id="")


def test_a_refused_transfer_does_not_use_its_id(make_engine: EngineFactory) -> None:
    sim = make_engine(spot={"BTC": D(1)}, margin={})
    with pytest.raises(InsufficientFundsError):
        sim.transfer("BTC", D(2), transfer_id="big")
    assert sim.transfer_by_id("big") is None
    sim.transfer("BTC", D(1), transfer_id="big")
    assert sim.margin_balance("BTC") == 1


# -- spot market orders ---------------------------------------------------------------------

PRICES = {"BTC": D(50_000), "SOL": D(100)}


def test_spot_sell_then_buy_moves_the_spot_wallet(make_engine: EngineFactory) -> None:
    sim = make_engine(prices=PRICES, spot={"SOL": D(10)}, fee_rate=D("0.001"))
    sold = sim.spot_order("SOL/USDT", "sell", D(5), "hb-sell")
    assert (sold.state, sold.filled_contracts, sold.average_price) == (
        OrderState.FILLED,
        D(5),
        D(100),
    )
    assert (sold.fee, sold.fee_currency) == (D("0.5"), "USDT")  # 0.1% of 500 USDT received
    assert sim.spot_balances() == {"SOL": D(5), "USDT": D("499.5")}
    bought = sim.spot_order("BTC/USDT", "buy", D("0.009"), "hb-buy")
    assert (bought.fee, bought.fee_currency) == (D("0.000009"), "BTC")  # in the coin received
    assert sim.spot_balances() == {"SOL": D(5), "USDT": D("49.5"), "BTC": D("0.008991")}
    assert sim.spot_order_status("hb-sell") == sold
    assert sim.spot_order_status("hb-buy", "BTC/USDT") == bought
    assert sim.spot_order_status("hb-buy", "SOL/USDT") is None
    assert sim.spot_order_status("nobody") is None
    history = sim.spot_order_history()
    assert [(r.status.client_order_id, r.base, r.quote, r.value) for r in history] == [
        ("hb-sell", "SOL", "USDT", D(500)),
        ("hb-buy", "BTC", "USDT", D(450)),
    ]
    assert [r.status.symbol for r in sim.spot_order_history("SOL/USDT")] == ["SOL/USDT"]
    assert sim.positions() == {}  # derivatives untouched
    assert sim.margin_balance("BTC") == 10


@pytest.mark.parametrize(
    ("symbol", "side", "amount", "code"),
    [
        ("SOL/USDT", "sell", "11", RejectCode.INSUFFICIENT_BALANCE),
        ("BTC/USDT", "buy", "0.001", RejectCode.INSUFFICIENT_BALANCE),  # 50 USDT, none held
        ("SOL/USDT", "sell", "0", RejectCode.INVALID_AMOUNT),
        ("SOL/USDT", "sell", "NaN", RejectCode.INVALID_AMOUNT),
        ("DOGE/USDT", "buy", "1", RejectCode.UNKNOWN_SYMBOL),
        ("SOL/BTC", "buy", "1", RejectCode.UNKNOWN_SYMBOL),
        ("BTC/USD:BTC", "buy", "1", RejectCode.UNKNOWN_SYMBOL),
    ],
)
def test_spot_rejections_are_recorded(
    make_engine: EngineFactory, symbol: str, side: str, amount: str, code: RejectCode
) -> None:
    sim = make_engine(prices=PRICES, spot={"SOL": D(10)})
    with pytest.raises(RejectError) as caught:
        sim.spot_order(symbol, side, D(amount), "r1")  # type: ignore[arg-type]
    assert caught.value.code is code
    status = caught.value.status
    assert status is not None
    assert (status.state, status.reject_reason) == (OrderState.REJECTED, code.value)
    assert sim.spot_order_status("r1") == status
    assert sim.spot_balances() == {"SOL": D(10)}


def test_spot_duplicate_client_id_records_nothing(make_engine: EngineFactory) -> None:
    sim = make_engine(prices=PRICES, spot={"SOL": D(10)})
    first = sim.spot_order("SOL/USDT", "sell", D(1), "dup")
    with pytest.raises(RejectError) as caught:
        sim.spot_order("SOL/USDT", "sell", D(1), "dup")
    assert (caught.value.code, caught.value.status) == (RejectCode.DUPLICATE_CLIENT_ID, None)
    assert sim.spot_order_status("dup") == first
    assert sim.spot_balances()["SOL"] == 9
    assert len(sim.spot_order_history()) == 1
    # the spot and derivatives books are separate
    sim.create_order(order("sell", 100, "dup"))
