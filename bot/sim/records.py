"""Records of the simulated exchange: mutable internal state and frozen history entries.

``SimPosition`` and ``SimOrder`` are the engine's own mutable state (never handed out);
``Execution``, ``OrderRecord`` and ``LedgerEntry`` are frozen and safe to share. Times are kept
as epoch milliseconds (``*_ms``) beside the datetimes so that history can be bisected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from bot.core.types import (
    Fill,
    FundingPayment,
    MarginMode,
    OrderState,
    OrderStatus,
    Side,
)
from bot.sim.errors import InvalidRequestError

ZERO = Decimal(0)
ONE = Decimal(1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ExecKind = Literal["trade", "funding", "liquidation", "delivery"]
OrderType = Literal["market", "limit"]
LedgerKind = Literal["deposit", "withdrawal", "transfer"]
Wallet = Literal["spot", "margin"]


def ms_to_datetime(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def datetime_to_ms(at: datetime) -> int:
    if at.tzinfo is None:
        raise InvalidRequestError(f"naive datetime {at.isoformat()}: use an aware UTC datetime")
    return (at - EPOCH) // timedelta(milliseconds=1)


@dataclass(slots=True)
class SimPosition:
    """One symbol's position (one-way mode). ``contracts`` signed; ``entry`` 0 when flat."""

    symbol: str
    contracts: Decimal = ZERO
    entry: Decimal = ZERO
    leverage: Decimal = ONE
    margin_mode: MarginMode = "cross"
    realized_pnl: Decimal = ZERO  # cumulative, settle currency, before fees and funding


@dataclass(slots=True)
class SimOrder:
    """A live or historical order (mutable; the engine snapshots it into ``OrderRecord``)."""

    exchange_id: str
    client_id: str
    symbol: str
    side: Side
    order_type: OrderType
    contracts: Decimal
    limit_price: Decimal | None
    reduce_only: bool
    post_only: bool
    created_ms: int
    updated_ms: int
    fee_currency: str | None
    state: OrderState = OrderState.OPEN
    filled: Decimal = ZERO
    cum_value: Decimal = ZERO  # settle-currency value of the fills (coin for inverse)
    fee: Decimal = ZERO
    reserve_per_contract: Decimal = ZERO  # margin held per unfilled contract while resting
    max_fill_fraction: Decimal | None = None  # at most this share of ``contracts`` per match
    reject_reason: str | None = None
    average_price: Decimal | None = None

    @property
    def remaining(self) -> Decimal:
        return self.contracts - self.filled

    def status(self) -> OrderStatus:
        return OrderStatus(
            client_order_id=self.client_id,
            exchange_order_id=self.exchange_id,
            symbol=self.symbol,
            side=self.side,
            state=self.state,
            contracts=self.contracts,
            filled_contracts=self.filled,
            average_price=self.average_price,
            fee=self.fee,
            fee_currency=self.fee_currency,
            reduce_only=self.reduce_only,
            updated_at=ms_to_datetime(self.updated_ms),
            reject_reason=self.reject_reason,
        )

    def record(self) -> OrderRecord:
        return OrderRecord(
            status=self.status(),
            order_type=self.order_type,
            limit_price=self.limit_price,
            post_only=self.post_only,
            created_at=ms_to_datetime(self.created_ms),
            cum_value=self.cum_value,
            max_fill_fraction=self.max_fill_fraction,
        )


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """Everything known about an order: the port's ``OrderStatus`` plus venue-level details."""

    status: OrderStatus
    order_type: OrderType
    limit_price: Decimal | None
    post_only: bool
    created_at: datetime
    cum_value: Decimal  # settle-currency value of the fills (Bybit ``cumExecValue``)
    max_fill_fraction: Decimal | None


@dataclass(frozen=True, slots=True)
class Execution:
    """One entry of the executions list: a trade, a funding settlement, a liquidation or a
    delivery.

    Trades: ``side``/``contracts``/``price`` of the fill, ``fee`` paid (> 0), ``realized_pnl`` of
    the closed part. Funding: ``side`` is the position's side, ``contracts`` its size, ``price``
    the mark used, ``funding`` the signed amount (> 0 received) and ``fee`` 0. All amounts are in
    ``currency`` (the market's settle currency).
    """

    exec_id: str
    kind: ExecKind
    symbol: str
    ts_ms: int
    timestamp: datetime
    side: Side
    contracts: Decimal
    price: Decimal
    value: Decimal  # settle-currency value of ``contracts`` at ``price``
    fee: Decimal
    funding: Decimal
    realized_pnl: Decimal
    closed_contracts: Decimal
    position_contracts: Decimal  # signed, after a trade / at a funding settlement
    currency: str
    is_maker: bool = False
    exchange_order_id: str | None = None
    client_order_id: str | None = None
    funding_rate: Decimal | None = None

    def to_fill(self) -> Fill:
        return Fill(
            trade_id=self.exec_id,
            client_order_id=self.client_order_id,
            exchange_order_id=self.exchange_order_id,
            symbol=self.symbol,
            side=self.side,
            contracts=self.contracts,
            price=self.price,
            fee=self.fee,
            fee_currency=self.currency,
            timestamp=self.timestamp,
        )

    def to_funding_payment(self) -> FundingPayment:
        return FundingPayment(
            payment_id=self.exec_id,
            symbol=self.symbol,
            timestamp=self.timestamp,
            rate=self.funding_rate if self.funding_rate is not None else ZERO,
            position_contracts=self.position_contracts,
            amount=self.funding,
            currency=self.currency,
        )


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A deposit, withdrawal or internal transfer (``amount`` > 0, in ``coin``)."""

    entry_id: str
    kind: LedgerKind
    coin: str
    amount: Decimal
    timestamp: datetime
    source: Wallet | None  # None for a deposit
    destination: Wallet | None  # None for a withdrawal
    reference: str | None = None  # a transfer's client-chosen id (idempotency key), if any


@dataclass(frozen=True, slots=True)
class SpotOrderRecord:
    """A spot market order on ``BASE/QUOTE`` (filled at once, or rejected).

    ``status.contracts`` and ``status.filled_contracts`` are BASE coins; ``status.fee`` is in
    ``status.fee_currency``, the currency received (BASE for a buy, QUOTE for a sell);
    ``value`` is the QUOTE value of the fill (amount × price).
    """

    status: OrderStatus
    base: str
    quote: str
    value: Decimal
    created_ms: int

    @property
    def created_at(self) -> datetime:
        return ms_to_datetime(self.created_ms)
