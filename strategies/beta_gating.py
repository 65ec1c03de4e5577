"""The gates between a ``kind: beta`` rule's configured ratio and the ratio it hedges at.

Applied in this order by ``BetaRule.evaluate`` (``strategies.beta``): the funding modifier
(``strategies.modifiers``) may lower the ratio, the windows / volatility trigger
(``strategies.windows``) may set it to 0, and a proxy hedge's correlation gate
(``strategies.rho_gate``) tapers it when ρ falls below the floor and lifts it when ρ stays at the
taper's bottom. Each gate's clock lives in ``RuleState`` and comes back the next tick.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from strategies.base import RuleInputs
from strategies.beta_choice import HedgeChoice
from strategies.events import RuleEvent
from strategies.modifiers import FundingModifierParams, annualized_cost, step_funding_modifier
from strategies.rho_gate import step_rho_gate
from strategies.state import RuleState
from strategies.windows import TimeWindow, VolTrigger, activation_event, is_active

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Gating:
    """When the rule hedges (empty: always). ``vol_window_hours``: hourly returns for the vol."""

    windows: tuple[TimeWindow, ...] = ()
    vol_trigger: VolTrigger | None = None
    vol_window_hours: int = 24


def choice_event(
    kind: Literal["low_rho", "negative_beta"],
    severity: Literal["warning", "critical"],
    asset: str,
    symbol: str,
    choice: HedgeChoice,
    rho_floor: Decimal,
    exposure_usd: Decimal | None,
) -> RuleEvent:
    """An event about ``choice`` (β, ρ, the hedge coin and the floor in its values)."""
    values = {"beta": str(choice.beta), "rho": str(choice.rho), "hedge": choice.coin}
    values["rho_floor"] = str(rho_floor)
    if exposure_usd is not None:
        values["exposure_usd"] = str(exposure_usd)
    return RuleEvent(kind, severity, asset, symbol, choice.reason, values)


def modified_ratio(
    inputs: RuleInputs,
    now: datetime,
    state: RuleState,
    symbol: str,
    events: list[RuleEvent],
    *,
    asset: str,
    ratio: Decimal,
    funding: FundingModifierParams | None,
    gating: Gating,
) -> tuple[Decimal, list[str], RuleState]:
    """The ratio after the funding modifier and the activation gate, with reasons."""
    reasons: list[str] = []
    if funding is not None:
        rate = inputs.funding.get(symbol)
        cost = None if rate is None else annualized_cost(rate)
        step = step_funding_modifier(
            funding,
            state.funding,
            ratio,
            cost,
            now,
            asset=asset,
            instrument=symbol,
        )
        ratio = step.ratio
        if step.state != state.funding:
            state = replace(state, funding=step.state)
        reasons.append(step.reason)
        if step.event is not None:
            events.append(step.event)
    if gating.windows or gating.vol_trigger is not None:
        vol = inputs.realized_vol.get(asset)
        act = is_active(now, gating.windows, vol, gating.vol_trigger, state.activation)
        event = activation_event(state.activation, act, asset, symbol)
        if event is not None:
            events.append(event)
        if act.state != state.activation:
            state = replace(state, activation=act.state)
        if not act.active:
            ratio = ZERO
        reasons.append(act.reason)
    return ratio, [r for r in reasons if r], state


def rho_gated_ratio(
    choice: HedgeChoice,
    now: datetime,
    state: RuleState,
    ratio: Decimal,
    reasons: list[str],
    events: list[RuleEvent],
    exposure_usd: Decimal,
    *,
    asset: str,
    on_low_rho: Literal["skip", "hedge_anyway"],
    rho_floor: Decimal,
    rho_taper: Decimal,
    rho_breakdown: timedelta,
) -> tuple[Decimal, RuleState]:
    """The ratio after the correlation gate (``strategies.rho_gate``) of a proxy hedge."""
    if choice.rho is None or choice.coin == asset or on_low_rho != "skip":
        return ratio, state
    step = step_rho_gate(
        state.rho_gate,
        choice.rho,
        now,
        floor=rho_floor,
        taper=rho_taper,
        breakdown=rho_breakdown,
    )
    if step.state != state.rho_gate:
        state = replace(state, rho_gate=step.state)
    symbol = choice.symbol or ""
    if step.broke or step.healed:
        kind: Literal["rho_breakdown", "rho_restored"] = (
            "rho_breakdown" if step.broke else "rho_restored"
        )
        why = (
            f"rho({asset}, {choice.coin}) {choice.rho} at or below "
            f"{rho_floor - rho_taper} for {rho_breakdown}: proxy hedge lifted "
            f"until rho is back at {rho_floor}"
            if step.broke
            else f"rho({asset}, {choice.coin}) {choice.rho} back at the floor "
            f"{rho_floor}: proxy hedge restored"
        )
        event = choice_event("low_rho", "critical", asset, symbol, choice, rho_floor, exposure_usd)
        events.append(replace(event, kind=kind, message=why))
    if step.scale < 1:
        if state.rho_gate.broken:
            reasons.append("proxy broken down (rho below the taper for long): lifted")
        else:
            reasons.append(f"rho below floor {rho_floor}: hedge tapered to {step.scale:.0%}")
    return ratio * step.scale, state
