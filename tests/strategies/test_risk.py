"""Liquidation of each hedge position (hedging-math.md §6) and the margin top-up decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from bot.core.inverse import MaintenanceBasis, isolated_liquidation_price_short
from bot.core.types import MarginMode, Position
from strategies.risk import (
    LiquidationCheck,
    TopUpParams,
    TopUpState,
    collateral_for_price,
    liquidation_check,
    price_mismatch_event,
    top_up_decision,
)
from tests.core.factories import BTC, BTC_LINEAR, inverse, linear

from .helpers import NOW, D

P0 = D(50_000)
M = D("0.005")


def short(contracts: int, *, entry: Decimal = P0, liq: Decimal | None = None) -> Position:
    return Position(BTC, D(-contracts), entry, mark_price=entry, liquidation_price=liq)


def check(
    leverage: int | str,
    basis: MaintenanceBasis,
    *,
    mode: MarginMode = "isolated",
    mark: Decimal = P0,
    wallet: Decimal = Decimal(0),
    liq: Decimal | None = None,
) -> LiquidationCheck:
    result = liquidation_check(
        short(2_500, liq=liq),  # 2,500 × 100 USD = 250,000 USD face
        inverse(BTC, 100),
        mark_price=mark,
        wallet_balance=wallet,
        margin_mode=mode,
        leverage=D(leverage),
        maintenance_rate=M,
        basis=basis,
    )
    assert result is not None
    return result


def four(value: Decimal | None) -> Decimal:
    assert value is not None
    return value.quantize(D("0.0001"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize(
    ("leverage", "basis", "multiple"),
    [(2, "entry", "1.9802"), (2, "mark", "1.9900"), (5, "entry", "1.2422"), (5, "mark", "1.2438")],
)
def test_own_isolated_price_equals_the_closed_form_of_section_6(
    leverage: int, basis: MaintenanceBasis, multiple: str
) -> None:
    result = check(leverage, basis)
    closed = isolated_liquidation_price_short(P0, D(leverage), M, basis)
    assert result.own_price is not None
    assert closed is not None
    assert abs(result.own_price - closed) < D("1e-20")
    assert four(result.own_price / P0) == D(multiple)
    assert result.formula == f"{basis}-basis isolated"
    assert (result.source, result.price) == ("own", result.own_price)
    assert result.collateral == D(250_000) / (P0 * leverage)


def test_margin_ratio_reaches_one_at_the_liquidation_price() -> None:
    at_entry = check(5, "mark")
    assert at_entry.margin_ratio == M * 5  # maintenance m·Q/P over equity Q/(P0·L)
    own = at_entry.own_price
    assert own is not None
    at_liq = check(5, "mark", mark=own)
    assert at_liq.margin_ratio is not None
    assert abs(at_liq.margin_ratio - 1) < D("1e-20")
    assert four(at_liq.distance) == 0


def test_one_x_short_cannot_be_liquidated_by_a_rise() -> None:
    result = check(1, "mark")
    assert (result.own_price, result.distance, result.source) == (None, None, "unreachable")


def test_exchange_price_wins_own_is_kept_and_mismatch_reported() -> None:
    result = check(5, "mark", liq=D(61_000))
    assert (result.source, result.price) == ("exchange", D(61_000))
    assert result.distance == D("0.22")
    assert four(result.own_distance) == D("0.2438")
    event = price_mismatch_event(result, D("0.01"), "BTC")
    assert event is not None
    assert (event.kind, event.values["formula"]) == (
        "liquidation_price_mismatch",
        "mark-basis isolated",
    )
    assert price_mismatch_event(result, D("0.05"), "BTC") is None


def test_cross_margin_uses_the_whole_wallet() -> None:
    result = check(5, "entry", mode="cross", wallet=D(2))  # 2 BTC back 250,000 USD at 50,000
    assert result.formula == "entry-basis cross"
    # P = Q / (Q(1+m)/P0 − c) = 250,000 / (5.025 − 2)
    assert result.own_price == D(250_000) / (D("5.025") - 2)
    # The position's own margin mode wins over the configured one.
    pos = replace(short(2_500), margin_mode="isolated", leverage=D(2))
    own = liquidation_check(
        pos,
        inverse(BTC, 100),
        mark_price=P0,
        wallet_balance=D(2),
        margin_mode="cross",
        leverage=D(5),
        maintenance_rate=M,
        basis="mark",
    )
    assert own is not None
    assert four(own.own_price) == D("99500.0000")  # 1.99 × P0


def test_linear_short_liquidation() -> None:
    pos = Position(BTC_LINEAR, D(-1_000), P0)  # 1,000 × 0.001 BTC = 1 BTC short
    result = liquidation_check(
        pos,
        linear(BTC_LINEAR, "0.001"),
        mark_price=P0,
        wallet_balance=D(0),
        margin_mode="isolated",
        leverage=D(5),
        maintenance_rate=M,
        basis="mark",
    )
    assert result is not None
    # c + q(P0 − P) = m·q·P with c = q·P0/L  →  P = P0(1 + 1/L)/(1 + m)
    assert result.own_price == P0 * D("1.2") / D("1.005")
    assert result.formula == "mark-basis isolated linear"
    assert (
        liquidation_check(
            Position(BTC, D(5), P0),
            inverse(BTC),
            mark_price=P0,
            wallet_balance=D(0),
            margin_mode="cross",
            leverage=D(1),
            maintenance_rate=M,
        )
        is None
    )  # a long is not a hedge


def test_collateral_for_price_inverts_the_formula() -> None:
    bases: tuple[MaintenanceBasis, ...] = ("entry", "mark")
    for basis in bases:
        result = check(3, basis)
        target = D(70_000)
        needed = collateral_for_price(result, target)
        moved = check(3, basis, mode="cross", wallet=needed)
        assert moved.own_price is not None
        assert abs(moved.own_price - target) < D("1e-18")


PARAMS = TopUpParams(threshold=D("0.15"), target_distance=D("0.25"), max_top_up=D("0.5"))


def test_top_up_once_per_episode_capped_and_reset_on_recovery() -> None:
    low = check(10, "mark", mark=D(52_000))  # 10x: liquidation ~5.8 % above this mark
    assert low.distance is not None
    assert low.distance < PARAMS.threshold
    first = top_up_decision(low, "BTC", D(3), PARAMS, TopUpState(), NOW, "BTC")
    assert first.top_up is not None
    assert first.top_up.amount == D("0.5")  # needed more, capped at max_top_up
    assert [e.kind for e in first.events] == ["liquidation_distance_low", "margin_top_up"]
    assert first.state == TopUpState(NOW, True)
    again = top_up_decision(low, "BTC", D(3), PARAMS, first.state, NOW + timedelta(hours=1))
    assert (again.top_up, again.events, again.state) == (None, (), first.state)
    healthy = check(2, "mark")
    reset = top_up_decision(healthy, "BTC", D(3), PARAMS, again.state, NOW + timedelta(hours=2))
    assert (reset.top_up, reset.state) == (None, TopUpState())
    new_episode = top_up_decision(low, "BTC", D("0.1"), PARAMS, reset.state, NOW)
    assert new_episode.top_up is not None
    assert new_episode.top_up.amount == D("0.1")  # capped by the spot held


def test_top_up_amount_reaches_the_target_distance_when_uncapped() -> None:
    low = check(10, "mark", mark=D(52_000))
    roomy = replace(PARAMS, max_top_up=D(100))
    decision = top_up_decision(low, "BTC", D(100), roomy, TopUpState(), NOW)
    assert decision.top_up is not None
    after = check(
        10, "mark", mode="cross", mark=D(52_000), wallet=low.collateral + decision.top_up.amount
    )
    assert four(after.own_distance) == D("0.2500")
    no_spot = top_up_decision(low, "BTC", D(0), roomy, TopUpState(), NOW)
    assert no_spot.top_up is None
    assert [e.kind for e in no_spot.events] == ["liquidation_distance_low"]
    assert not no_spot.state.done  # retried next tick, the low-distance event not repeated
