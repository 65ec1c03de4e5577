"""A limit order left resting by a limit-style run is cancelled by a market-style restart once
it is ``execution.reprice_after_seconds`` old. Found by the chaos schedule (seed 3, cycle 6): a
limit placed on a stale print rested far from the market, the daemon was SIGKILLed and came back
in market style, which reconciled the order as OPEN every tick and never cancelled it, so every
order on the symbol stayed held ("an earlier order on this symbol is unresolved") for good."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bot.core.types import OrderState
from tests.integration.conftest import Bot, Venue, order_rows

D = Decimal


async def test_a_market_style_restart_cancels_an_inherited_resting_limit(
    bot: Bot, venue: Venue
) -> None:
    # A post-only sell 5 % above the mark: it rests, as one placed on a stale print would.
    resting = {"style": "limit", "limit_offset": "0.05", "post_only": True}
    first = await bot.open(bot.config(execution=resting))
    [sent] = (await first.hedger.tick()).orders
    assert sent.order_type == "limit"
    assert venue.short() == 0
    await bot.close(first)  # as after a SIGKILL: the order stays on the venue and in the database

    market = {"style": "market", "reprice_after_seconds": 0.05}
    again = await bot.open(bot.config(execution=market))
    await asyncio.sleep(0.06)
    outcome = await again.hedger.tick()
    [order] = outcome.orders
    assert (order.order_type, order.side) == ("market", "sell")
    assert outcome.held == ()
    rows = order_rows(bot.db)
    assert [(r[1], r[2]) for r in rows] == [("CANCELLED", "sell"), ("FILLED", "sell")]
    assert venue.short() == order.contracts
    assert not await again.store.orders_in_states("default", [OrderState.OPEN])
