"""Funding modifier: lower the hedge ratio while holding the short is too expensive.

Reference: hedging-math.md §5. A positive funding rate means longs pay shorts, so the short hedge
EARNS; its cost is the negative: ``cost_annualized = −rate × 8760 / interval_hours``.

A pure state machine with hysteresis (state in, state out, nothing else):

- normal → engaged: the cost stays strictly above ``max_cost_annualized`` on every observation
  for at least ``after`` (from the first observation above). The ratio drops to ``floor_ratio``
  (never raised: ``min(ratio, floor_ratio)``).
- engaged → normal: the cost stays strictly below ``restore_below_annualized`` (strictly lower
  than the maximum) for at least ``restore_after``.

An observation that breaks the streak restarts the clock; a cost between the two thresholds
keeps whatever state holds, so a rate oscillating around one threshold cannot flap. A tick with
no funding observation changes nothing (no evidence either way). Each transition returns one
event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from bot.core.inverse import annualized_rate
from bot.core.types import FundingRate
from strategies.events import RuleEvent


@dataclass(frozen=True, slots=True)
class FundingModifierParams:
    """Thresholds are annualized fractions (0.20 = 20 % a year) of the short's funding cost."""

    max_cost_annualized: Decimal
    after: timedelta
    floor_ratio: Decimal  # ratio (0..1) while engaged
    restore_below_annualized: Decimal  # strictly lower than max_cost_annualized
    restore_after: timedelta

    def __post_init__(self) -> None:
        if not self.restore_below_annualized < self.max_cost_annualized:
            raise ValueError("restore_below_annualized must be < max_cost_annualized")
        if not 0 <= self.floor_ratio <= 1:
            raise ValueError("floor_ratio must be in [0, 1]")


@dataclass(frozen=True, slots=True)
class FundingModifierState:
    """``engaged``: the ratio is at the floor. ``breach_since``: first observation of the current
    run above the maximum (while normal). ``calm_since``: first observation of the current run
    below the restore level (while engaged). ``changed_at``: the last transition."""

    engaged: bool = False
    breach_since: datetime | None = None
    calm_since: datetime | None = None
    changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FundingStep:
    """One step: the ratio to use, the next state, why, and the transition event if any."""

    ratio: Decimal
    state: FundingModifierState
    reason: str
    event: RuleEvent | None = None


def annualized_cost(funding: FundingRate) -> Decimal:
    """Annualized funding the short PAYS (fraction a year); negative when the short earns."""
    return -annualized_rate(funding.rate, funding.interval_hours)


def step_funding_modifier(
    params: FundingModifierParams,
    state: FundingModifierState,
    ratio: Decimal,
    cost_annualized: Decimal | None,
    now: datetime,
    *,
    asset: str = "",
    instrument: str | None = None,
) -> FundingStep:
    """Advance the modifier by one observation (``cost_annualized`` None: no observation)."""
    floor = min(ratio, params.floor_ratio)
    if cost_annualized is None:
        used = floor if state.engaged else ratio
        why = "funding unknown: modifier unchanged" + (" (engaged)" if state.engaged else "")
        return FundingStep(used, state, why)
    cost = cost_annualized
    if not state.engaged:
        if cost <= params.max_cost_annualized:
            return FundingStep(ratio, _breach_since(state, None), "")
        since = state.breach_since or now
        if now - since < params.after:
            held = now - since
            why = f"funding cost {cost:.4f}/yr above {params.max_cost_annualized} for {held}"
            return FundingStep(ratio, _breach_since(state, since), why)
        new = FundingModifierState(engaged=True, changed_at=now)
        why = (
            f"funding cost {cost:.4f}/yr above {params.max_cost_annualized} since "
            f"{since.isoformat()}: ratio {ratio} -> {floor}"
        )
        return FundingStep(floor, new, why, _event(True, why, asset, instrument, cost, params))
    if cost >= params.restore_below_annualized:
        why = f"funding modifier engaged: cost {cost:.4f}/yr not below "
        why += f"{params.restore_below_annualized}; ratio {floor}"
        return FundingStep(floor, _calm_since(state, None), why)
    since = state.calm_since or now
    if now - since < params.restore_after:
        why = f"funding modifier engaged: cost below {params.restore_below_annualized} for "
        why += f"{now - since}; ratio {floor}"
        return FundingStep(floor, _calm_since(state, since), why)
    new = FundingModifierState(engaged=False, changed_at=now)
    why = (
        f"funding cost {cost:.4f}/yr below {params.restore_below_annualized} since "
        f"{since.isoformat()}: ratio restored to {ratio}"
    )
    return FundingStep(ratio, new, why, _event(False, why, asset, instrument, cost, params))


def _breach_since(state: FundingModifierState, since: datetime | None) -> FundingModifierState:
    """``replace(state, breach_since=since)``, or ``state`` itself when it already says so (the
    usual step: the modifier is observed every tick and its state moves rarely)."""
    return state if state.breach_since == since else replace(state, breach_since=since)


def _calm_since(state: FundingModifierState, since: datetime | None) -> FundingModifierState:
    """``replace(state, calm_since=since)``, or ``state`` itself (see ``_breach_since``)."""
    return state if state.calm_since == since else replace(state, calm_since=since)


def _event(
    engaged: bool,
    message: str,
    asset: str,
    instrument: str | None,
    cost: Decimal,
    params: FundingModifierParams,
) -> RuleEvent:
    return RuleEvent(
        kind="funding_modifier_engaged" if engaged else "funding_modifier_released",
        severity="warning" if engaged else "info",
        asset=asset,
        instrument=instrument,
        message=message,
        values={
            "cost_annualized": str(cost),
            "max_cost_annualized": str(params.max_cost_annualized),
            "restore_below_annualized": str(params.restore_below_annualized),
            "floor_ratio": str(params.floor_ratio),
        },
    )
