"""Probes that once breached ``max_total_short_usd`` (issue 15, defects 1 and 2).

The world: BTC at 50,000 and ETH at 3,000 USD, 1-USD inverse contracts, 1.5 BTC and 15 ETH in
the margin wallets, each hedged in full: 75,000 + 45,000 USD of shorts, the 120,000 cap.
1. The venue triples BTC's contract size: the 75,000 contracts held are 225,000 USD. The daemon
   kept the specs it loaded at start and saw 75,000 USD; the account stood at 247,500 USD.
2. One read of ETH at 1e40 USD made the ETH short read as nothing and the daemon sold more.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Runtime
from bot.config.models import SimConfig
from bot.core.types import OrderRequest
from bot.daemon.tick_outcome import TickOutcome
from bot.emulator import start_emulator
from strategies.events import RuleEvent
from tests.integration.conftest import SIM, Bot, Venue, merged

D = Decimal
BTC, ETH = "BTC/USD:BTC", "ETH/USD:ETH"
CAP = D(120_000)
TWO_COINS = merged(
    SIM,
    {
        "prices": {"BTC": "50000", "ETH": "3000"},
        "contract_size_usd": {"BTC": "1", "ETH": "1"},
        # 75,000 + 45,000 USD hedged at 1x-ish leverage: the hedges sum to the 120,000 cap.
        "balances": {"spot": {"BTC": "0", "ETH": "0"}, "margin": {"BTC": "1.5", "ETH": "15"}},
        "funding_rate": {"BTC": "0.0001", "ETH": "0.0001"},
    },
)


@pytest.fixture
async def two_coins(tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start_emulator(SimConfig.model_validate(TWO_COINS), follow_wall_clock=False)
    async with aiohttp.ClientSession() as session:
        harness = Bot(Venue(running, session), tmp_path)
        try:
            yield harness
        finally:
            for runtime in harness.runtimes:
                await runtime.close()
            await running.stop()


def short_usd(venue: Venue, symbol: str) -> Decimal:
    engine = venue.running.engine
    position = engine.positions([symbol]).get(symbol)
    if position is None:
        return D(0)
    return -position.contracts * engine.market(symbol).contract_size


def overrides(cap: Decimal = CAP, **exchange: Any) -> dict[str, Any]:
    return {
        "exchange": {"sim": TWO_COINS, **exchange},
        "rules": [{"asset": "BTC", "ratio": 1}, {"asset": "ETH", "ratio": 1}],
        "hedge": {"band": "0.02", "leverage": 2},
        "limits": {"max_order_usd": 100_000, "max_total_short_usd": cap},
    }


def total_short(venue: Venue) -> Decimal:
    return short_usd(venue, BTC) + short_usd(venue, ETH)


async def hedged(bot: Bot, cap: Decimal = CAP, **exchange: Any) -> Runtime:
    runtime = await bot.open(bot.config(**overrides(cap, **exchange)))
    await runtime.hedger.tick()
    venue = bot.venue
    assert (short_usd(venue, BTC), short_usd(venue, ETH)) == (75_000, 45_000)
    return runtime


def events(outcome: TickOutcome, kind: str) -> list[RuleEvent]:
    return [e for e in outcome.decision.events if e.kind == kind]


async def test_a_contract_size_change_is_found_on_refresh_and_the_short_re_sized(
    two_coins: Bot,
) -> None:
    venue = two_coins.venue
    runtime = await hedged(two_coins, markets_refresh_seconds=1)
    await venue.post("/admin/contract-size", {"symbol": BTC, "contract_size": "3"})
    assert total_short(venue) == 270_000  # the venue's doing: 75,000 contracts of 3 USD
    await asyncio.sleep(1.1)  # the refresh is due
    outcome = await runtime.hedger.tick()
    [event] = events(outcome, "contract_size_changed")
    assert event.severity == "critical"
    assert event.instrument == BTC
    assert "75000 contracts held were 75000 USD and are 225000 USD" in event.message
    [hedge] = [h for h in outcome.decision.plan.hedges if h.instrument == BTC]
    assert hedge.current_short_usd == 225_000
    # Back to target (1.5 BTC, a little less after fees) in buys of at most 100,000 USD.
    assert {(o.symbol, o.side, o.reduce_only) for o in outcome.orders} == {(BTC, "buy", True)}
    assert max(o.contracts for o in outcome.orders) * 3 <= 100_000
    assert sum(o.contracts for o in outcome.orders) == 75_000 - hedge.target_contracts
    assert short_usd(venue, BTC) == hedge.target_contracts * 3 <= 75_000
    assert total_short(venue) <= CAP
    again = await runtime.hedger.tick()
    assert again.orders == ()
    assert not events(again, "contract_size_changed")  # announced once


async def test_orders_planned_with_a_stale_contract_size_are_held_and_planned_again(
    two_coins: Bot,
) -> None:
    """The refresh is not due, but the specs are read again before any order goes out."""
    venue = two_coins.venue
    runtime = await hedged(two_coins)  # markets_refresh_seconds: the default, 300
    await venue.post("/admin/contract-size", {"symbol": BTC, "contract_size": "3"})
    await venue.move("withdraw", "ETH", "3", wallet="margin")  # the plan buys ETH back
    outcome = await runtime.hedger.tick()
    assert outcome.orders == ()
    reasons = {(order.symbol, reason) for order, reason in outcome.held}
    assert reasons == {
        (ETH, "the contract size changed since the snapshot: planned again next tick")
    }
    assert events(outcome, "contract_size_changed")
    assert total_short(venue) == 270_000  # nothing was sold on top
    replanned = await runtime.hedger.tick()
    assert {(o.symbol, o.side, o.reduce_only) for o in replanned.orders} == {
        (BTC, "buy", True),
        (ETH, "buy", True),
    }
    assert short_usd(venue, BTC) <= 75_000
    assert short_usd(venue, ETH) <= 36_000
    assert total_short(venue) <= CAP


async def test_an_absurd_price_is_refused_and_nothing_is_sold_on_it(two_coins: Bot) -> None:
    """At 1e40 USD the venue liquidates the ETH short (a price no short survives): its read of
    0 contracts is true, yet the daemon must neither value anything at that price nor sell
    again on the read: the price is refused and the ledger (45,000 sold) disagrees with it."""
    venue = two_coins.venue
    runtime = await hedged(two_coins)
    await venue.post("/admin/price", {"coin": "ETH", "price": "1e40"})
    await venue.move("deposit", "BTC", "0.2", wallet="margin")  # BTC's hedge would grow
    outcome = await runtime.hedger.tick()
    [refused] = events(outcome, "price_refused")
    assert (refused.severity, refused.asset) == ("critical", "ETH")
    assert "price 1E+40 USD is outside (0, 1,000,000,000]" in refused.message
    assert "ETH" not in outcome.decision.snapshot.prices
    [disagreement] = events(outcome, "ledger_disagreement")
    assert (disagreement.severity, disagreement.instrument) == ("critical", ETH)
    assert D(disagreement.values["ledger"]) == -45_000
    assert outcome.orders == ()
    # The cap counts the 45,000 USD the ledger holds beyond the read: BTC may not grow.
    assert any("dropped: max_total_short_usd 120000" in n for n in outcome.decision.plan.notes)
    assert (short_usd(venue, BTC), short_usd(venue, ETH)) == (75_000, 0)
    await venue.post("/admin/price", {"coin": "ETH", "price": "3000"})
    back = await runtime.hedger.tick()
    assert not events(back, "price_refused")
    assert back.decision.snapshot.prices["ETH"] == 3000
    assert events(back, "ledger_disagreement")  # a liquidation waits for a person
    assert [o for o in back.orders if not o.reduce_only] == []
    assert total_short(venue) <= CAP


async def test_a_position_the_ledger_does_not_explain_holds_every_increase(
    two_coins: Bot,
) -> None:
    """A short reduced behind the daemon's back (here: a trade on the venue that the daemon did
    not send, as a liquidation, an ADL or a person would) reads 20,000 contracts less than the
    daemon's fills make: nothing may grow anywhere until they agree, reductions still go out."""
    venue = two_coins.venue
    runtime = await hedged(two_coins, cap=D(1_000_000))
    engine = venue.running.engine
    engine.create_order(
        OrderRequest(ETH, "buy", D(20_000), reduce_only=True, client_order_id="outside-1")
    )
    await venue.move("deposit", "BTC", "0.2", wallet="margin")  # BTC's hedge would grow
    outcome = await runtime.hedger.tick()
    [event] = events(outcome, "ledger_disagreement")
    assert {k: D(v) for k, v in event.values.items()} == {
        "read": -25_000,
        "ledger": -45_000,
        "tolerance": 1,  # Bybit's smallest order: only rounding is forgiven
    }
    reasons = {(o.symbol, o.side, reason) for o, reason in outcome.held}
    why = f"the exchange's position and the daemon's fills disagree on {ETH}"
    assert reasons == {(BTC, "sell", why), (ETH, "sell", why)}
    assert (short_usd(venue, BTC), short_usd(venue, ETH)) == (75_000, 25_000)
