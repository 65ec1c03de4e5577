"""What a replay (``bot.backtest.runner.Replay``) is built from: its period on the candle grid,
the funding plan of its perpetuals, the simulated exchange, and the unhedged book it is compared
with."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from bot.backtest.data import MarketData, choose_funding
from bot.backtest.funding import FundingPlan
from bot.backtest.run_types import BacktestError, BacktestOptions
from bot.config.models import SimBalances, SimConfig
from bot.sim.engine import SimExchange
from bot.sim.feed import ReplayFeed
from bot.sim.params import STABLECOINS, SimParams
from bot.sim.series import from_epoch, to_epoch
from strategies.base import HedgeRule


def replay_period(feed: ReplayFeed, step_s: int, options: BacktestOptions) -> tuple[int, int]:
    """The first and last tick (epoch s, on the candle grid) of the data within the options'
    start and end; ``BacktestError`` when nothing is left."""
    first, last = to_epoch(feed.start), to_epoch(feed.end)
    start = first if options.start is None else max(first, to_epoch(options.start))
    end = last if options.end is None else min(last, to_epoch(options.end))
    start = -(-start // step_s) * step_s
    end = end // step_s * step_s
    if end <= start:
        raise BacktestError(
            f"empty period: the data covers {feed.start:%Y-%m-%d %H:%M}..{feed.end:%Y-%m-%d %H:%M}"
        )
    return start, end


def funding_plan(
    market: MarketData, sim: SimConfig, start_s: int, end_s: int, options: BacktestOptions
) -> FundingPlan:
    """The funding settlements of the run's perpetuals: each coin's history where the data has
    one (``choose_funding``), the config's constant rate otherwise."""
    feed = market.feed
    perp_coins = sorted(set(sim.inverse_perps or feed.coins) & set(feed.coins) - STABLECOINS)
    histories = {}
    for coin in perp_coins:
        chosen = choose_funding(market, coin, start_s, end_s, options.funding.get(coin))
        if chosen is not None:
            histories[coin] = chosen
    return FundingPlan(
        tuple(perp_coins),
        histories,
        dict(sim.funding_rate),
        SimParams().default_funding_rate,
        sim.funding_interval_hours,
        start_s,
        end_s,
    )


def engine(market: MarketData, sim: SimConfig, funding: FundingPlan, start_s: int) -> SimExchange:
    """The simulated exchange over the data, its funding on the plan's grid (the runner sets
    each settlement's real rate), starting at ``start_s`` with the config's balances."""
    feed = market.feed
    params = SimParams(
        fee_rate=sim.fee_rate,
        default_funding_rate=Decimal(0),
        funding_interval_hours=funding.grid_hours,
        maintenance_margin_rate=sim.maintenance_margin_rate,
        contract_sizes_usd={c: s for c, s in sim.contract_size_usd.items() if c in feed.coins},
        perp_coins=None if sim.inverse_perps is None else frozenset(sim.inverse_perps),
    )
    return SimExchange(
        feed,
        params,
        start=from_epoch(start_s),
        spot=sim.balances.spot,
        margin_balances=sim.balances.margin,
    )


def unhedged_book(
    balances: SimBalances,
    static: Mapping[str, Decimal],
    rules: Sequence[HedgeRule],
    price: Callable[[str], Decimal],
) -> tuple[dict[str, Decimal], float]:
    """The unhedged book: every coin of a rule's asset (all wallets) and every coin held in
    spot or static at market (coins); margin coins without a rule (hedge collateral) as the
    cash they were worth at the start (``price``: USD per coin then), like stablecoins."""
    ruled = {rule.asset for rule in rules}
    coins: dict[str, Decimal] = {}
    cash = Decimal(0)
    for wallet, is_margin in ((balances.spot, False), (static, False), (balances.margin, True)):
        for coin, amount in wallet.items():
            if coin in STABLECOINS:
                cash += amount
            elif is_margin and coin not in ruled:
                cash += amount * price(coin)
            else:
                coins[coin] = coins.get(coin, Decimal(0)) + amount
    return coins, float(cash)
