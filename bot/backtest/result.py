"""A finished replay as numbers: ``summarize`` turns a ``Replay`` into a ``BacktestResult``
(``bot.backtest.result_types``) with the hedged and unhedged books, effectiveness, ceilings,
costs, margin and collateral.

Money totals (fees, funding, turnover) are summed exactly in Decimal from the engine's executions:
an inverse fill's fee is in coin, valued at its fill price; funding at the settlement's mark;
turnover is the USD face traded. Statistics over the value series are float64
(``bot.backtest.metrics``). Margin and collateral are as described in
``bot.backtest.result_types``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from bot.backtest import metrics
from bot.backtest.result_types import (
    ZERO,
    BacktestResult,
    BookSummary,
    CollateralMoves,
    Costs,
    FloatArray,
    MarginPeak,
    ProxyCeiling,
    Series,
)
from bot.backtest.runner import Replay
from bot.backtest.wallets import WalletState
from bot.sim.feed import Gap
from bot.sim.params import STABLECOINS
from bot.sim.series import Series as SeriesData
from bot.sim.series import from_epoch


def summarize(replay: Replay, name: str, runtime_seconds: float = 0.0) -> BacktestResult:
    """Everything the report shows, from a finished ``Replay``."""
    rec = replay.recording
    times = np.asarray(rec.times, dtype=np.int64)
    prices = {
        coin: _tick_prices(replay.market.feed.series(coin), times)
        for coin in replay.market.feed.coins
    }
    hedged = np.asarray(rec.hedged, dtype=np.float64)
    unhedged = np.full(times.size, replay.cash, dtype=np.float64)
    for coin, amount in replay.bag.items():
        unhedged += float(amount) * prices[coin]
    days = metrics.midnights(times)
    d_hedged = metrics.daily_changes(hedged, days)
    d_unhedged = metrics.daily_changes(unhedged, days)
    ceilings, units = _ceilings(replay, prices, days)
    costs, fees, funding = _costs(replay, times)
    index = np.asarray(rec.short_index, dtype=np.int64)
    symbols = sorted({s for held in rec.shorts for s, face in held.items() if face})
    shorts = {
        symbol: np.asarray([held.get(symbol, 0.0) for held in rec.shorts])[index]
        for symbol in symbols
    }
    peaks, equity, required = _margin(replay, times, prices, index)
    shortfall = np.asarray(rec.shortfall, dtype=bool)
    return BacktestResult(
        name=name,
        start=from_epoch(int(times[0])),
        end=from_epoch(int(times[-1])),
        step_seconds=replay.step_s,
        ticks=int(times.size),
        days=max(int(days.size) - 1, 0),
        band=replay.config.hedge.band,
        fee_rate=replay.cfg.fee_rate,
        hedged=_book(hedged, d_hedged),
        unhedged=_book(unhedged, d_unhedged),
        effectiveness=metrics.effectiveness(d_unhedged, d_hedged),
        ceiling=metrics.book_ceiling(d_unhedged, units),
        ceilings=tuple(ceilings),
        costs=costs,
        orders=replay.activity.orders,
        rejected=tuple(replay.activity.rejected),
        held=replay.activity.held,
        decisions=replay.activity.decisions,
        outside_band_share=float(np.mean(rec.outside)) if rec.outside else 0.0,
        events=dict(replay.activity.events),
        gaps=_gaps(replay),
        notes=tuple(_notes(replay, costs)),
        series=Series(times, hedged, unhedged, shorts, fees, funding, equity, required, shortfall),
        runtime_seconds=runtime_seconds,
        margin=peaks,
        shortfall_ticks=int(shortfall.sum()),
        collateral=_moves(replay),
    )


def _margin(
    replay: Replay,
    times: npt.NDArray[np.int64],
    prices: Mapping[str, FloatArray],
    index: npt.NDArray[np.int64],
) -> tuple[tuple[MarginPeak, ...], dict[str, FloatArray], dict[str, FloatArray]]:
    """Peaks and per-tick equity and requirement (USD) of every wallet that carried a short,
    from the wallet states recorded with the shorts (``a/P − b`` PnL, ``WalletState``)."""
    states = replay.recording.wallets
    check = replay.margin_check
    coins = sorted({c for row in states for c, s in row.items() if s.face > 0 and c in prices})
    peaks: list[MarginPeak] = []
    equity_usd: dict[str, FloatArray] = {}
    required_usd: dict[str, FloatArray] = {}
    empty = WalletState("", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    for coin in coins:
        rows = [row.get(coin, empty) for row in states]
        price = prices[coin]

        def column(name: str, rows: list[WalletState] = rows) -> FloatArray:
            values: FloatArray = np.asarray([getattr(r, name) for r in rows])[index]
            return values

        face, entry = column("face"), column("entry")
        equity = column("balance") + column("pnl_a") / price - column("pnl_b")
        if check.cross:
            base = np.where((entry > 0) & (entry < price), entry, price)
            required = face * (check.rise / price + check.maintenance / base)
        else:
            required = face / (price * check.leverage)
        with np.errstate(divide="ignore", invalid="ignore"):
            used = np.where(face > 0, np.where(equity > 0, required / equity, np.inf), 0.0)
        at = int(np.argmax(used))
        required_usd[coin] = required * price
        equity_usd[coin] = equity * price
        peaks.append(
            MarginPeak(
                coin=coin,
                peak_used=float(used[at]),
                peak_at=from_epoch(int(times[at])),
                peak_required=float(required.max()),
                peak_required_usd=float(required_usd[coin].max()),
            )
        )
    return tuple(peaks), equity_usd, required_usd


def _moves(replay: Replay) -> CollateralMoves:
    counts = {"margin": 0, "spot": 0, "sell": 0, "failed": 0}
    usd = {"margin": ZERO, "spot": ZERO, "sell": ZERO}
    for done in replay.activity.collateral:
        action = done.action
        if not done.ok:
            counts["failed"] += 1
        elif action.kind == "transfer" and action.destination is not None:
            counts[action.destination] += 1
            usd[action.destination] += action.usd_value
        elif action.kind == "spot_sell":
            counts["sell"] += 1
            usd["sell"] += action.usd_value
    return CollateralMoves(
        to_margin=counts["margin"],
        to_margin_usd=usd["margin"],
        to_spot=counts["spot"],
        to_spot_usd=usd["spot"],
        conversions=counts["sell"],
        converted_usd=usd["sell"],
        failed=counts["failed"],
        held_increases=replay.activity.held_unfunded,
    )


def _book(values: FloatArray, daily: FloatArray) -> BookSummary:
    drawdown = metrics.max_drawdown(values)
    return BookSummary(
        start_value=float(values[0]),
        final_value=float(values[-1]),
        daily_vol=metrics.daily_volatility(daily),
        max_drawdown=drawdown.usd,
        max_drawdown_fraction=drawdown.fraction,
    )


def _tick_prices(series: SeriesData, times: npt.NDArray[np.int64]) -> FloatArray:
    """The engine's price at each tick (``ReplayFeed.price_at``: the close of the latest candle
    closed by then, the first open before that), as floats."""
    closes = np.asarray([float(c) for c in series.close], dtype=np.float64)
    slots = np.asarray(series.slot, dtype=np.int64)
    index = (times - series.opens[0]) // series.step - 1
    picked = closes[slots[np.clip(index, 0, slots.size - 1)]]
    result: FloatArray = np.where(index < 0, float(series.open[0]), picked)
    return result


def _ceilings(
    replay: Replay, prices: Mapping[str, FloatArray], days: npt.NDArray[np.int64]
) -> tuple[list[ProxyCeiling], list[FloatArray]]:
    rec = replay.recording
    out: list[ProxyCeiling] = []
    units: list[FloatArray] = []
    for asset, recorded in rec.hedge_coin.items():
        value = float(replay.bag.get(asset, ZERO)) * prices[asset]
        coins = recorded[1:] if len(recorded) > 1 else recorded * len(rec.times)
        held = np.asarray(coins)
        hedge_return = np.zeros_like(value)
        for coin in sorted(set(coins)):
            p = prices[coin]
            over = np.flatnonzero(held[:-1] == coin) + 1  # intervals hedged with ``coin``
            hedge_return[over] = p[over] / p[over - 1] - 1.0
        unit = metrics.daily_sums(metrics.unit_hedge_pnl(value, hedge_return), days)
        fit = metrics.unit_ceiling(metrics.daily_changes(value, days), unit)
        units.append(unit)
        out.append(
            ProxyCeiling(
                asset=asset,
                hedge=",".join(dict.fromkeys(coins)),
                rho=None if fit is None else fit.rho,
                rho2=None if fit is None else fit.rho2,
                beta_star=None if fit is None else fit.beta_star,
                days=max(int(days.size) - 1, 0),
            )
        )
    return out, units


def _costs(replay: Replay, times: npt.NDArray[np.int64]) -> tuple[Costs, FloatArray, FloatArray]:
    """Totals, and cumulative fees and net funding per tick (an event between two ticks counts
    at the next one, where the account value first shows it)."""
    fees = np.zeros(times.size, dtype=np.float64)
    funding = np.zeros(times.size, dtype=np.float64)
    markets = replay.sim.markets()
    total = {"fees": ZERO, "received": ZERO, "paid": ZERO, "turnover": ZERO}
    fills = liquidations = 0
    start, step = int(times[0]), replay.step_s
    for ex in replay.sim.executions():
        index = min(-(-(ex.ts_ms // 1000 - start) // step), times.size - 1)
        usd_per_unit = ONE if ex.currency in STABLECOINS else ex.price
        if ex.kind == "funding":
            amount = ex.funding * usd_per_unit
            total["received" if amount > 0 else "paid"] += abs(amount)
            funding[index] += float(amount)
            continue
        market = markets[ex.symbol]
        fee = ex.fee * usd_per_unit
        total["fees"] += fee
        fees[index] += float(fee)
        face = ex.contracts * market.contract_size
        total["turnover"] += face if market.is_inverse else face * ex.price
        fills += 1
        liquidations += ex.kind == "liquidation"
    costs = Costs(
        fees=total["fees"],
        funding_received=total["received"],
        funding_paid=total["paid"],
        turnover=total["turnover"],
        fills=fills,
        liquidations=liquidations,
    )
    return costs, np.cumsum(fees), np.cumsum(funding)


ONE = Decimal(1)


def _gaps(replay: Replay) -> tuple[Gap, ...]:
    start, end = from_epoch(replay.start_s), from_epoch(replay.end_s)
    return tuple(g for g in replay.market.feed.gaps if g.to_open > start and g.from_open < end)


def _notes(replay: Replay, costs: Costs) -> list[str]:
    notes = [
        f"prices {coin}: {source}" for coin, source in sorted(replay.market.price_sources.items())
    ]
    histories = replay.funding.histories
    for source, repairs in replay.market.repairs.items():
        if replay.market.uses(source, histories):
            notes.extend(repairs)
    markets = replay.sim.markets()
    held = {markets[e.symbol].base for e in replay.sim.executions() if e.kind != "funding"}
    notes.extend(replay.funding.notes(held))
    notes.append(
        "orders: market orders filling at the candle close, fee exchange.sim.fee_rate on every "
        "fill, no slippage beyond the close"
    )
    if replay.config.execution.style != "market":
        notes.append("execution.style limit is not replayed: orders went out at market")
    if any(not h.inverse for coin, h in histories.items() if coin in held):
        notes.append(
            "funding of some inverse perps is a Binance USD-M (linear) rate: the only history "
            "here for altcoins and for BTC after 2020; inverse and linear rates differ"
        )
    notes.append(
        "unhedged book: the starting coins of every rule's asset and every spot/static coin at "
        "market; margin coins without a rule of their own (hedge collateral) and stablecoins as "
        "the cash they were worth at the start"
    )
    gaps = _gaps(replay)
    if gaps:
        notes.append(
            f"{len(gaps)} gap(s) in the candles: the price holds at the last close across a gap "
            "(nothing is filled); the decisions and funding run on the held price"
        )
    if costs.liquidations:
        notes.append(f"{costs.liquidations} LIQUIDATION(S): the collateral was too small")
    if replay.activity.rejected:
        notes.append(f"{len(replay.activity.rejected)} order(s) refused by the exchange")
    terms = replay.terms
    notes.append(
        f"margin: hedges sized to what each wallet carries with liquidation at least "
        f"{terms.min_distance:.0%} away (leverage {terms.leverage}, {terms.margin_mode}); "
        + (
            "collateral moved by the policy (collateral.fund_from: spot)"
            if replay.collateral is not None
            else "no collateral moved (collateral.fund_from: none)"
        )
    )
    failed = [d for d in replay.activity.collateral if not d.ok]
    if failed:
        notes.append(f"{len(failed)} collateral action(s) refused or not sent")
    return notes
