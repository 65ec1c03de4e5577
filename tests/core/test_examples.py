"""Every worked example of shared/docs/hedging-math.md (sections 1-6), with its exact numbers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP

import pytest

from bot.core.exposure import exposures, face_usd
from bot.core.inverse import (
    MaintenanceBasis,
    annualized_rate,
    funding_payment_coin,
    harmonic_entry,
    isolated_liquidation_price_short,
    liquidation_price_short,
    position_pnl_coin,
    short_pnl_coin,
    short_pnl_usd,
)
from bot.core.planner import aggregate_targets, plan_hedges
from bot.core.sizing import contracts_for_usd
from bot.core.types import HedgeTarget, MarginWallet, Market

from .factories import BTC, ETH, SOL, D, inverse, linear, position, settings, snapshot, target

# --- Section 1: inverse contracts -------------------------------------------------------------


@pytest.mark.parametrize(("contract_size", "contracts"), [(1, 250_000), (100, 2_500)])
def test_example_1_1_contract_count(contract_size: int, contracts: int) -> None:
    hedge_usd = 5 * D(50_000)
    assert hedge_usd == 250_000
    market = inverse(contract_size=contract_size)
    assert contracts_for_usd(market, hedge_usd, D(50_000)) == contracts


def test_example_1_1_pnl_offsets_spot() -> None:
    pnl_coin = short_pnl_coin(D(250_000), D(50_000), D(40_000))
    assert pnl_coin == D("1.25")
    assert pnl_coin * 40_000 == 50_000
    assert short_pnl_usd(D(250_000), D(50_000), D(40_000)) == 50_000
    assert position_pnl_coin(D(-2_500), D(100), D(50_000), D(40_000)) == D("1.25")
    assert position_pnl_coin(D(2_500), D(100), D(50_000), D(40_000)) == D("-1.25")
    spot_change_usd = 5 * (D(40_000) - D(50_000))
    assert spot_change_usd == -50_000
    assert spot_change_usd + pnl_coin * 40_000 == 0


def test_harmonic_entry_weights_by_usd_face() -> None:
    entry = harmonic_entry([(D(100_000), D(50_000)), (D(100_000), D(40_000))])
    assert entry == D(200_000) / D("4.5")  # 2 BTC + 2.5 BTC of face for 200,000 USD
    assert entry < (D(50_000) + D(40_000)) / 2


def test_acceptance_5_btc_ratio_1_hundred_usd_contracts() -> None:
    snap = snapshot(markets={BTC: inverse()}, prices={"BTC": 50_000}, spot={"BTC": D(5)})
    exposure = exposures(snap, ["BTC"])["BTC"]
    hedge_target = HedgeTarget("BTC", BTC, D(1), exposure.exposure_usd * 1)
    assert hedge_target.target_short_usd == 250_000
    plan = plan_hedges([hedge_target], snap, settings(band="0.02"), "acceptance")
    (hedge,) = plan.hedges
    assert hedge.target_short_usd == 250_000
    assert hedge.target_contracts == 2_500
    rows = [(o.side, o.contracts, o.reduce_only) for o in plan.orders]
    assert rows == [("sell", D(2_500), False)]


# --- Section 2: exposure in coin units ---------------------------------------------------------


@pytest.mark.parametrize("price", ["25000", "37123.45", "50000", "100000", "61234.57"])
def test_section_2_delta_identity(price: str) -> None:
    spot, balance, face, entry, mark = D(3), D("0.8"), D(120_000), D(50_000), D(price)
    wallet = MarginWallet("BTC", balance, short_pnl_coin(face, entry, mark))
    snap = snapshot(
        markets={BTC: inverse()},
        prices={"BTC": mark},
        spot={"BTC": spot},
        margin={"BTC": wallet},
        positions={BTC: position(BTC, 1_200, entry=entry, mark=mark)},
    )
    exposure = exposures(snap, ["BTC"])["BTC"]
    delta_at_mark = exposure.coins - face / mark
    delta_at_entry = spot + balance - face / entry
    assert abs(delta_at_mark - delta_at_entry) < D("1e-20")
    # The current hedge is the face value Q, whatever the price.
    plan = plan_hedges([target(BTC, 0)], snap, settings(), "s2")
    assert plan.hedges[0].current_short_usd == face


SYNTHETIC_PRICES = ["100000", "25000", "37123.45", "49999.99", "50000.01", "71428.57", "1234.56"]


@pytest.mark.parametrize("contract_size", [1, 10, 100])
@pytest.mark.parametrize("price", SYNTHETIC_PRICES)
def test_example_2_1_synthetic_dollar_never_trades(contract_size: int, price: str) -> None:
    entry, mark = D(50_000), D(price)
    face = 1 * entry  # 1 BTC margin, hedged 100 %: Q = P0
    contracts = face / contract_size
    wallet = MarginWallet("BTC", D(1), short_pnl_coin(face, entry, mark))
    snap = snapshot(
        markets={BTC: inverse(contract_size=contract_size)},
        prices={"BTC": mark},
        margin={"BTC": wallet},
        positions={BTC: position(BTC, contracts, entry=entry, mark=mark)},
    )
    exposure = exposures(snap, ["BTC"])["BTC"]
    assert abs(exposure.exposure_usd - entry) < D("1e-18")  # worth P0 USD at any price
    plan = plan_hedges(
        [HedgeTarget("BTC", BTC, D(1), exposure.exposure_usd)], snap, settings(band="0"), "s21"
    )
    assert plan.orders == ()
    assert plan.hedges[0].target_contracts == contracts == plan.hedges[0].current_contracts


def test_example_2_1_price_doubles_exact_numbers() -> None:
    p0 = D(50_000)
    equity = MarginWallet("BTC", D(1), short_pnl_coin(p0, p0, 2 * p0)).equity
    assert equity == D("0.5")
    assert equity * 2 * p0 == p0


def test_example_2_2_proxy_hedge_counts_collateral() -> None:
    snap = snapshot(
        markets={BTC: inverse(contract_size=100)},
        prices={"BTC": 60_000, "SOL": 150},
        spot={"SOL": D(1_000)},
        margin={"BTC": MarginWallet("BTC", D("0.5"))},
    )
    found = exposures(snap, ["SOL", "BTC"])
    sol = HedgeTarget(
        "SOL", BTC, D("0.7"), D("0.7") * found["SOL"].exposure_usd * D("1.4"), D("1.4"), proxy=True
    )
    btc = HedgeTarget("BTC", BTC, D(1), 1 * found["BTC"].exposure_usd)
    assert sol.target_short_usd == 147_000
    assert btc.target_short_usd == 30_000
    assert aggregate_targets([sol, btc]) == {BTC: D(177_000)}
    plan = plan_hedges([sol, btc], snap, settings(band="0.02"), "s22")
    assert plan.hedges[0].target_short_usd == 177_000
    assert [(o.symbol, o.contracts) for o in plan.orders] == [(BTC, D(1_770))]


# --- Section 3: beta-adjusted size (multiply, never divide) ------------------------------------


@pytest.mark.parametrize(("contract_size", "contracts"), [(200, 63), (10, 1_260)])
def test_example_3_1_beta_multiplies(contract_size: int, contracts: int) -> None:
    short_usd = D(10_000) * D("1.00") * D("0.70") * D("1.8")
    assert short_usd == 12_600
    wrong = (D(10_000) * D("0.70") / D("1.8")).quantize(D("0.01"))
    assert wrong == D("3888.89")
    market = inverse(ETH, contract_size)
    assert contracts_for_usd(market, short_usd, D(3_000)) == contracts
    nvc_loss, short_gain = D(10_000) * D("0.15"), short_usd * D("0.0833")
    assert nvc_loss == 1_500
    assert abs(short_gain - 1_050) < 1
    assert abs(short_gain / nvc_loss - D("0.7")) < D("0.001")


def test_acceptance_10000_units_ratio_0_7_ten_usd_contracts() -> None:
    usd = D(10_000) * D("1.00") * D("0.7")
    assert contracts_for_usd(inverse(ETH, 10), usd, D(3_000)) == 700


def test_example_3_2_direct_perp() -> None:
    usd = D("0.7") * 1_000 * D(150)
    assert usd == 105_000
    assert contracts_for_usd(inverse(SOL, 10), usd, D(150)) == 10_500


# --- Section 4: rounding to contracts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("usd", "market", "price", "expected"),
    [
        ("250099.99", inverse(contract_size=100), "50000", "2500"),  # toward the smaller hedge
        ("99.99", inverse(contract_size=100), "50000", "0"),  # below one contract: no hedge
        ("450", inverse(contract_size=100, min_contracts=5), "50000", "0"),  # below min size
        ("500", inverse(contract_size=100, min_contracts=5), "50000", "5"),
        ("1005", inverse(contract_size=10, step=5), "50000", "100"),
        ("1000", linear(contract_size="1", step="0.001", min_contracts="0.001"), "30000", "0.033"),
        ("1000", linear(contract_size="0.001"), "30000", "33"),
        ("0", inverse(), "50000", "0"),
        ("-5000", inverse(), "50000", "0"),
    ],
)
def test_section_4_rounding(usd: str, market: Market, price: str, expected: str) -> None:
    contracts = contracts_for_usd(market, D(usd), D(price))
    assert contracts == D(expected)
    assert face_usd(market, contracts, D(price)) <= max(D(usd), D(0))


def test_section_4_division_noise_does_not_drop_a_contract() -> None:
    noisy = D(1) / 3 * 3  # 0.999...9 in 28 digits
    assert noisy != 1
    assert contracts_for_usd(inverse(contract_size=1), noisy, D(50_000)) == 1
    assert contracts_for_usd(inverse(contract_size=3), D(1_000_000) / 3 * 3, D(5)) == 333_333


def test_section_4_below_one_contract_is_a_note_not_an_error() -> None:
    snap = snapshot(markets={BTC: inverse(contract_size=100)}, prices={"BTC": 50_000})
    plan = plan_hedges([target(BTC, "99.99")], snap, settings(), "s4")
    assert plan.orders == ()
    assert plan.hedges[0].target_contracts == 0
    assert any("below one order" in note for note in plan.notes)


# --- Section 5: funding -------------------------------------------------------------------------


def test_example_5_1_funding() -> None:
    payment = funding_payment_coin(D(-2_500), D(100), D(50_000), D("0.0001"))
    assert payment == D("0.0005")  # 5 BTC of value × 0.01 %
    assert funding_payment_coin(D(-2_500), D(100), D(50_000), D("-0.0001")) == D("-0.0005")
    assert funding_payment_coin(D(2_500), D(100), D(50_000), D("0.0001")) == D("-0.0005")
    yearly = annualized_rate(D("0.0001"), D(8))
    assert yearly == D("0.1095")
    assert D(8_760) / 8 == 1_095
    assert payment * 1_095 / 5 == yearly  # about 10.95 % a year of the hedged value


# --- Section 6: liquidation of an isolated inverse short ----------------------------------------

FOUR_PLACES = D("0.0001")


@pytest.mark.parametrize(
    ("leverage", "basis", "multiple"),
    [
        (2, "entry", "1.9802"),
        (2, "mark", "1.9900"),
        (5, "entry", "1.2422"),
        (5, "mark", "1.2438"),
    ],
)
def test_section_6_liquidation(leverage: int, basis: MaintenanceBasis, multiple: str) -> None:
    p0, face, m, lev = D(50_000), D(100_000), D("0.005"), D(leverage)
    closed = isolated_liquidation_price_short(p0, lev, m, basis)
    general = liquidation_price_short(face, p0, face / (p0 * lev), m, basis)
    assert closed is not None
    assert general is not None
    assert (closed / p0).quantize(FOUR_PLACES, ROUND_HALF_UP) == D(multiple)
    assert (general / p0).quantize(FOUR_PLACES, ROUND_HALF_UP) == D(multiple)
    assert abs(closed - general) < D("1e-15")


def test_section_6_exact_closed_forms() -> None:
    p0, m = D(50_000), D("0.005")
    assert isolated_liquidation_price_short(p0, D(2), m, "mark") == D("1.99") * p0
    assert isolated_liquidation_price_short(p0, D(5), m, "mark") == D("1.24375") * p0
    assert isolated_liquidation_price_short(p0, D(2), m, "entry") == p0 * 2 / D("1.01")


def test_section_6_one_x_short_is_not_practically_liquidatable() -> None:
    p0, face, m = D(50_000), D(100_000), D("0.005")
    collateral = face / p0  # L = 1: the short is backed by its own coin
    assert isolated_liquidation_price_short(p0, D(1), m, "mark") is None
    assert liquidation_price_short(face, p0, collateral, m, "mark") is None
    # Maintenance on entry value is a constant m·Q/P0 coins while equity is Q/P > 0: it is met
    # only at P0/m (200 × P0 here), a 200-fold rise; equity itself never reaches zero.
    closed = isolated_liquidation_price_short(p0, D(1), m, "entry")
    general = liquidation_price_short(face, p0, collateral, m, "entry")
    assert closed == p0 / m == 200 * p0
    assert general is not None
    assert abs(general - closed) < D("1e-15")
    for price in (2 * p0, 10 * p0, 100 * p0):
        assert collateral + short_pnl_coin(face, p0, price) == face / price > 0
