"""All rules of one account in one call: targets, events and next states, plus collateral.

``evaluate_book`` is what the daemon's decide step calls instead of looping over
``rule.targets``: it runs every rule (``evaluate`` when it has one), adds the collateral targets
(``strategies.collateral``) and returns everything the tick needs to log, plan and carry on.
The planner sums the targets per instrument (``bot.core.planner.aggregate_targets``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from bot.config.models import CollateralMode
from bot.core.types import HedgeTarget
from strategies.base import HedgeRule, RuleInputs, evaluate_rule, implements
from strategies.collateral import CollateralPolicy, collateral_targets
from strategies.events import RuleEvent
from strategies.state import RuleState


@dataclass(frozen=True, slots=True)
class _Policy:
    asset: str
    collateral: CollateralMode


@dataclass(frozen=True, slots=True)
class BookResult:
    """Every target (rules first, then collateral), every event, each rule's next state."""

    targets: tuple[HedgeTarget, ...]
    events: tuple[RuleEvent, ...]
    states: Mapping[str, RuleState] = field(default_factory=dict)


def evaluate_book(
    rules: Sequence[HedgeRule],
    inputs: RuleInputs,
    default_collateral: CollateralMode = "neutral",
) -> BookResult:
    """Run ``rules`` on ``inputs`` and add the collateral targets. Pure."""
    targets: list[HedgeTarget] = []
    events: list[RuleEvent] = []
    states: dict[str, RuleState] = {}
    for rule in rules:
        result = evaluate_rule(rule, inputs)
        targets.extend(result.targets)
        events.extend(result.events)
        if result.state is not None:
            states[rule.asset] = result.state
    policies = [
        _Policy(rule.asset, cast(CollateralPolicy, rule).collateral)
        if implements(rule, CollateralPolicy)
        else _Policy(rule.asset, default_collateral)
        for rule in rules
    ]
    extra = collateral_targets(
        inputs.exposures, policies, inputs.markets, targets, default_collateral
    )
    return BookResult((*targets, *extra.targets), (*events, *extra.events), states)
