"""The pure guards: contract-size changes, the sane price band, and the ledger of fills."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.core.guards import (
    CONFIRM_READS,
    AcceptedPrice,
    contract_size_changes,
    screen_prices,
)
from bot.core.ledger import (
    LedgerOrder,
    disagreements,
    in_flight,
    ledger_positions,
    unread_short_usd,
)
from bot.core.planner import plan_hedges
from bot.core.types import Snapshot, Ticker
from tests.core.factories import (
    BTC,
    BTC_LINEAR,
    ETH,
    TAKEN_AT,
    D,
    inverse,
    linear,
    position,
    settings,
    snapshot,
    target,
)

MARKETS = {BTC: inverse(BTC, 1), ETH: inverse(ETH, 1)}


def test_a_changed_contract_size_is_found_and_nothing_else() -> None:
    after = {**MARKETS, BTC: inverse(BTC, 3), "SOL/USD:SOL": inverse("SOL/USD:SOL", 1)}
    [change] = contract_size_changes(MARKETS, after)
    assert (change.symbol, change.old_contract_size, change.new_contract_size) == (BTC, 1, 3)
    assert change.factor == 3
    assert contract_size_changes(MARKETS, dict(MARKETS)) == ()


def read(
    prices: dict[str, int | str], *, minutes: int = 0, marks: dict[str, str] | None = None
) -> Snapshot:
    """A snapshot at TAKEN_AT + ``minutes`` with these valuation prices and position marks."""
    base = snapshot(
        markets=MARKETS,
        prices={c: D(p) for c, p in prices.items()},
        positions={s: position(s, 100, mark=D(m)) for s, m in (marks or {}).items()},
    )
    return replace(base, taken_at=TAKEN_AT + timedelta(minutes=minutes))


def test_prices_in_the_band_pass_and_are_remembered() -> None:
    first = screen_prices(read({"BTC": 50_000, "ETH": 3_000}), {})
    assert first.refused == {}
    assert first.accepted["BTC"] == AcceptedPrice(D(50_000), TAKEN_AT)
    second = screen_prices(read({"BTC": 140_000, "ETH": 1_001}, minutes=1), first.accepted)
    assert second.refused == {}  # 2.8x up and 3x down: within the band
    assert second.snapshot.prices["BTC"] == 140_000


def test_a_price_beyond_the_absolute_bound_is_refused_with_its_marks_and_tickers() -> None:
    snap = replace(
        read({"BTC": 50_000, "ETH": "1e40"}, marks={ETH: "1e40", BTC: "50000"}),
        tickers={ETH: Ticker(ETH, D("1e40")), BTC: Ticker(BTC, D(50_000))},
    )
    screened = screen_prices(snap, {})
    assert screened.refused == {"ETH": "price 1E+40 USD is outside (0, 1,000,000,000]"}
    assert "ETH" not in screened.snapshot.prices
    assert ETH not in screened.snapshot.tickers
    assert screened.snapshot.positions[ETH].mark_price is None
    assert screened.snapshot.positions[ETH].contracts == -100  # the position itself stays
    assert screened.snapshot.positions[BTC].mark_price == 50_000
    assert "ETH" not in screened.accepted


def test_a_jump_is_refused_until_it_is_read_again_at_the_same_level() -> None:
    memory = screen_prices(read({"BTC": 50_000}), {}).accepted
    for minute in range(1, CONFIRM_READS):
        jumped = screen_prices(read({"BTC": 160_000 + minute}, minutes=minute), memory)
        assert "more than 3 times away from 50000 USD" in jumped.refused["BTC"]
        assert f"read {minute} of {CONFIRM_READS}" in jumped.refused["BTC"]
        memory = jumped.accepted
    confirmed = screen_prices(read({"BTC": 160_003}, minutes=CONFIRM_READS), memory)
    assert confirmed.refused == {}
    assert confirmed.accepted["BTC"].price == 160_003


def test_an_outlier_between_sane_reads_is_refused_once_and_forgotten() -> None:
    memory = screen_prices(read({"BTC": 50_000}), {}).accepted
    outlier = screen_prices(read({"BTC": 500_000}, minutes=1), memory)
    assert "BTC" in outlier.refused
    back = screen_prices(read({"BTC": 50_100}, minutes=2), outlier.accepted)
    assert back.refused == {}
    assert back.accepted["BTC"] == AcceptedPrice(D(50_100), TAKEN_AT + timedelta(minutes=2))


def test_a_jump_after_an_hour_without_a_read_is_not_judged() -> None:
    memory = screen_prices(read({"BTC": 50_000}), {}).accepted
    assert screen_prices(read({"BTC": 200_000}, minutes=61), memory).refused == {}


def test_a_mark_far_from_the_valuation_price_refuses_the_coin() -> None:
    screened = screen_prices(read({"BTC": 50_000}, marks={BTC: "500000"}), {})
    assert screened.refused["BTC"].startswith("a price of 500000 USD read with 50000 USD")
    assert "BTC" not in screened.accepted


@given(st.decimals(min_value=D("0.0001"), max_value=D("1e12"), places=4))
def test_a_price_passes_only_inside_the_bound(price: Decimal) -> None:
    screened = screen_prices(read({"BTC": str(price)}), {})
    assert ("BTC" in screened.refused) == (price > D("1e9"))


def sell(symbol: str, filled: int, rest: int = 0) -> LedgerOrder:
    return LedgerOrder(symbol, "sell", D(filled), D(rest))


def test_the_ledger_is_the_baseline_plus_signed_fills() -> None:
    orders = [sell(BTC, 100), LedgerOrder(BTC, "buy", D(30), D(0)), sell(ETH, 5, rest=7)]
    assert ledger_positions({BTC: D(-10)}, orders) == {BTC: -80, ETH: -5}
    assert in_flight(orders) == {ETH: 7}


def test_a_gap_beyond_the_slack_and_what_may_still_fill_disagrees() -> None:
    ledger = {BTC: D(-45_000), ETH: D(-100)}
    read_now = {BTC: D(0), ETH: D(-98)}
    [gap] = disagreements(read_now, ledger, {BTC: D(1), ETH: D(2)}, {})
    assert (gap.symbol, gap.read, gap.ledger, gap.gap) == (BTC, 0, -45_000, 45_000)
    # with a slack of 1, ETH's 2 off are within an order of 3 still resting; BTC's 45,000
    # are within 45,000 in flight
    assert disagreements(read_now, ledger, {ETH: D(1)}, {BTC: D(45_000), ETH: D(3)}) == ()


@given(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=10**5)), max_size=8),
)
def test_a_read_equal_to_the_ledger_never_disagrees(
    base: int, fills: list[tuple[bool, int]]
) -> None:
    orders = [LedgerOrder(BTC, "buy" if b else "sell", D(n), D(0)) for b, n in fills]
    ledger = ledger_positions({BTC: D(base)}, orders)
    assert disagreements(dict(ledger), ledger, {}, {}) == ()


def test_the_short_the_ledger_holds_beyond_the_read_in_usd() -> None:
    markets = {BTC: inverse(BTC, 3), BTC_LINEAR: linear(BTC_LINEAR, "0.001")}
    ledger = {BTC: D(-100), BTC_LINEAR: D(-1000), ETH: D(-5)}
    read_now = {BTC: D(-40), BTC_LINEAR: D(-1000)}
    extra = unread_short_usd(read_now, ledger, {**markets, ETH: inverse(ETH, 1)}, {"BTC": D(1)})
    assert extra == {BTC: D(180), ETH: D(5)}  # 60 contracts of 3 USD; ETH read flat


def test_the_total_cap_counts_the_ledgers_unread_short() -> None:
    snap = snapshot(markets=MARKETS, prices={"BTC": 50_000, "ETH": 3_000})

    def sold(cap: int, unread: dict[str, Decimal] | None) -> list[Decimal]:
        plan = plan_hedges(
            [target(BTC, 75_000)],
            snap,
            settings(max_total_short_usd=cap),
            "k",
            unread_short_usd=unread,
        )
        return [o.contracts for o in plan.orders]

    assert sold(120_000, None) == [75_000]
    assert sold(120_000, {ETH: D(45_000)}) == [75_000]  # 75,000 + 45,000: at the cap
    assert sold(100_000, {ETH: D(45_000)}) == [55_000]
    assert sold(100_000, None) == [75_000]


def test_resting_sells_count_as_short_for_the_cap() -> None:
    """A sell resting on one symbol may fill after the read: an increase elsewhere must not
    use the headroom it will take."""
    markets = {BTC: inverse(BTC, 1), ETH: inverse(ETH, 10)}
    ledger = {BTC: D(-100), ETH: D(0)}
    read_now = {BTC: D(-100), ETH: D(0)}
    extra = unread_short_usd(read_now, ledger, markets, {}, {ETH: D(7)})
    assert extra == {ETH: D(70)}
    orders = [sell(ETH, 3, rest=7), LedgerOrder(BTC, "buy", D(0), D(5))]
    assert in_flight(orders, "sell") == {ETH: D(7)}
    assert in_flight(orders) == {ETH: D(7), BTC: D(5)}
