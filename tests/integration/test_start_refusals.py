"""The daemon refuses to start, with a clear message and before any order, on a wrong secret, an
account in hedge mode or a key that can withdraw; it warns about a key bound to no IP."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from bot.daemon.setup import KeyPermissionError
from bot.exchange.errors import ConfigurationMismatchError
from tests.integration.conftest import ENV, KEY, Bot, DaemonProcess, Venue, order_rows

WRONG_SECRET = "hb-acceptance-wrong-secret-0000"


async def test_wrong_secret_stops_hedgebot_run_with_exit_3(
    bot: Bot, venue: Venue, processes: list[DaemonProcess]
) -> None:
    child = await DaemonProcess.start(bot.write(), env={**ENV, "HEDGEBOT_API_SECRET": WRONG_SECRET})
    processes.append(child)
    assert await child.wait() == 3
    assert "hedgebot will not start" in child.err
    assert "authentication" in child.err.lower()
    assert WRONG_SECRET not in child.err
    assert KEY not in child.err
    assert await venue.orders() == []
    assert order_rows(bot.db) == []


async def test_hedge_mode_account_stops_the_daemon_before_it_trades(bot: Bot, venue: Venue) -> None:
    await venue.post("/admin/hedge-mode", {"on": True})
    with pytest.raises(ConfigurationMismatchError) as refused:
        await bot.open()
    assert str(refused.value) == (
        "BTC/USD:BTC is in hedge (two-sided) position mode; hedgebot needs one-way mode"
    )
    assert await venue.orders() == []
    assert order_rows(bot.db) == []


async def test_key_that_can_withdraw_is_refused_unless_allowed(bot: Bot, venue: Venue) -> None:
    await venue.post("/admin/api-key", {"withdraw": True})
    with pytest.raises(KeyPermissionError, match="the API key can WITHDRAW funds"):
        await bot.open()
    assert await venue.orders() == []

    # Allowed explicitly, and bound to no IP: it starts, with a warning about the IP.
    await venue.post("/admin/api-key", {"ips": ["*"]})
    with capture_logs() as logs:
        runtime = await bot.open(bot.config(exchange={"allow_withdraw_permission": True}))
    checked = [e for e in logs if e["event"].startswith("api_key_")]
    assert [(e["event"], e["log_level"]) for e in checked] == [
        ("api_key_without_ip_whitelist", "warning"),
        ("api_key_checked", "info"),
    ]
    assert (checked[1]["can_withdraw"], checked[1]["ip_whitelisted"]) == (True, False)
    await runtime.hedger.tick()
    assert len(await venue.orders()) == 1


async def test_key_bound_to_an_ip_gives_no_warning(bot: Bot) -> None:
    with capture_logs() as logs:
        await bot.open()
    events = [e["event"] for e in logs]
    assert "api_key_checked" in events
    assert "api_key_without_ip_whitelist" not in events
