"""A finished replay as numbers: the hedged and unhedged books, effectiveness, ceilings, costs,
margin and collateral.

Money totals (fees, funding, turnover) are summed exactly in Decimal from the engine's executions:
an inverse fill's fee is in coin, valued at its fill price; funding at the settlement's mark;
turnover is the USD face traded. Statistics over the value series are float64
(``bot.backtest.metrics``).

Margin, per coin-margined wallet that carried a short: ``used`` = required / equity at each tick
(before the tick's orders), with ``required`` what ``bot.core.margin.required_equity`` asks of
the wallet's own short at the minimum liquidation distance (cross; isolated: the initial
margin): 100 % means a rise of exactly ``collateral.min_liquidation_distance`` would reach
maintenance. Collateral moves are the ones the engine accepted, valued at the planning price.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.backtest import metrics
from bot.backtest.runner import Replay
from bot.backtest.wallets import WalletState
from bot.sim.feed import Gap
from bot.sim.params import STABLECOINS
from bot.sim.series import Series as SeriesData
from bot.sim.series import from_epoch

FloatArray = npt.NDArray[np.float64]
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class BookSummary:
    """One book over the run (USD)."""

    start_value: float
    final_value: float
    daily_vol: float | None
    max_drawdown: float
    max_drawdown_fraction: float

    @property
    def pnl(self) -> float:
        return self.final_value - self.start_value


@dataclass(frozen=True, slots=True)
class ProxyCeiling:
    """The §7 ceiling of one rule: its asset's bag against a unit short of ``hedge``."""

    asset: str
    hedge: str  # coin(s) of the instrument used, e.g. "BTC"
    rho: float | None
    rho2: float | None
    beta_star: float | None
    days: int


@dataclass(frozen=True, slots=True)
class Costs:
    """Exact totals (USD) and counts from the engine's executions."""

    fees: Decimal = ZERO
    funding_received: Decimal = ZERO
    funding_paid: Decimal = ZERO  # a positive number: what the hedge paid
    turnover: Decimal = ZERO
    fills: int = 0
    liquidations: int = 0

    @property
    def funding_net(self) -> Decimal:
        return self.funding_received - self.funding_paid


@dataclass(frozen=True, slots=True)
class MarginPeak:
    """One coin-margined wallet over the run (module docstring): the highest share of its
    equity the short required (``math.inf``: a short on no equity) and when, the highest
    requirement in coin and in USD (each at its own tick)."""

    coin: str
    peak_used: float
    peak_at: datetime
    peak_required: float
    peak_required_usd: float


@dataclass(frozen=True, slots=True)
class CollateralMoves:
    """The collateral actions the replay ran: transfers each way, conversions (spot sells of
    a proxy-hedged asset, with the USD sold), actions the engine refused, and increases held
    because the move funding them failed."""

    to_margin: int = 0
    to_margin_usd: Decimal = ZERO
    to_spot: int = 0
    to_spot_usd: Decimal = ZERO
    conversions: int = 0
    converted_usd: Decimal = ZERO
    failed: int = 0
    held_increases: int = 0

    @property
    def transfers(self) -> int:
        return self.to_margin + self.to_spot

    @property
    def transferred_usd(self) -> Decimal:
        return self.to_margin_usd + self.to_spot_usd


@dataclass(frozen=True, slots=True)
class Series:
    """Per-tick series for plots: time (epoch s), values, shorts by instrument (USD face),
    cumulative fees and net funding (USD), each margin wallet's equity and requirement (USD,
    module docstring) and the ticks with a margin shortfall."""

    times: npt.NDArray[np.int64]
    hedged: FloatArray
    unhedged: FloatArray
    shorts: Mapping[str, FloatArray]
    fees: FloatArray
    funding: FloatArray
    margin_equity: Mapping[str, FloatArray] = field(default_factory=dict)
    margin_required: Mapping[str, FloatArray] = field(default_factory=dict)
    shortfall: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))


@dataclass(frozen=True, slots=True)
class BacktestResult:
    name: str
    start: datetime
    end: datetime
    step_seconds: int
    ticks: int
    days: int
    band: Decimal | None  # None: the fee-aware band (hedge.no_trade)
    fee_rate: Decimal
    hedged: BookSummary
    unhedged: BookSummary
    effectiveness: float | None
    ceiling: float | None  # R² of the book on every rule's unit hedge (= ρ² with one rule)
    ceilings: tuple[ProxyCeiling, ...]
    costs: Costs
    orders: int
    rejected: tuple[str, ...]
    held: int
    decisions: int
    outside_band_share: float
    events: Mapping[str, int]
    gaps: tuple[Gap, ...]
    notes: tuple[str, ...]
    series: Series = field(repr=False)
    runtime_seconds: float = 0.0
    margin: tuple[MarginPeak, ...] = ()
    shortfall_ticks: int = 0
    collateral: CollateralMoves = field(default_factory=CollateralMoves)

    @property
    def shortfall_hours(self) -> float:
        """Hours with a margin shortfall (ticks × step)."""
        return self.shortfall_ticks * self.step_seconds / 3600

    @property
    def vs_ceiling(self) -> float | None:
        """Effectiveness as a share of the ceiling."""
        if self.effectiveness is None or not self.ceiling:
            return None
        return self.effectiveness / self.ceiling


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


def to_json(result: BacktestResult) -> dict[str, Any]:
    """The machine-readable report (USD as floats rounded to cents)."""

    def usd(value: float | Decimal | None) -> float | None:
        return None if value is None else round(float(value), 2)

    def ratio(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    def book(summary: BookSummary) -> dict[str, Any]:
        return {
            "start_value_usd": usd(summary.start_value),
            "final_value_usd": usd(summary.final_value),
            "pnl_usd": usd(summary.pnl),
            "daily_pnl_vol_usd": usd(summary.daily_vol),
            "max_drawdown_usd": usd(summary.max_drawdown),
            "max_drawdown_fraction": ratio(summary.max_drawdown_fraction),
        }

    costs = result.costs
    moves = result.collateral
    return {
        "name": result.name,
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "step_seconds": result.step_seconds,
        "ticks": result.ticks,
        "days": result.days,
        "band": "fee-aware" if result.band is None else str(result.band),
        "fee_rate": str(result.fee_rate),
        "effectiveness": ratio(result.effectiveness),
        "ceiling": ratio(result.ceiling),
        "effectiveness_vs_ceiling": ratio(result.vs_ceiling),
        "ceilings": [
            {
                "asset": c.asset,
                "hedge": c.hedge,
                "rho": ratio(c.rho),
                "rho2": ratio(c.rho2),
                "beta_star": ratio(c.beta_star),
                "days": c.days,
            }
            for c in result.ceilings
        ],
        "hedged": book(result.hedged),
        "unhedged": book(result.unhedged),
        "max_drawdown_hedged": usd(result.hedged.max_drawdown),
        "max_drawdown_unhedged": usd(result.unhedged.max_drawdown),
        "fees_usd": usd(costs.fees),
        "funding_usd": usd(costs.funding_net),
        "funding_received_usd": usd(costs.funding_received),
        "funding_paid_usd": usd(costs.funding_paid),
        "orders": result.orders,
        "fills": costs.fills,
        "turnover_usd": usd(costs.turnover),
        "liquidations": costs.liquidations,
        "refused_orders": len(result.rejected),
        "rejected_orders": list(result.rejected),
        "held_orders": result.held,
        "decide_calls": result.decisions,
        "outside_band_share": ratio(result.outside_band_share),
        "rule_events": dict(sorted(result.events.items())),
        "margin": {
            peak.coin: {
                "peak_used": None if math.isinf(peak.peak_used) else ratio(peak.peak_used),
                "peak_used_at": peak.peak_at.isoformat(),
                "peak_required_coin": round(peak.peak_required, 8),
                "peak_required_usd": usd(peak.peak_required_usd),
            }
            for peak in result.margin
        },
        "margin_shortfall_ticks": result.shortfall_ticks,
        "margin_shortfall_hours": round(result.shortfall_hours, 2),
        "transfers": {
            "count": moves.transfers,
            "usd": usd(moves.transferred_usd),
            "to_margin": moves.to_margin,
            "to_margin_usd": usd(moves.to_margin_usd),
            "to_spot": moves.to_spot,
            "to_spot_usd": usd(moves.to_spot_usd),
        },
        "conversions": {"count": moves.conversions, "usd": usd(moves.converted_usd)},
        "collateral_failed": moves.failed,
        "increases_held_unfunded": moves.held_increases,
        "gaps": [
            {"coin": g.coin, "from": g.from_open.isoformat(), "to": g.to_open.isoformat()}
            for g in result.gaps
        ],
        "notes": list(result.notes),
        "runtime_seconds": round(result.runtime_seconds, 3),
    }
