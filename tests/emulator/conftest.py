"""Fixtures: an emulator on 127.0.0.1 (free port), the real ccxt bybit client configured as
``CcxtPort.from_config`` does, the port itself, and a small client for the admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.config.models import ExchangeConfig, SimBalances, SimConfig
from bot.config.secrets import Credentials
from bot.emulator import RunningEmulator, start_emulator
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.retry import RetryPolicy

D = Decimal
BTC = "BTC/USD:BTC"
ETH = "ETH/USD:ETH"
KEY, SECRET = "test-key", "test-secret"


def sim_config(**overrides: Any) -> SimConfig:
    """BTC 50,000 and ETH 2,500 (ETH contracts of 10 USD), 1 BTC spot + 1 BTC and 20 ETH margin."""
    fields: dict[str, Any] = {
        "prices": {"BTC": D(50000), "ETH": D(2500)},
        "contract_size_usd": {"ETH": D(10)},
        "balances": SimBalances(spot={"BTC": D(1)}, margin={"BTC": D(1), "ETH": D(20)}),
        "fee_rate": D("0.00055"),
        "api_key": KEY,
        "secret": SECRET,
    }
    fields.update(overrides)
    return SimConfig(**fields)


class Admin:
    """JSON calls to the emulator's /admin API; raises on a non-2xx answer."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def call(self, method: str, path: str, body: Any = None, ok: bool = True) -> Any:
        async with self.session.request(method, self.url + path, json=body) as response:
            data = await response.json()
            if ok:
                assert response.status == 200, data
            return data

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.call("POST", path, body or {})

    async def get(self, path: str) -> Any:
        return await self.call("GET", path)

    async def fault(self, kind: str, **fields: Any) -> Any:
        return await self.post("/admin/faults", {"kind": kind, **fields})


PortFactory = Callable[..., CcxtPort]


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    running = await start_emulator(sim_config())
    yield running
    await running.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def admin(emu: RunningEmulator, http: aiohttp.ClientSession) -> Admin:
    return Admin(http, emu.url)


@pytest.fixture
async def make_port(emu: RunningEmulator) -> AsyncIterator[PortFactory]:
    """``make_port(secret=..., timeout_ms=..., url=...)``: a CcxtPort built by from_config (no
    retries, no client-side throttle so the tests stay fast); all are closed at the end."""
    ports: list[CcxtPort] = []

    def build(secret: str = SECRET, timeout_ms: int = 5000, url: str | None = None) -> CcxtPort:
        config = ExchangeConfig(id="bybit", url=url or emu.url)
        port = CcxtPort.from_config(config, Credentials(SecretStr(KEY), SecretStr(secret)))
        port.retry = RetryPolicy(attempts=1)
        port.client.enableRateLimit = False
        port.client.timeout = timeout_ms
        ports.append(port)
        return port

    yield build
    for port in ports:
        await port.close()


@pytest.fixture
def port(make_port: PortFactory) -> CcxtPort:
    return make_port()


@pytest.fixture
def client(port: CcxtPort) -> Any:
    """The raw ccxt ``bybit`` client inside the port (configured exactly as CcxtPort does)."""
    return port.client
