"""Time windows and the realized-volatility trigger: the hedge is lifted outside them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from strategies.beta_gating import Gating
from strategies.state import RuleState
from strategies.windows import (
    ActivationState,
    DailyWindow,
    OneOffWindow,
    VolTrigger,
    WeeklyWindow,
    is_active,
)
from tests.core.factories import SOL, inverse

from .helpers import D, beta_rule, exposure, inputs, markets

MONDAY = datetime(2024, 6, 3, tzinfo=UTC)  # a Monday
FRESH = ActivationState()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


@pytest.mark.parametrize(
    ("now", "inside"),
    [
        (at(0, 7, 59), False),
        (at(0, 8), True),  # [start, end)
        (at(0, 9, 59), True),
        (at(0, 10), False),
    ],
)
def test_one_off_window(now: datetime, inside: bool) -> None:
    window = OneOffWindow(at(0, 8), at(0, 10))
    assert is_active(now, [window], None, None, FRESH).active is inside


@pytest.mark.parametrize(
    ("now", "inside"),
    [(at(2, 21, 59), False), (at(2, 22), True), (at(3, 1, 59), True), (at(3, 2), False)],
)
def test_daily_window_across_midnight(now: datetime, inside: bool) -> None:
    window = DailyWindow(time(22, 0), timedelta(hours=4))
    assert is_active(now, [window], None, None, FRESH).active is inside


@pytest.mark.parametrize(
    ("now", "inside"),
    [
        (at(6, 19, 59), False),  # Sunday
        (at(6, 20), True),
        (at(7, 3), True),  # the next Monday 03:00, still inside
        (at(7, 8), False),
        (at(2, 20), False),  # Wednesday
    ],
)
def test_weekly_window_across_the_week_boundary(now: datetime, inside: bool) -> None:
    window = WeeklyWindow(6, time(20, 0), timedelta(hours=12))  # Sunday 20:00 for 12 h
    activation = is_active(now, [window], None, None, FRESH)
    assert activation.active is inside
    assert ("weekly Sun 20:00" in activation.reason) is inside


def test_no_gating_is_always_active() -> None:
    assert is_active(MONDAY, [], None, None, FRESH) == (True, ActivationState(active=True), "")


def test_vol_trigger_with_hysteresis_and_minimum_time_on() -> None:
    trigger = VolTrigger(enter_above=1.2, exit_below=0.8, min_active=timedelta(hours=6))
    state = FRESH
    seen = []
    vols = [1.0, 1.3, 1.0, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, None, 1.1]  # hourly observations
    for hour, vol in enumerate(vols):
        activation = is_active(at(0, hour), [], vol, trigger, state)
        state = activation.state
        seen.append(activation.active)
    # On at 1.3 (hour 1); 0.7 from hour 3 but on at least 6 h: off at hour 7; unknown vol and
    # 1.1 (below enter) keep it off.
    assert seen == [False, True, True, True, True, True, True, False, False, False, False]


def test_outside_reason_names_both_conditions() -> None:
    trigger = VolTrigger(1.2, 0.8)
    window = OneOffWindow(at(1, 0), at(2, 0))
    activation = is_active(at(0, 0), [window], 0.5, trigger, FRESH)
    assert not activation.active
    assert activation.reason == (
        "outside every window and realized vol 0.5000/yr not above 1.2: hedge lifted (target 0)"
    )


def test_beta_rule_lifts_the_hedge_outside_its_window_with_events() -> None:
    rule = beta_rule("SOL", gating=Gating(windows=(OneOffWindow(at(0, 8), at(0, 10)),)))
    state = RuleState()
    rows = []
    for hour in (7, 8, 9, 10):
        book = inputs(
            [exposure("SOL", 1_000, 150)],
            markets(inverse(SOL, 10)),
            now=at(0, hour),
            states={"SOL": state},
        )
        result = rule.evaluate(book)
        state = result.state or state
        (target,) = result.targets
        rows.append((hour, target.target_short_usd, [e.kind for e in result.events]))
    assert rows == [
        (7, D(0), []),  # first decision: no transition event
        (8, D(105_000), ["window_opened"]),
        (9, D(105_000), []),
        (10, D(0), ["window_closed"]),
    ]
