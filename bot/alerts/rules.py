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

from collections.abc import Iterator, Mapping
from datetime import datetime

from bot.alerts.checks import (
    _EVENT_SECTIONS,
    _INSTRUMENT_SECTIONS,
    KINDS,
    Check,
    Number,
    _section,
    condition_key,
    split_key,
)
from bot.alerts.checks import DAEMON_KEY as DAEMON_KEY
from bot.alerts.conditions import (
    AlertSpec as AlertSpec,
)
from bot.alerts.conditions import (
    ConditionState as ConditionState,
)
from bot.alerts.conditions import (
    Cooldown as Cooldown,
)
from bot.alerts.conditions import (
    evaluate as evaluate,
)
from bot.alerts.instrument_checks import _instrument_checks
from bot.alerts.model import DEFAULT_ACCOUNT, Alert, AlertStatus, Severity
from bot.alerts.observations import (
    InstrumentObservation as InstrumentObservation,
)
from bot.alerts.observations import (
    OrderEvent as OrderEvent,
)
from bot.alerts.observations import (
    TickObservation as TickObservation,
)
from bot.config.alert_params import AlertRulesConfig


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
