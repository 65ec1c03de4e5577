"""The collateral policy (pure): top-ups, releases, conversions, caps, and what the plan may
send once they are counted. No I/O."""

from __future__ import annotations

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bot.core.collateral_policy import (
    CollateralSettings,
    apply_collateral,
    plan_collateral,
    transfer_id,
)
from bot.core.exposure import exposures
from bot.core.margin import MarginTerms, carry_capacity, coin_wallets, required_equity
from bot.core.planner import plan_hedges
from bot.core.types import CollateralUsage, HedgeTarget, MarginWallet, Position, Snapshot

from .factories import BTC, D, inverse, settings, snapshot

EXAMPLES = hsettings(max_examples=200, deadline=None)
TERMS = MarginTerms(D(5), "cross", D("0.005"), D("0.5"), D("0.001"))


def policy(**overrides: object) -> CollateralSettings:
    fields: dict[str, object] = {
        "terms": TERMS,
        "target_distance": D("0.75"),
        "release_distance": D("1.5"),
        "fund_from_spot": True,
        "convert": True,
        "max_transfer_usd": D(10**9),
        "max_convert_usd": D(10**9),
    }
    fields.update(overrides)
    return CollateralSettings(**fields)  # type: ignore[arg-type]


def sol_on_btc(margin: str, spot_btc: str, sol: str = "10000", price: str = "50000") -> Snapshot:
    """SOL at 100 hedged on the BTC inverse perp; BTC held only as margin (no BTC rule)."""
    return snapshot(
        markets={BTC: inverse(BTC, 1)},
        prices={"BTC": D(price), "SOL": 100},
        spot={"BTC": D(spot_btc), "SOL": D(sol)},
        margin={"BTC": MarginWallet("BTC", D(margin))},
    )


def targets_for(snap: Snapshot, ratio: str = "1") -> list[HedgeTarget]:
    """The SOL rule's target and the BTC margin's USD-neutral target, as the book makes them."""
    sol = (snap.spot["SOL"]) * snap.prices["SOL"] * D(ratio)
    btc = snap.margin["BTC"].balance * snap.prices["BTC"]
    return [
        HedgeTarget("SOL", BTC, D(ratio), sol, proxy=True),
        HedgeTarget("BTC", BTC, D(1), btc),
    ]


def decide_like(snap: Snapshot, settings_: CollateralSettings, usage: CollateralUsage) -> tuple:
    """plan_collateral, then the targets again on the moved snapshot (as decide() does)."""
    first = targets_for(snap)
    moves = plan_collateral(
        snap, first, exposures(snap, ["BTC", "SOL"]), settings_, usage, "k", frozenset({"BTC"})
    )
    after = apply_collateral(snap, moves.actions, settings_.terms.fee_rate)
    return moves, after, targets_for(after)


def test_top_up_moves_spot_to_reach_the_target_distance() -> None:
    snap = sol_on_btc(margin="2", spot_btc="50")  # 1,000,000 USD of SOL on 2 BTC: far short
    moves, after, targets = decide_like(snap, policy(), CollateralUsage())
    (transfer,) = moves.actions
    assert (transfer.kind, transfer.source, transfer.destination) == ("transfer", "spot", "margin")
    assert transfer.action_id == transfer_id("k", "BTC", "margin")
    wallet = coin_wallets(after, TERMS.leverage)["BTC"]
    wanted = sum((t.target_short_usd for t in targets), D(0))
    # the wallet now carries everything, at (about) the target distance of 75 %
    assert carry_capacity(wallet, TERMS) >= wanted
    at_target = MarginTerms(D(5), "cross", D("0.005"), D("0.75"), D("0.001"))
    need = required_equity(wallet, at_target, wanted) + wanted * D("0.001") / D(50000)
    assert abs(need - wallet.equity) < D("0.0001")


def test_conversion_sells_the_proxy_asset_and_shrinks_its_target() -> None:
    snap = sol_on_btc(margin="1", spot_btc="0.5")
    moves, after, targets = decide_like(snap, policy(), CollateralUsage())
    kinds = [a.kind for a in moves.actions]
    assert kinds == ["spot_sell", "spot_buy", "transfer"]
    sell, buy, transfer = moves.actions
    assert (sell.coin, sell.symbol, buy.coin, buy.symbol) == ("SOL", "SOL/USDT", "BTC", "BTC/USDT")
    assert after.spot["SOL"] == D(10000) - sell.amount
    assert transfer.amount == D("0.5") + buy.amount * (1 - TERMS.fee_rate) or (
        abs(transfer.amount - (D("0.5") + buy.amount * (1 - TERMS.fee_rate))) < D("0.00000002")
    )
    sol_target = targets[0].target_short_usd
    assert sol_target == (D(10000) - sell.amount) * 100
    wallet = coin_wallets(after, TERMS.leverage)["BTC"]
    assert carry_capacity(wallet, TERMS) >= sum((t.target_short_usd for t in targets), D(0))


def test_nothing_moves_without_the_opt_in() -> None:
    snap = sol_on_btc(margin="1", spot_btc="10")
    moves, _, _ = decide_like(snap, policy(fund_from_spot=False), CollateralUsage())
    assert moves.actions == ()


def test_release_moves_surplus_back_above_the_high_water_mark() -> None:
    # 200 BTC as margin, hedged 100 % by a BTC rule of its own: spot and margin are hedged
    # alike, so the surplus may go back to spot.
    snap = snapshot(
        markets={BTC: inverse(BTC, 1)},
        prices={"BTC": 50_000},
        spot={"BTC": D(0)},
        margin={"BTC": MarginWallet("BTC", D(200))},
    )

    def btc_rule(view: Snapshot) -> list[HedgeTarget]:
        coins = view.spot["BTC"] + view.margin["BTC"].balance
        return [HedgeTarget("BTC", BTC, D(1), coins * view.prices["BTC"])]

    moves = plan_collateral(
        snap, btc_rule(snap), exposures(snap, ["BTC"]), policy(), CollateralUsage(), "k"
    )
    (release,) = moves.actions
    assert (release.source, release.destination) == ("margin", "spot")
    after = apply_collateral(snap, moves.actions)
    wallet = coin_wallets(after, TERMS.leverage)["BTC"]
    wanted = btc_rule(after)[0].target_short_usd
    assert wanted == D(200) * 50_000  # the hedge is unchanged: spot counts like margin
    at_target = MarginTerms(D(5), "cross", D("0.005"), D("0.75"), D("0.001"))
    at_release = MarginTerms(D(5), "cross", D("0.005"), D("1.5"), D("0.001"))
    fee = wanted * D("0.001") / 50_000
    assert wallet.equity >= required_equity(wallet, at_target, wanted) + fee - D("0.00000001")
    assert wallet.equity < required_equity(wallet, at_release, wanted)
    # inside the band nothing moves: hysteresis
    again = plan_collateral(
        after, btc_rule(after), exposures(after, ["BTC"]), policy(), CollateralUsage(), "k2"
    )
    assert again.actions == ()


def test_a_neutral_margin_coin_is_never_released_to_go_unhedged() -> None:
    snap = sol_on_btc(margin="200", spot_btc="0", sol="100")  # 10,000 USD of SOL, 200 BTC
    moves, _, _ = decide_like(snap, policy(), CollateralUsage())
    assert moves.actions == ()


def test_daily_caps_bound_every_move() -> None:
    snap = sol_on_btc(margin="1", spot_btc="50")
    used = CollateralUsage(transferred_usd=D(95_000))
    moves, _, _ = decide_like(snap, policy(max_transfer_usd=D(100_000)), used)
    assert sum((a.usd_value for a in moves.actions if a.kind == "transfer"), D(0)) <= D(5_000)
    capped = policy(max_transfer_coins={"BTC": D("0.05")})
    moves, _, _ = decide_like(snap, capped, CollateralUsage())
    assert sum((a.amount for a in moves.actions if a.kind == "transfer"), D(0)) <= D("0.05")


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Snapshot, CollateralSettings, CollateralUsage]:
    price = draw(st.decimals(D(5_000), D(150_000), places=2))
    entry = draw(st.decimals(D(5_000), D(150_000), places=2))
    held = draw(st.integers(0, 3_000_000))
    margin = draw(st.decimals(D(0), D(60), places=6))
    upnl = D(held) / entry - D(held) / price if held else D(0)
    leverage = D(draw(st.sampled_from([1, 2, 3, 5, 10, 25])))
    mode = draw(st.sampled_from(["cross", "isolated"]))
    terms = MarginTerms(
        leverage, mode, D("0.005"), D(draw(st.sampled_from(["0.2", "0.5"]))), D("0.001")
    )
    positions = {}
    if held:
        positions[BTC] = Position(BTC, -D(held), entry, price, upnl, leverage)
    snap = snapshot(
        markets={BTC: inverse(BTC, 1)},
        prices={"BTC": price, "SOL": draw(st.decimals(D(1), D(500), places=2))},
        positions=positions,
        spot={
            "BTC": draw(st.decimals(D(0), D(40), places=8)),
            "SOL": D(draw(st.integers(0, 30_000))),
        },
        margin={"BTC": MarginWallet("BTC", margin, upnl)},
    )
    settings_ = CollateralSettings(
        terms=terms,
        target_distance=terms.min_distance * D("1.5"),
        release_distance=terms.min_distance * 3,
        fund_from_spot=True,
        convert=draw(st.booleans()),
        max_transfer_usd=D(draw(st.integers(1, 3_000_000))),
        max_convert_usd=D(draw(st.integers(1, 3_000_000))),
    )
    usage = CollateralUsage(transferred_usd=D(draw(st.integers(0, 200_000))))
    return snap, settings_, usage


@EXAMPLES
@given(worlds())
def test_the_plan_never_needs_more_than_the_wallet_plus_planned_transfers(
    world: tuple[Snapshot, CollateralSettings, CollateralUsage],
) -> None:
    snap, settings_, usage = world
    moves, after, targets = decide_like(snap, settings_, usage)
    terms = settings_.terms
    # moves stay within the caps and what the wallets hold
    moved_usd = sum((a.usd_value for a in moves.actions if a.kind == "transfer"), D(0))
    assert moved_usd <= max(settings_.max_transfer_usd - usage.transferred_usd, D(0)) + D("0.01")
    for action in moves.actions:
        assert action.amount > 0
        if action.kind == "transfer" and action.source == "spot":
            assert action.amount <= after.spot.get("BTC", D(0)) + action.amount
        if action.kind == "spot_sell":
            assert action.amount <= snap.spot["SOL"]
    assert min(after.spot.values(), default=D(0)) >= 0
    # the plan on the moved wallet sends no increase the wallet cannot carry
    plan = plan_hedges(targets, after, settings(band="0.02"), "p", margin=terms)
    sold = sum((o.contracts for o in plan.orders if o.side == "sell"), D(0))
    if not sold:
        return
    wallet = coin_wallets(after, terms.leverage)["BTC"]
    price = after.prices["BTC"]
    fee = sold * terms.fee_rate / price
    assert sold / (price * terms.leverage) + fee <= wallet.available * (1 + D("1e-20"))
    if terms.margin_mode == "cross":
        need = required_equity(wallet, terms, wallet.short_face + sold)
        assert need <= (wallet.equity - fee) * (1 + D("1e-20"))
