"""The daemon's ledger of positions (``bot.core.ledger``) against the exchange's reads: at start,
a position or open order the database cannot explain stops the account (unless
``exchange.adopt_positions``); on every tick, a disagreement holds every increase."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import structlog

from bot.core.ledger import (
    Disagreement,
    LedgerOrder,
    disagreements,
    in_flight,
    ledger_positions,
    unread_short_usd,
)
from bot.core.types import TERMINAL_STATES, Market, OrderStatus, Position, Snapshot
from bot.exchange.errors import ConfigurationMismatchError
from bot.store.ledger_repo import Adoption, LedgerRecords
from bot.store.records import OrderRecord
from strategies.events import RuleEvent

log = structlog.get_logger(__name__)
ZERO = Decimal(0)


class UnexplainedPositionError(ConfigurationMismatchError):
    """A position or open order on a hedged instrument that the database cannot explain."""


@dataclass(frozen=True, slots=True)
class LedgerView:
    """One tick's comparison: what disagrees, and the short the cap must count beyond the read."""

    disagreements: tuple[Disagreement, ...] = ()
    unread_short_usd: dict[str, Decimal] = field(default_factory=dict)

    def events(self) -> tuple[RuleEvent, ...]:
        """One critical event per disagreeing symbol."""
        return tuple(
            RuleEvent(
                kind="ledger_disagreement",
                severity="critical",
                asset=d.symbol.split("/")[0],
                instrument=d.symbol,
                message=f"{d.symbol}: the exchange reads {d.read} contracts, the daemon's fills "
                f"make {d.ledger} (more than {d.tolerance} apart): no short grows until they "
                "agree; check the position on the exchange (a liquidation, a trade not sent by "
                "hedgebot), then restart with exchange.adopt_positions: true to take it",
                values={
                    "read": str(d.read),
                    "ledger": str(d.ledger),
                    "tolerance": str(d.tolerance),
                },
            )
            for d in self.disagreements
        )


def _ledger_order(order: OrderRecord) -> LedgerOrder:
    unfinished = order.state not in TERMINAL_STATES
    rest = order.contracts - order.filled_contracts if unfinished else ZERO
    return LedgerOrder(order.symbol, order.side, order.filled_contracts, max(rest, ZERO))


def _slack(markets: Mapping[str, Market], symbols: set[str]) -> dict[str, Decimal]:
    """Rounding aside, only an order whose fills are not recorded yet explains a gap."""
    return {s: markets[s].min_contracts for s in symbols if s in markets}


class LedgerWatch:
    """The account's ledger: its latest adoptions plus the fills of its orders since. Orders
    that are final are summed once; only newer or unfinished ones are read again."""

    def __init__(self, records: LedgerRecords, account: str) -> None:
        self.records = records
        self.account = account
        self.adopted: dict[str, Adoption] | None = None
        self.folded: dict[str, Decimal] = {}  # signed fills of final orders up to folded_upto
        self.folded_upto = 0

    async def positions(self) -> tuple[dict[str, Decimal], list[LedgerOrder]]:
        """(signed contracts by symbol, the unfinished orders: what they may still fill)."""
        if self.adopted is None:
            self.adopted = await self.records.adoptions(self.account)
            self.folded, self.folded_upto = {}, 0
        adopted = self.adopted
        recent = await self.records.orders_after(self.account, self.folded_upto)
        pending: list[LedgerOrder] = []
        flying: list[LedgerOrder] = []
        folding = True
        for order in recent:
            origin = adopted.get(order.symbol)
            counted = origin is None or order.created_at >= origin.at
            entry = _ledger_order(order)
            if folding and order.state in TERMINAL_STATES:
                if counted:
                    self.folded = ledger_positions(self.folded, [entry])
                self.folded_upto = order.id
                continue
            folding = False
            flying.append(entry)
            if counted:
                pending.append(entry)
        base = {s: a.contracts for s, a in adopted.items()}
        for symbol, contracts in self.folded.items():
            base[symbol] = base.get(symbol, ZERO) + contracts
        return ledger_positions(base, pending), flying

    async def check(self, snapshot: Snapshot) -> LedgerView:
        """Compare ``snapshot``'s positions with the ledger (a symbol it has never seen: flat)."""
        read = {symbol: position.contracts for symbol, position in snapshot.positions.items()}
        ledger, unfinished = await self.positions()
        expected = {symbol: ledger.get(symbol, ZERO) for symbol in read}
        slack = _slack(snapshot.markets, set(read))
        found = disagreements(read, expected, slack, in_flight(unfinished))
        for d in found:
            log.critical(
                "ledger_disagreement",
                symbol=d.symbol,
                read=str(d.read),
                ledger=str(d.ledger),
                tolerance=str(d.tolerance),
            )
        # A resting sell may fill after this read: the cap counts it as short already.
        sells = in_flight(unfinished, "sell")
        extra = unread_short_usd(read, ledger, snapshot.markets, snapshot.prices, sells)
        return LedgerView(found, extra)

    async def start(
        self,
        positions: Mapping[str, Position],
        open_orders: Sequence[OrderStatus],
        known_order_ids: set[str],
        markets: Mapping[str, Market],
        now: datetime,
        *,
        adopt: bool,
        fresh_venue: bool,
    ) -> None:
        """When the account is taken: explain every position and open order on the hedged
        instruments by the database, or adopt them (``adopt``, or a venue whose state began
        with this daemon: ``fresh_venue``), or raise ``UnexplainedPositionError``."""
        read = {symbol: position.contracts for symbol, position in positions.items()}
        ledger, unfinished = await self.positions()
        expected = {symbol: ledger.get(symbol, ZERO) for symbol in read}
        found = disagreements(read, expected, _slack(markets, set(read)), in_flight(unfinished))
        strangers = [o for o in open_orders if o.client_order_id not in known_order_ids]
        if fresh_venue:
            reason = "the simulated exchange starts afresh with the daemon"
            await self._adopt(read, now, reason)
            return
        if not found and not strangers:
            return
        problems = [
            f"{d.symbol} holds {d.read} contracts where the database's fills make {d.ledger}"
            for d in found
        ] + [
            f"{o.symbol} has an open order {o.client_order_id or '(no client id)'} "
            f"({o.side} {o.contracts}) that hedgebot did not send"
            for o in strangers
        ]
        if not adopt:
            raise UnexplainedPositionError(
                "; ".join(problems) + ". hedgebot trades only an account it can explain: close "
                "them, or set exchange.adopt_positions: true to take positions as they are"
            )
        await self._adopt({d.symbol: d.read for d in found}, now, "exchange.adopt_positions")
        for problem in problems:
            log.warning("position_adopted", problem=problem)

    async def _adopt(self, read: Mapping[str, Decimal], now: datetime, reason: str) -> None:
        adoptions = [Adoption(s, c, now, reason) for s, c in sorted(read.items())]
        await self.records.adopt(self.account, adoptions)
        self.adopted = None  # read again: the ledger starts from these
        if adoptions:
            log.info(
                "positions_adopted", reason=reason, positions={s: str(c) for s, c in read.items()}
            )
