"""The daemon's own ledger of positions, checked against the exchange's read every tick.

The ledger of a symbol is the position read when the daemon took the account (its baseline)
plus every fill the daemon recorded since, signed (a sell fills short). The exchange's read is
the truth about the account, but a read can be wrong: a position reported empty for one call
(hummingbot #6470, #5127), a price that makes a venue report nothing (issue 15, defect 2). A
read that disagrees with the ledger by more than what orders in flight may still fill (and the
smallest order, for rounding) is a disagreement: increases pause and a critical alert goes out
until they agree again. Within that, the caps count the larger of the two shorts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from bot.core.exposure import face_usd
from bot.core.types import Market, Side

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LedgerOrder:
    """What the ledger needs of one recorded order: contracts filled so far, and the rest
    still able to fill (0 once the order is final)."""

    symbol: str
    side: Side
    filled: Decimal  # contracts
    open: Decimal  # contracts that may still fill


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A symbol whose read position is off the ledger by more than ``tolerance`` contracts."""

    symbol: str
    read: Decimal  # signed contracts (short < 0)
    ledger: Decimal  # signed contracts
    tolerance: Decimal  # contracts

    @property
    def gap(self) -> Decimal:
        return self.read - self.ledger


def ledger_positions(
    baseline: Mapping[str, Decimal], orders: Iterable[LedgerOrder]
) -> dict[str, Decimal]:
    """Signed contracts by symbol: ``baseline`` plus the fills of ``orders`` (sent since)."""
    ledger = dict(baseline)
    for order in orders:
        signed = order.filled if order.side == "buy" else -order.filled
        ledger[order.symbol] = ledger.get(order.symbol, ZERO) + signed
    return ledger


def in_flight(orders: Iterable[LedgerOrder], side: Side | None = None) -> dict[str, Decimal]:
    """Contracts that orders not yet final (on ``side``, or either) may still fill, by symbol."""
    flying: dict[str, Decimal] = {}
    for order in orders:
        if order.open > 0 and side in (None, order.side):
            flying[order.symbol] = flying.get(order.symbol, ZERO) + order.open
    return flying


def disagreements(
    read: Mapping[str, Decimal],
    ledger: Mapping[str, Decimal],
    slack: Mapping[str, Decimal],
    flying: Mapping[str, Decimal],
) -> tuple[Disagreement, ...]:
    """Symbols in both ``read`` and ``ledger`` (signed contracts) whose gap exceeds ``slack``
    (contracts; 0 where not given) plus the contracts in flight there (``in_flight``)."""
    found: list[Disagreement] = []
    for symbol in sorted(set(read) & set(ledger)):
        tolerance = slack.get(symbol, ZERO) + flying.get(symbol, ZERO)
        if abs(read[symbol] - ledger[symbol]) > tolerance:
            found.append(Disagreement(symbol, read[symbol], ledger[symbol], tolerance))
    return tuple(found)


def unread_short_usd(
    read: Mapping[str, Decimal],
    ledger: Mapping[str, Decimal],
    markets: Mapping[str, Market],
    prices: Mapping[str, Decimal],
    open_sells: Mapping[str, Decimal] | None = None,
) -> dict[str, Decimal]:
    """USD of short the ledger holds beyond the read, plus what resting sells (``open_sells``,
    contracts) may still add, by symbol (only where any): what the total-short cap must count
    besides the read. A linear market without a price is left out (its USD needs one); an
    inverse contract's USD face needs none."""
    extra: dict[str, Decimal] = {}
    for symbol in sorted(set(ledger) | set(open_sells or {})):
        signed = ledger.get(symbol, ZERO)
        market = markets.get(symbol)
        short_beyond = max(ZERO, -signed) - max(ZERO, -read.get(symbol, ZERO))
        short_beyond = max(short_beyond, ZERO) + (open_sells or {}).get(symbol, ZERO)
        if market is None or short_beyond <= 0:
            continue
        price = prices.get(market.base)
        if market.is_inverse:
            extra[symbol] = short_beyond * market.contract_size
        elif price is not None:
            extra[symbol] = face_usd(market, short_beyond, price)
    return extra
