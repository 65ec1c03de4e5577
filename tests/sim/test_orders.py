"""Orders: fills and fees, entry and PnL, rejections, limit orders, partial fills, lookups."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core import inverse
from bot.core.types import OrderState
from bot.sim.errors import NoSuchOrderError, OrderClosedError, RejectCode, RejectError
from tests.sim.conftest import BTC_PERP, T0, D, EngineFactory, order


def test_market_fill_charges_fee_in_coin(make_engine: EngineFactory) -> None:
    sim = make_engine(fee_rate=D("0.00055"), margin={"BTC": D(1)})
    status = sim.create_order(order("sell", 10_000, "s1"))
    assert status.state is OrderState.FILLED
    assert status.filled_contracts == D(10_000)
    assert status.average_price == D(50_000)
    assert status.fee == D("0.00055") * D(10_000) / D(50_000) == D("0.00011")
    assert status.fee_currency == "BTC"
    assert sim.margin_balance("BTC") == D(1) - D("0.00011")
    (fill,) = sim.fills(BTC_PERP)
    assert (fill.side, fill.contracts, fill.price, fill.fee) == (
        "sell",
        D(10_000),
        D(50_000),
        status.fee,
    )
    assert fill.client_order_id == "s1"
    assert fill.exchange_order_id == status.exchange_order_id
    assert fill.timestamp == T0
    position = sim.positions([BTC_PERP])[BTC_PERP]
    assert (position.contracts, position.entry_price) == (D(-10_000), D(50_000))


def test_entry_is_the_harmonic_mean_of_fills(make_engine: EngineFactory) -> None:
    sim = make_engine()
    sim.create_order(order("sell", 100_000, "a"))
    sim.set_price("BTC", D(40_000))
    sim.create_order(order("sell", 100_000, "b"))
    expected = inverse.harmonic_entry([(D(100_000), D(50_000)), (D(100_000), D(40_000))])
    position = sim.positions([BTC_PERP])[BTC_PERP]
    assert position.entry_price == expected
    assert position.entry_price == D(200_000) / D("4.5")  # 44,444.44…, not the mean 45,000
    # reducing keeps the entry
    sim.create_order(order("buy", 50_000, "c", reduce_only=True))
    assert sim.positions([BTC_PERP])[BTC_PERP].entry_price == expected


def test_example_1_1_short_gains_1_25_btc(make_engine: EngineFactory) -> None:
    """hedging-math.md Example 1.1: 250,000 USD short at 50,000; BTC falls to 40,000."""
    sim = make_engine(margin={"BTC": D(6)})
    sim.create_order(order("sell", 250_000, "hedge"))
    sim.set_price("BTC", D(40_000))
    position = sim.positions([BTC_PERP])[BTC_PERP]
    assert position.unrealized_pnl == D("1.25")
    assert sim.margin_wallets()["BTC"].equity == D("7.25")
    sim.create_order(order("buy", 250_000, "close", reduce_only=True))
    assert sim.margin_balance("BTC") == D("7.25")
    assert sim.realized_pnl(BTC_PERP) == D("1.25")
    assert sim.positions([BTC_PERP])[BTC_PERP].contracts == 0


def test_reduce_realizes_pnl_and_flip_opens_at_fill_price(make_engine: EngineFactory) -> None:
    sim = make_engine(fee_rate=D("0.001"))
    sim.create_order(order("sell", 100_000, "open"))
    sim.set_price("BTC", D(40_000))
    before = sim.margin_balance("BTC")
    sim.create_order(order("buy", 150_000, "flip"))
    realized = D(100_000) * (D(1) / D(40_000) - D(1) / D(50_000))  # 0.5 BTC on the closed part
    fee = D("0.001") * D(150_000) / D(40_000)
    assert sim.margin_balance("BTC") == before + realized - fee
    (execution,) = sim.executions(BTC_PERP, since=T0, kinds=["trade"])[1:]
    assert execution.realized_pnl == realized == D("0.5")
    assert execution.closed_contracts == D(100_000)
    position = sim.positions([BTC_PERP])[BTC_PERP]
    assert (position.contracts, position.entry_price) == (D(50_000), D(40_000))


@pytest.mark.parametrize(
    ("held", "side", "size"),
    [
        (0, "buy", 10),  # nothing to reduce
        (-100, "sell", 10),  # same side: would increase the short
        (-100, "buy", 101),  # would flip to long
    ],
)
def test_reduce_only_that_would_increase_or_flip_is_rejected(
    make_engine: EngineFactory, held: int, side: str, size: int
) -> None:
    sim = make_engine()
    if held:
        sim.create_order(order("sell", -held, "open"))
    with pytest.raises(RejectError) as caught:
        sim.create_order(order(side, size, "ro", reduce_only=True))  # type: ignore[arg-type]
    assert caught.value.code is RejectCode.REDUCE_ONLY
    assert caught.value.status is not None
    assert caught.value.status.state is OrderState.REJECTED
    assert caught.value.status.reject_reason == "reduce_only"
    assert sim.positions([BTC_PERP])[BTC_PERP].contracts == held
    assert sim.order_status(client_id="ro") == caught.value.status


def test_insufficient_balance(make_engine: EngineFactory) -> None:
    sim = make_engine(fee_rate=D("0.0005"), margin={"BTC": D(1)})
    # 1x: 50,000 USD at 50,000 needs 1 BTC of margin plus a 0.0005 BTC fee
    with pytest.raises(RejectError) as caught:
        sim.create_order(order("sell", 50_000, "big"))
    assert caught.value.code is RejectCode.INSUFFICIENT_BALANCE
    assert sim.positions([BTC_PERP])[BTC_PERP].contracts == 0
    assert sim.margin_balance("BTC") == D(1)
    sim.create_order(order("sell", 49_900, "fits"))  # 0.998 + 0.000499 BTC
    assert sim.available_balance("BTC") == D(1) - D("0.998") - D("0.000499")
    # closing needs only the fee and releases margin
    sim.create_order(order("buy", 49_900, "close", reduce_only=True))
    assert sim.available_balance("BTC") == D(1) - 2 * D("0.000499")


def test_leverage_lowers_initial_margin(make_engine: EngineFactory) -> None:
    sim = make_engine(margin={"BTC": D(1)})
    with pytest.raises(RejectError):
        sim.create_order(order("sell", 90_000, "x1"))
    sim.set_leverage(BTC_PERP, D(2))
    sim.create_order(order("sell", 90_000, "x2"))
    assert sim.available_balance("BTC") == D(1) - D("0.9")
    assert sim.positions([BTC_PERP])[BTC_PERP].leverage == D(2)


def test_duplicate_client_id_never_makes_a_second_order(make_engine: EngineFactory) -> None:
    sim = make_engine()
    first = sim.create_order(order("sell", 1_000, "same"))
    with pytest.raises(RejectError) as caught:
        sim.create_order(order("sell", 5_000, "same"))
    assert caught.value.code is RejectCode.DUPLICATE_CLIENT_ID
    assert caught.value.status is None
    assert [r.status for r in sim.order_history()] == [first]
    assert sim.positions([BTC_PERP])[BTC_PERP].contracts == D(-1_000)
    assert len(sim.fills()) == 1
    # a rejected order's client id is taken too
    with pytest.raises(RejectError):
        sim.create_order(order("buy", 1, "ro", reduce_only=True, symbol="ETH/USD:ETH"))
    with pytest.raises(RejectError) as again:
        sim.create_order(order("sell", 1, "ro"))
    assert again.value.code is RejectCode.DUPLICATE_CLIENT_ID


def test_limit_order_rests_then_fills_when_the_price_crosses(make_engine: EngineFactory) -> None:
    sim = make_engine(fee_rate=D("0.0002"), margin={"BTC": D(1)})
    status = sim.create_order(order("sell", 10_200, "lim", limit=51_000))
    assert status.state is OrderState.OPEN
    assert status.filled_contracts == 0
    reserved = D(10_200) / D(51_000) * (1 + D("0.0002"))  # 0.2 BTC margin + fee
    assert sim.available_balance("BTC") == D(1) - reserved
    assert [o.client_order_id for o in sim.open_orders([BTC_PERP])] == ["lim"]
    sim.set_price("BTC", D(50_900))
    assert sim.order_status(client_id="lim").state is OrderState.OPEN  # type: ignore[union-attr]
    sim.advance(60)
    sim.set_price("BTC", D(51_500))
    filled = sim.order_status(client_id="lim")
    assert filled is not None
    assert filled.state is OrderState.FILLED
    assert filled.average_price == D(51_000)  # at the limit, not the crossing price
    assert filled.updated_at == T0 + timedelta(seconds=60)
    (fill,) = sim.fills(BTC_PERP)
    assert fill.price == D(51_000)
    assert sim.executions()[0].is_maker
    assert sim.open_orders() == []
    loss = inverse.short_pnl_coin(D(10_200), D(51_000), D(51_500))  # unrealized, cross
    assert loss < 0
    assert sim.available_balance("BTC") == D(1) - D("0.2") * D("0.0002") - D("0.2") + loss
    # a marketable limit fills at once at the current price (taker)
    taker = sim.create_order(order("buy", 100, "take", limit=60_000))
    assert (taker.state, taker.average_price) == (OrderState.FILLED, D(51_500))


def test_post_only_that_would_take_is_rejected(make_engine: EngineFactory) -> None:
    sim = make_engine()
    with pytest.raises(RejectError) as caught:
        sim.create_order(order("buy", 100, "po", limit=50_001, post_only=True))
    assert caught.value.code is RejectCode.POST_ONLY
    assert sim.create_order(order("buy", 100, "po2", limit=49_000, post_only=True)).state is (
        OrderState.OPEN
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"contracts": "0"}, RejectCode.INVALID_AMOUNT),
        ({"contracts": "1.5"}, RejectCode.INVALID_AMOUNT),
        ({"symbol": "DOGE/USD:DOGE"}, RejectCode.UNKNOWN_SYMBOL),
        ({"limit": "0"}, RejectCode.INVALID_PRICE),
    ],
)
def test_malformed_orders_are_rejected(
    make_engine: EngineFactory, kwargs: dict[str, str], code: RejectCode
) -> None:
    sim = make_engine()
    contracts = kwargs.pop("contracts", "10")
    with pytest.raises(RejectError) as caught:
        sim.create_order(order("sell", contracts, "bad", **kwargs))  # type: ignore[arg-type]
    assert caught.value.code is code


def test_partial_fills_with_a_max_fill_fraction(make_engine: EngineFactory) -> None:
    sim = make_engine()
    status = sim.create_order(order("sell", 10, "part"), max_fill_fraction=D("0.3"))
    assert (status.state, status.filled_contracts) == (OrderState.PARTIALLY_FILLED, D(3))
    sim.advance(1)
    sim.advance(1)
    status = sim.order_status(client_id="part")  # type: ignore[assignment]
    assert (status.state, status.filled_contracts) == (OrderState.PARTIALLY_FILLED, D(9))
    sim.advance(1)
    final = sim.order_status(client_id="part")
    assert final is not None
    assert (final.state, final.filled_contracts) == (OrderState.FILLED, D(10))
    assert [f.contracts for f in sim.fills()] == [D(3), D(3), D(3), D(1)]
    # the engine-wide hook does the same for every order it returns a fraction for
    sim.fill_fraction_hook = lambda request: D("0.5") if request.contracts > 1 else None
    hooked = sim.create_order(order("sell", 4, "hooked"))
    assert hooked.filled_contracts == D(2)
    assert sim.create_order(order("sell", 1, "whole")).state is OrderState.FILLED


def test_cancel_and_lookups(make_engine: EngineFactory) -> None:
    sim = make_engine(margin={"BTC": D(1), "ETH": D(1)})
    resting = sim.create_order(order("buy", 100, "rest", limit=40_000))
    assert resting.exchange_order_id is not None
    by_id = sim.order_status(exchange_id=resting.exchange_order_id)
    assert by_id == sim.order_status(BTC_PERP, client_id="rest") == resting
    assert sim.order_status("ETH/USD:ETH", client_id="rest") is None  # other symbol
    assert sim.order_status(client_id="nope") is None
    record = sim.order_record(client_id="rest")
    assert record is not None
    assert (record.order_type, record.limit_price, record.created_at) == ("limit", D(40_000), T0)
    cancelled = sim.cancel_order(BTC_PERP, client_id="rest")
    assert cancelled.state is OrderState.CANCELLED
    with pytest.raises(OrderClosedError) as closed:
        sim.cancel_order(BTC_PERP, client_id="rest")
    assert closed.value.status == cancelled
    with pytest.raises(NoSuchOrderError):
        sim.cancel_order(BTC_PERP, client_id="unknown")
    with pytest.raises(NoSuchOrderError):
        sim.cancel_order("ETH/USD:ETH", exchange_id=resting.exchange_order_id)
    sim.create_order(order("buy", 100, "r2", limit=40_000))
    sim.create_order(order("buy", 100, "r3", limit=2_000, symbol="ETH/USD:ETH"))
    assert [s.client_order_id for s in sim.cancel_all(BTC_PERP)] == ["r2"]
    assert [s.client_order_id for s in sim.open_orders()] == ["r3"]


def test_history_keeps_every_order_and_execution(make_engine: EngineFactory) -> None:
    sim = make_engine()
    sim.create_order(order("sell", 100, "o1"))
    with pytest.raises(RejectError):
        sim.create_order(order("sell", 100, "o2", reduce_only=True))
    sim.advance(3600)
    sim.create_order(order("buy", 100, "o3", reduce_only=True))
    history = sim.order_history()
    assert [(r.status.client_order_id, r.status.state) for r in history] == [
        ("o1", OrderState.FILLED),
        ("o2", OrderState.REJECTED),
        ("o3", OrderState.FILLED),
    ]
    assert [r.status.client_order_id for r in sim.order_history(since=T0 + timedelta(hours=1))] == [
        "o3"
    ]
    later = sim.fills(BTC_PERP, since=T0 + timedelta(minutes=1))
    assert [(f.client_order_id, f.timestamp) for f in later] == [("o3", T0 + timedelta(hours=1))]
    assert len({e.exec_id for e in sim.executions()}) == 2
