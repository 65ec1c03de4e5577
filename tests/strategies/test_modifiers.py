"""The funding modifier: a hysteresis state machine (hedging-math.md §5 for the sign)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.core.types import FundingRate
from strategies.modifiers import (
    FundingModifierParams,
    FundingModifierState,
    annualized_cost,
    step_funding_modifier,
)
from strategies.state import RuleState
from tests.core.factories import BTC, inverse

from .helpers import NOW, D, beta_rule, estimate, exposure, inputs, markets

HOUR = timedelta(hours=1)
PARAMS = FundingModifierParams(
    max_cost_annualized=D("0.20"),
    after=timedelta(hours=24),
    floor_ratio=D("0.3"),
    restore_below_annualized=D("0.05"),
    restore_after=timedelta(hours=12),
)


def rate_for_cost(cost: str) -> FundingRate:
    """An 8-hourly rate whose annualized cost to the short is ``cost``."""
    return FundingRate(BTC, -D(cost) / 1095, D(8))


def run(costs: Sequence[str | None], ratio: str = "0.8") -> list[tuple[Decimal, bool]]:
    """Feed one cost per hour; (ratio used, engaged) after each."""
    state = FundingModifierState()
    out = []
    for hour, cost in enumerate(costs):
        step = step_funding_modifier(
            PARAMS, state, D(ratio), None if cost is None else D(cost), NOW + hour * HOUR
        )
        state = step.state
        out.append((step.ratio, state.engaged))
    return out


def test_cost_sign_positive_rate_earns() -> None:
    assert annualized_cost(FundingRate(BTC, D("0.0001"), D(8))) == D("-0.1095")  # short earns
    assert annualized_cost(FundingRate(BTC, D("-0.0002"), D(8))) == D("0.2190")  # short pays
    assert annualized_cost(FundingRate(BTC, D("-0.0001"), D(1))) == D("0.8760")  # hourly rate
    assert annualized_cost(rate_for_cost("0.25")) == D("0.25")


def test_engages_after_a_continuous_breach_and_restores_after_a_calm() -> None:
    # 25 hours at 25 %/yr: the 25th observation is 24 h after the first one.
    steps = run(["0.25"] * 25 + ["0.10"] * 5 + ["0.01"] * 13)
    assert steps[23] == (D("0.8"), False)
    assert steps[24] == (D("0.3"), True)  # dropped to the floor
    assert all(s == (D("0.3"), True) for s in steps[25:42])  # between thresholds, then calm < 12h
    assert steps[42] == (D("0.8"), False)  # 12 h below 5 %: restored


def test_a_broken_streak_restarts_the_clock() -> None:
    steps = run(["0.25"] * 20 + ["0.19"] + ["0.25"] * 25)  # the new run starts at hour 21
    assert not any(engaged for _, engaged in steps[:45])
    assert steps[45] == (D("0.3"), True)


def test_oscillation_around_one_threshold_does_not_flap() -> None:
    # Around the maximum: never 24 h in a row above it, so never engaged.
    around_max = run(["0.21", "0.19"] * 48)
    assert {engaged for _, engaged in around_max} == {False}
    # Engaged, then oscillating around the restore level: never 12 h in a row below it.
    around_restore = run(["0.30"] * 25 + ["0.049", "0.051"] * 48)
    assert {engaged for _, engaged in around_restore[24:]} == {True}


def test_no_observation_changes_nothing() -> None:
    steps = run(["0.25"] * 10 + [None] * 20 + ["0.25"])  # the clock keeps its start
    assert steps[29] == (D("0.8"), False)
    assert steps[30] == (D("0.3"), True)


def test_transitions_emit_one_event_each() -> None:
    state = FundingModifierState()
    kinds = []
    for hour, cost in enumerate(["0.3"] * 25 + ["0.0"] * 13):
        step = step_funding_modifier(
            PARAMS, state, D("0.8"), D(cost), NOW + hour * HOUR, asset="SOL", instrument=BTC
        )
        state = step.state
        if step.event is not None:
            kinds.append((hour, step.event.kind, step.event.values["cost_annualized"]))
    assert kinds == [
        (24, "funding_modifier_engaged", "0.3"),
        (37, "funding_modifier_released", "0.0"),
    ]


def test_params_need_strict_hysteresis() -> None:
    with pytest.raises(ValueError, match="restore_below"):
        FundingModifierParams(D("0.2"), HOUR, D(0), D("0.2"), HOUR)


def test_beta_rule_applies_the_modifier_tick_by_tick() -> None:
    rule = beta_rule("SOL", hedge_with="BTC", funding=PARAMS)
    betas = {("SOL", "BTC"): estimate(1.4, 0.8)}
    state = RuleState()
    usd: list[Decimal] = []
    events: list[str] = []
    for hour in range(26):
        now = NOW + hour * HOUR
        book = inputs(
            [exposure("SOL", 1_000, 150)],
            markets(inverse(BTC)),
            {k: estimate(1.4, 0.8, now=now) for k in betas},
            now=now,
            funding={BTC: rate_for_cost("0.30")},
            states={"SOL": state},
        )
        result = rule.evaluate(book)
        state = result.state or state
        usd.append(result.targets[0].target_short_usd)
        events.extend(e.kind for e in result.events)
    assert usd[0] == usd[23] == 147_000  # 0.7 × 150,000 × 1.4
    assert usd[24] == usd[25] == 63_000  # 0.3 × 150,000 × 1.4
    assert events == ["funding_modifier_engaged"]
    assert state.funding.engaged
    assert RuleState.from_json(state.to_json()) == state
