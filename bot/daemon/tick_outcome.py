"""What one tick of one account did (``TickOutcome``), or that it did nothing on purpose.

Produced by ``bot.daemon.tick.Hedger``; read by its listeners (CLI printer, metrics, alerts) and
the report, which need the result without the machinery that runs a tick.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.margin import InstrumentMargin
from bot.core.types import PlannedOrder
from bot.daemon.collateral import ActionReport
from bot.daemon.decide import Decision
from bot.daemon.execute import ExecutionReport
from strategies.risk import LiquidationCheck


@dataclass(frozen=True)
class TickOutcome:
    tick_id: int
    decision: Decision
    orders: tuple[PlannedOrder, ...]  # what was sent (or recorded as DRY_RUN)
    execution: ExecutionReport | None
    held: tuple[tuple[PlannedOrder, str], ...] = ()  # planned but held back, with the reason
    risk: tuple[LiquidationCheck, ...] = ()  # margin and liquidation view of each short
    collateral: ActionReport | None = None  # what the collateral actions did (None: none sent)
    margin: tuple[InstrumentMargin, ...] = ()  # wallet, required margin and shortfall per hedge


class TickSkipped(Exception):
    """The tick did nothing on purpose (trading paused); not a failure."""
