"""Start-up refusal on what the database cannot explain (issue 15, item 3; as bbgo does): a
position or an open order on a hedged instrument that hedgebot's own fills do not make stops
the account with a clear message and a critical alert, unless ``exchange.adopt_positions:
true``, which records the position as the ledger's origin and carries on.

Sources: hummingbot #4215 (an open position treated as closed after a restart), bbgo's
"position not found in the local records" refusal. The venue is the Bybit emulator through the
real ccxt client; the position is made on the venue directly, as a person trading by hand or a
position left by another bot would be.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.core.types import OrderRequest
from bot.daemon.ledger_watch import UnexplainedPositionError
from tests.alerts.mqtt_helpers import Subscriber, clear_retained, unique_prefix
from tests.integration.conftest import BTC, Bot, DaemonProcess, Venue, order_rows

D = Decimal


def trade_by_hand(venue: Venue, side: str, contracts: int, cid: str) -> None:
    venue.running.engine.create_order(
        OrderRequest(BTC, side, D(contracts), reduce_only=False, client_order_id=cid)  # type: ignore[arg-type]
    )


async def test_a_position_nobody_explains_stops_the_daemon_with_a_critical_alert(
    bot: Bot, venue: Venue, processes: list[DaemonProcess]
) -> None:
    trade_by_hand(venue, "sell", 30_000, "by-hand-1")
    prefix = unique_prefix()
    config = bot.write(alerts={"enabled": True, "prefix": prefix, "instance": "refusal"})
    async with Subscriber(prefix) as sub:
        child = await DaemonProcess.start(config, "--ticks", "3")
        processes.append(child)
        assert await child.wait() == 3, child.err
        await sub.wait_for(
            lambda s: any(a["kind"] == "startup_refused" for a in s.alerts()), within=30
        )
        [alert] = [a for a in sub.alerts() if a["kind"] == "startup_refused"]
    await clear_retained(prefix, "refusal")
    flat = " ".join(child.err.split())
    assert (
        "hedgebot will not start: BTC/USD:BTC holds -30000.0 contracts where the database's "
        "fills make 0"
    ) in flat
    assert "set exchange.adopt_positions: true" in flat
    assert alert["severity"] == "critical"
    assert "BTC/USD:BTC holds -30000.0 contracts" in alert["message"]
    assert [o["orderLinkId"] for o in await venue.orders()] == ["by-hand-1"]
    assert order_rows(bot.db) == []


async def test_an_open_order_hedgebot_did_not_send_stops_the_account(
    bot: Bot, venue: Venue
) -> None:
    venue.running.engine.create_order(
        OrderRequest(
            BTC,
            "sell",
            D(1_000),
            reduce_only=False,
            client_order_id="resting-by-hand",
            order_type="limit",
            limit_price=D(90_000),
        )
    )
    with pytest.raises(UnexplainedPositionError) as refused:
        await bot.open()
    assert "BTC/USD:BTC has an open order resting-by-hand (sell 1000" in str(refused.value)
    assert "that hedgebot did not send" in str(refused.value)
    assert order_rows(bot.db) == []


async def test_adopt_positions_takes_the_position_and_hedges_the_rest(
    bot: Bot, venue: Venue
) -> None:
    trade_by_hand(venue, "sell", 30_000, "by-hand-2")
    runtime = await bot.open(bot.config(exchange={"adopt_positions": True}))
    adopted = bot.rows("select symbol, contracts, reason from position_adoptions")
    assert [(s, D(c), r) for s, c, r in adopted] == [(BTC, D(-30_000), "exchange.adopt_positions")]
    outcome = await runtime.hedger.tick()
    assert not [e for e in outcome.decision.events if e.kind == "ledger_disagreement"]
    [order] = outcome.orders
    [hedge] = outcome.decision.plan.hedges
    assert hedge.current_contracts == 30_000  # the adopted short counts as part of the hedge
    assert (order.side, order.contracts) == ("sell", hedge.target_contracts - 30_000)
    assert venue.short() == hedge.target_contracts


async def test_a_restart_on_the_same_database_explains_its_own_short(
    bot: Bot, venue: Venue
) -> None:
    first = await bot.open()
    await first.hedger.tick()
    assert venue.short() > 0
    await bot.close(first)
    again = await bot.open()  # no refusal: the database's fills make the short
    outcome = await again.hedger.tick()
    assert outcome.orders == ()
    assert not [e for e in outcome.decision.events if e.kind == "ledger_disagreement"]
    assert bot.rows("select count(*) from position_adoptions") == [(0,)]


async def test_a_short_lost_while_the_daemon_was_down_is_refused_at_restart(
    bot: Bot, venue: Venue
) -> None:
    """The restart case of hummingbot #4215 turned around: the venue closed the short (a
    liquidation, a person) while hedgebot was stopped; it must not simply sell it again."""
    first = await bot.open()
    await first.hedger.tick()
    await bot.close(first)
    short = venue.short()
    trade_by_hand(venue, "buy", int(short), "closed-by-hand")
    with pytest.raises(
        UnexplainedPositionError,
        match=f"holds 0.0 contracts where the database's fills make -{short}",
    ):
        await bot.open()
    assert venue.short() == 0
