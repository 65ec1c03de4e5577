"""kind: beta — the worked examples of hedging-math.md §3 with their exact numbers, and more."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.exposure import exposures
from bot.core.planner import aggregate_targets, plan_hedges
from bot.core.sizing import contracts_for_usd
from bot.core.types import HedgeTarget
from strategies.base import (
    HedgeRule,
    RuleInputs,
    collect_requests,
    evaluate_rule,
    rule_instruments,
)
from strategies.beta_gating import Gating
from strategies.book import evaluate_book
from strategies.ratio import RatioRule
from strategies.requests import is_due
from strategies.state import RuleState
from strategies.windows import VolTrigger
from tests.core.factories import BTC, BTC_LINEAR, ETH, SOL, inverse, linear, settings, snapshot

from .helpers import NOW, D, beta_rule, estimate, exposure, inputs, markets

NVC_ETH = ("NVC", "ETH")


def only(targets: tuple[HedgeTarget, ...] | list[HedgeTarget]) -> HedgeTarget:
    (target,) = targets
    return target


def test_example_3_1_multiply_by_beta_never_divide() -> None:
    rule = beta_rule("NVC", hedge_with="ETH")
    book = inputs(
        [exposure("NVC", 10_000, "1.00")], markets(inverse(ETH, 10)), {NVC_ETH: estimate(1.8, 0.9)}
    )
    target = only(rule.evaluate(book).targets)
    assert target.target_short_usd == 12_600
    assert target.target_short_usd != D("3888.89")  # the guide's division
    assert (target.instrument, target.beta, target.rho, target.proxy) == (
        ETH,
        D("1.8"),
        D("0.9"),
        True,
    )
    assert target.ratio == D("0.7")
    # 63 contracts of 200 USD; 1,260 of 10 USD.
    assert contracts_for_usd(inverse(ETH, 200), target.target_short_usd, D(3000)) == 63
    assert contracts_for_usd(inverse(ETH, 10), target.target_short_usd, D(3000)) == 1_260


def test_example_3_1_pnl_covers_the_asked_fraction_of_the_loss() -> None:
    short_usd = D(12_600)
    nvc_loss = D(10_000) * D("0.15")
    short_gain = short_usd * D("0.0833")
    assert nvc_loss == 1_500
    assert short_gain == D("1049.58")  # ≈ 1,050 USD: 70 % of the loss
    assert (short_gain / nvc_loss).quantize(D("0.01")) == D("0.70")


def test_example_3_2_own_perp_beats_any_proxy() -> None:
    rule = beta_rule("SOL")  # hedge_with: auto
    betas = {("SOL", "BTC"): estimate(1.4, 0.95), ("SOL", "ETH"): estimate(1.1, 0.97)}
    book = inputs([exposure("SOL", 1_000, 150)], markets(inverse(SOL, 10), inverse(BTC)), betas)
    target = only(rule.evaluate(book).targets)
    assert (target.instrument, target.target_short_usd) == (SOL, D(105_000))
    assert (target.beta, target.rho, target.proxy) == (D(1), None, False)


def test_auto_picks_the_listed_proxy_with_the_highest_rho() -> None:
    rule = beta_rule("SOL", candidates=("BTC", "ETH"))
    betas = {("SOL", "BTC"): estimate(1.4, 0.75), ("SOL", "ETH"): estimate(1.1, 0.80)}
    listed = markets(inverse(BTC), inverse(ETH, 10))
    target = only(rule.evaluate(inputs([exposure("SOL", 1_000, 150)], listed, betas)).targets)
    assert (target.instrument, target.beta, target.rho) == (ETH, D("1.1"), D("0.8"))
    assert target.target_short_usd == D("0.7") * 150_000 * D("1.1")
    # ETH not listed: BTC, even with the lower rho.
    only_btc = inputs([exposure("SOL", 1_000, 150)], markets(inverse(BTC)), betas)
    assert only(rule.evaluate(only_btc).targets).instrument == BTC


def test_incumbent_proxy_kept_unless_beaten_by_more_than_the_switch_margin() -> None:
    rule = beta_rule("SOL")
    listed = markets(inverse(BTC), inverse(ETH, 10))
    state = {"SOL": RuleState(instrument=BTC)}
    close = {("SOL", "BTC"): estimate(1.4, 0.80), ("SOL", "ETH"): estimate(1.1, 0.82)}
    kept = rule.evaluate(inputs([exposure("SOL", 1, 150)], listed, close, states=state))
    assert [t.instrument for t in kept.targets] == [BTC]
    far = {("SOL", "BTC"): estimate(1.4, 0.80), ("SOL", "ETH"): estimate(1.1, 0.83)}
    moved = rule.evaluate(inputs([exposure("SOL", 1, 150)], listed, far, states=state))
    # The new proxy gets the target and the old one an explicit 0 in the same tick.
    assert [(t.instrument, t.target_short_usd) for t in moved.targets] == [
        (ETH, D("0.7") * 150 * D("1.1")),
        (BTC, 0),
    ]
    assert moved.state == RuleState(instrument=ETH)


@pytest.mark.parametrize(
    ("state", "age"),
    [("insufficient_data", timedelta(hours=1)), ("stale", timedelta(hours=100))],
)
def test_unusable_beta_gives_no_hedge_and_an_event_never_beta_one(
    state: str, age: timedelta
) -> None:
    rule = beta_rule("SOL", hedge_with="BTC")
    est = estimate(None, None, state="stale" if state == "stale" else "insufficient_data", age=age)
    result = rule.evaluate(
        inputs([exposure("SOL", 1_000, 150)], markets(inverse(BTC)), {("SOL", "BTC"): est})
    )
    assert [(t.instrument, t.target_short_usd) for t in result.targets] == [(BTC, D(0))]
    (event,) = result.events
    assert (event.kind, event.severity, event.asset) == ("beta_unavailable", "critical", "SOL")
    assert state in event.message


def test_ok_estimate_too_old_at_use_time_is_stale() -> None:
    rule = beta_rule("SOL", hedge_with="BTC")
    old = estimate(1.4, 0.9, age=timedelta(hours=49))  # max_age is 48 h
    result = rule.evaluate(
        inputs([exposure("SOL", 1, 150)], markets(inverse(BTC)), {("SOL", "BTC"): old})
    )
    assert [t.target_short_usd for t in result.targets] == [0]
    assert "stale" in result.events[0].message
    missing = rule.evaluate(inputs([exposure("SOL", 1, 150)], markets(inverse(BTC))))
    assert "no estimate" in missing.events[0].message


def test_auto_without_any_usable_estimate_lifts_the_previous_hedge() -> None:
    rule = beta_rule("SOL")
    result = rule.evaluate(
        inputs(
            [exposure("SOL", 1, 150)],
            markets(inverse(BTC), inverse(ETH, 10)),
            {("SOL", "BTC"): estimate(None, None, state="insufficient_data")},
            states={"SOL": RuleState(instrument=BTC)},
        )
    )
    assert [(t.instrument, t.target_short_usd) for t in result.targets] == [(BTC, D(0))]
    assert result.events[0].kind == "beta_unavailable"
    assert "BTC: insufficient_data" in result.events[0].message
    assert "ETH: no estimate" in result.events[0].message


def test_low_rho_tapers_the_proxy_with_an_event_or_hedges_anyway() -> None:
    """ρ 0.6 is half-way down the taper from the floor 0.7 to 0.5: half the hedge is kept."""
    betas = {("SOL", "BTC"): estimate(1.4, 0.6)}
    book = inputs([exposure("SOL", 1_000, 150)], markets(inverse(BTC)), betas)
    tapered = beta_rule("SOL", rho_floor=D("0.7")).evaluate(book)
    assert [(t.instrument, t.target_short_usd) for t in tapered.targets] == [(BTC, D(73_500))]
    (event,) = tapered.events
    assert (event.kind, event.severity, event.instrument) == ("low_rho", "warning", BTC)
    assert event.values["rho"] == "0.6"
    assert event.values["rho_floor"] == "0.7"
    low = {("SOL", "BTC"): estimate(1.4, 0.45)}
    book_low = inputs([exposure("SOL", 1_000, 150)], markets(inverse(BTC)), low)
    bottom = beta_rule("SOL", rho_floor=D("0.7")).evaluate(book_low)
    assert only(bottom.targets).target_short_usd == 0
    anyway = beta_rule("SOL", rho_floor=D("0.7"), on_low_rho="hedge_anyway").evaluate(book)
    assert only(anyway.targets).target_short_usd == 147_000
    assert [(e.kind, e.severity) for e in anyway.events] == [("low_rho", "warning")]


def test_negative_beta_is_no_hedge() -> None:
    rule = beta_rule("SOL", hedge_with="BTC", on_low_rho="hedge_anyway")
    book = inputs(
        [exposure("SOL", 1, 150)], markets(inverse(BTC)), {("SOL", "BTC"): estimate(-0.5, -0.3)}
    )
    result = rule.evaluate(book)
    assert only(result.targets).target_short_usd == 0
    assert [e.kind for e in result.events] == ["low_rho", "negative_beta"]


def test_missing_instrument_is_an_event() -> None:
    result = beta_rule("SOL", hedge_with="XRP/USD:XRP").evaluate(
        inputs([exposure("SOL", 1, 150)], {})
    )
    assert result.targets == ()
    assert [(e.kind, e.instrument) for e in result.events] == [
        ("instrument_missing", "XRP/USD:XRP")
    ]


def test_linear_perp_target_and_contracts() -> None:
    rule = beta_rule("SOL", hedge_with="BTC", contract="linear_perp")
    book = inputs(
        [exposure("SOL", 1_000, 150)],
        markets(linear(BTC_LINEAR, "0.001")),
        {("SOL", "BTC"): estimate(1.4, 0.8)},
    )
    target = only(rule.evaluate(book).targets)
    assert (target.instrument, target.target_short_usd) == (BTC_LINEAR, D(147_000))
    # 147,000 USD / (0.001 BTC × 60,000 USD) = 2,450 contracts.
    assert (
        contracts_for_usd(linear(BTC_LINEAR, "0.001"), target.target_short_usd, D(60_000)) == 2_450
    )


def test_two_assets_hedged_with_btc_sum_into_one_btc_short() -> None:
    sol, avax = beta_rule("SOL"), beta_rule("AVAX", ratio="0.5")
    betas = {("SOL", "BTC"): estimate(1.4, 0.75), ("AVAX", "BTC"): estimate(1.38, 0.72)}
    listed = markets(inverse(BTC, 100))
    book = inputs([exposure("SOL", 1_000, 150), exposure("AVAX", 2_000, 25)], listed, betas)
    targets = [t for rule in (sol, avax) for t in evaluate_rule(rule, book).targets]
    assert [t.target_short_usd for t in targets] == [147_000, D("34500.00")]
    assert aggregate_targets(targets) == {BTC: D("181500.00")}
    snap = snapshot(markets=listed, prices={"BTC": 60_000, "SOL": 150, "AVAX": 25})
    plan = plan_hedges(targets, snap, settings(), "two-assets")
    assert [(h.instrument, h.target_contracts) for h in plan.hedges] == [(BTC, D(1_815))]
    assert [(o.symbol, o.side, o.contracts) for o in plan.orders] == [(BTC, "sell", D(1_815))]


def test_requests_and_instruments_tell_the_daemon_what_to_fetch() -> None:
    rule = beta_rule("SOL", candidates=("BTC", "ETH"))
    assert [(r.asset, r.hedge, r.key) for r in rule.beta_requests()] == [
        ("SOL", "BTC", ("SOL", "BTC")),
        ("SOL", "ETH", ("SOL", "ETH")),
    ]
    assert rule.beta_requests()[0].params.candles_needed == 722
    listed = markets(inverse(BTC), inverse(ETH, 10))
    assert rule_instruments(rule, listed, NOW) == (BTC, ETH)
    assert rule_instruments(beta_rule("BTC"), listed, NOW) == (BTC, ETH)  # own first
    assert beta_rule("BTC", hedge_with="BTC").beta_requests() == ()
    assert rule.vol_requests() == ()


def test_rule_needs_a_clock() -> None:
    book = inputs([exposure("SOL", 1, 150)], markets(inverse(SOL, 10)))
    with pytest.raises(ValueError, match=r"needs RuleInputs\.now"):
        beta_rule("SOL").evaluate(type(book)(book.exposures, book.markets))


@given(
    k=st.integers(min_value=1, max_value=10**4),  # with the inputs below: <= 26 digits, exact
    sol=st.decimals(min_value=0, max_value=10**6, places=4),
    avax=st.decimals(min_value=0, max_value=10**6, places=4),
    btc_margin=st.decimals(min_value=0, max_value=100, places=8),
)
def test_scaling_holdings_by_k_scales_every_target_by_k(
    k: int, sol: Decimal, avax: Decimal, btc_margin: Decimal
) -> None:
    rules = [beta_rule("SOL"), beta_rule("AVAX", ratio="0.5", hedge_with="ETH")]
    betas = {("SOL", "BTC"): estimate(1.4111, 0.733), ("SOL", "ETH"): estimate(1.077, 0.7447)}
    betas[("AVAX", "ETH")] = estimate(1.087, 0.7544)
    listed = markets(inverse(BTC), inverse(ETH, 10))

    def targets(scale: int) -> list[Decimal]:
        held = [
            exposure("SOL", sol * scale, "151.37"),
            exposure("AVAX", avax * scale, "24.91"),
            exposure("BTC", 0, "60123.5", collateral=btc_margin * scale),
        ]
        return [
            t.target_short_usd for t in evaluate_book(rules, inputs(held, listed, betas)).targets
        ]

    base, scaled = targets(1), targets(k)
    assert len(base) == len(scaled) >= 2
    assert scaled == [k * usd for usd in base]


def test_incumbent_below_the_floor_does_not_block_a_better_proxy() -> None:
    rule = beta_rule("SOL", rho_floor=D("0.7"))
    listed = markets(inverse(BTC), inverse(ETH, 10))
    betas = {("SOL", "BTC"): estimate(1.4, 0.69), ("SOL", "ETH"): estimate(1.1, 0.71)}
    state = {"SOL": RuleState(instrument=BTC)}
    result = rule.evaluate(inputs([exposure("SOL", 1, 150)], listed, betas, states=state))
    assert [(t.instrument, t.target_short_usd > 0) for t in result.targets] == [
        (ETH, True),
        (BTC, False),
    ]
    assert result.events == ()


def test_daemon_helpers_collect_requests_and_build_inputs() -> None:
    gated = replace(beta_rule("AVAX"), gating=Gating(vol_trigger=VolTrigger(1.2, 0.8)))
    rules: list[HedgeRule] = [RatioRule("BTC", D(1), BTC), beta_rule("SOL"), gated]
    betas, vols = collect_requests(rules)
    assert [r.key for r in betas] == [
        ("SOL", "BTC"),
        ("SOL", "ETH"),
        ("AVAX", "BTC"),
        ("AVAX", "ETH"),
    ]
    assert [(v.coin, v.window, v.candles_needed) for v in vols] == [("AVAX", 24, 26)]
    assert is_due(betas[0], None, NOW)
    assert not is_due(betas[0], estimate(1.4, 0.8, now=NOW), NOW + timedelta(minutes=59))
    assert is_due(betas[0], estimate(1.4, 0.8, now=NOW), NOW + timedelta(hours=1))
    snap = snapshot(markets=markets(inverse(SOL, 10)), prices={"SOL": 150}, spot={"SOL": D(2)})
    built = RuleInputs.from_snapshot(snap, exposures(snap, ["SOL"]))
    assert built.now == snap.taken_at
    assert only(beta_rule("SOL").evaluate(built).targets).target_short_usd == 210


def test_a_rule_evaluated_tick_after_tick_answers_as_a_fresh_one() -> None:
    """The rule remembers its last proxy choice per estimate: a new estimate (another object,
    even with equal values), a new proxy or a ρ under the floor must each be seen at once."""
    rule = beta_rule("NVC", hedge_with="auto", rho_floor=D("0.8"))
    listed = markets(inverse(ETH, 10), inverse(BTC, 100))
    ticks = [
        {NVC_ETH: estimate(1.8, 0.9), ("NVC", "BTC"): estimate(1.2, 0.85)},
        {NVC_ETH: estimate(1.8, 0.9), ("NVC", "BTC"): estimate(1.2, 0.85)},  # equal, new objects
        {NVC_ETH: estimate(1.5, 0.7), ("NVC", "BTC"): estimate(1.2, 0.85)},  # ETH under floor
        {NVC_ETH: estimate(1.5, 0.7), ("NVC", "BTC"): estimate(1.3, 0.75)},  # both under
        {NVC_ETH: estimate(2.0, 0.95), ("NVC", "BTC"): estimate(1.3, 0.75)},
    ]
    state: RuleState | None = None
    seen = []
    for betas in ticks:
        states = {} if state is None else {"NVC": state}
        book = inputs([exposure("NVC", 10_000, "1.00")], listed, betas, states=states)
        ours = rule.evaluate(book)
        assert ours == beta_rule("NVC", hedge_with="auto", rho_floor=D("0.8")).evaluate(book)
        state = ours.state
        seen.append({(t.instrument, t.target_short_usd) for t in ours.targets})
    assert seen == [
        {(ETH, D("12600.0"))},
        {(ETH, D("12600.0"))},
        {(BTC, D("8400.0")), (ETH, D(0))},  # moved to BTC: ETH lifted
        {(BTC, D("6825.000000"))},  # no proxy clears the floor: BTC, the best, tapered to 75 %
        {(ETH, D("14000.0")), (BTC, D(0))},
    ]
