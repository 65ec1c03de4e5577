"""Pure checks of what the exchange reports before the plan may trust it.

- ``contract_size_changes``: a venue re-specifying a contract (Bybit, OKX and Binance have
  changed contract sizes and multipliers with a notice) makes every contract held worth more or
  less USD. Sized with the old specs, a short of 75,000 contracts of 1 USD that became 3 USD
  each reads as 75,000 USD while it is 225,000 (issue 15, defect 1).
- ``screen_prices``: a price outside a sane band is a data error, not a market move. One read of
  ETH at 1e40 once valued the account's hedge as nothing and sold more past the total cap
  (issue 15, defect 2). A price is refused when it is not positive or above
  ``bot.core.bounds.MAX_PRICE_USD``, or when it moved more than ``MAX_PRICE_JUMP`` times from the
  last accepted price of the same coin within ``JUMP_WINDOW``, until it has been read
  ``CONFIRM_READS`` times in a row at about the same level (a real move stays; an outlier
  does not).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from bot.core.bounds import MAX_PRICE_USD
from bot.core.types import Market, Snapshot

# Between two reads a minute apart no listed coin has moved threefold; LUNA's collapse took
# days. A larger gap since the last accepted price (a restart after a week) is not judged.
MAX_PRICE_JUMP = Decimal(3)
JUMP_WINDOW = timedelta(hours=1)
# A jump read this many times in a row, each within 1 % of the one before, is a new level.
CONFIRM_READS = 3
SAME_LEVEL = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class SpecChange:
    """A market whose contract size (USD per contract for inverse) is not what it was."""

    symbol: str
    old_contract_size: Decimal
    new_contract_size: Decimal

    @property
    def factor(self) -> Decimal:
        """How many times a contract is worth what it was."""
        return self.new_contract_size / self.old_contract_size


def contract_size_changes(
    before: Mapping[str, Market], after: Mapping[str, Market]
) -> tuple[SpecChange, ...]:
    """Markets listed in both whose ``contract_size`` differs, in symbol order."""
    return tuple(
        SpecChange(symbol, before[symbol].contract_size, market.contract_size)
        for symbol, market in sorted(after.items())
        if symbol in before and before[symbol].contract_size != market.contract_size
    )


@dataclass(frozen=True, slots=True)
class AcceptedPrice:
    """The last price of a coin the plan used, and a jump waiting for confirmation."""

    price: Decimal  # USD per coin
    at: datetime
    pending: Decimal | None = None  # the refused level being confirmed
    pending_reads: int = 0


@dataclass(frozen=True, slots=True)
class PriceScreen:
    """The snapshot with refused prices taken out, and what was refused, by coin."""

    snapshot: Snapshot
    refused: Mapping[str, str] = field(default_factory=dict)  # coin -> why
    accepted: Mapping[str, AcceptedPrice] = field(default_factory=dict)  # the new memory


def _judge(
    price: Decimal, now: datetime, last: AcceptedPrice | None
) -> tuple[str | None, AcceptedPrice | None]:
    """(why refused or None, the coin's memory after this read)."""
    if not price.is_finite() or price <= 0 or price > MAX_PRICE_USD:
        return f"price {price} USD is outside (0, {MAX_PRICE_USD:,f}]", last
    if last is None or now - last.at > JUMP_WINDOW:
        return None, AcceptedPrice(price, now)
    if last.price / MAX_PRICE_JUMP <= price <= last.price * MAX_PRICE_JUMP:
        return None, AcceptedPrice(price, now)
    same = last.pending is not None and abs(price / last.pending - 1) <= SAME_LEVEL
    reads = last.pending_reads + 1 if same else 1
    if reads >= CONFIRM_READS:
        return None, AcceptedPrice(price, now)
    why = (
        f"price {price} USD is more than {MAX_PRICE_JUMP} times away from {last.price} USD "
        f"accepted at {last.at:%H:%M:%S}Z (read {reads} of {CONFIRM_READS} at this level)"
    )
    return why, replace(last, pending=price, pending_reads=reads)


def screen_prices(snapshot: Snapshot, memory: Mapping[str, AcceptedPrice]) -> PriceScreen:
    """Refuse absurd prices (module docstring) before anything is valued with them.

    Judged per coin: its valuation price (``snapshot.prices``) against the last accepted one in
    ``memory`` (the previous call's ``accepted``); every other price the plan may use for the
    coin (its markets' reference prices, its positions' marks) must lie within
    ``MAX_PRICE_JUMP`` times of it. A refused coin loses its valuation price, and every market on
    it its ticker and its positions' mark price, so the planner cannot value a short there and
    holds every increase ("short on ... cannot be valued"); reductions elsewhere still go out.
    """
    refused: dict[str, str] = {}
    accepted = dict(memory)
    for coin, others in sorted(_prices_by_coin(snapshot).items()):
        price = snapshot.prices.get(coin, others[0])
        why, after = _judge(price, snapshot.taken_at, memory.get(coin))
        if after is not None:
            accepted[coin] = after
        if why is None:
            why = next((_disagrees(other, price) for other in others if _off(other, price)), None)
            if why is not None:  # a level the coin's other prices deny is not accepted
                if coin in memory:
                    accepted[coin] = memory[coin]
                else:
                    accepted.pop(coin, None)
        if why is not None:
            refused[coin] = why
    if not refused:
        return PriceScreen(snapshot, {}, accepted)
    return PriceScreen(_without(snapshot, frozenset(refused)), refused, accepted)


def _prices_by_coin(snapshot: Snapshot) -> dict[str, list[Decimal]]:
    """Every price the plan may use, by coin: valuation, instrument references, position marks
    (spot tickers, read only for the basis watch, are not among them)."""
    found: dict[str, list[Decimal]] = {coin: [p] for coin, p in snapshot.prices.items()}
    for symbol, ticker in snapshot.tickers.items():
        market = snapshot.markets.get(symbol)
        if market is not None:
            found.setdefault(market.base, []).append(ticker.reference)
    for symbol, position in snapshot.positions.items():
        market = snapshot.markets.get(symbol)
        if market is not None and position.mark_price is not None:
            found.setdefault(market.base, []).append(position.mark_price)
    return found


def _off(other: Decimal, price: Decimal) -> bool:
    if not other.is_finite() or other <= 0 or other > MAX_PRICE_USD:
        return True
    return not price / MAX_PRICE_JUMP <= other <= price * MAX_PRICE_JUMP


def _disagrees(other: Decimal, price: Decimal) -> str:
    return f"a price of {other} USD read with {price} USD is more than {MAX_PRICE_JUMP} times off"


def _without(snapshot: Snapshot, coins: frozenset[str]) -> Snapshot:
    """``snapshot`` without the prices of ``coins`` (valuation, tickers, positions' marks)."""

    def coin_of(symbol: str) -> str:
        market = snapshot.markets.get(symbol)
        return market.base if market is not None else symbol.split("/")[0]

    return replace(
        snapshot,
        prices={c: p for c, p in snapshot.prices.items() if c not in coins},
        tickers={s: t for s, t in snapshot.tickers.items() if coin_of(s) not in coins},
        positions={
            s: replace(p, mark_price=None) if coin_of(s) in coins else p
            for s, p in snapshot.positions.items()
        },
    )
