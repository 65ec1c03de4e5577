"""Spot holdings read from more than one account (``holdings.sources``), merged into one mapping.

The hedging exchange's own spot wallet (``holdings.source: exchange``) is one part; every entry of
``holdings.sources`` (another exchange, or the same exchange with other keys, or a second local
emulator) is another. Each source is read-only: only ``fetch_balance`` is called on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.config.models import SpotSourceConfig
from bot.config.secrets import Credentials
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.profile_model import ExchangeProfile
from bot.exchange.profiles import spot_source_profile

ZERO = Decimal(0)
SpotPart = tuple[Mapping[str, Decimal], Collection[str] | None]


def merge_spot_balances(parts: Iterable[SpotPart]) -> dict[str, Decimal]:
    """coin → coins, summed over ``parts``; each part is (balances, assets to count or None for
    all). Coins that sum to zero are left out; the result is sorted by coin."""
    merged: dict[str, Decimal] = {}
    for balances, assets in parts:
        for coin, amount in balances.items():
            if assets is None or coin in assets:
                merged[coin] = merged.get(coin, ZERO) + amount
    return {coin: merged[coin] for coin in sorted(merged) if merged[coin] != 0}


def source_profile(source: SpotSourceConfig) -> ExchangeProfile:
    """The profile used to read ``source``: its exchange's, with ``balance_params`` applied."""
    profile = spot_source_profile(source.exchange)
    if source.balance_params is not None:
        profile = dataclasses.replace(profile, spot_balance_params=dict(source.balance_params))
    return profile


@dataclass
class SpotSource:
    """One configured source and the (read-only) port that reads it."""

    config: SpotSourceConfig
    port: CcxtPort

    async def fetch(self) -> Mapping[str, Decimal]:
        params = self.port.profile.spot_balance_params
        if params is None:
            return {}
        return await self.port.fetch_balance_totals(params)

    async def close(self) -> None:
        await self.port.close()


def open_spot_source(
    source: SpotSourceConfig, credentials: Credentials, rate_limit_ms: int | None = None
) -> SpotSource:
    """Build the ccxt client for ``source`` (sandbox/demo per ``testnet``, ``url`` override)."""
    port = CcxtPort.from_config(
        source.exchange_config(), credentials, rate_limit_ms, profile=source_profile(source)
    )
    return SpotSource(source, port)


async def read_spot_sources(
    own: Mapping[str, Decimal] | None, sources: Sequence[SpotSource]
) -> dict[str, Decimal]:
    """The hedging exchange's spot balances (``own``; None when ``holdings.source: none``) plus
    every source's, merged. A source that fails raises (the tick must not under-count)."""
    parts: list[SpotPart] = [] if own is None else [(own, None)]
    for source in sources:
        parts.append((await source.fetch(), source.config.assets))
    return merge_spot_balances(parts)
