"""Table tests of the planner's rules, plus exposure, sizing helpers and client ids."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from bot.config.models import HedgeConfig, LimitsConfig
from bot.core.exposure import MissingPriceError, exposures, face_usd, short_contracts
from bot.core.ids import client_order_id
from bot.core.planner import PlannerSettings, aggregate_targets, plan_hedges
from bot.core.types import MarginWallet, Market, Plan, PlannedOrder, Position

from .factories import (
    BTC,
    BTC_LINEAR,
    ETH,
    SOL,
    D,
    inverse,
    linear,
    position,
    settings,
    snapshot,
    target,
)

PRICES = {"BTC": 50_000, "ETH": 3_000, "SOL": 150}
MARKETS = {BTC: inverse(BTC, 100), ETH: inverse(ETH, 10), SOL: inverse(SOL, 10)}

Row = tuple[str, int, bool]  # (side, contracts, reduce_only)


def shape(orders: tuple[PlannedOrder, ...]) -> list[Row]:
    return [(o.side, int(o.contracts), o.reduce_only) for o in orders]


def plan_btc(
    target_usd: int | str, short: int | None, markets: dict[str, Market] | None = None, **kw: str
) -> Plan:
    """Plan BTC alone: 100-USD contracts at 50,000 USD, ``short`` contracts held."""
    positions = {} if short is None else {BTC: position(BTC, short, mark=50_000)}
    snap = snapshot(markets=markets or MARKETS, prices=PRICES, positions=positions)
    return plan_hedges([target(BTC, target_usd)], snap, settings(**kw), "key")


# --- band ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("short", "expected"),
    [
        (1000, []),
        (985, []),  # 1,500 USD gap < 2 % of 100,000
        (980, []),  # exactly 2,000 USD: not outside the band
        (979, [("sell", 21, False)]),
        (975, [("sell", 25, False)]),
        (1020, []),
        (1021, [("buy", 21, True)]),
        (None, [("sell", 1000, False)]),
    ],
)
def test_band(short: int | None, expected: list[Row]) -> None:
    plan = plan_btc(100_000, short, band="0.02")
    assert shape(plan.orders) == expected


def test_band_zero_trades_any_gap() -> None:
    assert shape(plan_btc(100_000, 999, band="0").orders) == [("sell", 1, False)]


# --- min order, min contracts, steps -----------------------------------------------------------


@pytest.mark.parametrize(
    ("target_usd", "short", "expected", "note"),
    [
        (100_000, 960, [], "below min_order_usd"),  # 4,000 USD < 5,000
        (100_000, 950, [("sell", 50, False)], None),  # exactly 5,000 USD
        (100_000, 1_040, [], "below min_order_usd"),
        (0, 10, [("buy", 10, True)], None),  # a full close may be below min_order_usd
        (50, 10, [("buy", 10, True)], "below one order"),  # target rounds to 0: full close
    ],
)
def test_min_order_usd(target_usd: int, short: int, expected: list[Row], note: str | None) -> None:
    plan = plan_btc(target_usd, short, min_order_usd="5000")
    assert shape(plan.orders) == expected
    if note is not None:
        assert any(note in n for n in plan.notes)


def test_min_contracts() -> None:
    markets = {BTC: inverse(BTC, 100, min_contracts=10)}
    plan = plan_btc(100_500, 1_000, markets)  # gap of 5 contracts < 10
    assert plan.orders == ()
    assert any("below the minimum order" in n for n in plan.notes)
    plan = plan_btc(900, None, markets)  # 9 contracts < 10: no hedge
    assert plan.orders == ()
    assert plan.hedges[0].target_contracts == 0
    assert any("below one order" in n for n in plan.notes)


def test_dust_short_below_min_contracts_is_reported() -> None:
    plan = plan_btc(0, 3, {BTC: inverse(BTC, 100, min_contracts=10)})
    assert plan.orders == ()
    assert any("below the minimum order" in n for n in plan.notes)


def test_amount_step_rounds_target_down() -> None:
    plan = plan_btc(100_399, None, {BTC: inverse(BTC, 100, step=5)})
    assert plan.hedges[0].target_contracts == 1_000
    assert shape(plan.orders) == [("sell", 1_000, False)]


# --- oversize: split or clamp ------------------------------------------------------------------


def test_split_into_near_equal_orders() -> None:
    plan = plan_btc(250_000, None, max_order_usd="100000", oversize="split")
    assert shape(plan.orders) == [("sell", 834, False), ("sell", 833, False), ("sell", 833, False)]
    assert len({o.client_order_id for o in plan.orders}) == 3
    assert all("split into 3" in o.reason for o in plan.orders)
    assert [o.reason[-5:] for o in plan.orders] == ["(1/3)", "(2/3)", "(3/3)"]
    assert any("split into 3" in n for n in plan.notes)
    assert plan.hedges[0].notes


def test_clamp_to_max_order() -> None:
    plan = plan_btc(250_000, None, max_order_usd="100000", oversize="clamp")
    assert shape(plan.orders) == [("sell", 1_000, False)]
    assert "clamped 2500 -> 1000" in plan.orders[0].reason
    assert any("clamped" in n for n in plan.notes)


def test_split_applies_to_reductions() -> None:
    plan = plan_btc(0, 2_000, max_order_usd="100000")
    assert shape(plan.orders) == [("buy", 1_000, True), ("buy", 1_000, True)]


def test_max_order_below_one_contract_drops_the_order() -> None:
    plan = plan_btc(100_000, None, max_order_usd="99")
    assert plan.orders == ()
    assert any("max_order_usd" in n for n in plan.notes)


# --- max total short ---------------------------------------------------------------------------


def test_max_total_short_clamps_increases_in_symbol_order() -> None:
    snap = snapshot(markets=MARKETS, prices=PRICES)
    targets = [target(ETH, 100_000), target(BTC, 100_000)]
    plan = plan_hedges(targets, snap, settings(max_total_short_usd="150000"), "k")
    assert [(o.symbol, int(o.contracts)) for o in plan.orders] == [(BTC, 1_000), (ETH, 5_000)]
    assert any(n.startswith(ETH) and "max_total_short_usd" in n for n in plan.notes)
    assert "max_total_short_usd" in plan.orders[1].reason


def test_reductions_go_out_and_free_headroom_only_once_filled() -> None:
    """A reduction may fill in part (a limit cancelled when stale): the headroom it would free
    is not lent to an increase in the same plan (chaos seed 1, cycle 15 went over the cap so)."""
    positions = {BTC: position(BTC, 2_000, mark=50_000)}  # 200,000 USD: over the cap already
    snap = snapshot(markets=MARKETS, prices=PRICES, positions=positions)
    targets = [target(BTC, 100_000), target(ETH, 100_000)]
    plan = plan_hedges(targets, snap, settings(max_total_short_usd="150000"), "k")
    rows = [(o.symbol, o.side, int(o.contracts), o.reduce_only) for o in plan.orders]
    assert rows == [(BTC, "buy", 1_000, True)]
    assert any(n.startswith(ETH) and "dropped: max_total_short_usd" in n for n in plan.notes)
    # Once the reduction has filled, the next plan uses the headroom it made.
    filled = {BTC: position(BTC, 1_000, mark=50_000)}
    after = snapshot(markets=MARKETS, prices=PRICES, positions=filled)
    plan = plan_hedges(targets, after, settings(max_total_short_usd="150000"), "k2")
    rows = [(o.symbol, o.side, int(o.contracts), o.reduce_only) for o in plan.orders]
    assert rows == [(ETH, "sell", 5_000, False)]


def test_over_the_cap_no_increase_and_a_trim_back_to_it() -> None:
    """Held above the cap (a venue re-valued the contracts, a fill the plan did not expect):
    nothing grows and the short is trimmed back to the cap, which is hard."""
    plan = plan_btc(300_000, 2_000, max_total_short_usd="150000")
    assert shape(plan.orders) == [("buy", 500, True)]
    assert any("dropped" in n and "max_total_short_usd" in n for n in plan.notes)
    assert any("trim 500 contracts" in n for n in plan.notes)


# --- trims, target 0, longs --------------------------------------------------------------------


def test_trim_is_reduce_only_buy() -> None:
    assert shape(plan_btc(100_000, 1_500).orders) == [("buy", 500, True)]


def test_short_without_target_is_closed() -> None:
    positions = {ETH: position(ETH, 700, mark=3_000)}
    snap = snapshot(markets=MARKETS, prices=PRICES, positions=positions)
    plan = plan_hedges([], snap, settings(min_order_usd="100000"), "k")
    assert [(o.symbol, o.side, int(o.contracts), o.reduce_only) for o in plan.orders] == [
        (ETH, "buy", 700, True)
    ]
    assert plan.orders[0].reason == "close short (target 0 contracts)"
    assert plan.hedges[0].target_contracts == 0


def test_long_is_closed_reduce_only_then_short_opened() -> None:
    plan = plan_btc(100_000, -300)
    assert shape(plan.orders) == [("sell", 300, True), ("sell", 1_000, False)]
    assert plan.orders[0].reason == "close long before hedging"
    assert plan.orders[0].client_order_id != plan.orders[1].client_order_id
    assert plan.hedges[0].current_contracts == -300
    assert plan.hedges[0].current_short_usd == -30_000


def test_long_with_target_zero_is_only_closed() -> None:
    assert shape(plan_btc(0, -300).orders) == [("sell", 300, True)]


def test_long_without_target_is_left_with_a_note() -> None:
    positions = {ETH: position(ETH, -50, mark=3_000)}
    snap = snapshot(markets=MARKETS, prices=PRICES, positions=positions)
    plan = plan_hedges([], snap, settings(), "k")
    assert plan.orders == ()
    assert any(n.startswith(ETH) and "no target" in n for n in plan.notes)


# --- unknown positions, missing data -----------------------------------------------------------


def test_unknown_position_gets_no_order_and_holds_increases() -> None:
    positions = {ETH: position(ETH, 20_000, mark=3_000)}
    snap = snapshot(markets=MARKETS, prices=PRICES, positions=positions, unknown=frozenset({BTC}))
    targets = [target(BTC, 100_000), target(ETH, 100_000), target(SOL, 10_000)]
    plan = plan_hedges(targets, snap, settings(), "k")
    assert [(o.symbol, o.side, int(o.contracts)) for o in plan.orders] == [(ETH, "buy", 10_000)]
    assert any(n.startswith(BTC) and "unknown" in n for n in plan.notes)
    assert any(n.startswith(SOL) and "held" in n for n in plan.notes)
    assert BTC not in {h.instrument for h in plan.hedges}


def test_missing_market_gets_a_note() -> None:
    snap = snapshot(markets={BTC: MARKETS[BTC]}, prices=PRICES)
    plan = plan_hedges([target(BTC, 100_000), target(ETH, 30_000)], snap, settings(), "k")
    assert [o.symbol for o in plan.orders] == [BTC]
    assert any(n == f"{ETH}: no market: no order" for n in plan.notes)


def test_unvalued_short_holds_increases() -> None:
    positions = {"XRP/USD:XRP": position("XRP/USD:XRP", 10)}
    snap = snapshot(markets=MARKETS, prices=PRICES, positions=positions)
    plan = plan_hedges([target(BTC, 100_000)], snap, settings(), "k")
    assert plan.orders == ()
    assert any("cannot be valued" in n for n in plan.notes)


def test_missing_price_gets_a_note() -> None:
    snap = snapshot(markets=MARKETS, prices={"ETH": 3_000})
    plan = plan_hedges([target(BTC, 100_000), target(ETH, 30_000)], snap, settings(), "k")
    assert [o.symbol for o in plan.orders] == [ETH]
    assert any("no price for BTC" in n for n in plan.notes)


def test_inactive_market_gets_no_order() -> None:
    plan = plan_btc(100_000, None, {BTC: inverse(BTC, 100, active=False)})
    assert plan.orders == ()
    assert any("inactive" in n for n in plan.notes)


def test_mark_price_of_the_position_is_preferred() -> None:
    positions = {BTC_LINEAR: position(BTC_LINEAR, 0, mark=40_000)}
    snap = snapshot(markets={BTC_LINEAR: linear()}, prices=PRICES, positions=positions)
    plan = plan_hedges([target(BTC_LINEAR, 100_000)], snap, settings(), "k")
    assert plan.hedges[0].target_contracts == 2_500  # 100,000 / (0.001 × 40,000)


# --- aggregation, ordering, determinism --------------------------------------------------------


def test_aggregate_targets_sums_per_instrument() -> None:
    targets = [target(BTC, 100, "SOL"), target(BTC, 50, "BTC"), target(ETH, 7, "NVC")]
    assert aggregate_targets(targets) == {BTC: D(150), ETH: D(7)}


def test_reductions_first_then_increases_by_symbol() -> None:
    positions = {SOL: position(SOL, 5_000, mark=150), ETH: position(ETH, 100, mark=3_000)}
    snap = snapshot(markets=MARKETS, prices=PRICES, positions=positions)
    targets = [target(SOL, 10_000), target(BTC, 10_000), target(ETH, 10_000)]
    plan = plan_hedges(targets, snap, settings(), "k")
    assert [(o.symbol, o.side) for o in plan.orders] == [
        (SOL, "buy"),
        (BTC, "sell"),
        (ETH, "sell"),
    ]
    assert [h.instrument for h in plan.hedges] == sorted([BTC, ETH, SOL])


def test_plan_is_deterministic_and_keyed() -> None:
    a = plan_btc(250_000, None, max_order_usd="100000")
    b = plan_btc(250_000, None, max_order_usd="100000")
    assert a == b
    snap = snapshot(markets=MARKETS, prices=PRICES)
    other = plan_hedges([target(BTC, 250_000)], snap, settings(max_order_usd="100000"), "other")
    assert {o.client_order_id for o in other.orders}.isdisjoint(o.client_order_id for o in a.orders)


def test_settings_from_config() -> None:
    hedge = HedgeConfig(band=D("0.05"), min_order_usd=D(25))
    limits = LimitsConfig(max_order_usd=D(5_000), max_total_short_usd=D(9_000), oversize="clamp")
    assert PlannerSettings.from_config(hedge, limits) == PlannerSettings(
        band=D("0.05"),
        min_order_usd=D(25),
        max_order_usd=D(5_000),
        max_total_short_usd=D(9_000),
        oversize="clamp",
    )


# --- client ids --------------------------------------------------------------------------------


def test_client_order_id_shape() -> None:
    cid = client_order_id("tick-2024-01-01T00:00:00Z", "BTC/USD:BTC", "sell", 0)
    assert re.fullmatch(r"hb-[A-Za-z0-9_-]+", cid)
    assert len(cid) <= 36
    assert cid == client_order_id("tick-2024-01-01T00:00:00Z", "BTC/USD:BTC", "sell", 0)
    variants = {
        client_order_id("k", "BTC/USD:BTC", "sell", 0),
        client_order_id("k", "BTC/USD:BTC", "sell", 1),
        client_order_id("k", "BTC/USD:BTC", "buy", 0),
        client_order_id("k", "ETH/USD:ETH", "sell", 0),
        client_order_id("k2", "BTC/USD:BTC", "sell", 0),
    }
    assert len(variants) == 5


# --- exposure helpers --------------------------------------------------------------------------


def test_exposures_sum_spot_static_and_equity() -> None:
    snap = snapshot(
        markets=MARKETS,
        prices=PRICES,
        spot={"BTC": D(2)},
        static={"BTC": D("0.5"), "ETH": D(3)},
        margin={"BTC": MarginWallet("BTC", D(1), D("-0.25"))},
    )
    found = exposures(snap, ["BTC", "ETH", "SOL"])
    assert list(found) == ["BTC", "ETH", "SOL"]
    assert (found["BTC"].spot, found["BTC"].collateral) == (D("2.5"), D("0.75"))
    assert found["BTC"].exposure_usd == D("3.25") * 50_000
    assert (found["ETH"].spot, found["ETH"].collateral) == (D(3), D(0))
    assert found["SOL"].coins == 0


def test_exposures_missing_price_raises() -> None:
    snap = snapshot(markets=MARKETS, prices=PRICES, spot={"DOGE": D(10)})
    with pytest.raises(MissingPriceError, match="DOGE") as info:
        exposures(snap, ["BTC", "DOGE"])
    assert info.value.asset == "DOGE"


@pytest.mark.parametrize(
    ("pos", "expected"),
    [(None, 0), (position(BTC, 5), 5), (position(BTC, -3), -3), (position(BTC, 0), 0)],
)
def test_short_contracts(pos: Position | None, expected: int) -> None:
    assert short_contracts(pos) == expected


def test_face_usd() -> None:
    assert face_usd(inverse(BTC, 100), D(25), D(50_000)) == 2_500
    assert face_usd(linear(contract_size="0.001"), D(25), D(40_000)) == 1_000
    assert face_usd(inverse(BTC, 100), D(25), D(1)) == face_usd(inverse(BTC, 100), D(25), D(9))


def test_decimal_contracts_survive() -> None:
    market = linear(BTC_LINEAR, "1", step="0.001", min_contracts="0.001")
    snap = snapshot(markets={BTC_LINEAR: market}, prices=PRICES)
    plan = plan_hedges([target(BTC_LINEAR, 1_234)], snap, settings(), "k")
    assert plan.orders[0].contracts == Decimal("0.024")
