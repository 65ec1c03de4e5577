"""The alert rules: a generic condition state machine and the rules over tick observations. Pure.

:func:`evaluate` is the one state machine every rule goes through. A *condition* (a key such as
``margin_ratio.critical:BTC/USD:BTC``) is active or not at each evaluation:

* it is **raised** once it has been active for more than ``cooldown.hold_ticks`` evaluations in a
  row, unless a notification about it (raise, repeat or clearing) went out less than
  ``cooldown.period`` ago (then it is raised as soon as that period has passed, if still
  active): no flapping;
* while it stays active nothing more is said, except a **repeat** every ``repeat_after``;
* when it stops being active after it was announced, its **clearing** is announced once
  (``announce_clear``); a condition that was never announced clears silently.

:func:`evaluate_tick` turns a :class:`TickObservation` (filled by the daemon) into conditions,
runs them through :func:`evaluate` and returns the new states and the alerts. Keys are
``{section}.{check}[:{subject}]``, where ``section`` is the rule's key under ``alerts.rules``.

Missing numbers (``None``) mean "nothing to measure": the condition is inactive. An instrument
absent from a measured tick clears its conditions; with ``measured=False`` (a tick that could
not read the exchange) only the discrete events and flags are evaluated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from bot.alerts.model import DEFAULT_ACCOUNT, Alert, AlertStatus, Severity, make_alert
from bot.config.alert_params import AlertCooldown, AlertRulesConfig

HOURS_PER_YEAR = Decimal(8760)
DAYS_PER_YEAR = Decimal(365)
DAYS_PER_MONTH = Decimal(30)
DEFAULT_FUNDING_INTERVAL_HOURS = Decimal(8)
CENT = Decimal("0.01")
DAEMON_KEY = "daemon.running"

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


# -- what the daemon observes ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstrumentObservation:
    """One hedge instrument at one tick. ``None``: nothing to measure (the rule is inactive)."""

    instrument: str
    asset: str | None = None  # the spot asset hedged with it
    funding_rate: Decimal | None = None  # per funding interval; positive: longs pay shorts
    funding_interval_hours: Decimal | None = None  # default 8
    # Yearly carry of the short as a fraction of its face (positive: it earns). Default:
    # funding_rate × 8760 / funding_interval_hours.
    annualized_carry: Decimal | None = None
    short_usd: Decimal | None = None  # USD face of the short (for the projected carry cost)
    margin_ratio: Decimal | None = None  # maintenance margin ÷ margin balance; 1 = liquidation
    liquidation_distance: Decimal | None = None  # price rise to liquidation (0.2 = 20 %)
    drift: Decimal | None = None  # (current − target) ÷ target short: > 0 over-hedged
    band: Decimal | None = None  # the hedge band (hedge.band)
    proxy_rho: Decimal | None = None  # ρ(asset, this instrument's coin), proxy hedges only
    basis: Decimal | None = None  # (perp − reference) ÷ reference
    price_stale: bool = False
    price_outlier: bool = False
    price_age_seconds: Decimal | None = None  # shown with a stale price


@dataclass(frozen=True, slots=True)
class OrderEvent:
    client_order_id: str
    symbol: str
    reason: str | None = None  # the exchange's reject reason or the error
    contracts: Decimal | None = None
    side: str | None = None


@dataclass(frozen=True, slots=True)
class TickObservation:
    """What one tick saw, for the rules. ``now`` stamps the alerts (``raised_at``)."""

    now: datetime
    instruments: Sequence[InstrumentObservation] = ()
    measured: bool = True  # False: the exchange could not be read; keep instrument states
    rejected_orders: Sequence[OrderEvent] = ()  # rejected during this tick
    unknown_orders: Sequence[OrderEvent] = ()  # every order whose outcome is unknown now
    exchange_paused: bool = False
    exchange_banned: bool = False
    exchange_reason: str | None = None
    kill_switch: bool = False


# -- the rules ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    key: str
    active: bool
    cooldown: Cooldown
    spec: AlertSpec
    clear: AlertSpec | None = None


# (section, check) -> kind. Sections are the keys under alerts.rules.
KINDS: dict[tuple[str, str], str] = {
    ("funding", "high"): "funding_high",
    ("funding", "low"): "funding_low",
    ("funding", "negative"): "funding_sign_flip",
    ("carry", "cost"): "carry_cost",
    ("margin_ratio", "warning"): "margin_ratio",
    ("margin_ratio", "critical"): "margin_ratio",
    ("liquidation_distance", "warning"): "liquidation_distance",
    ("liquidation_distance", "critical"): "liquidation_distance",
    ("drift", "over"): "over_hedged",
    ("drift", "under"): "under_hedged",
    ("proxy", "rho"): "proxy_correlation",
    ("proxy", "basis"): "basis",
    ("prices", "stale"): "price_stale",
    ("prices", "outlier"): "price_outlier",
    ("order_rejected", "symbol"): "order_rejected",
    ("unknown_order", "order"): "unknown_order_outcome",
    ("exchange", "paused"): "exchange_paused",
    ("exchange", "banned"): "exchange_banned",
    ("kill_switch", "engaged"): "kill_switch",
    ("daemon", "running"): "daemon_started",
}
_INSTRUMENT_SECTIONS = frozenset(
    {"funding", "carry", "margin_ratio", "liquidation_distance", "drift", "proxy", "prices"}
)
_EVENT_SECTIONS = frozenset({"order_rejected", "unknown_order"})


def condition_key(section: str, check: str, subject: str | None = None) -> str:
    return f"{section}.{check}" + ("" if subject is None else f":{subject}")


def split_key(key: str) -> tuple[str, str, str | None]:
    """``"margin_ratio.critical:BTC/USD:BTC"`` -> ``"margin_ratio", "critical", "BTC/USD:BTC"``."""
    section, _, rest = key.partition(".")
    check, colon, subject = rest.partition(":")
    return section, check, subject if colon else None


def _section(rules: AlertRulesConfig, name: str) -> AlertCooldown | None:
    section = getattr(rules, name, None)
    return section if isinstance(section, AlertCooldown) else None


def _pct(value: Decimal) -> str:
    return f"{value:.2%}"


def _check(
    item: InstrumentObservation,
    section: str,
    check: str,
    active: bool,
    cooldown: Cooldown,
    severity: Severity,
    values: Mapping[str, Number],
    says: tuple[str, str],
) -> Check:
    """A per-instrument condition; ``says`` is (raise message, clearing message)."""
    kind = KINDS[(section, check)]
    raised, cleared = says
    asset, name = item.asset, item.instrument
    return Check(
        condition_key(section, check, name),
        active,
        cooldown,
        AlertSpec(kind, severity, raised, values, asset, name),
        AlertSpec(kind, Severity.INFO, cleared, values, asset, name),
    )


def _instrument_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    yield from _funding_checks(item, rules)
    yield from _carry_checks(item, rules)
    yield from _level_checks(item, rules)
    yield from _drift_checks(item, rules)
    yield from _proxy_checks(item, rules)
    yield from _price_checks(item, rules)


def _funding_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    config, rate = rules.funding, item.funding_rate
    if not config.enabled or rate is None:
        return
    cooldown = Cooldown.from_config(config)
    hours = item.funding_interval_hours or DEFAULT_FUNDING_INTERVAL_HOURS
    annual = rate * HOURS_PER_YEAR / hours
    values: dict[str, Number] = {"funding_rate": rate, "interval_hours": hours}
    values["annualized"] = annual
    name = item.instrument
    now = f"{_pct(annual)}/yr annualized, {rate} per {hours} h"
    if (high := config.high_annualized) is not None:
        says = (
            f"funding on {name} is {now}, above {_pct(high)}",
            f"funding on {name} is back at {now}, not above {_pct(high)}",
        )
        both = {**values, "threshold_annualized": high}
        yield _check(item, "funding", "high", annual > high, cooldown, Severity.INFO, both, says)
    if (low := config.low_annualized) is not None:
        says = (
            f"funding on {name} is {now}, below {_pct(low)}: the short hedge pays",
            f"funding on {name} is back at {now}, not below {_pct(low)}",
        )
        both = {**values, "threshold_annualized": low}
        yield _check(item, "funding", "low", annual < low, cooldown, Severity.WARNING, both, says)
    if config.sign_flip:
        says = (
            f"funding on {name} turned negative ({now}): the short hedge now pays funding",
            f"funding on {name} is no longer negative ({now}): the short hedge stops paying",
        )
        negative = rate < 0
        yield _check(
            item, "funding", "negative", negative, cooldown, Severity.WARNING, values, says
        )


def _annualized_carry(item: InstrumentObservation) -> Decimal | None:
    if item.annualized_carry is not None:
        return item.annualized_carry
    if item.funding_rate is None:
        return None
    hours = item.funding_interval_hours or DEFAULT_FUNDING_INTERVAL_HOURS
    return item.funding_rate * HOURS_PER_YEAR / hours


def _carry_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    config = rules.carry
    per_day, per_month = config.max_cost_per_day_usd, config.max_cost_per_month_usd
    carry = _annualized_carry(item)
    if not config.enabled or (per_day is None and per_month is None) or carry is None:
        return
    short = abs(item.short_usd) if item.short_usd is not None else Decimal(0)
    cost_day = max(Decimal(0), -carry) * short / DAYS_PER_YEAR
    cost_month = cost_day * DAYS_PER_MONTH
    values: dict[str, Number] = {
        "cost_per_day_usd": cost_day.quantize(CENT),
        "cost_per_month_usd": cost_month.quantize(CENT),
        "annualized_carry": carry,
        "short_usd": short,
    }
    active, limits = False, []
    if per_day is not None:
        values["max_cost_per_day_usd"] = per_day
        limits.append(f"{per_day} USD/day")
        active = cost_day > per_day
    if per_month is not None:
        values["max_cost_per_month_usd"] = per_month
        limits.append(f"{per_month} USD/month")
        active = active or cost_month > per_month
    name, limit, cost = item.instrument, " or ".join(limits), f"{cost_day:.2f} USD/day"
    says = (
        f"holding the short on {name} costs {cost} ({cost_month:.2f} USD/month) at the current "
        f"funding, above {limit}",
        f"the carry cost of the short on {name} is back to {cost}, within {limit}",
    )
    cooldown = Cooldown.from_config(config)
    yield _check(item, "carry", "cost", active, cooldown, Severity.WARNING, values, says)


LEVELS = (("critical", Severity.CRITICAL), ("warning", Severity.WARNING))


def _level_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    name, ratio, distance = item.instrument, item.margin_ratio, item.liquidation_distance
    margin, liquidation = rules.margin_ratio, rules.liquidation_distance
    for level, severity in LEVELS if margin.enabled else ():
        threshold: Decimal = getattr(margin, level)
        values: dict[str, Number] = {"threshold": threshold}
        if ratio is not None:
            values["margin_ratio"] = ratio
        says = (
            f"the margin ratio on {name} is {ratio}, at or above the {level} level {threshold} "
            f"(1 = liquidation)",
            f"the margin ratio on {name} is back below the {level} level {threshold} (now {ratio})",
        )
        active = ratio is not None and ratio >= threshold
        cooldown = Cooldown.from_config(margin)
        yield _check(item, "margin_ratio", level, active, cooldown, severity, values, says)
    for level, severity in LEVELS if liquidation.enabled else ():
        threshold = getattr(liquidation, level)
        values = {"threshold": threshold}
        if distance is not None:
            values["liquidation_distance"] = distance
        shown = "unreachable" if distance is None else _pct(distance)
        says = (
            f"the short on {name} is {shown} from liquidation, within the {level} distance "
            f"{_pct(threshold)}",
            f"the short on {name} is back beyond the {level} distance {_pct(threshold)} from "
            f"liquidation (now {shown})",
        )
        active = distance is not None and distance <= threshold
        cooldown = Cooldown.from_config(liquidation)
        section = "liquidation_distance"
        yield _check(item, section, level, active, cooldown, severity, values, says)


def _drift_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    config, drift, band = rules.drift, item.drift, item.band
    if not config.enabled or drift is None or band is None:
        return
    cooldown = Cooldown.from_config(config, hold_ticks=config.ticks)
    values: dict[str, Number] = {"drift": drift, "band": band, "ticks": config.ticks}
    name = item.instrument
    for check, active in (("over", drift > band), ("under", drift < -band)):
        says = (
            f"the hedge on {name} is {check}-hedged by {_pct(abs(drift))}, beyond its band "
            f"{_pct(band)} for more than {config.ticks} tick(s)",
            f"the hedge on {name} is no longer {check}-hedged beyond its band "
            f"(drift {_pct(drift)}, band {_pct(band)})",
        )
        yield _check(item, "drift", check, active, cooldown, Severity.WARNING, values, says)


def _proxy_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    config, name, rho, basis = rules.proxy, item.instrument, item.proxy_rho, item.basis
    if not config.enabled:
        return
    cooldown = Cooldown.from_config(config)
    if (floor := config.min_rho) is not None and rho is not None:
        says = (
            f"the proxy hedge of {item.asset or 'its asset'} on {name} has broken down: "
            f"correlation {rho} is below {floor}",
            f"the proxy hedge on {name} is correlated again: {rho} (minimum {floor})",
        )
        values: dict[str, Number] = {"rho": rho, "min_rho": floor}
        yield _check(item, "proxy", "rho", rho < floor, cooldown, Severity.WARNING, values, says)
    if (limit := config.max_basis) is not None and basis is not None:
        says = (
            f"the basis on {name} is {_pct(basis)}, beyond ±{_pct(limit)}",
            f"the basis on {name} is back within ±{_pct(limit)} (now {_pct(basis)})",
        )
        values = {"basis": basis, "max_basis": limit}
        wide = abs(basis) > limit
        yield _check(item, "proxy", "basis", wide, cooldown, Severity.WARNING, values, says)


def _price_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    config, name, age = rules.prices, item.instrument, item.price_age_seconds
    if not config.enabled:
        return
    cooldown = Cooldown.from_config(config)
    values: dict[str, Number] = {} if age is None else {"price_age_seconds": age}
    old = "" if age is None else f" ({age} s old)"
    says = (f"the price of {name} is stale{old}", f"the price of {name} is fresh again")
    stale = item.price_stale
    yield _check(item, "prices", "stale", stale, cooldown, Severity.WARNING, values, says)
    says = (
        f"the price of {name} is an outlier: it disagrees with its references",
        f"the price of {name} agrees with its references again",
    )
    outlier = item.price_outlier
    yield _check(item, "prices", "outlier", outlier, cooldown, Severity.WARNING, {}, says)


def _event_checks(obs: TickObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    if rules.order_rejected.enabled:
        cooldown = Cooldown.from_config(rules.order_rejected)
        by_symbol: dict[str, list[OrderEvent]] = {}
        for event in obs.rejected_orders:
            by_symbol.setdefault(event.symbol, []).append(event)
        for symbol, events in by_symbol.items():
            ids = ", ".join(event.client_order_id for event in events[:5])
            more = f" and {len(events) - 5} more" if len(events) > 5 else ""
            reason = events[0].reason or "no reason given"
            message = f"{len(events)} order(s) rejected on {symbol} ({ids}{more}): {reason}"
            values: dict[str, Number] = {"rejected": len(events)}
            spec = AlertSpec("order_rejected", Severity.WARNING, message, values, None, symbol)
            key = condition_key("order_rejected", "symbol", symbol)
            yield Check(key, True, cooldown, spec)  # cleared when a tick reports none
    if rules.unknown_order.enabled:
        cooldown = Cooldown.from_config(rules.unknown_order)
        for event in obs.unknown_orders:
            values = {} if event.contracts is None else {"contracts": event.contracts}
            side = f"{event.side} " if event.side else ""
            message = (
                f"the outcome of {side}order {event.client_order_id} on {event.symbol} is "
                f"unknown: {event.reason or 'no answer from the exchange'}"
            )
            kind, symbol = "unknown_order_outcome", event.symbol
            spec = AlertSpec(kind, Severity.CRITICAL, message, values, None, symbol)
            key = condition_key("unknown_order", "order", event.client_order_id)
            yield Check(key, True, cooldown, spec)
    yield from _flag_checks(obs, rules)


def _flag(
    key: str, active: bool, cooldown: Cooldown, severity: Severity, says: tuple[str, str]
) -> Check:
    section, check, _subject = split_key(key)
    kind = KINDS[(section, check)]
    raised, cleared = says
    return Check(
        key,
        active,
        cooldown,
        AlertSpec(kind, severity, raised),
        AlertSpec(kind, Severity.INFO, cleared),
    )


def _flag_checks(obs: TickObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    reason = f": {obs.exchange_reason}" if obs.exchange_reason else ""
    if rules.exchange.enabled:
        cooldown = Cooldown.from_config(rules.exchange)
        says = (
            f"trading is paused: the exchange is unavailable{reason}",
            "the exchange is available again: trading resumes",
        )
        yield _flag("exchange.paused", obs.exchange_paused, cooldown, Severity.WARNING, says)
        says = (
            f"the exchange refuses our requests (banned or rate-limited){reason}",
            "the exchange accepts our requests again",
        )
        yield _flag("exchange.banned", obs.exchange_banned, cooldown, Severity.CRITICAL, says)
    if rules.kill_switch.enabled:
        cooldown = Cooldown.from_config(rules.kill_switch)
        says = (
            "the kill switch is engaged: no order may add exposure (reduce-only orders still go "
            "out)",
            "the kill switch is released: hedging resumes",
        )
        yield _flag("kill_switch.engaged", obs.kill_switch, cooldown, Severity.WARNING, says)


def _absent_check(key: str, state: ConditionState, rules: AlertRulesConfig) -> Check | None:
    """The clearing check of a condition that this tick did not report (None: forget it)."""
    section_name, check, subject = split_key(key)
    section = _section(rules, section_name)
    kind = KINDS.get((section_name, check))
    if section is None or kind is None or not section.enabled:
        return None
    hold = rules.drift.ticks if section_name == "drift" else 0
    if section_name == "unknown_order":
        message = f"the outcome of order {subject} is resolved"
    elif section_name == "order_rejected":
        message = f"orders on {subject} are no longer rejected"
    else:
        message = f"{kind.replace('_', ' ')} on {subject}: no longer observed"
    spec = AlertSpec(kind, Severity.INFO, message, {}, state.asset, state.instrument)
    return Check(key, False, Cooldown.from_config(section, hold_ticks=hold), spec, spec)


def _cooldown_of(key: str, rules: AlertRulesConfig) -> Cooldown | None:
    section_name, _check, _subject = split_key(key)
    section = _section(rules, section_name)
    if section is None:
        return None
    hold = rules.drift.ticks if section_name == "drift" else 0
    return Cooldown.from_config(section, hold_ticks=hold)


def _collapse(alerts: list[Alert]) -> list[Alert]:
    """Per kind and subject, per tick: one raise and one repeat (the most severe of each) and
    one clearing (the last, i.e. the lowest level).

    Levels (margin warning/critical) are separate conditions; crossing both at once says once.
    """
    order = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
    best: dict[tuple[str, str | None, str | None, AlertStatus], Alert] = {}
    for alert in alerts:
        group = (alert.kind, alert.instrument, alert.asset, alert.status)
        kept = best.get(group)
        more_severe = kept is None or order[alert.severity] > order[kept.severity]
        if alert.status is AlertStatus.CLEARED or more_severe:
            best[group] = alert
    keep = {id(alert) for alert in best.values()}
    return [alert for alert in alerts if alert.status is AlertStatus.EVENT or id(alert) in keep]


def evaluate_tick(
    observation: TickObservation,
    states: Mapping[str, ConditionState],
    rules: AlertRulesConfig,
    *,
    account: str = DEFAULT_ACCOUNT,
) -> tuple[dict[str, ConditionState], list[Alert]]:
    """Every rule over one tick: the new condition states (idle ones dropped) and the alerts."""
    now = observation.now
    checks: list[Check] = []
    if observation.measured:
        for item in observation.instruments:
            checks.extend(_instrument_checks(item, rules))
    checks.extend(_event_checks(observation, rules))
    seen = {check.key for check in checks}
    for key, state in states.items():
        section = split_key(key)[0]
        vanishes = section in _EVENT_SECTIONS or (
            observation.measured and section in _INSTRUMENT_SECTIONS
        )
        if vanishes and key not in seen:
            absent = _absent_check(key, state, rules)
            if absent is not None:
                checks.append(absent)
    new_states = dict(states)
    alerts: list[Alert] = []
    for check in checks:
        state, produced = evaluate(
            check.key,
            check.active,
            now,
            states.get(check.key),
            check.cooldown,
            spec=check.spec,
            clear=check.clear,
            account=account,
        )
        new_states[check.key] = state
        alerts.extend(produced)
    for key in list(new_states):
        cooldown = _cooldown_of(key, rules)
        section = split_key(key)[0]
        disabled = section != "daemon" and (
            cooldown is None or not _section_enabled(rules, section)
        )
        if disabled or (cooldown is not None and new_states[key].is_idle(now, cooldown)):
            del new_states[key]
    return new_states, _collapse(alerts)


def _section_enabled(rules: AlertRulesConfig, name: str) -> bool:
    section = _section(rules, name)
    return section is not None and section.enabled


def lifecycle(
    running: bool,
    now: datetime,
    state: ConditionState | None,
    rules: AlertRulesConfig,
    *,
    account: str = DEFAULT_ACCOUNT,
    reason: str | None = None,
) -> tuple[ConditionState | None, list[Alert]]:
    """Daemon started (``running``) or stopped, as the condition ``daemon.running``.

    Starting while the stored state is still running means the previous run never stopped
    cleanly (killed or crashed): that stop is announced first (warning).
    """
    config = rules.daemon
    if not config.enabled:
        return state, []
    cooldown = Cooldown.from_config(config)
    alerts: list[Alert] = []
    if running and state is not None and state.active:
        unclean = AlertSpec(
            "daemon_stopped",
            Severity.WARNING,
            "the previous run of the daemon ended without a clean stop (killed or crashed)",
        )
        state, produced = evaluate(
            DAEMON_KEY, False, now, state, cooldown, spec=unclean, clear=unclean, account=account
        )
        alerts.extend(produced)
    started = AlertSpec("daemon_started", Severity.INFO, "the daemon started: hedging")
    stopped = AlertSpec(
        "daemon_stopped",
        Severity.WARNING,
        f"the daemon stopped ({reason or 'requested'}): the hedges are no longer maintained",
    )
    state, produced = evaluate(
        DAEMON_KEY, running, now, state, cooldown, spec=started, clear=stopped, account=account
    )
    alerts.extend(produced)
    return state, alerts
