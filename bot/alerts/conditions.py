"""The one condition state machine every alert rule goes through (see bot.alerts.rules). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from bot.alerts.model import DEFAULT_ACCOUNT, Alert, AlertStatus, Severity, make_alert
from bot.config.alert_params import AlertCooldown

Number = Decimal | int | str


# -- the generic state machine ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cooldown:
    period: timedelta = timedelta(0)  # no new raise sooner than this after a notification
    repeat_after: timedelta | None = None  # re-notify while active this long after the last
    hold_ticks: int = 0  # raise only once active for MORE than this many evaluations in a row
    announce_clear: bool = True

    @classmethod
    def from_config(cls, section: AlertCooldown, *, hold_ticks: int = 0) -> Cooldown:
        repeat = section.repeat_after_seconds
        return cls(
            period=timedelta(seconds=section.cooldown_seconds),
            repeat_after=None if repeat is None else timedelta(seconds=repeat),
            hold_ticks=hold_ticks,
            announce_clear=section.announce_clear,
        )


@dataclass(frozen=True, slots=True)
class ConditionState:
    active: bool = False  # true at the last evaluation
    streak: int = 0  # evaluations in a row it has been active
    since: datetime | None = None  # start of the current active streak
    notified: bool = False  # its raise went out: a clearing is owed
    last_notified_at: datetime | None = None
    asset: str | None = None  # context of the last evaluation, for a clearing of an absent key
    instrument: str | None = None

    def is_idle(self, now: datetime, cooldown: Cooldown) -> bool:
        """Equivalent to no state at all: inactive, nothing owed, no cooldown running."""
        return (
            not self.active
            and not self.notified
            and (self.last_notified_at is None or now - self.last_notified_at >= cooldown.period)
        )


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """What to say about a condition (its raise or its clearing)."""

    kind: str
    severity: Severity
    message: str
    values: Mapping[str, Number] = field(default_factory=dict)
    asset: str | None = None
    instrument: str | None = None

    def alert(
        self, status: AlertStatus, key: str, now: datetime, account: str, *, prefix: str = ""
    ) -> Alert:
        return make_alert(
            self.kind,
            self.severity,
            prefix + self.message,
            raised_at=now,
            values=self.values,
            account=account,
            asset=self.asset,
            instrument=self.instrument,
            status=status,
            condition=key,
        )


def evaluate(
    condition_key: str,
    active: bool,
    now: datetime,
    state: ConditionState | None,
    cooldown: Cooldown,
    *,
    spec: AlertSpec,
    clear: AlertSpec | None = None,
    account: str = DEFAULT_ACCOUNT,
) -> tuple[ConditionState, list[Alert]]:
    """One evaluation of a condition: its new state and the alerts to send (zero or one).

    ``spec`` describes the raise (and a repeat); ``clear`` the clearing (default: ``spec``'s
    kind at severity info). Both should describe the current values.
    """
    previous = state or ConditionState()
    asset, instrument = spec.asset, spec.instrument
    if not active:
        last = previous.last_notified_at
        cleared = ConditionState(last_notified_at=last, asset=asset, instrument=instrument)
        if not previous.notified or not cooldown.announce_clear:
            return cleared, []
        cleared = replace(cleared, last_notified_at=now)  # a clearing is a notification too
        clearing = clear or AlertSpec(
            spec.kind, Severity.INFO, f"cleared: {spec.message}", spec.values, asset, instrument
        )
        return cleared, [clearing.alert(AlertStatus.CLEARED, condition_key, now, account)]

    streak = previous.streak + 1
    current = replace(
        previous,
        active=True,
        streak=streak,
        since=previous.since if previous.active and previous.since else now,
        asset=asset,
        instrument=instrument,
    )
    if streak <= cooldown.hold_ticks:
        return current, []
    last = previous.last_notified_at
    if not previous.notified:
        if last is not None and now - last < cooldown.period:
            return current, []  # flapping: wait out the cooldown, then raise if still active
        raised = replace(current, notified=True, last_notified_at=now)
        return raised, [spec.alert(AlertStatus.RAISED, condition_key, now, account)]
    repeat = cooldown.repeat_after
    if repeat is not None and last is not None and now - last >= repeat:
        repeated = replace(current, last_notified_at=now)
        alert = spec.alert(AlertStatus.REPEATED, condition_key, now, account, prefix="still: ")
        return repeated, [alert]
    return current, []
