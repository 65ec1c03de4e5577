"""The replay's band pre-check never skips a plan that has an order (bot.backtest.decision)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.backtest.decision import in_band
from bot.core.planner import PlannerSettings, plan_hedges
from bot.core.types import HedgeTarget, Market, Position, Snapshot

NOW = datetime(2024, 1, 1, tzinfo=UTC)
SIZES = (Decimal(1), Decimal(10), Decimal(100))
MONEY = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False)


@st.composite
def books(draw: st.DrawFn) -> tuple[list[HedgeTarget], Snapshot, PlannerSettings]:
    coins = draw(st.lists(st.sampled_from(["BTC", "ETH", "SOL"]), min_size=1, unique=True))
    markets: dict[str, Market] = {}
    positions: dict[str, Position] = {}
    prices: dict[str, Decimal] = {}
    targets: list[HedgeTarget] = []
    for coin in coins:
        symbol = f"{coin}/USD:{coin}"
        markets[symbol] = Market(
            symbol,
            coin,
            "USD",
            coin,
            "inverse",
            draw(st.sampled_from(SIZES)),
            min_contracts=Decimal(draw(st.sampled_from([1, 5]))),
        )
        price = draw(st.decimals(min_value=1, max_value=100_000, places=2))
        prices[coin] = price
        target = draw(MONEY)
        # Current short near the target, to hit the band edge often.
        size = markets[symbol].contract_size
        near = int(target / size) + draw(st.integers(min_value=-200, max_value=200))
        contracts = (
            -Decimal(max(near, 0))
            if draw(st.booleans())
            else -draw(st.integers(min_value=0, max_value=10**6))
        )
        positions[symbol] = Position(symbol, Decimal(contracts), price, mark_price=price)
        for _ in range(draw(st.integers(min_value=1, max_value=2))):
            share = draw(st.decimals(min_value=0, max_value=1, places=3))
            targets.append(HedgeTarget(coin, symbol, Decimal(1), target * share))
    snapshot = Snapshot(NOW, {}, {}, {}, positions, prices, markets)
    planner = PlannerSettings(
        band=draw(
            st.sampled_from([Decimal(0), Decimal("0.001"), Decimal("0.02"), Decimal("0.05")])
        ),
        min_order_usd=draw(st.sampled_from([Decimal(0), Decimal(10), Decimal(500)])),
        max_order_usd=Decimal(10**9),
        max_total_short_usd=Decimal(10**12),
    )
    return targets, snapshot, planner


@settings(max_examples=200, deadline=None)
@given(books())
def test_quiet_means_no_order(book: tuple[list[HedgeTarget], Snapshot, PlannerSettings]) -> None:
    targets, snapshot, planner = book
    check = in_band(targets, snapshot, planner)
    held = {symbol: p.contracts for symbol, p in snapshot.positions.items()}
    assert in_band(targets, snapshot, planner, held) == check  # the replay's path
    plan = plan_hedges(targets, snapshot, planner, "k")
    if check.quiet:
        assert plan.orders == ()
        assert not check.outside
    if not plan.orders:
        return
    assert not check.quiet


def test_a_long_or_an_unknown_position_is_never_quiet() -> None:
    market = Market("BTC/USD:BTC", "BTC", "USD", "BTC", "inverse", Decimal(1))
    price = Decimal(50_000)
    long = Position(market.symbol, Decimal(3), price, mark_price=price)
    snap = Snapshot(NOW, {}, {}, {}, {market.symbol: long}, {"BTC": price}, {market.symbol: market})
    target = [HedgeTarget("BTC", market.symbol, Decimal(1), Decimal(0))]
    planner = PlannerSettings(Decimal("0.05"), Decimal(0), Decimal(10**9), Decimal(10**12))
    assert not in_band(target, snap, planner).quiet
    unknown = Snapshot(
        NOW,
        {},
        {},
        {},
        {},
        {"BTC": price},
        {market.symbol: market},
        unknown_positions=frozenset({market.symbol}),
    )
    assert not in_band(target, unknown, planner).quiet
