"""The pure decision of one tick: snapshot → exposures → rule targets → collateral → plan.

With a collateral policy that moves coins (``bot.core.collateral_policy``), the rules are
evaluated a second time on the snapshot as it will be once the moves are done: a conversion
takes the sold asset out of its exposure, so its target shrinks in the same tick, and the
planner sizes the hedge to the margin the wallet will hold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bot.core.collateral_policy import (
    CollateralPlan,
    CollateralSettings,
    apply_collateral,
    plan_collateral,
)
from bot.core.exposure import exposures
from bot.core.margin import MarginTerms
from bot.core.planner import PlannerSettings, plan_hedges
from bot.core.types import (
    CollateralAction,
    CollateralUsage,
    Exposure,
    HedgeTarget,
    MarginShortfall,
    Ownership,
    Plan,
    Snapshot,
)
from bot.stats.beta import BetaEstimate
from strategies.base import HedgeRule, RuleInputs
from strategies.book import BookResult, evaluate_book
from strategies.collateral import STABLECOINS, CollateralPolicy
from strategies.events import EventKind, RuleEvent
from strategies.state import RuleState


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything one tick decided, with its inputs, for logging and the store.

    ``snapshot`` is what was read; ``exposures``, ``targets`` and ``plan`` already count the
    ``collateral`` actions as done (the daemon runs them before any order).
    """

    snapshot: Snapshot
    exposures: Mapping[str, Exposure]
    targets: tuple[HedgeTarget, ...]
    plan: Plan
    events: tuple[RuleEvent, ...] = ()
    states: Mapping[str, RuleState] = field(default_factory=dict)
    collateral: CollateralPlan = field(default_factory=CollateralPlan)


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
    margin: MarginTerms | None = None,
    collateral: CollateralSettings | None = None,
    usage: CollateralUsage | None = None,
    owned: Ownership | None = None,
    unread_short_usd: Mapping[str, Decimal] | None = None,
) -> Decision:
    """Compute exposures, rule targets (collateral included), collateral moves and the plan.

    ``margin``: size inverse shorts to their wallets (``bot.core.margin``); ``collateral``: the
    policy moving coins (``usage``: what it moved in the last 24 h); ``owned``: the previous
    plan's ``Plan.owned``; ``unread_short_usd``: short the daemon's ledger holds beyond the read
    (``bot.core.ledger``), for the total cap. Pure: the same inputs give the same Decision.
    """

    def evaluate(view: Snapshot) -> tuple[dict[str, Exposure], BookResult, tuple[HedgeTarget, ...]]:
        exposure = exposures(view, valued_assets(view, rules))
        inputs = RuleInputs.from_snapshot(
            view, exposure, betas=betas, realized_vol=realized_vol, states=states
        )
        book = evaluate_book(rules, inputs)
        return exposure, book, _lifted(book.targets) if hedge_off else tuple(book.targets)

    exposure_by_asset, book, targets = evaluate(snapshot)
    moves = CollateralPlan()
    view = snapshot
    if collateral is not None and not hedge_off:
        moves = plan_collateral(
            snapshot,
            targets,
            exposure_by_asset,
            collateral,
            usage or CollateralUsage(),
            plan_key,
            neutral_coins(rules, targets, snapshot),
        )
        if moves.actions:
            view = apply_collateral(snapshot, moves.actions, collateral.terms.fee_rate)
            exposure_by_asset, book, targets = evaluate(view)
    plan = plan_hedges(
        targets,
        view,
        settings,
        plan_key,
        margin=margin,
        owned=owned,
        unread_short_usd=unread_short_usd,
    )
    bands = {hedge.instrument: hedge.band for hedge in plan.hedges}
    events = (
        *book.events,
        *(_action_event(action) for action in moves.actions),
        *(
            _shortfall_event(s, margin)
            for s in plan.shortfalls
            # a gap within the hedge band is no news: the band would tolerate it anyway
            if margin is not None
            and s.short_usd > (bands.get(s.instrument) or settings.no_trade.min_band) * s.target_usd
        ),
    )
    return Decision(
        snapshot=snapshot,
        exposures=exposure_by_asset,
        targets=targets,
        plan=plan,
        events=tuple(events),
        states=dict(book.states),
        collateral=moves,
    )


def _lifted(targets: Sequence[HedgeTarget]) -> tuple[HedgeTarget, ...]:
    """Operator override: lift every hedge (the planner trims reduce-only)."""
    return tuple(
        dataclasses.replace(
            t, ratio=Decimal(0), target_short_usd=Decimal(0), reason="hedge off (operator)"
        )
        for t in targets
    )


def neutral_coins(
    rules: Sequence[HedgeRule], targets: Sequence[HedgeTarget], snapshot: Snapshot
) -> frozenset[str]:
    """Coins whose margin is held USD-neutral: no rule of their own, not a stablecoin, and not
    every rule they margin says ``collateral: ignore``."""
    ruled = {rule.asset for rule in rules}
    ignoring = {
        rule.asset
        for rule in rules
        if isinstance(rule, CollateralPolicy) and rule.collateral == "ignore"
    }
    users: dict[str, set[str]] = {}
    for target in targets:
        market = snapshot.markets.get(target.instrument)
        if market is not None and market.is_inverse:
            users.setdefault(market.settle, set()).add(target.asset)
    return frozenset(
        coin
        for coin, assets in users.items()
        if coin not in ruled and coin not in STABLECOINS and not assets <= ignoring
    )


def _shortfall_event(shortfall: MarginShortfall, terms: MarginTerms) -> RuleEvent:
    message = (
        f"{shortfall.instrument}: margin carries {shortfall.carried_usd:.2f} of "
        f"{shortfall.target_usd:.2f} USD; {shortfall.short_usd:.2f} USD short of target, "
        f"{shortfall.coins_missing:.8f} {shortfall.coin} missing to keep liquidation "
        f"{terms.min_distance:.0%} away at leverage {terms.leverage}"
    )
    values = {
        "target_usd": str(shortfall.target_usd),
        "carried_usd": str(shortfall.carried_usd),
        "short_usd": str(shortfall.short_usd),
        "coins_missing": str(shortfall.coins_missing),
        "coin": shortfall.coin,
        "min_liquidation_distance": str(terms.min_distance),
    }
    return RuleEvent(
        "margin_shortfall", "warning", shortfall.coin, shortfall.instrument, message, values
    )


def _action_event(action: CollateralAction) -> RuleEvent:
    kind: EventKind = (
        "collateral_transfer" if action.kind == "transfer" else "collateral_conversion"
    )
    values = {
        "action_id": action.action_id,
        "kind": action.kind,
        "coin": action.coin,
        "amount": str(action.amount),
        "usd_value": str(action.usd_value),
    }
    return RuleEvent(kind, "info", action.coin, action.symbol, action.reason, values)
