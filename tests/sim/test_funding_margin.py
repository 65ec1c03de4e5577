"""Funding, liquidation prices and liquidations, linear and dated markets, wallets."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.core import inverse
from bot.core.inverse import MaintenanceBasis
from bot.core.types import Market, OrderState
from bot.sim import margin
from bot.sim.errors import InsufficientFundsError, InvalidRequestError
from tests.sim.conftest import BTC_PERP, T0, D, EngineFactory, order

H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("rate", "side", "expected"),
    [
        (D("0.0001"), "sell", D("0.0005")),  # Example 5.1: the short receives 0.0005 BTC
        (D("-0.0001"), "sell", D("-0.0005")),  # negative rate: the short pays
        (D("0.0001"), "buy", D("-0.0005")),  # positive rate: a long pays
    ],
)
def test_funding_sign_and_example_5_1(
    make_engine: EngineFactory, rate: Decimal, side: str, expected: Decimal
) -> None:
    sim = make_engine(margin={"BTC": D(6)}, funding_rates={"BTC": rate})
    sim.create_order(order(side, 250_000, "hedge"))  # type: ignore[arg-type]
    sim.advance(8 * 3600 - 1)
    assert sim.funding_payments() == []
    sim.advance(1)
    (payment,) = sim.funding_payments(BTC_PERP, since=T0)
    assert payment.amount == expected
    assert payment.amount == inverse.funding_payment_coin(
        D(-250_000 if side == "sell" else 250_000), D(1), D(50_000), rate
    )
    assert payment.timestamp == T0 + 8 * H
    assert payment.rate == rate
    assert payment.position_contracts == (D(-250_000) if side == "sell" else D(250_000))
    assert payment.currency == "BTC"
    assert sim.margin_balance("BTC") == D(6) + expected
    (execution,) = sim.executions(kinds=["funding"])
    assert execution.funding == expected
    assert execution.fee == 0


def test_funding_settles_at_every_boundary_crossed(make_engine: EngineFactory) -> None:
    sim = make_engine(start=T0 + 7 * H)
    assert sim.funding_rates([BTC_PERP])[BTC_PERP].next_funding_time == T0 + 8 * H
    sim.create_order(order("sell", 50_000, "s"))
    sim.set_time(T0 + 7 * H + 24 * H)  # one jump across 08:00, 16:00, 00:00
    stamps = [p.timestamp for p in sim.funding_payments()]
    assert stamps == [T0 + 8 * H, T0 + 16 * H, T0 + 24 * H]
    assert all(p.amount == D("0.0001") for p in sim.funding_payments())
    rate = sim.funding_rates()[BTC_PERP]
    assert (rate.rate, rate.interval_hours, rate.next_funding_time) == (
        D("0.0001"),
        D(8),
        T0 + 32 * H,
    )
    # a flat position pays nothing; set_funding_rate applies from the next settlement
    sim.create_order(order("buy", 50_000, "close", reduce_only=True))
    sim.set_funding_rate("BTC", D("-0.001"))
    sim.advance(8 * 3600)
    assert len(sim.funding_payments()) == 3
    history = sim.funding_rate_history(BTC_PERP, since=T0 + 16 * H)
    assert history == [
        (T0 + 16 * H, D("0.0001")),
        (T0 + 24 * H, D("0.0001")),
        (T0 + 32 * H, D("-0.001")),
    ]


def test_funding_interval_is_configurable(make_engine: EngineFactory) -> None:
    sim = make_engine(funding_interval_hours=4)
    sim.create_order(order("sell", 50_000, "s"))
    sim.advance(12 * 3600)
    assert [p.timestamp for p in sim.funding_payments()] == [T0 + 4 * H, T0 + 8 * H, T0 + 12 * H]


@pytest.mark.parametrize("leverage", [D(2), D(5)])
@pytest.mark.parametrize("basis", ["entry", "mark"])
def test_isolated_liquidation_price_matches_the_closed_form(
    make_engine: EngineFactory, leverage: Decimal, basis: MaintenanceBasis
) -> None:
    sim = make_engine(maintenance_margin_rate=D("0.005"), maintenance_basis=basis)
    sim.set_margin_mode(BTC_PERP, "isolated")
    sim.set_leverage(BTC_PERP, leverage)
    sim.create_order(order("sell", 100_000, "iso"))
    position = sim.positions([BTC_PERP])[BTC_PERP]
    assert position.margin_mode == "isolated"
    closed_form = inverse.isolated_liquidation_price_short(D(50_000), leverage, D("0.005"), basis)
    assert position.liquidation_price is not None
    assert closed_form is not None
    assert abs(position.liquidation_price - closed_form) < D("1e-18")
    # hedging-math.md §6: L=2 → 1.9802·P0 / 1.99·P0; L=5 → 1.2422·P0 / 1.2438·P0
    table = {(D(2), "entry"): "1.9802", (D(2), "mark"): "1.9900"}
    table |= {(D(5), "entry"): "1.2422", (D(5), "mark"): "1.2438"}
    ratio = position.liquidation_price / D(50_000)
    assert ratio.quantize(D("0.0001")) == D(table[(leverage, basis)])


def test_cross_liquidation_uses_the_wallet_balance(make_engine: EngineFactory) -> None:
    sim = make_engine(margin={"BTC": D("0.5")})
    sim.set_leverage(BTC_PERP, D(5))
    sim.create_order(order("sell", 100_000, "x"))  # 2 BTC of face, 0.4 BTC initial margin
    position = sim.positions([BTC_PERP])[BTC_PERP]
    expected = inverse.liquidation_price_short(D(100_000), D(50_000), D("0.5"), D("0.005"), "entry")
    assert position.liquidation_price == expected
    # a 1x short backed by its full face in coin cannot be liquidated
    hedged = make_engine(margin={"BTC": D(3)})
    hedged.create_order(order("sell", 100_000, "h"))
    assert hedged.positions([BTC_PERP])[BTC_PERP].liquidation_price is None


def test_reaching_the_liquidation_price_closes_the_position(make_engine: EngineFactory) -> None:
    sim = make_engine(margin={"BTC": D(1)})
    sim.set_margin_mode(BTC_PERP, "isolated")
    sim.set_leverage(BTC_PERP, D(5))
    sim.create_order(order("sell", 100_000, "iso"))  # 0.4 BTC initial margin
    liquidation = sim.positions([BTC_PERP])[BTC_PERP].liquidation_price
    assert liquidation is not None
    sim.set_price("BTC", liquidation - 1)
    assert sim.positions([BTC_PERP])[BTC_PERP].contracts == D(-100_000)
    sim.set_price("BTC", D(70_000))
    assert sim.positions([BTC_PERP])[BTC_PERP].contracts == 0
    (liq,) = sim.executions(kinds=["liquidation"])
    assert (liq.side, liq.contracts, liq.price) == ("buy", D(100_000), liquidation)
    assert liq.client_order_id is None
    loss = inverse.short_pnl_coin(D(100_000), D(50_000), liquidation)
    assert sim.margin_balance("BTC") == D(1) + loss
    assert loss == -(D("0.4") - D("0.005") * 2)  # initial margin down to maintenance (entry)
    assert [f.price for f in sim.fills()] == [D(50_000), liquidation]


@pytest.mark.parametrize("kind", ["inverse", "linear"])
@pytest.mark.parametrize("signed", [D(-1000), D(1000)])
@pytest.mark.parametrize("basis", ["entry", "mark"])
def test_liquidation_price_solves_equity_equals_maintenance(
    kind: str, signed: Decimal, basis: MaintenanceBasis
) -> None:
    size = D(1) if kind == "inverse" else D("0.001")
    market = Market("X", "BTC", "USD", "BTC" if kind == "inverse" else "USDT", kind, size)  # type: ignore[arg-type]
    entry, m = D(50_000), D("0.01")
    collateral = margin.value(market, abs(signed), entry) / 4  # 4x
    price = margin.liquidation_price(market, signed, entry, collateral, m, basis)
    assert price is not None
    equity = collateral + margin.pnl(market, signed, entry, price)
    maintenance = m * margin.value(market, abs(signed), entry if basis == "entry" else price)
    assert abs(equity - maintenance) < D("1e-20") * (1 + abs(maintenance))
    assert (price > entry) == (signed < 0)


def test_linear_usdt_perpetual(make_engine: EngineFactory) -> None:
    sim = make_engine(margin={"USDT": D(1000)}, fee_rate=D("0.001"))
    linear = Market("BTC/USDT:USDT", "BTC", "USDT", "USDT", "linear", D("0.001"))
    sim.add_market(linear)
    status = sim.create_order(order("buy", 10, "l", symbol=linear.symbol))  # 0.01 BTC
    assert status.fee == D("0.5")
    assert status.fee_currency == "USDT"
    sim.set_price("BTC", D(51_000))
    position = sim.positions([linear.symbol])[linear.symbol]
    assert (position.entry_price, position.unrealized_pnl) == (D(50_000), D(10))
    sim.advance(8 * 3600)
    (payment,) = sim.funding_payments(linear.symbol)
    assert payment.amount == -D("0.01") * D(51_000) * D("0.0001")  # the long pays
    assert payment.currency == "USDT"
    assert sim.margin_wallets()["USDT"].unrealized_pnl == D(10)


def test_dated_future_is_delivered_at_expiry(make_engine: EngineFactory) -> None:
    sim = make_engine()
    future = Market("BTC/USD:BTC-240102", "BTC", "USD", "BTC", "inverse", D(1), expiry=T0 + 32 * H)
    sim.add_market(future)
    sim.create_order(order("sell", 10_000, "f", symbol=future.symbol))
    resting = sim.create_order(order("buy", 100, "r", symbol=future.symbol, limit=40_000))
    sim.advance(40 * 3600)
    assert sim.funding_payments(future.symbol) == []  # no funding on a dated future
    (delivery,) = sim.executions(future.symbol, kinds=["delivery"])
    assert (delivery.timestamp, delivery.contracts) == (T0 + 32 * H, D(10_000))
    assert sim.positions([future.symbol])[future.symbol].contracts == 0
    assert not sim.markets()[future.symbol].active
    expired = sim.order_status(exchange_id=resting.exchange_order_id)
    assert expired is not None
    assert (expired.state, expired.reject_reason) == (OrderState.CANCELLED, "market_closed")


def test_wallet_moves_and_available_balance(make_engine: EngineFactory) -> None:
    sim = make_engine(spot={"BTC": D(2)}, margin={})
    sim.transfer("BTC", D("1.5"), "spot", "margin")
    assert sim.spot_balances() == {"BTC": D("0.5")}
    assert sim.margin_wallets()["BTC"].balance == D("1.5")
    sim.create_order(order("sell", 50_000, "s"))  # 1 BTC initial margin
    with pytest.raises(InsufficientFundsError):
        sim.transfer("BTC", D("0.6"), "margin", "spot")
    sim.transfer("BTC", D("0.5"), "margin", "spot")
    sim.deposit("ETH", D(3))
    sim.withdraw("BTC", D(1))
    with pytest.raises(InsufficientFundsError):
        sim.withdraw("BTC", D(1))
    with pytest.raises(InvalidRequestError):
        sim.deposit("BTC", D(-1))
    assert sim.spot_balances() == {"BTC": D(0), "ETH": D(3)}
    assert [(e.kind, e.coin, e.amount) for e in sim.ledger()] == [
        ("transfer", "BTC", D("1.5")),
        ("transfer", "BTC", D("0.5")),
        ("deposit", "ETH", D(3)),
        ("withdrawal", "BTC", D(1)),
    ]


def test_settings(make_engine: EngineFactory) -> None:
    sim = make_engine()
    with pytest.raises(InvalidRequestError):
        sim.set_leverage(BTC_PERP, D(0))
    sim.create_order(order("sell", 1000, "s"))
    sim.set_margin_mode(BTC_PERP, "cross")  # not modified: fine
    with pytest.raises(InvalidRequestError, match="close the position"):
        sim.set_margin_mode(BTC_PERP, "isolated")
    sim.hedge_mode = True
    assert sim.positions([BTC_PERP])[BTC_PERP].hedge_mode
    with pytest.raises(InvalidRequestError, match="cannot go back"):
        sim.set_time(T0 - H)
