"""A hedge's life against the Bybit emulator, one in-process tick at a time: opened from a spot
bag, resized on a deposit, trimmed (reduce-only) on a withdrawal, and funding recorded with the
sign the short earns or pays."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.integration.conftest import BTC, PRICE, Bot, Venue

D = Decimal
EIGHT_HOURS = 8 * 3600


def order_view(order: dict[str, Any]) -> tuple[str, Decimal, Decimal, bool, str]:
    """(side, qty, filled, reduce-only, state) of an /admin/orders row."""
    return (
        order["side"],
        D(order["qty"]),
        D(order["filled"]),
        order["reduceOnly"],
        order["state"],
    )


async def new_orders(venue: Venue, seen: int) -> list[tuple[str, Decimal, Decimal, bool, str]]:
    return [order_view(o) for o in (await venue.orders())[seen:]]


async def test_open_resize_trim_and_funding(bot: Bot, venue: Venue) -> None:
    runtime = await bot.open()
    hedger = runtime.hedger

    # A spot bag (1 BTC, plus 0.5 BTC margin): the whole target short within one tick.
    assert (venue.short(), venue.target()) == (D(0), D(75_000))
    outcome = await hedger.tick()
    assert [h.target_contracts for h in outcome.decision.plan.hedges] == [75_000]
    assert venue.short() == 75_000
    assert await new_orders(venue, 0) == [("sell", D(75_000), D(75_000), False, "FILLED")]

    # A deposit of spot coins: resized by one more sell within one tick.
    await venue.move("deposit", "BTC", "0.2")
    target = venue.target()  # 1.2 + 0.5 BTC, less the first order's fee, at 50,000
    assert target == 84_958
    await hedger.tick()
    assert venue.short() == target
    assert await new_orders(venue, 1) == [
        ("sell", target - 75_000, target - 75_000, False, "FILLED")
    ]

    # A withdrawal: trimmed within one tick by a reduce-only buy.
    held = venue.short()
    await venue.move("withdraw", "BTC", "0.5")
    target = venue.target()
    assert target == 59_953
    await hedger.tick()
    assert venue.short() == target
    trim = held - target
    assert await new_orders(venue, 2) == [("buy", trim, trim, True, "FILLED")]

    # Funding: the clock passes a settlement at +0.01 %: the short receives.
    await venue.post("/admin/clock/advance", {"seconds": EIGHT_HOURS})
    await hedger.tick()
    received = target / PRICE * D("0.0001")
    assert received == D("0.000119906")
    funding_sql = (
        "select symbol, rate, position_contracts, amount, currency "
        "from funding_payments order by ts"
    )
    payments = [(s, D(r), D(p), D(a), c) for s, r, p, a, c in bot.rows(funding_sql)]
    assert payments == [(BTC, D("0.0001"), -target, received, "BTC")]

    # At a negative rate the short pays.
    await venue.post("/admin/funding-rate", {"coin": "BTC", "rate": "-0.0002"})
    await venue.post("/admin/clock/advance", {"seconds": EIGHT_HOURS})
    await hedger.tick()
    paid = -target / PRICE * D("0.0002")
    payments = [(s, D(r), D(p), D(a), c) for s, r, p, a, c in bot.rows(funding_sql)]
    assert payments[1:] == [(BTC, D("-0.0002"), -target, paid, "BTC")]
    assert paid < 0 < payments[0][3]

    # Funding moved the margin by a few USD: inside the band, so no order since the trim.
    assert len(await venue.orders()) == 3
    assert venue.short() == target
    assert {status for (status,) in bot.rows("select status from ticks")} == {"ok"}
