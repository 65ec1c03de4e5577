"""The emulator's mutable state around the one engine: credentials, API-key description,
clock, faults, per-order extras, price ticks and the request log. Also the route types."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.emulator.bybit_format import SymbolMap, tick_size
from bot.emulator.bybit_rows import OrderMeta
from bot.emulator.clock import MarketClock
from bot.emulator.faults import FaultBook
from bot.emulator.reply import Params, Reply
from bot.emulator.spot_rows import SpotMeta
from bot.sim.engine import SimExchange
from bot.sim.errors import SimError
from bot.sim.params import STABLECOINS

REQUEST_LOG_SIZE = 1000


@dataclass
class ApiKeyInfo:
    """How ``/v5/user/query-api`` describes the key. Defaults: read-write, bound to
    127.0.0.1, no withdrawal permission (what a hedging bot's key should look like)."""

    read_only: bool = False
    ips: list[str] = field(default_factory=lambda: ["127.0.0.1"])  # ["*"]: no IP whitelist
    withdraw: bool = False
    note: str = "hedgebot emulator"

    def permissions(self) -> dict[str, list[str]]:
        wallet = ["AccountTransfer", "SubMemberTransfer"]
        if self.withdraw:
            wallet.append("Withdraw")
        return {
            "ContractTrade": ["Order", "Position"],
            "Spot": ["SpotTrade"],
            "Wallet": wallet,
            "Options": [],
            "Derivatives": [],
            "CopyTrading": [],
            "BlockTrade": [],
            "Exchange": [],
            "Earn": [],
            "NFT": [],
            "Affiliate": [],
        }


@dataclass(frozen=True, slots=True)
class RequestLogEntry:
    """One venue request as received (never headers: no key, no signature)."""

    seq: int
    time_ms: int  # wall clock
    method: str
    path: str
    query: str
    status: int
    ret_code: int | None  # None when the body was not a Bybit envelope
    fault: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time_ms": self.time_ms,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "retCode": self.ret_code,
            "fault": self.fault,
        }


class EmulatorState:
    """Everything the routes share. Mutated only from the event loop (no locking needed:
    engine calls never await)."""

    def __init__(
        self,
        engine: SimExchange,
        *,
        api_key: str,
        secret: str,
        clock: MarketClock,
        faults: FaultBook,
        key_info: ApiKeyInfo | None = None,
        log_size: int = REQUEST_LOG_SIZE,
    ) -> None:
        self.engine = engine
        self.api_key = api_key
        self.secrets = {api_key: secret}
        self.clock = clock
        self.faults = faults
        self.key_info = key_info or ApiKeyInfo()
        self.order_meta: dict[str, OrderMeta] = {}
        self.spot_meta: dict[str, SpotMeta] = {}  # spot order id -> qty and unit as sent
        self.requests: deque[RequestLogEntry] = deque(maxlen=log_size)
        self.launch_ms = engine.now_ms
        self._ticks: dict[str, Decimal] = {}
        self._seq = 0

    def symbols(self) -> SymbolMap:
        return SymbolMap.build(self.engine.markets().values())

    def tick(self, coin: str) -> Decimal:
        """The price tick of ``coin``'s markets, fixed at its first use (prices move later)."""
        tick = self._ticks.get(coin)
        if tick is None:
            try:
                tick = tick_size(self.engine.price(coin))
            except SimError:
                tick = Decimal("0.01")
            self._ticks[coin] = tick
        return tick

    def spot_coins(self) -> list[str]:
        """Priced coins with a spot pair against USDT (stablecoins have none)."""
        return [c for c in self.engine.feed.coins if c not in STABLECOINS]

    @property
    def funding_interval_min(self) -> int:
        return self.engine.params.funding_interval_hours * 60

    def log_request(
        self,
        method: str,
        path: str,
        query: str,
        status: int,
        ret_code: int | None,
        fault: str | None,
    ) -> None:
        self._seq += 1
        entry = RequestLogEntry(
            self._seq, self.clock.server_ms(), method, path, query, status, ret_code, fault
        )
        self.requests.append(entry)


Handler = Callable[[EmulatorState, Params], Reply]


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    private: bool


RouteTable = dict[tuple[str, str], Route]
STATE_KEY = web.AppKey("hedgebot_emulator_state", EmulatorState)
