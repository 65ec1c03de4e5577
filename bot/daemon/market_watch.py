"""Keeps an account's market specs fresh, and turns a changed contract into a re-sizing event.

Specs are read at start and again every ``exchange.markets_refresh_seconds``, and always just
before orders go out: an order sized with a stale contract size is 3 times too large when the
venue tripled it (issue 15, defect 1). A change found before orders holds them all: the plan was
made with the old size, the next tick plans again with the new one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import structlog

from bot.core.guards import SpecChange, contract_size_changes
from bot.core.types import Market, Position
from bot.exchange.port import ExchangePort
from strategies.events import RuleEvent

log = structlog.get_logger(__name__)


class MarketWatch:
    """The specs the plan uses, refreshed on a timer and on demand."""

    def __init__(
        self, port: ExchangePort, refresh_after: timedelta, clock: Callable[[], datetime]
    ) -> None:
        self.port = port
        self.refresh_after = refresh_after
        self.clock = clock
        self.known: dict[str, Market] | None = None
        self.read_at: datetime | None = None

    async def refresh(self, *, now: bool = False) -> tuple[SpecChange, ...]:
        """Read the specs again when due (or ``now``); the contract sizes that changed."""
        at = self.clock()
        if self.known is None:
            self.known, self.read_at = dict(await self.port.load_markets()), at
            if not now:
                return ()
        due = self.read_at is None or at - self.read_at >= self.refresh_after
        if not (now or due):
            return ()
        fresh = dict(await self.port.refresh_markets())
        changes = contract_size_changes(self.known, fresh)
        self.known, self.read_at = fresh, at
        for change in changes:
            log.critical(
                "contract_size_changed",
                symbol=change.symbol,
                old_contract_size=str(change.old_contract_size),
                new_contract_size=str(change.new_contract_size),
            )
        return changes


def spec_change_events(
    changes: tuple[SpecChange, ...],
    markets: Mapping[str, Market],
    positions: Mapping[str, Position],
) -> tuple[RuleEvent, ...]:
    """One critical event per changed contract, with what the position held is now worth."""
    events: list[RuleEvent] = []
    for change in changes:
        market = markets.get(change.symbol)
        position = positions.get(change.symbol)
        contracts = position.contracts if position is not None else None
        held = ""
        if contracts is not None and market is not None and market.is_inverse:
            count = abs(contracts).normalize()
            held = (
                f"; {count:f} contracts held were {count * change.old_contract_size:.0f} USD and "
                f"are {count * change.new_contract_size:.0f} USD"
            )
        events.append(
            RuleEvent(
                kind="contract_size_changed",
                severity="critical",
                asset=market.base if market is not None else change.symbol.split("/")[0],
                instrument=change.symbol,
                message=f"{change.symbol}: the exchange changed the contract size from "
                f"{change.old_contract_size.normalize():f} to "
                f"{change.new_contract_size.normalize():f}{held}: "
                "the hedge is re-sized to target",
                values={
                    "old_contract_size": str(change.old_contract_size),
                    "new_contract_size": str(change.new_contract_size),
                    "contracts": "" if contracts is None else str(contracts),
                },
            )
        )
    return tuple(events)


def price_refused_events(refused: Mapping[str, str]) -> tuple[RuleEvent, ...]:
    """One critical event per coin whose price was refused as a data error."""
    return tuple(
        RuleEvent(
            kind="price_refused",
            severity="critical",
            asset=coin,
            instrument=None,
            message=f"{coin}: {why}: refused as a data error; no short grows while it lasts",
        )
        for coin, why in sorted(refused.items())
    )
