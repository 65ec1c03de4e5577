"""Dated futures: contract choice before expiry, and the roll as one decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.planner import plan_hedges
from bot.core.types import Market
from strategies.roll import choose_contract, roll_plan
from tests.core.factories import BTC, inverse, position, settings, snapshot

from .helpers import D, beta_rule, estimate, exposure, inputs, markets

JUN = "BTC/USD:BTC-240628"
SEP = "BTC/USD:BTC-240927"
DEC = "BTC/USD:BTC-241227"
EXPIRY = datetime(2024, 6, 28, 8, tzinfo=UTC)


def future(symbol: str, expiry: datetime, active: bool = True) -> Market:
    return replace(inverse(symbol, 100), expiry=expiry, active=active)


FUTURES = markets(
    future(JUN, EXPIRY),
    future(SEP, datetime(2024, 9, 27, 8, tzinfo=UTC)),
    future(DEC, datetime(2024, 12, 27, 8, tzinfo=UTC)),
    inverse(BTC),  # the perp is not a dated future
)


@pytest.mark.parametrize(
    ("before_expiry", "symbol"),
    [
        (timedelta(days=10), JUN),
        (timedelta(hours=24, seconds=1), JUN),
        (timedelta(hours=24), SEP),  # inside the 24 h roll window: the next expiry
        (timedelta(hours=1), SEP),
        (timedelta(0), SEP),  # expired
    ],
)
def test_choose_the_nearest_future_outside_the_roll_window(
    before_expiry: timedelta, symbol: str
) -> None:
    assert choose_contract(FUTURES, "BTC", EXPIRY - before_expiry, 24) == symbol


def test_choose_contract_edge_cases() -> None:
    last_only = markets(future(JUN, EXPIRY))
    assert choose_contract(last_only, "BTC", EXPIRY - timedelta(hours=2), 24) == JUN  # no next
    assert choose_contract(last_only, "ETH", EXPIRY - timedelta(days=9), 24) is None
    inactive = markets(future(JUN, EXPIRY, active=False), future(SEP, EXPIRY + timedelta(days=91)))
    assert choose_contract(inactive, "BTC", EXPIRY - timedelta(days=9), 24) == SEP


def test_roll_plan_closes_the_old_and_opens_the_new_in_one_decision() -> None:
    now = EXPIRY - timedelta(hours=12)
    held = {JUN: position(JUN, 1_470), BTC: position(BTC, 5)}
    plan = roll_plan(FUTURES, "BTC", now, 24, held)
    assert (plan.open_symbol, plan.close_symbols) == (SEP, (JUN,))
    assert plan.reason == f"roll: close {JUN} and hold {SEP} in one tick (24 h before expiry)"
    assert roll_plan(FUTURES, "BTC", EXPIRY - timedelta(days=5), 24, held).close_symbols == ()


def test_beta_rule_on_futures_rolls_and_the_planner_sees_both_legs() -> None:
    rule = beta_rule("SOL", hedge_with="BTC", contract="inverse_future")
    now = EXPIRY - timedelta(hours=12)
    held = {JUN: position(JUN, 1_470, entry=60_000)}
    book = inputs(
        [exposure("SOL", 1_000, 150)],
        FUTURES,
        {("SOL", "BTC"): estimate(1.4, 0.8, now=now)},
        now=now,
        positions=held,
    )
    result = rule.evaluate(book)
    assert [(t.instrument, t.target_short_usd) for t in result.targets] == [
        (SEP, D(147_000)),
        (JUN, D(0)),
    ]
    assert [e.kind for e in result.events] == ["roll"]
    snap = snapshot(markets=FUTURES, prices={"BTC": 60_000, "SOL": 150}, positions=held)
    plan = plan_hedges(result.targets, snap, settings(), "roll")
    assert [(o.symbol, o.side, o.contracts, o.reduce_only) for o in plan.orders] == [
        (JUN, "buy", D(1_470), True),  # reductions first
        (SEP, "sell", D(1_470), False),
    ]
    assert set(rule.instruments(FUTURES, now)) == {JUN, SEP, DEC}
