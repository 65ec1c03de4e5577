"""Collateral is exposure (hedging-math.md §2, Example 2.2)."""

from __future__ import annotations

from bot.core.planner import aggregate_targets, plan_hedges
from bot.core.types import MarginWallet
from strategies.book import evaluate_book
from strategies.collateral import collateral_targets
from strategies.ratio import RatioRule
from tests.core.factories import BTC, ETH, SOL, inverse, settings, snapshot

from .helpers import D, beta_rule, estimate, exposure, inputs, markets

SOL_BTC = {("SOL", "BTC"): estimate(1.4, 0.8)}


def test_example_2_2_btc_short_is_177000_usd() -> None:
    book = inputs(
        [exposure("SOL", 1_000, 150), exposure("BTC", 0, 60_000, collateral="0.5")],
        markets(inverse(BTC, 100)),
        SOL_BTC,
    )
    result = evaluate_book([beta_rule("SOL", hedge_with="BTC")], book)
    assert [(t.asset, t.instrument, t.target_short_usd) for t in result.targets] == [
        ("SOL", BTC, D(147_000)),  # 0.7 × 150,000 × 1.4
        ("BTC", BTC, D(30_000)),  # 1 × 0.5 × 60,000: the margin held USD-neutral
    ]
    assert aggregate_targets(result.targets) == {BTC: 177_000}
    collateral = result.targets[1]
    assert (collateral.ratio, collateral.beta, collateral.proxy) == (D(1), D(1), False)
    assert "margins the hedge of SOL" in collateral.reason
    wallet = MarginWallet("BTC", D("0.5"))
    snap = snapshot(
        markets=book.markets, prices={"BTC": 60_000, "SOL": 150}, margin={"BTC": wallet}
    )
    plan = plan_hedges(result.targets, snap, settings(), "example-2-2")
    assert [(o.symbol, o.side, o.contracts) for o in plan.orders] == [(BTC, "sell", D(1_770))]


def test_a_coin_with_its_own_rule_is_hedged_by_that_rule_only() -> None:
    # BTC's exposure (spot 2 + margin 0.5) already includes the margin: the rule hedges it.
    btc_rule = RatioRule("BTC", D("0.5"), BTC)
    book = inputs(
        [exposure("SOL", 1_000, 150), exposure("BTC", 2, 60_000, collateral="0.5")],
        markets(inverse(BTC, 100)),
        SOL_BTC,
    )
    result = evaluate_book([beta_rule("SOL", hedge_with="BTC"), btc_rule], book)
    assert [(t.asset, t.target_short_usd) for t in result.targets] == [
        ("SOL", D(147_000)),
        ("BTC", D(75_000)),  # 0.5 × 2.5 × 60,000; no extra collateral target
    ]


def test_collateral_ignore_leaves_the_margin_unhedged() -> None:
    book = inputs(
        [exposure("SOL", 1_000, 150), exposure("BTC", 0, 60_000, collateral="0.5")],
        markets(inverse(BTC, 100)),
        SOL_BTC,
    )
    result = evaluate_book([beta_rule("SOL", hedge_with="BTC", collateral="ignore")], book)
    assert aggregate_targets(result.targets) == {BTC: 147_000}
    # The book-wide default applies to margin coins that margin no rule's hedge.
    idle = inputs([exposure("ETH", 0, 3_000, collateral=2)], markets(inverse(ETH, 10)))
    assert aggregate_targets(evaluate_book([], idle).targets) == {ETH: 6_000}
    assert evaluate_book([], idle, default_collateral="ignore").targets == ()


def test_stablecoins_skipped_and_unhedgeable_margin_reported() -> None:
    result = collateral_targets(
        {
            "USDT": exposure("USDT", 0, 1, collateral=5_000),
            "XRP": exposure("XRP", 0, "0.5", collateral=1_000),
        },
        [],
        markets(inverse(SOL, 10)),
    )
    assert result.targets == ()
    (event,) = result.events
    assert (event.kind, event.asset, event.values["exposure_usd"]) == (
        "collateral_unhedged",
        "XRP",
        "500.0",
    )
