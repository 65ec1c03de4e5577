"""No order the margin-aware plan sends is one the exchange must refuse.

Random books on the simulated exchange (the venue the emulator serves): a BTC wallet, a short
opened at one price, the price moved (maybe through a liquidation), then targets. The plan is
made from the venue's own view and every order is sent to the venue: none may be refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.core.margin import MarginTerms
from bot.core.planner import PlannerSettings, plan_hedges
from bot.core.types import HedgeTarget, OrderRequest, Snapshot
from bot.sim.engine import SimExchange, SimParams
from bot.sim.errors import RejectError
from bot.sim.feed import FixedPrices

D = Decimal
BTC = "BTC/USD:BTC"
START = datetime(2024, 1, 1, tzinfo=UTC)


@settings(max_examples=150, deadline=None)
@given(
    entry=st.decimals(D(10_000), D(100_000), places=0),
    move=st.decimals(D("-0.5"), D("1.5"), places=3),
    margin=st.decimals(D("0.01"), D(20), places=4),
    held_fraction=st.decimals(D(0), D(3), places=2),
    leverage=st.sampled_from([1, 2, 3, 5, 10, 20]),
    mode=st.sampled_from(["cross", "isolated"]),
    distance=st.sampled_from(["0.2", "0.5", "1"]),
    wanted=st.lists(st.integers(0, 5_000_000), min_size=1, max_size=3),
)
def test_the_venue_accepts_every_order_of_the_plan(
    entry: Decimal,
    move: Decimal,
    margin: Decimal,
    held_fraction: Decimal,
    leverage: int,
    mode: str,
    distance: str,
    wanted: list[int],
) -> None:
    sim = SimExchange(
        FixedPrices({"BTC": entry}),
        SimParams(fee_rate=D("0.00055")),
        start=START,
        margin_balances={"BTC": margin},
    )
    sim.set_margin_mode(BTC, "cross" if mode == "cross" else "isolated")
    sim.set_leverage(BTC, D(leverage))
    held = int(margin * entry * held_fraction)
    if held:
        try:
            sim.create_order(OrderRequest(BTC, "sell", D(held), False, "open"))
        except RejectError:
            assume(False)  # the venue would not even open it: nothing to plan from
    price = (entry * (1 + move)).quantize(D(1))
    assume(price > 0)
    sim.set_price("BTC", price)
    snapshot = Snapshot(
        taken_at=sim.now,
        spot={},
        static={},
        margin=sim.margin_wallets(),
        positions=sim.positions([BTC]),
        prices={"BTC": price},
        markets=sim.markets(),
    )
    terms = MarginTerms(
        D(leverage),
        "cross" if mode == "cross" else "isolated",
        D("0.005"),
        D(distance),
        D("0.001"),
    )
    targets = [HedgeTarget(f"A{i}", BTC, D(1), D(usd)) for i, usd in enumerate(wanted)]
    limits = PlannerSettings(D("0.02"), D(10), D(10**9), D(10**12))
    plan = plan_hedges(targets, snapshot, limits, "p", margin=terms)
    for order in plan.orders:
        request = OrderRequest(
            order.symbol, order.side, order.contracts, order.reduce_only, order.client_order_id
        )
        sim.create_order(request)  # raises RejectError if the venue refuses it
