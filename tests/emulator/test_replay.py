"""The market clock in replay mode: one candle per GET /v5/market/time with step_per_tick,
admin-driven otherwise; the end of the data is a permanent error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest

from bot.config.models import ReplayConfig, SimConfig
from bot.emulator import RunningEmulator, start_emulator
from bot.exchange.errors import ExchangeUnavailableError
from tests.emulator.conftest import BTC, Admin, PortFactory, sim_config
from tests.helpers import REPLAY_DIR

D = Decimal
START = datetime(2024, 4, 30, 21, tzinfo=UTC)


def replay_config(step_per_tick: bool) -> SimConfig:
    return sim_config(
        prices={},
        replay=ReplayConfig(path=REPLAY_DIR, start=START.isoformat(), step_per_tick=step_per_tick),
    )


@pytest.fixture(params=[True], ids=["step_per_tick"])
async def emu(request: pytest.FixtureRequest) -> AsyncIterator[RunningEmulator]:
    """Overrides conftest's emulator with a replay one (``step_per_tick`` per param)."""
    running = await start_emulator(replay_config(request.param))
    yield running
    await running.stop()


async def test_each_time_request_steps_one_candle(
    make_port: PortFactory, emu: RunningEmulator
) -> None:
    port = make_port()
    markets = await port.load_markets()
    assert set(markets) == {"BTC/USD:BTC", "ETH/USD:ETH", "SOL/USD:SOL"}
    assert emu.engine.now == START  # load_markets does not move the clock
    seen = []
    for hour in (22, 23, 24):
        now = await port.fetch_time()
        assert now == START + timedelta(hours=hour - 21)
        ticker = (await port.fetch_tickers([BTC]))[BTC]
        assert ticker.last == emu.engine.feed.price("BTC", now)
        seen.append(ticker.last)
    assert len(set(seen)) == 3  # real prices move
    # 10016 "server error" is temporary for the daemon (it pauses trading and retries)
    with pytest.raises(ExchangeUnavailableError, match="replay has ended"):
        await port.fetch_time()


async def test_replay_candles_carry_real_volume(
    make_port: PortFactory, emu: RunningEmulator
) -> None:
    port = make_port()
    candles = await port.fetch_ohlcv(BTC, "1h", None, 3)
    expected = emu.engine.feed.candles("BTC", START, 3)
    assert [(c.opened_at, c.close, c.volume) for c in candles] == [
        (c.opened_at, c.close, c.volume) for c in expected
    ]
    assert all(c.volume > 0 for c in candles)
    four_hours = await port.fetch_ohlcv(BTC, "4h", None, 2)
    assert [c.opened_at.hour for c in four_hours] == [12, 16]


@pytest.mark.parametrize("emu", [False], indirect=True, ids=["manual"])
async def test_without_step_per_tick_only_the_admin_moves_the_clock(
    make_port: PortFactory, emu: RunningEmulator, http: aiohttp.ClientSession
) -> None:
    port = make_port()
    admin = Admin(http, emu.url)
    assert await port.fetch_time() == START
    assert await port.fetch_time() == START
    await admin.post("/admin/clock/step", {"count": 2})
    assert await port.fetch_time() == START + timedelta(hours=2)
    refused = await admin.call("POST", "/admin/price", {"coin": "BTC", "price": "1"}, ok=False)
    assert "FixedPrices" in refused["error"]
    state = await admin.get("/admin/state")
    assert (state["clock_mode"], state["is_replay"]) == ("manual", True)
