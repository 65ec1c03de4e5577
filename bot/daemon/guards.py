"""What a tick checks before it trusts its read and lets its plan out (``bot.core.guards``,
``bot.core.ledger``): market specs fresh, prices sane, positions agreeing with the ledger."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config.exchange_config import ExchangeConfig
from bot.core.guards import AcceptedPrice, SpecChange, screen_prices
from bot.core.types import Snapshot
from bot.daemon.decide import Decision
from bot.daemon.ledger_watch import LedgerView, LedgerWatch
from bot.daemon.market_watch import MarketWatch, price_refused_events, spec_change_events
from bot.exchange.port import ExchangePort
from bot.store.ledger_repo import LedgerRecords
from bot.store.repo import Store

SPECS_CHANGED = "the contract size changed since the snapshot: planned again next tick"


@dataclass(frozen=True, slots=True)
class GuardedRead:
    """A tick's snapshot with refused prices taken out, and what the guards found."""

    snapshot: Snapshot
    spec_changes: tuple[SpecChange, ...] = ()
    refused: Mapping[str, str] = field(default_factory=dict)  # coin -> why its price was refused
    ledger: LedgerView = field(default_factory=LedgerView)

    @property
    def increases_held(self) -> str | None:
        """Why no short may grow anywhere this tick (None: they may)."""
        if self.ledger.disagreements:
            symbols = ", ".join(d.symbol for d in self.ledger.disagreements)
            return f"the exchange's position and the daemon's fills disagree on {symbols}"
        if self.refused:
            return f"price of {', '.join(sorted(self.refused))} refused as a data error"
        return None


class Guards:
    """One account's guards, with what they remember between ticks."""

    def __init__(
        self,
        port: ExchangePort,
        store: Store,
        account: str,
        markets_refresh: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.port = port
        self.clock = clock
        self.market_watch = MarketWatch(port, markets_refresh, clock)
        self.ledger = LedgerWatch(LedgerRecords(store.engine), account)
        self.accepted_prices: dict[str, AcceptedPrice] = {}  # see screen_prices

    async def read(
        self,
        read_snapshot: Callable[[], Awaitable[Snapshot]],
        *,
        dry_run: bool,
    ) -> GuardedRead:
        """Specs refreshed when due, the snapshot read, its prices screened, the ledger checked
        (not in a dry run, which fills nothing)."""
        spec_changes = await self.market_watch.refresh()
        screened = screen_prices(await read_snapshot(), self.accepted_prices)
        self.accepted_prices = dict(screened.accepted)
        ledger = LedgerView()
        if not dry_run:
            ledger = await self.ledger.check(screened.snapshot)
        return GuardedRead(screened.snapshot, spec_changes, screened.refused, ledger)

    async def review(
        self, decision: Decision, read: GuardedRead, *, dry_run: bool
    ) -> tuple[Decision, str | None]:
        """The decision with the guards' events, and why no order at all may go out (None:
        they may): before orders the specs are read again, and a change holds them all."""
        hold_all: str | None = None
        spec_changes = read.spec_changes
        if decision.plan.orders and not dry_run:
            late = await self.market_watch.refresh(now=True)
            if late:
                hold_all = SPECS_CHANGED
            spec_changes += late
        snapshot = decision.snapshot
        events = (
            *decision.events,
            *spec_change_events(spec_changes, snapshot.markets, snapshot.positions),
            *price_refused_events(read.refused),
            *read.ledger.events(),
        )
        return dataclasses.replace(decision, events=events), hold_all

    async def explain_positions(
        self, exchange: ExchangeConfig, symbols: Sequence[str], store: Store
    ) -> None:
        """When the account is taken: refuse it (``UnexplainedPositionError``) when a position
        or open order on ``symbols`` is not what the database's fills make, unless it may be
        adopted (``exchange.adopt_positions``, or a venue that begins afresh with the daemon)."""
        port = self.port
        open_orders = await port.fetch_open_orders(symbols)
        known = {
            order.client_order_id
            for order in open_orders
            if await store.get_order(order.client_order_id) is not None
        }
        await self.ledger.start(
            await port.fetch_positions(symbols),
            open_orders,
            known,
            await port.load_markets(),
            self.clock(),
            adopt=exchange.adopt_positions,
            fresh_venue=exchange.id == "sim" or exchange.embedded_emulator,
        )
