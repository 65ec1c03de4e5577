"""What a backtest run takes and what it keeps: its options, the config's simulated exchange, the
coins it needs, and the per-tick recording and activity the replay (``bot.backtest.runner``)
fills."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.backtest.collateral import Done
from bot.backtest.wallets import WalletState
from bot.config.models import Config, SimConfig
from bot.sim.params import STABLECOINS
from strategies import build_rule
from strategies.base import collect_requests

Progress = Callable[[int, int], None]  # (ticks done, ticks in total)


class BacktestError(Exception):
    """A run that cannot start (no ``exchange.sim``, no prices for a coin, an empty period)."""


@dataclass(frozen=True, slots=True)
class BacktestOptions:
    """The period (aware UTC; None: the data's) and per-coin funding overrides
    (``"deribit"``, ``"bitmex"``, ``"binance_usdm"`` or ``"config"``)."""

    start: datetime | None = None
    end: datetime | None = None
    funding: Mapping[str, str] = field(default_factory=dict)
    skip_ahead: bool = True  # record certainly quiet ticks without judging them (``.skip``)


def sim_config(config: Config) -> SimConfig:
    sim = config.exchange.sim
    if sim is None:
        raise BacktestError(
            "the config has no exchange.sim section: a backtest needs its balances "
            "(exchange.sim.balances) and fees (exchange.sim.fee_rate)"
        )
    return sim


def needed_coins(config: Config) -> list[str]:
    """Coins whose prices the run needs: rule assets, hedge coins, held coins (not stablecoins)."""
    sim = sim_config(config)
    coins = set(sim.balances.spot) | set(sim.balances.margin) | set(config.holdings.static)
    rules = [build_rule(rule_config) for rule_config in config.rules]
    betas, vols = collect_requests(rules)
    coins.update(rule.asset for rule in rules)
    coins.update(rule.instrument.split("/")[0] for rule in rules)
    coins.update(request.hedge for request in betas)
    coins.update(request.coin for request in vols)
    return sorted(coins - STABLECOINS)


@dataclass(slots=True)
class Recording:
    """Per tick: time (epoch s), account value (USD), the band flags, and which entry of
    ``shorts`` (each instrument's short, USD face, before the tick's orders) held; per rule the
    coin it hedges with over the next interval (``hedge_coin``, per tick for rules whose
    instrument can change, else one entry); each coin-margined wallet before the tick's orders
    (``wallets``, recorded with ``shorts`` and indexed by ``short_index``); whether the tick's
    plan had a margin shortfall.
    Prices are the feed's, recomputed after the run."""

    times: list[int] = field(default_factory=list)
    hedged: list[float] = field(default_factory=list)
    hedge_coin: dict[str, list[str]] = field(default_factory=dict)
    shorts: list[dict[str, float]] = field(default_factory=list)
    short_index: list[int] = field(default_factory=list)
    outside: list[bool] = field(default_factory=list)
    quiet: list[bool] = field(default_factory=list)
    wallets: list[dict[str, WalletState]] = field(default_factory=list)  # as ``shorts``
    shortfall: list[bool] = field(default_factory=list)


@dataclass(slots=True)
class Activity:
    """What the decisions did: orders sent and refused, orders held by the screen, decide()
    calls, rule events by kind (ticks on which each was reported), collateral actions run
    (refused ones included) and increases held because their coin's funding failed."""

    orders: int = 0
    rejected: list[str] = field(default_factory=list)
    held: int = 0
    decisions: int = 0
    events: Counter[str] = field(default_factory=Counter)
    collateral: list[Done] = field(default_factory=list)
    held_unfunded: int = 0
