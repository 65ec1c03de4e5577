"""Recorded exchange data (tests/exchanges/fixtures) fed through ccxt's own parsers, offline.

``offline_exchange`` builds a ccxt (sync) exchange that never touches the network: markets come
from the recorded unified structures (``set_markets``) or, where ccxt has a per-market parser,
from the recorded raw ``info`` through ``parse_market``. ``RecordingClient`` stands in for the
async ccxt client inside ``CcxtPort``: it serves those markets and records every call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ccxt

FIXTURES = Path(__file__).parent / "fixtures"
# ccxt ids whose parse_market accepts one raw instrument (the others parse inside fetch_markets).
REPARSE_FROM_INFO = frozenset({"binancecoinm", "okx"})


def fixture(exchange_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{exchange_id}.json").read_text())
    return data


def offline_exchange(exchange_id: str, **config: Any) -> Any:
    """A ccxt exchange with the fixture's markets loaded and no way to reach the network."""
    data = fixture(exchange_id)
    exchange = getattr(ccxt, exchange_id)({"apiKey": "key", "secret": "secret", **config})
    exchange.fetch = _no_network
    recorded = list(data["markets"].values())
    if exchange_id in REPARSE_FROM_INFO:
        recorded = [exchange.parse_market(m["info"]) for m in recorded]
    synthetic = data.get("synthetic")
    if synthetic and "get_instruments" in synthetic:
        # Deribit parses instruments inside fetch_markets: answer its two calls from the file.
        exchange.fetch = _answer(synthetic)
        exchange.load_markets()
        exchange.fetch = _no_network
        recorded = list(exchange.markets.values()) + recorded
    exchange.set_markets(recorded)
    return exchange


def _no_network(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
    raise AssertionError(f"network call attempted: {method} {url}")


def _answer(synthetic: dict[str, Any]) -> Callable[..., Any]:
    def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        key = "get_currencies" if "get_currencies" in url else "get_instruments"
        return synthetic[key]

    return fetch


class RecordingClient:
    """The async ccxt client ``CcxtPort`` talks to, recording calls; answers from the recorded
    markets and from ``answers`` (method name → value or exception)."""

    def __init__(self, exchange: Any, answers: dict[str, Any] | None = None) -> None:
        self.markets = exchange.markets
        self.precisionMode = exchange.precisionMode
        self.has = dict(exchange.has)
        self.options: dict[str, Any] = {}
        self.urls = exchange.urls
        self.answers = answers or {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("is_unified_enabled",):
            raise AttributeError(name)

        async def call(*args: Any) -> Any:
            self.calls.append((name, args))
            answer = self.answers.get(name, [])
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call

    async def load_markets(self, *args: Any) -> Any:
        return self.markets  # reload or not: the recorded markets

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for called, args in self.calls if called == name]
