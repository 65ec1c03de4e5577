"""The pure decision of one tick: snapshot → exposures → rule targets → plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bot.core.exposure import exposures
from bot.core.planner import PlannerSettings, plan_hedges
from bot.core.types import Exposure, HedgeTarget, Plan, Snapshot
from bot.stats.beta import BetaEstimate
from strategies.base import HedgeRule, RuleInputs
from strategies.book import evaluate_book
from strategies.events import RuleEvent
from strategies.state import RuleState


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything one tick decided, with its inputs, for logging and the store."""

    snapshot: Snapshot
    exposures: Mapping[str, Exposure]
    targets: tuple[HedgeTarget, ...]
    plan: Plan
    events: tuple[RuleEvent, ...] = ()
    states: Mapping[str, RuleState] = field(default_factory=dict)


def valued_assets(snapshot: Snapshot, rules: Sequence[HedgeRule]) -> list[str]:
    """Coins whose exposure the tick reports: every rule's asset and every margin coin."""
    assets = {rule.asset for rule in rules} | set(snapshot.margin)
    return sorted(asset for asset in assets if asset in snapshot.prices)


def decide(
    snapshot: Snapshot,
    rules: Sequence[HedgeRule],
    settings: PlannerSettings,
    plan_key: str,
    *,
    betas: Mapping[tuple[str, str], BetaEstimate] | None = None,
    realized_vol: Mapping[str, float] | None = None,
    states: Mapping[str, RuleState] | None = None,
    hedge_off: bool = False,
) -> Decision:
    """Compute exposures, rule targets (collateral included) and the order plan.

    Pure: the same snapshot, estimates and rule states give the same Decision.
    """
    exposure_by_asset = exposures(snapshot, valued_assets(snapshot, rules))
    inputs = RuleInputs.from_snapshot(
        snapshot, exposure_by_asset, betas=betas, realized_vol=realized_vol, states=states
    )
    book = evaluate_book(rules, inputs)
    targets = tuple(book.targets)
    if hedge_off:  # operator override: lift every hedge (the planner trims reduce-only)
        targets = tuple(
            dataclasses.replace(
                t, ratio=Decimal(0), target_short_usd=Decimal(0), reason="hedge off (operator)"
            )
            for t in targets
        )
    plan = plan_hedges(targets, snapshot, settings, plan_key)
    return Decision(
        snapshot=snapshot,
        exposures=exposure_by_asset,
        targets=targets,
        plan=plan,
        events=tuple(book.events),
        states=dict(book.states),
    )
