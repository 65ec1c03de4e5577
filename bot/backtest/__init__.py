"""Backtests: what the configured hedge would have done over real historical prices and funding.

The replay drives the project's one simulated exchange (``bot.sim.SimExchange``) in-process, one
step per candle, through the same decision code as the daemon (``bot.daemon.decide.decide``,
``bot.core.risk.screen_orders``), with the config's rules, band, limits, fees and balances.

    from bot.backtest import BacktestOptions, load_market_data, needed_coins, run_backtest

    market = load_market_data(Path("shared/data"), needed_coins(config))
    result = run_backtest(config, market, BacktestOptions(start=..., end=...))
    result.effectiveness, result.ceiling, result.costs.fees

Modules: ``data`` (finding and loading a data folder), ``candles``/``funding`` (file formats),
``runner`` (the loop; ``run_types``: its options and records; ``skip``/``skip_terms``/
``skip_record``/``beta_paths``: the ticks it records without judging them),
``snapshot``/``estimates``/``decision``/``wallets`` (the daemon's inputs and decision, made
fast; ``wallets``: the margin pre-checks), ``collateral`` (the collateral policy's actions on
the engine, and its daily usage), ``metrics``/``result`` (numbers; ``result_types``: the
result's dataclasses), ``report``/``plot``/``result_json`` (output).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from bot.backtest.data import MarketData, load_market_data
from bot.backtest.result import summarize
from bot.backtest.result_json import to_json
from bot.backtest.result_types import BacktestResult
from bot.backtest.run_types import BacktestError, BacktestOptions, Progress, needed_coins
from bot.backtest.runner import Replay
from bot.config.models import Config
from bot.sim.series import to_epoch

__all__ = [
    "BacktestError",
    "BacktestOptions",
    "BacktestResult",
    "MarketData",
    "load_for",
    "load_market_data",
    "needed_coins",
    "run_backtest",
    "to_json",
]


def load_for(
    configs: Sequence[Config], root: Path, options: BacktestOptions | None = None
) -> MarketData:
    """The data every config in ``configs`` needs, loaded once (so they share one period)."""
    options = options or BacktestOptions()
    coins = sorted({coin for config in configs for coin in needed_coins(config)})
    start = None if options.start is None else to_epoch(options.start)
    end = None if options.end is None else to_epoch(options.end)
    return load_market_data(root, coins, start, end)


def run_backtest(
    config: Config,
    market: MarketData,
    options: BacktestOptions | None = None,
    *,
    name: str = "backtest",
    progress: Progress | None = None,
) -> BacktestResult:
    """Replay ``config`` over ``market`` and summarize (see the package docstring)."""
    began = time.perf_counter()
    replay = Replay(config, market, options or BacktestOptions())
    replay.run(progress)
    return summarize(replay, name, time.perf_counter() - began)
