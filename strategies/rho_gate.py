"""The correlation gate of a proxy hedge: a smooth taper below the floor, a lift only on a real
breakdown. Pure.

Above ``floor`` the hedge is whole. Between ``floor − taper`` and ``floor`` it shrinks linearly
with ρ (continuous: a one-tick dip of ρ moves the target by the taper's change only, never a
full lift and restore). At or below ``floor − taper`` it is 0; if ρ stays there for
``breakdown_hours`` the proxy is declared broken: the hedge stays lifted (with a critical
event) until ρ is back at the floor (hysteresis), not merely above the taper's bottom.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class RhoGateState:
    """``low_since``: when ρ first fell to the taper's bottom in the current spell (None: it
    is above); ``broken``: the proxy is declared broken (lifted until ρ is back at the floor)."""

    low_since: datetime | None = None
    broken: bool = False


@dataclass(frozen=True, slots=True)
class RhoGateStep:
    """``scale``: the share of the hedge kept (0..1); ``state``: the next state; ``broke``:
    this tick declared the breakdown; ``healed``: this tick ended one."""

    scale: Decimal
    state: RhoGateState
    broke: bool = False
    healed: bool = False


def taper_scale(rho: Decimal, floor: Decimal, taper: Decimal) -> Decimal:
    """Share of the hedge kept at correlation ``rho``: 1 at or above ``floor``, 0 at or below
    ``floor − taper``, linear between (``taper`` 0: a step at the floor)."""
    if rho >= floor:
        return ONE
    if taper <= 0 or rho <= floor - taper:
        return ZERO
    return (rho - (floor - taper)) / taper


def step_rho_gate(
    state: RhoGateState,
    rho: Decimal,
    now: datetime,
    *,
    floor: Decimal,
    taper: Decimal,
    breakdown: timedelta,
) -> RhoGateStep:
    """One tick of the gate (module docstring)."""
    bottom = floor - taper
    if rho >= floor:
        healed = state.broken
        return RhoGateStep(ONE, RhoGateState(), healed=healed)
    if rho > bottom:
        scale = ZERO if state.broken else taper_scale(rho, floor, taper)
        next_state = replace(state, low_since=None) if state.low_since is not None else state
        return RhoGateStep(scale, next_state)
    since = state.low_since or now
    broke = not state.broken and now - since >= breakdown
    next_state = RhoGateState(since, state.broken or broke)
    return RhoGateStep(ZERO, next_state, broke=broke)
