"""The pure decision of one tick: snapshot → exposures → rule targets → plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.exposure import exposures
from bot.core.planner import PlannerSettings, plan_hedges
from bot.core.types import Exposure, HedgeTarget, Plan, Snapshot
from strategies.base import HedgeRule, RuleInputs


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything one tick decided, with its inputs, for logging and the store."""

    snapshot: Snapshot
    exposures: Mapping[str, Exposure]
    targets: tuple[HedgeTarget, ...]
    plan: Plan


def valued_assets(snapshot: Snapshot, rules: Sequence[HedgeRule]) -> list[str]:
    """Coins whose exposure the tick reports: every rule's asset and every margin coin."""
    assets = {rule.asset for rule in rules} | set(snapshot.margin)
    return sorted(asset for asset in assets if asset in snapshot.prices)


def decide(
    snapshot: Snapshot,
    rules: Sequence[HedgeRule],
    settings: PlannerSettings,
    plan_key: str,
) -> Decision:
    """Compute exposures, targets and the order plan. Pure: same inputs, same Decision."""
    exposure_by_asset = exposures(snapshot, valued_assets(snapshot, rules))
    inputs = RuleInputs(exposures=exposure_by_asset, markets=snapshot.markets)
    targets = tuple(target for rule in rules for target in rule.targets(inputs))
    plan = plan_hedges(targets, snapshot, settings, plan_key)
    return Decision(snapshot=snapshot, exposures=exposure_by_asset, targets=targets, plan=plan)
