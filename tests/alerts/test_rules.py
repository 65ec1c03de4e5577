"""The rules engine: the generic state machine as a table, then every rule triggered, held by
its cooldown and cleared."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.alerts import (
    Alert,
    AlertSpec,
    AlertStatus,
    ConditionState,
    Cooldown,
    InstrumentObservation,
    OrderEvent,
    Severity,
    TickObservation,
    evaluate,
    evaluate_tick,
)
from bot.alerts.rules import DAEMON_KEY, lifecycle
from bot.config.alert_params import AlertRulesConfig, CarryAlerts

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TICK = timedelta(minutes=1)
SPEC = AlertSpec("margin_ratio", Severity.WARNING, "high", {"x": Decimal("0.6")})
BTC = "BTC/USD:BTC"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- evaluate(): the state machine ---------------------------------------------------------------

# (name, cooldown, [(minute, active)], expected statuses per step)
MACHINE: list[tuple[str, Cooldown, list[tuple[float, bool]], list[list[AlertStatus]]]] = [
    (
        "raise once, hold silently, clear once",
        Cooldown(),
        [(0, True), (1, True), (2, True), (3, False), (4, False)],
        [[AlertStatus.RAISED], [], [], [AlertStatus.CLEARED], []],
    ),
    (
        "hold_ticks: raised only after more than N active evaluations",
        Cooldown(hold_ticks=2),
        [(0, True), (1, True), (2, True), (3, True), (4, False)],
        [[], [], [AlertStatus.RAISED], [], [AlertStatus.CLEARED]],
    ),
    (
        "hold_ticks: a streak broken before N clears silently and starts again",
        Cooldown(hold_ticks=2),
        [(0, True), (1, True), (2, False), (3, True), (4, True), (5, True)],
        [[], [], [], [], [], [AlertStatus.RAISED]],
    ),
    (
        "repeat_after: re-notified while still active",
        Cooldown(repeat_after=timedelta(minutes=10)),
        [(0, True), (5, True), (10, True), (15, True), (20, True), (21, False)],
        [
            [AlertStatus.RAISED],
            [],
            [AlertStatus.REPEATED],
            [],
            [AlertStatus.REPEATED],
            [AlertStatus.CLEARED],
        ],
    ),
    (
        "cooldown period: flapping is not re-raised until the period has passed",
        Cooldown(period=timedelta(minutes=5)),
        [(0, True), (1, False), (2, True), (3, False), (4, True), (5, True), (6, True), (7, False)],
        [
            [AlertStatus.RAISED],
            [AlertStatus.CLEARED],
            [],
            [],
            [],
            [],
            [AlertStatus.RAISED],
            [AlertStatus.CLEARED],
        ],
    ),
    (
        "announce_clear false: the clearing is silent, the condition re-arms",
        Cooldown(announce_clear=False),
        [(0, True), (1, False), (2, True)],
        [[AlertStatus.RAISED], [], [AlertStatus.RAISED]],
    ),
]


@pytest.mark.parametrize(
    ("cooldown", "steps", "expected"),
    [case[1:] for case in MACHINE],
    ids=[case[0] for case in MACHINE],
)
def test_state_machine(
    cooldown: Cooldown, steps: list[tuple[float, bool]], expected: list[list[AlertStatus]]
) -> None:
    state: ConditionState | None = None
    seen = []
    for minute, active in steps:
        state, alerts = evaluate("k", active, at(minute), state, cooldown, spec=SPEC)
        seen.append([alert.status for alert in alerts])
    assert seen == expected


def test_evaluate_is_pure_and_alerts_carry_the_spec() -> None:
    before = ConditionState()
    state, [alert] = evaluate("margin_ratio.warning:X", True, T0, before, Cooldown(), spec=SPEC)
    assert before == ConditionState()  # not mutated
    assert state == ConditionState(True, 1, T0, True, T0)
    assert (alert.kind, alert.severity, alert.message) == ("margin_ratio", Severity.WARNING, "high")
    assert alert.values == {"x": "0.6"}
    assert alert.raised_at == T0
    assert alert.condition == "margin_ratio.warning:X"
    _, [cleared] = evaluate("margin_ratio.warning:X", False, at(1), state, Cooldown(), spec=SPEC)
    assert (cleared.severity, cleared.status) == (Severity.INFO, AlertStatus.CLEARED)
    assert cleared.alert_id != alert.alert_id


# -- every rule: triggered, held by its cooldown, cleared ------------------------------------------


def instrument(**fields: object) -> Callable[[datetime], TickObservation]:
    def build(now: datetime) -> TickObservation:
        return TickObservation(now, [InstrumentObservation(BTC, asset="BTC", **fields)])  # type: ignore[arg-type]

    return build


def tick(**fields: object) -> Callable[[datetime], TickObservation]:
    def build(now: datetime) -> TickObservation:
        return TickObservation(now, **fields)  # type: ignore[arg-type]

    return build


@dataclass(frozen=True)
class RuleCase:
    name: str
    condition: str  # the condition key whose alerts are followed
    active: Callable[[datetime], TickObservation]
    inactive: Callable[[datetime], TickObservation]
    kind: str
    severity: Severity
    values: dict[str, str] = field(default_factory=dict)  # expected among the raised values
    rules: AlertRulesConfig = field(default_factory=AlertRulesConfig)
    hold: int = 0  # ticks active before the raise


D = Decimal
REJECTED = OrderEvent("hb-1", BTC, reason="insufficient margin", contracts=D(5), side="sell")
UNKNOWN = OrderEvent("hb-2", BTC, reason="timeout", contracts=D(7), side="buy")
CARRY_DAY = AlertRulesConfig(carry=CarryAlerts(max_cost_per_day_usd=D(10)))
CARRY_MONTH = AlertRulesConfig(carry=CarryAlerts(max_cost_per_month_usd=D(500)))

CASES = [
    RuleCase(
        "funding above its threshold",
        f"funding.high:{BTC}",
        instrument(funding_rate=D("0.001")),  # × 1095 = 109.5 %/yr > 100 %
        instrument(funding_rate=D("0.0001")),
        "funding_high",
        Severity.INFO,
        {"funding_rate": "0.001", "annualized": "1.095", "threshold_annualized": "1"},
    ),
    RuleCase(
        "funding below its threshold",
        f"funding.low:{BTC}",
        instrument(funding_rate=D("-0.0003"), funding_interval_hours=D(8)),  # -32.85 %/yr
        instrument(funding_rate=D("-0.0001"), funding_interval_hours=D(8)),  # -10.95 %/yr
        "funding_low",
        Severity.WARNING,
        {"annualized": "-0.3285", "threshold_annualized": "-0.2", "interval_hours": "8"},
    ),
    RuleCase(
        "funding sign flip (4-hour interval)",
        f"funding.negative:{BTC}",
        instrument(funding_rate=D("-0.00001"), funding_interval_hours=D(4)),
        instrument(funding_rate=D("0.00002"), funding_interval_hours=D(4)),
        "funding_sign_flip",
        Severity.WARNING,
        {"funding_rate": "-0.00001", "annualized": "-0.0219"},
    ),
    RuleCase(
        "carry cost per day",
        f"carry.cost:{BTC}",
        instrument(funding_rate=D("-0.0001"), short_usd=D(100_000)),  # 30 USD/day
        instrument(funding_rate=D("-0.00002"), short_usd=D(100_000)),  # 6 USD/day
        "carry_cost",
        Severity.WARNING,
        {"cost_per_day_usd": "30", "max_cost_per_day_usd": "10", "short_usd": "100000"},
        CARRY_DAY,
    ),
    RuleCase(
        "carry cost per month (from the annualized carry given)",
        f"carry.cost:{BTC}",
        instrument(annualized_carry=D("-0.073"), short_usd=D(-100_000)),  # 20/day, 600/month
        instrument(annualized_carry=D("0.05"), short_usd=D(-100_000)),
        "carry_cost",
        Severity.WARNING,
        {"cost_per_month_usd": "600", "max_cost_per_month_usd": "500"},
        CARRY_MONTH,
    ),
    RuleCase(
        "margin ratio warning",
        f"margin_ratio.warning:{BTC}",
        instrument(margin_ratio=D("0.6")),
        instrument(margin_ratio=D("0.3")),
        "margin_ratio",
        Severity.WARNING,
        {"margin_ratio": "0.6", "threshold": "0.5"},
    ),
    RuleCase(
        "margin ratio critical",
        f"margin_ratio.critical:{BTC}",
        instrument(margin_ratio=D("0.85")),
        instrument(margin_ratio=D("0.6")),  # back to warning only
        "margin_ratio",
        Severity.CRITICAL,
        {"margin_ratio": "0.85", "threshold": "0.8"},
    ),
    RuleCase(
        "liquidation distance warning",
        f"liquidation_distance.warning:{BTC}",
        instrument(liquidation_distance=D("0.25")),
        instrument(liquidation_distance=None),  # unreachable
        "liquidation_distance",
        Severity.WARNING,
        {"liquidation_distance": "0.25", "threshold": "0.3"},
    ),
    RuleCase(
        "liquidation distance critical",
        f"liquidation_distance.critical:{BTC}",
        instrument(liquidation_distance=D("0.1")),
        instrument(liquidation_distance=D("0.2")),
        "liquidation_distance",
        Severity.CRITICAL,
        {"liquidation_distance": "0.1", "threshold": "0.15"},
    ),
    RuleCase(
        "over-hedged beyond the band for more than 3 ticks",
        f"drift.over:{BTC}",
        instrument(drift=D("0.05"), band=D("0.02")),
        instrument(drift=D("0.01"), band=D("0.02")),
        "over_hedged",
        Severity.WARNING,
        {"drift": "0.05", "band": "0.02", "ticks": "3"},
        hold=3,
    ),
    RuleCase(
        "under-hedged beyond the band for more than 3 ticks",
        f"drift.under:{BTC}",
        instrument(drift=D("-0.05"), band=D("0.02")),
        instrument(drift=D("-0.02"), band=D("0.02")),  # on the band: inside
        "under_hedged",
        Severity.WARNING,
        {"drift": "-0.05"},
        hold=3,
    ),
    RuleCase(
        "proxy correlation breakdown",
        f"proxy.rho:{BTC}",
        instrument(proxy_rho=D("0.3")),
        instrument(proxy_rho=D("0.8")),
        "proxy_correlation",
        Severity.WARNING,
        {"rho": "0.3", "min_rho": "0.5"},
    ),
    RuleCase(
        "basis beyond its threshold",
        f"proxy.basis:{BTC}",
        instrument(basis=D("-0.05")),
        instrument(basis=D("0.001")),
        "basis",
        Severity.WARNING,
        {"basis": "-0.05", "max_basis": "0.02"},
    ),
    RuleCase(
        "stale price",
        f"prices.stale:{BTC}",
        instrument(price_stale=True, price_age_seconds=D(900)),
        instrument(price_stale=False),
        "price_stale",
        Severity.WARNING,
        {"price_age_seconds": "900"},
    ),
    RuleCase(
        "outlier price",
        f"prices.outlier:{BTC}",
        instrument(price_outlier=True),
        instrument(price_outlier=False),
        "price_outlier",
        Severity.WARNING,
    ),
    RuleCase(
        "order rejected",
        f"order_rejected.symbol:{BTC}",
        tick(rejected_orders=[REJECTED]),
        tick(),
        "order_rejected",
        Severity.WARNING,
        {"rejected": "1"},
    ),
    RuleCase(
        "unknown order outcome",
        "unknown_order.order:hb-2",
        tick(unknown_orders=[UNKNOWN]),
        tick(),  # resolved
        "unknown_order_outcome",
        Severity.CRITICAL,
        {"contracts": "7"},
    ),
    RuleCase(
        "exchange paused",
        "exchange.paused",
        tick(exchange_paused=True, exchange_reason="503 from the API"),
        tick(),
        "exchange_paused",
        Severity.WARNING,
    ),
    RuleCase(
        "exchange banned",
        "exchange.banned",
        tick(exchange_banned=True, exchange_reason="403 ip banned"),
        tick(),
        "exchange_banned",
        Severity.CRITICAL,
    ),
    RuleCase(
        "kill switch engaged",
        "kill_switch.engaged",
        tick(kill_switch=True),
        tick(kill_switch=False),
        "kill_switch",
        Severity.WARNING,
    ),
]


def followed(alerts: list[Alert], key: str) -> list[Alert]:
    return [alert for alert in alerts if alert.condition == key]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_rule_triggers_holds_and_clears(case: RuleCase) -> None:
    states: dict[str, ConditionState] = {}
    minute = 0

    def step(build: Callable[[datetime], TickObservation]) -> list[Alert]:
        nonlocal states, minute
        states, alerts = evaluate_tick(build(at(minute)), states, case.rules, account="acct")
        minute += 1
        return followed(alerts, case.condition)

    for _ in range(case.hold):  # "for more than N ticks": silent until then
        assert step(case.active) == []
    [raised] = step(case.active)
    assert (raised.kind, raised.severity, raised.status) == (
        case.kind,
        case.severity,
        AlertStatus.RAISED,
    )
    assert case.values.items() <= dict(raised.values).items()
    assert raised.account == "acct"
    assert raised.raised_at == at(case.hold)
    assert raised.message

    for _ in range(3):  # still active: deduplicated, nothing repeated
        assert step(case.active) == []

    [cleared] = step(case.inactive)
    assert (cleared.kind, cleared.severity, cleared.status) == (
        case.kind,
        Severity.INFO,
        AlertStatus.CLEARED,
    )
    assert step(case.inactive) == []

    # Back within the cooldown (300 s by default) of the clearing: held back ...
    assert step(case.active) == []
    # ... and raised again once the cooldown has passed, if still active.
    minute += 10
    for _ in range(case.hold - 1):
        assert step(case.active) == []
    assert [alert.status for alert in step(case.active)] == [AlertStatus.RAISED]


def test_daemon_started_and_stopped() -> None:
    rules = AlertRulesConfig()
    state, [started] = lifecycle(True, T0, None, rules)
    assert (started.kind, started.severity, started.condition) == (
        "daemon_started",
        Severity.INFO,
        DAEMON_KEY,
    )
    state, [stopped] = lifecycle(False, at(5), state, rules, reason="SIGTERM")
    assert (stopped.kind, stopped.severity, stopped.status) == (
        "daemon_stopped",
        Severity.WARNING,
        AlertStatus.CLEARED,
    )
    assert "SIGTERM" in stopped.message
    assert lifecycle(False, at(6), state, rules)[1] == []  # announced once


def test_daemon_killed_is_reported_at_the_next_start() -> None:
    rules = AlertRulesConfig()
    state, _ = lifecycle(True, T0, None, rules)  # then SIGKILL: no stop
    state, alerts = lifecycle(True, at(1), state, rules)
    assert [(alert.kind, alert.severity) for alert in alerts] == [
        ("daemon_stopped", Severity.WARNING),
        ("daemon_started", Severity.INFO),
    ]
    assert "without a clean stop" in alerts[0].message
    assert state is not None
    assert state.active


def test_daemon_restart_loop_is_held_by_its_cooldown() -> None:
    rules = AlertRulesConfig.model_validate({"daemon": {"cooldown_seconds": 600}})
    state, first = lifecycle(True, T0, None, rules)
    state, _ = lifecycle(False, at(1), state, rules)
    state, again = lifecycle(True, at(2), state, rules)
    assert [alert.kind for alert in first] == ["daemon_started"]
    assert again == []  # within 10 minutes of the last notification


def test_margin_crossing_both_levels_at_once_says_it_once() -> None:
    rules = AlertRulesConfig()
    states, alerts = evaluate_tick(instrument(margin_ratio=D("0.9"))(T0), {}, rules)
    assert [(a.kind, a.severity) for a in alerts] == [("margin_ratio", Severity.CRITICAL)]
    states, alerts = evaluate_tick(instrument(margin_ratio=D("0.1"))(at(1)), states, rules)
    assert [(a.condition, a.status) for a in alerts] == [
        (f"margin_ratio.warning:{BTC}", AlertStatus.CLEARED)
    ]
    assert set(states) == {f"margin_ratio.{level}:{BTC}" for level in ("warning", "critical")}
    assert not any(state.active or state.notified for state in states.values())
    # Kept while their cooldown runs, forgotten after it.
    states, _ = evaluate_tick(instrument(margin_ratio=D("0.1"))(at(10)), states, rules)
    assert states == {}


def test_an_unmeasured_tick_keeps_instrument_conditions() -> None:
    rules = AlertRulesConfig()
    states, [_raised] = evaluate_tick(instrument(price_stale=True)(T0), {}, rules)
    blind = TickObservation(at(1), measured=False)
    after, alerts = evaluate_tick(blind, states, rules)
    assert alerts == []
    assert after == states
    gone = TickObservation(at(2), instruments=[])  # measured: the instrument is gone
    after, [cleared] = evaluate_tick(gone, states, rules)
    assert (cleared.kind, cleared.status) == ("price_stale", AlertStatus.CLEARED)
    assert "no longer observed" in cleared.message
    assert cleared.instrument == BTC


def test_a_disabled_rule_says_nothing_and_forgets_its_conditions() -> None:
    on = AlertRulesConfig()
    states, [_raised] = evaluate_tick(tick(kill_switch=True)(T0), {}, on)
    off = AlertRulesConfig.model_validate({"kill_switch": {"enabled": False}})
    after, alerts = evaluate_tick(tick(kill_switch=True)(at(1)), states, off)
    assert (after, alerts) == ({}, [])


def test_repeat_after_for_critical_margin() -> None:
    rules = AlertRulesConfig()  # margin_ratio.repeat_after_seconds: 3600
    states, _ = evaluate_tick(instrument(margin_ratio=D("0.9"))(T0), {}, rules)
    states, alerts = evaluate_tick(instrument(margin_ratio=D("0.9"))(at(30)), states, rules)
    assert alerts == []
    states, alerts = evaluate_tick(instrument(margin_ratio=D("0.9"))(at(61)), states, rules)
    assert [(a.severity, a.status) for a in alerts] == [(Severity.CRITICAL, AlertStatus.REPEATED)]
    assert alerts[0].message.startswith("still: ")
