"""The replay's band check with margin terms, several owners and the collateral policy never
skips a tick on which ``plan_hedges`` or ``plan_collateral`` acts, and returns the plan's
``owned`` and shortfall when it does skip (bot.backtest.decision, bot.backtest.wallets).

Random books put the edges where the float bounds must defer: wallets near what the targets
need, owners' parts near their bands, previous parts that no longer match the short held or
that keep more than a scaled target (the planner then clamps the goal to the margin's limit),
margin coins held USD-neutral (``HedgeTarget.collateral``: judged on the instrument's whole
target, and never released to spot) beside rules on their instrument.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.backtest.decision import MarginInputs, in_band
from bot.backtest.wallets import MarginCheck, snapshot_states
from bot.core.collateral_policy import CollateralSettings, plan_collateral
from bot.core.exposure import exposures
from bot.core.margin import MarginTerms
from bot.core.planner import PlannerSettings, plan_hedges
from bot.core.types import (
    CollateralUsage,
    HedgeTarget,
    MarginWallet,
    Market,
    Position,
    Snapshot,
)

NOW = datetime(2024, 1, 1, tzinfo=UTC)
COINS = ("BTC", "ETH", "SOL")
OWNERS = ("BTC", "ETH", "SOL", "XRP")
Book = tuple[
    list[HedgeTarget], Snapshot, PlannerSettings, MarginTerms, dict[str, dict[str, Decimal]]
]


def _near(draw: st.DrawFn, value: Decimal, spread: float = 0.1) -> Decimal:
    """``value`` times 1 ± up to ``spread`` (often exactly ``value``)."""
    factor = draw(st.sampled_from([0.0, 0.001, 0.02, spread])) * draw(st.sampled_from([-1, 1]))
    return (value * Decimal(str(1 + factor))).quantize(Decimal("0.0001"))


@st.composite
def books(draw: st.DrawFn) -> Book:
    coins = draw(st.lists(st.sampled_from(COINS), min_size=1, max_size=3, unique=True))
    # margin coins without a rule, held USD-neutral on their own perp (collateral targets):
    # no other instrument has them as an owner
    neutral = set(draw(st.lists(st.sampled_from(coins), max_size=len(coins), unique=True)))
    terms = MarginTerms(
        leverage=Decimal(draw(st.sampled_from([1, 3, 10]))),
        margin_mode=draw(st.sampled_from(["cross", "cross", "isolated"])),
        maintenance_rate=Decimal("0.005"),
        min_distance=Decimal(draw(st.sampled_from(["0.1", "0.5", "1"]))),
        fee_rate=Decimal("0.00055"),
    )
    markets: dict[str, Market] = {}
    positions: dict[str, Position] = {}
    prices: dict[str, Decimal] = {"XRP": Decimal("0.5")}
    margin: dict[str, MarginWallet] = {}
    targets: list[HedgeTarget] = []
    owned: dict[str, dict[str, Decimal]] = {}
    for coin in coins:
        symbol = f"{coin}/USD:{coin}"
        size = Decimal(draw(st.sampled_from([1, 10, 100])))
        markets[symbol] = Market(symbol, coin, "USD", coin, "inverse", size)
        price = Decimal(draw(st.integers(min_value=10, max_value=90_000)))
        prices[coin] = price
        allowed = [o for o in OWNERS if o == coin or o not in neutral]
        owners = draw(st.lists(st.sampled_from(allowed), min_size=1, max_size=3, unique=True))
        parts: dict[str, Decimal] = {}
        for owner in owners:
            usd = Decimal(draw(st.integers(min_value=0, max_value=2_000_000)))
            held_neutral = owner == coin and coin in neutral
            targets.append(HedgeTarget(owner, symbol, Decimal(1), usd, collateral=held_neutral))
            parts[owner] = _near(draw, usd / size)
        wanted = sum((t.target_short_usd for t in targets if t.instrument == symbol), Decimal(0))
        held = _near(draw, sum(parts.values(), Decimal(0)), 0.3).to_integral_value()
        entry = _near(draw, price, 0.2)
        if held > 0:
            positions[symbol] = Position(
                symbol, -held, entry, mark_price=price, leverage=terms.leverage
            )
            if draw(st.booleans()):
                owned[symbol] = {o: c for o, c in parts.items() if c > 0}
        # a wallet near what the wanted short needs at the minimum distance,
        k = (Decimal(1) - 1 / (1 + terms.min_distance) + terms.maintenance_rate) / price
        need = max(wanted * k, wanted / (price * terms.leverage))
        # or well above it: a release is due for a coin with a rule of its own
        balance = _near(draw, need, 0.5) * draw(st.sampled_from([1, 1, 1, 4]))
        pnl = held * size * (1 / price - 1 / entry) if held > 0 else Decimal(0)
        margin[coin] = MarginWallet(coin, balance, pnl)
    snapshot = Snapshot(
        NOW, {"BTC": Decimal("0.3"), "SOL": Decimal(50)}, {}, margin, positions, prices, markets
    )
    planner = PlannerSettings(
        band=Decimal(draw(st.sampled_from(["0", "0.01", "0.05"]))),
        min_order_usd=Decimal(draw(st.sampled_from([0, 10, 500]))),
        max_order_usd=Decimal(10**9),
        max_total_short_usd=Decimal(10**12),
    )
    return targets, snapshot, planner, terms, owned


# What the daily caps (100,000 USD of transfers, 50,000 of conversions, 2 BTC) have counted:
# nothing, almost all (a few cents, or less than 1e-8 coin, left), or all of it.
USAGES = (
    CollateralUsage(),
    CollateralUsage(Decimal("99999.99999"), {"BTC": Decimal("1.5")}, Decimal(50_000)),
    CollateralUsage(Decimal("99999.95"), {}, Decimal("49999")),
    CollateralUsage(Decimal(100_000), {"BTC": Decimal(2)}, Decimal(0)),
    CollateralUsage(Decimal(10_000), {"BTC": Decimal("1.999999995")}, Decimal(0)),
)


@settings(max_examples=400, deadline=None)
@given(books(), st.sampled_from(["none", "spot", "convert"]), st.sampled_from(USAGES))
def test_quiet_means_nothing_to_do(book: Book, fund: str, usage: CollateralUsage) -> None:
    targets, snapshot, planner, terms, owned = book
    collateral = None
    if fund != "none":
        collateral = CollateralSettings(
            terms=terms,
            target_distance=terms.min_distance * Decimal("1.5"),
            release_distance=terms.min_distance * 3,
            fund_from_spot=True,
            convert=fund == "convert",
            max_transfer_coins={"BTC": Decimal(2)},
        )
    inputs = MarginInputs(
        MarginCheck(terms, collateral),
        snapshot_states(snapshot, terms.leverage),
        {coin: float(price) for coin, price in snapshot.prices.items()},
        usage,
    )
    check = in_band(targets, snapshot, planner, margin=inputs, owned=owned)
    plan = plan_hedges(targets, snapshot, planner, "k", margin=terms, owned=owned)
    moves = ()
    if collateral is not None:
        held = {t.asset for t in targets} | set(snapshot.margin)
        assets = sorted(a for a in held if a in snapshot.prices)
        moves = plan_collateral(
            snapshot,
            targets,
            exposures(snapshot, assets),
            collateral,
            usage,
            "k",
            _neutral_coins(targets, snapshot),
        ).actions
    if check.quiet:
        assert plan.orders == ()
        assert moves == ()
        assert check.owned == plan.owned
        assert check.shortfall == bool(plan.shortfalls)
        assert not check.outside
    if plan.orders or moves:
        assert not check.quiet


def _neutral_coins(targets: list[HedgeTarget], snapshot: Snapshot) -> frozenset[str]:
    """``bot.daemon.decide.neutral_coins`` with the rules' assets those of the targets that
    are not collateral targets: coins margining some target, without a rule of their own."""
    ruled = {t.asset for t in targets if not t.collateral}
    users = {
        snapshot.markets[t.instrument].settle
        for t in targets
        if snapshot.markets[t.instrument].is_inverse
    }
    return frozenset(users - ruled)


def test_a_neutral_margin_coin_is_judged_on_the_whole_target() -> None:
    """SOL's hedge (1,000,000 USD) and the BTC margin held USD-neutral (100,000 USD) share
    BTC/USD:BTC; the BTC part is 10 % off its own target, 0.9 % of the whole: the instrument is
    judged on its whole short, so it is inside the band whether the BTC target is collateral or
    a rule's. Neither the replay's check nor the planner's answer depends on the margin's limit
    while the instrument is inside."""
    market = Market("BTC/USD:BTC", "BTC", "USD", "BTC", "inverse", Decimal(100))
    price = Decimal(50_000)
    owned = {"BTC/USD:BTC": {"BTC": Decimal(1100), "SOL": Decimal(10_000)}}
    position = Position("BTC/USD:BTC", Decimal(-11_100), price, mark_price=price)
    snapshot = Snapshot(
        NOW,
        {},
        {},
        {"BTC": MarginWallet("BTC", Decimal(20))},
        {"BTC/USD:BTC": position},
        {"BTC": price},
        {"BTC/USD:BTC": market},
    )
    planner = PlannerSettings(Decimal("0.05"), Decimal(10), Decimal(10**9), Decimal(10**12))
    terms = MarginTerms(
        leverage=Decimal(5),
        margin_mode="cross",
        maintenance_rate=Decimal("0.005"),
        min_distance=Decimal("0.5"),
        fee_rate=Decimal("0.00055"),
    )
    inputs = MarginInputs(
        MarginCheck(terms, None),
        snapshot_states(snapshot, terms.leverage),
        {"BTC": float(price)},
    )
    for held_neutral, quiet in ((True, True), (False, True)):
        targets = [
            HedgeTarget("SOL", "BTC/USD:BTC", Decimal("1.3"), Decimal(1_000_000)),
            HedgeTarget(
                "BTC", "BTC/USD:BTC", Decimal(1), Decimal(100_000), collateral=held_neutral
            ),
        ]
        check = in_band(targets, snapshot, planner, margin=inputs, owned=owned)
        plan = plan_hedges(targets, snapshot, planner, "k", margin=terms, owned=owned)
        assert check.quiet is quiet
        assert (plan.orders == ()) is quiet
        if quiet:
            assert check.owned == plan.owned == owned
