"""When a rule hedges: UTC time windows and a realized-volatility trigger.

A rule with neither windows nor a trigger is always active. Otherwise it is active while ``now``
is inside any time window OR the volatility trigger is on; outside, its target is 0 (the hedge is
lifted; the planner's trims are reduce-only) and the reason says why.

The trigger has hysteresis: it turns on when the annualized realized volatility is strictly above
``enter_above`` and off when it is strictly below ``exit_below`` (lower) after at least
``min_active`` on. An unknown volatility (None) changes nothing. Windows are half-open
``[start, end)`` in UTC; a recurring window may run past midnight (or Sunday night).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

from strategies.events import RuleEvent

_WEEK = timedelta(days=7)
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class OneOffWindow:
    """``[start, end)``, aware datetimes."""

    start: datetime
    end: datetime

    def contains(self, now: datetime) -> bool:
        return self.start <= now < self.end

    def describe(self) -> str:
        return f"{self.start.isoformat()} .. {self.end.isoformat()}"


@dataclass(frozen=True, slots=True)
class DailyWindow:
    """Every day from ``start`` (UTC time of day) for ``duration`` (at most a day)."""

    start: time
    duration: timedelta

    def contains(self, now: datetime) -> bool:
        now = now.astimezone(UTC)
        today = datetime.combine(now.date(), self.start, tzinfo=UTC)
        return any(o <= now < o + self.duration for o in (today - _DAY, today))

    def describe(self) -> str:
        return f"daily {self.start.strftime('%H:%M')} UTC for {self.duration}"


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """Every week on ``weekday`` (0 = Monday) from ``start`` (UTC) for ``duration``."""

    weekday: int
    start: time
    duration: timedelta

    def contains(self, now: datetime) -> bool:
        now = now.astimezone(UTC)
        days_back = (now.weekday() - self.weekday) % 7
        this_week = datetime.combine(now.date() - timedelta(days=days_back), self.start, UTC)
        return any(o <= now < o + self.duration for o in (this_week - _WEEK, this_week))

    def describe(self) -> str:
        day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[self.weekday]
        return f"weekly {day} {self.start.strftime('%H:%M')} UTC for {self.duration}"


TimeWindow = OneOffWindow | DailyWindow | WeeklyWindow


@dataclass(frozen=True, slots=True)
class VolTrigger:
    """Annualized volatility thresholds (fractions: 1.0 = 100 % a year); exit < enter."""

    enter_above: float
    exit_below: float
    min_active: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if not self.exit_below < self.enter_above:
            raise ValueError("exit_below must be < enter_above")


@dataclass(frozen=True, slots=True)
class ActivationState:
    """``active``: the last decision (None before the first); ``vol_on``/``vol_on_since``: the
    volatility trigger and when it turned on."""

    active: bool | None = None
    vol_on: bool = False
    vol_on_since: datetime | None = None


class Activation(NamedTuple):
    active: bool
    state: ActivationState
    reason: str


def is_active(
    now: datetime,
    windows: Sequence[TimeWindow],
    realized_vol: float | None,
    params: VolTrigger | None,
    state: ActivationState,
) -> Activation:
    """Whether the rule hedges at ``now``; the next state; the reason (empty when ungated)."""
    if not windows and params is None:
        return Activation(True, ActivationState(active=True), "")
    vol_on, since = state.vol_on, state.vol_on_since
    vol_text = "unknown" if realized_vol is None else f"{realized_vol:.4f}"
    if params is not None and realized_vol is not None:
        if not vol_on and realized_vol > params.enter_above:
            vol_on, since = True, now
        elif (
            vol_on
            and realized_vol < params.exit_below
            and since is not None
            and now - since >= params.min_active
        ):
            vol_on, since = False, None
    inside = [w for w in windows if w.contains(now)]
    active = bool(inside) or vol_on
    if inside:
        reason = f"inside window {inside[0].describe()}"
    elif vol_on and params is not None:
        reason = f"realized vol {vol_text}/yr triggered (enter above {params.enter_above})"
    else:
        parts = ["outside every window"] if windows else []
        if params is not None:
            parts.append(f"realized vol {vol_text}/yr not above {params.enter_above}")
        reason = " and ".join(parts) + ": hedge lifted (target 0)"
    return Activation(active, ActivationState(active, vol_on, since), reason)


def activation_event(
    before: ActivationState, after: Activation, asset: str, instrument: str | None
) -> RuleEvent | None:
    """``window_opened``/``window_closed`` when the decision changed (not on the first one)."""
    if before.active is None or before.active == after.active:
        return None
    return RuleEvent(
        kind="window_opened" if after.active else "window_closed",
        severity="info",
        asset=asset,
        instrument=instrument,
        message=after.reason,
        values={"active": str(after.active).lower()},
    )
