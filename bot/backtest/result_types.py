"""The shape of a finished backtest: ``BacktestResult`` and the parts it is made of (each book's
summary, the §7 ceilings, costs, margin peaks, collateral moves, the per-tick series). Plain
frozen data; ``bot.backtest.result.summarize`` fills it in and ``bot.backtest.result_json``
serialises it.

Margin, per coin-margined wallet that carried a short: ``used`` = required / equity at each tick
(before the tick's orders), with ``required`` what ``bot.core.margin.required_equity`` asks of
the wallet's own short at the minimum liquidation distance (cross; isolated: the initial
margin): 100 % means a rise of exactly ``collateral.min_liquidation_distance`` would reach
maintenance. Collateral moves are the ones the engine accepted, valued at the planning price.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from bot.sim.feed import Gap

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
