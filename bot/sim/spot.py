"""Spot market orders on ``BASE/QUOTE`` pairs (a priced coin against a stablecoin).

Part of ``SimExchange`` (``engine.py``); split out to keep modules small. Rules:

* A spot order is a MARKET order of ``amount`` BASE coins; it fills at once, whole, at the
  current price of BASE (a stablecoin QUOTE counts as 1 USD), moving the spot wallet only.
* The fee is ``fee_rate`` of what is received, charged in the received currency: a sell
  receives ``amount × price × (1 − fee_rate)`` QUOTE, a buy ``amount × (1 − fee_rate)`` BASE.
* A sell needs ``amount`` BASE in the spot wallet, a buy ``amount × price`` QUOTE; otherwise,
  or for a bad amount or an unknown pair, the order is recorded as REJECTED (``reject_reason``
  = the ``RejectCode``) and ``RejectError`` is raised.
* Client ids are unique among spot orders for the account's life; a duplicate raises
  ``RejectError`` (``DUPLICATE_CLIENT_ID``) and records nothing. An empty client id is allowed
  (the order is then found by its exchange id only).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from bot.core.types import OrderState, OrderStatus, Side
from bot.sim.errors import RejectCode, RejectError
from bot.sim.orders import Rejection
from bot.sim.params import STABLECOINS, SimParams
from bot.sim.queries import QueryMixin
from bot.sim.records import SpotOrderRecord, ms_to_datetime

ZERO = Decimal(0)


class SpotBook:
    """Every spot order of the account, in creation order, by exchange id and client id."""

    def __init__(self) -> None:
        self.orders: dict[str, SpotOrderRecord] = {}  # exchange id -> record
        self.by_client: dict[str, SpotOrderRecord] = {}
        self.seq = 0

    def next_id(self) -> str:
        self.seq += 1
        return f"spot-{self.seq:08d}"

    def add(self, record: SpotOrderRecord) -> None:
        self.orders[record.status.exchange_order_id or ""] = record
        if record.status.client_order_id:
            self.by_client[record.status.client_order_id] = record


class SpotMixin(QueryMixin):
    params: SimParams
    _spot: SpotBook

    def spot_pair(self, symbol: str) -> tuple[str, str] | None:
        """(BASE, QUOTE) of a tradable spot pair (a priced coin against a stablecoin), or None."""
        base, sep, quote = symbol.partition("/")
        if not sep or quote not in STABLECOINS or base in STABLECOINS or base not in self._prices:
            return None
        return base, quote

    def spot_order(
        self, symbol: str, side: Side, amount_coins: Decimal, client_id: str = ""
    ) -> OrderStatus:
        """A spot market order of ``amount_coins`` BASE coins (see the module docstring)."""
        if client_id and client_id in self._spot.by_client:
            message = f"client order id {client_id!r} is already used"
            raise RejectError(RejectCode.DUPLICATE_CLIENT_ID, message, None)
        base, _, quote = symbol.partition("/")
        status = OrderStatus(
            client_order_id=client_id,
            exchange_order_id=self._spot.next_id(),
            symbol=symbol,
            side=side,
            state=OrderState.REJECTED,
            contracts=amount_coins,
            updated_at=ms_to_datetime(self._now_ms),
        )
        rejection = self._spot_check(symbol, side, amount_coins)
        if rejection is not None:
            code, message = rejection
            status = replace(status, reject_reason=code.value)
            self._spot.add(SpotOrderRecord(status, base, quote, ZERO, self._now_ms))
            raise RejectError(code, message, status)
        price = self._prices[base]
        value = amount_coins * price
        paid, spent = (quote, value) if side == "buy" else (base, amount_coins)
        received, gross = (base, amount_coins) if side == "buy" else (quote, value)
        fee = gross * self.params.fee_rate
        wallet = self._account.spot
        wallet[paid] = wallet.get(paid, ZERO) - spent
        wallet[received] = wallet.get(received, ZERO) + gross - fee
        status = replace(
            status,
            state=OrderState.FILLED,
            filled_contracts=amount_coins,
            average_price=price,
            fee=fee,
            fee_currency=received,
        )
        self._spot.add(SpotOrderRecord(status, base, quote, value, self._now_ms))
        return status

    def _spot_check(self, symbol: str, side: Side, amount: Decimal) -> Rejection | None:
        pair = self.spot_pair(symbol)
        if pair is None:
            return RejectCode.UNKNOWN_SYMBOL, f"unknown spot pair {symbol!r}"
        if not amount.is_finite() or amount <= 0:
            return RejectCode.INVALID_AMOUNT, f"amount must be > 0, got {amount}"
        base, quote = pair
        paid, needed = (quote, amount * self._prices[base]) if side == "buy" else (base, amount)
        free = self._account.spot.get(paid, ZERO)
        if needed > free:
            return RejectCode.INSUFFICIENT_BALANCE, (
                f"needs {needed} {paid}, {free} in the spot wallet"
            )
        return None

    def spot_order_record(
        self, *, client_id: str | None = None, exchange_id: str | None = None
    ) -> SpotOrderRecord | None:
        """A spot order by client id or exchange id; None if unknown."""
        if exchange_id is not None:
            return self._spot.orders.get(exchange_id)
        if client_id:
            return self._spot.by_client.get(client_id)
        return None

    def spot_order_status(self, client_id: str, symbol: str | None = None) -> OrderStatus | None:
        """A spot order by client id (on ``symbol`` when given); None if unknown."""
        record = self._spot.by_client.get(client_id)
        if record is None or symbol not in (None, record.status.symbol):
            return None
        return record.status

    def spot_order_history(self, symbol: str | None = None) -> list[SpotOrderRecord]:
        """Every spot order (filled or rejected), oldest first."""
        return [
            r for r in self._spot.orders.values() if symbol is None or r.status.symbol == symbol
        ]
