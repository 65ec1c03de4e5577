"""Per-tick margin and liquidation view of every short hedge (pure, from one snapshot)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bot.config.models import HedgeConfig, WatchConfig
from bot.core.types import Snapshot
from bot.daemon.decide import Decision
from bot.stats.beta import BetaEstimate
from strategies.events import RuleEvent
from strategies.risk import LiquidationCheck, liquidation_check
from strategies.watch import basis_events, correlation_breakdown


def liquidation_checks(snapshot: Snapshot, hedge: HedgeConfig) -> list[LiquidationCheck]:
    """The exchange's and our own liquidation price for each short, with the formula used.

    Cross margin is backed by the whole settle wallet's balance; isolated by the position's
    initial margin (``strategies.risk.liquidation_check``).
    """
    checks: list[LiquidationCheck] = []
    for symbol, position in sorted(snapshot.positions.items()):
        market = snapshot.markets.get(symbol)
        if market is None or position.contracts >= 0:
            continue
        mark = position.mark_price or snapshot.prices.get(market.base)
        if mark is None:
            continue
        wallet = snapshot.margin.get(market.settle)
        check = liquidation_check(
            position,
            market,
            mark_price=mark,
            wallet_balance=wallet.balance if wallet is not None else Decimal(0),
            margin_mode=hedge.margin_mode,
            leverage=hedge.leverage,
            maintenance_rate=hedge.maintenance_margin_rate,
            basis=hedge.maintenance_basis,
        )
        if check is not None:
            checks.append(check)
    return checks


def watch_events(
    snapshot: Snapshot,
    decision: Decision,
    betas: Mapping[tuple[str, str], BetaEstimate],
    watch: WatchConfig,
) -> list[RuleEvent]:
    """Proxy correlation breakdowns and perp-vs-spot basis beyond the threshold."""
    spot_prices = {
        symbol.split("/")[0]: ticker.last
        for symbol, ticker in snapshot.tickers.items()
        if symbol.endswith("/USDT")
    }
    perps = {s: t for s, t in snapshot.tickers.items() if s in snapshot.markets}
    return [
        *correlation_breakdown(decision.targets, snapshot.markets, betas, watch.rho_floor),
        *basis_events(perps, spot_prices, snapshot.markets, watch.basis_threshold),
    ]
