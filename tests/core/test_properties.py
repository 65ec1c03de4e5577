"""Properties of sizing and planning, checked with hypothesis on random books."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.exposure import face_usd, short_contracts
from bot.core.planner import PlannerSettings, plan_hedges
from bot.core.sizing import contracts_for_usd
from bot.core.types import HedgeTarget, Market, Plan, Position, Snapshot

from .factories import BTC, BTC_LINEAR, ETH, inverse, linear, position, snapshot

EXAMPLES = settings(max_examples=200, deadline=None)

SIZING_MARKETS = [
    inverse(BTC, 1),
    inverse(BTC, 10),
    inverse(BTC, 100),
    inverse(BTC, 100, step=5, min_contracts=5),
    inverse(BTC, 10, min_contracts=7),
    linear(contract_size="0.001"),
    linear(contract_size="1", step="0.001", min_contracts="0.001"),
]


def money(low: str, high: str) -> st.SearchStrategy[Decimal]:
    """USD amounts or prices with 2 decimal places, like the exchange and the config give."""
    return st.decimals(Decimal(low), Decimal(high), places=2)


@EXAMPLES
@given(st.sampled_from(SIZING_MARKETS), money("0", "10000000"), money("0.01", "200000"))
def test_rounding_never_over_hedges(market: Market, usd: Decimal, price: Decimal) -> None:
    contracts = contracts_for_usd(market, usd, price)
    assert face_usd(market, contracts, price) <= usd
    assert contracts % market.amount_step == 0
    if contracts > 0:
        assert contracts >= market.min_contracts
        # It is the largest such count: one more step would over-hedge.
        assert face_usd(market, contracts + market.amount_step, price) > usd


@dataclass(frozen=True)
class Book:
    targets: list[HedgeTarget]
    snapshot: Snapshot


@st.composite
def books(draw: st.DrawFn) -> Book:
    """Two inverse and one linear instrument with random targets, positions and prices."""
    prices = {"BTC": draw(money("1000", "150000")), "ETH": draw(money("50", "10000"))}
    markets = {
        BTC: inverse(BTC, draw(st.sampled_from([1, 10, 100]))),
        ETH: inverse(ETH, draw(st.sampled_from([1, 10]))),
        BTC_LINEAR: linear(contract_size="0.001"),
    }
    targets: list[HedgeTarget] = []
    positions: dict[str, Position] = {}
    for symbol in markets:
        if draw(st.booleans()):
            usd = draw(money("0", "3000000"))
            part = draw(money("0", "1")) * usd
            for asset, amount in (("A", usd - part), ("B", part)):
                targets.append(HedgeTarget(asset, symbol, Decimal(1), amount))
        if draw(st.booleans()):
            mark = draw(st.none() | money("50", "150000"))
            short = draw(st.integers(-2_000, 60_000))
            positions[symbol] = position(symbol, short, mark=mark)
    return Book(targets, snapshot(markets=markets, prices=prices, positions=positions))


def price_of(snap: Snapshot, symbol: str) -> Decimal:
    held = snap.positions.get(symbol)
    if held is not None and held.mark_price is not None:
        return held.mark_price
    return snap.prices[snap.markets[symbol].base]


def shorts_after(plan: Plan, snap: Snapshot) -> dict[str, Decimal]:
    """Short contracts per symbol once every planned order fills."""
    held = {symbol: short_contracts(p) for symbol, p in snap.positions.items()}
    for order in plan.orders:
        change = order.contracts if order.side == "sell" else -order.contracts
        held[order.symbol] = held.get(order.symbol, Decimal(0)) + change
    return held


def total_short_usd(snap: Snapshot, shorts: dict[str, Decimal]) -> Decimal:
    return sum(
        (
            face_usd(snap.markets[s], max(c, Decimal(0)), price_of(snap, s))
            for s, c in shorts.items()
        ),
        Decimal(0),
    )


BANDS = st.sampled_from([Decimal(b) for b in ("0", "0.005", "0.02", "0.05", "0.1")])
planner_settings = st.builds(
    PlannerSettings,
    band=BANDS,
    min_order_usd=money("0", "20000"),
    max_order_usd=money("50", "2000000"),
    max_total_short_usd=money("1", "8000000"),
    oversize=st.sampled_from(["split", "clamp"]),
)


@EXAMPLES
@given(books(), planner_settings)
def test_trims_never_flip_the_position_long(book: Book, limits: PlannerSettings) -> None:
    plan = plan_hedges(book.targets, book.snapshot, limits, "prop")
    for symbol in {o.symbol for o in plan.orders}:
        current = short_contracts(book.snapshot.positions.get(symbol))
        orders = [o for o in plan.orders if o.symbol == symbol]
        buys = [o for o in orders if o.side == "buy"]
        assert all(o.reduce_only for o in buys)
        assert sum((o.contracts for o in buys), Decimal(0)) <= max(current, Decimal(0))
        closing = [o for o in orders if o.side == "sell" and o.reduce_only]
        assert sum((o.contracts for o in closing), Decimal(0)) <= max(-current, Decimal(0))
    # A flat or short position never ends long; a long (closed first, maybe clamped) only shrinks.
    after = shorts_after(plan, book.snapshot)
    for symbol, held in after.items():
        current = short_contracts(book.snapshot.positions.get(symbol))
        assert held >= min(current, Decimal(0))


@EXAMPLES
@given(books(), planner_settings)
def test_plan_is_deterministic(book: Book, limits: PlannerSettings) -> None:
    first = plan_hedges(book.targets, book.snapshot, limits, "prop")
    assert first == plan_hedges(book.targets, book.snapshot, limits, "prop")
    snap = book.snapshot
    shuffled = Snapshot(
        taken_at=snap.taken_at,
        spot=snap.spot,
        static=snap.static,
        margin=snap.margin,
        positions=dict(reversed(list(snap.positions.items()))),
        prices=dict(reversed(list(snap.prices.items()))),
        markets=dict(reversed(list(snap.markets.items()))),
    )
    assert first == plan_hedges(list(reversed(book.targets)), shuffled, limits, "prop")


@EXAMPLES
@given(books(), BANDS)
def test_executing_the_plan_lands_within_the_band(book: Book, band: Decimal) -> None:
    uncapped = PlannerSettings(band, Decimal(0), Decimal(10**12), Decimal(10**15), "split")
    plan = plan_hedges(book.targets, book.snapshot, uncapped, "prop")
    after = shorts_after(plan, book.snapshot)
    for hedge in plan.hedges:
        market = book.snapshot.markets[hedge.instrument]
        price = price_of(book.snapshot, hedge.instrument)
        resulting_usd = face_usd(market, after.get(hedge.instrument, Decimal(0)), price)
        step_usd = face_usd(market, market.amount_step, price)
        tolerance = hedge.target_short_usd * band + step_usd
        assert abs(hedge.target_short_usd - resulting_usd) <= tolerance


@EXAMPLES
@given(books(), planner_settings)
def test_caps_hold(book: Book, limits: PlannerSettings) -> None:
    snap = book.snapshot
    plan = plan_hedges(book.targets, snap, limits, "prop")
    for order in plan.orders:
        market, price = snap.markets[order.symbol], price_of(snap, order.symbol)
        assert face_usd(market, order.contracts, price) <= limits.max_order_usd
    before = total_short_usd(snap, {s: short_contracts(p) for s, p in snap.positions.items()})
    after = total_short_usd(snap, shorts_after(plan, snap))
    assert after <= max(limits.max_total_short_usd, before)
    if any(not o.reduce_only for o in plan.orders):
        assert after <= limits.max_total_short_usd


OWNERS = st.lists(
    st.decimals(Decimal("0.01"), Decimal("1000000"), places=6), min_size=1, max_size=9
)


@EXAMPLES
@given(st.decimals(Decimal("1"), Decimal("100000000"), places=3), OWNERS, st.booleans())
def test_owner_shares_sum_to_the_short_and_stay_put(
    held: Decimal, weights: list[Decimal], from_targets: bool
) -> None:
    """The parts of a short add up to it exactly, each within a trillionth of a contract per
    owner of its proportional share; split again with that split as the previous one, the
    same short gives the same parts (no drift over a long quiet run)."""
    from bot.core.ownership import owner_shares

    named = {f"rule{i}": weight for i, weight in enumerate(weights)}
    first = owner_shares(held, named if from_targets else {}, {} if from_targets else named)
    assert sum(first.values()) == held
    total = sum(weights)
    for owner, weight in named.items():
        assert abs(first[owner] - held * weight / total) <= Decimal("1e-12") * len(weights)
    kept = {owner: part for owner, part in sorted(first.items()) if part > 0}
    assert owner_shares(held, named, kept) == kept
