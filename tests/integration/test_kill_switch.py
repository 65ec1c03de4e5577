"""The kill switch (its environment variable, or its file): within one tick nothing that adds
exposure goes out, while reduce-only trims still do."""

from __future__ import annotations

from decimal import Decimal

from tests.integration.conftest import ENV, Bot, Venue, order_rows

HELD = "kill switch engaged: no new exposure"


async def test_kill_switch_holds_new_exposure_but_not_trims(bot: Bot, venue: Venue) -> None:
    kill_file = bot.tmp_path / "KILL"
    environ = {**ENV, "HEDGEBOT_KILL": "1"}
    runtime = await bot.open(
        bot.config(limits={"kill_switch_env": "HEDGEBOT_KILL", "kill_switch_file": str(kill_file)}),
        environ=environ,
    )
    hedger = runtime.hedger

    # Engaged by the variable: the opening sell is held, nothing is sent or stored.
    held = await hedger.tick()
    assert held.orders == ()
    assert [(o.side, o.contracts, reason) for o, reason in held.held] == [
        ("sell", Decimal(75_000), HELD)
    ]
    assert await venue.orders() == []
    assert order_rows(bot.db) == []

    # Released: the hedge opens.
    del environ["HEDGEBOT_KILL"]
    await hedger.tick()
    assert venue.short() == 75_000

    # Engaged by the file: a withdrawal's trim (reduce-only) still goes out within one tick.
    kill_file.touch()
    await venue.move("withdraw", "BTC", "0.5")
    target = venue.target()
    trimmed = await hedger.tick()
    assert [(o.side, o.reduce_only) for o in trimmed.orders] == [("buy", True)]
    assert trimmed.held == ()
    assert venue.short() == target

    # ... but a deposit's increase does not.
    await venue.move("deposit", "BTC", "1")
    increase = await hedger.tick()
    assert increase.orders == ()
    assert [(o.side, o.reduce_only, reason) for o, reason in increase.held] == [
        ("sell", False, HELD)
    ]
    assert venue.short() == target
    assert [(o["side"], o["reduceOnly"]) for o in await venue.orders()] == [
        ("sell", False),
        ("buy", True),
    ]
