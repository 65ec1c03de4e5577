"""What the store returns and refuses, and the mapping between domain values and rows.

Reads return these frozen dataclasses, never ORM rows, so nothing returned is tied to a session.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from bot.core.types import (
    TERMINAL_STATES,
    Exposure,
    Fill,
    FundingPayment,
    HedgeTarget,
    InstrumentHedge,
    OrderState,
    OrderStatus,
    PlannedOrder,
    Side,
)
from bot.store.models import (
    ExposureRow,
    InstrumentHedgeRow,
    OrderRow,
    TargetRow,
    TickRow,
    TickStatus,
)

OrderType = Literal["market", "limit"]


class StoreError(Exception):
    """A request the store refuses (the database itself is fine)."""


class DuplicateOrderError(StoreError):
    """Some client order ids already exist (or repeat within the batch); nothing was written."""

    def __init__(self, client_order_ids: Iterable[str], detail: str = "already stored") -> None:
        self.client_order_ids: tuple[str, ...] = tuple(sorted(set(client_order_ids)))
        super().__init__(f"client_order_id {detail}: {', '.join(self.client_order_ids)}")


class UnknownOrderError(StoreError, LookupError):
    pass


class UnknownTickError(StoreError, LookupError):
    pass


class TickStateError(StoreError):
    """A tick finished twice, or its state recorded twice."""


@dataclass(frozen=True, slots=True)
class TickRecord:
    id: int
    account: str
    started_at: datetime
    finished_at: datetime | None
    status: TickStatus
    dry_run: bool
    error: str | None
    exchange_time: datetime | None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: int
    client_order_id: str
    account: str
    tick_id: int | None
    symbol: str
    side: Side
    contracts: Decimal
    reduce_only: bool
    order_type: OrderType
    limit_price: Decimal | None
    state: OrderState
    exchange_order_id: str | None
    filled_contracts: Decimal
    average_price: Decimal | None
    fee: Decimal  # in fee_currency
    fee_currency: str | None
    reason: str
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES


def fill_values(account: str, fill: Fill) -> dict[str, Any]:
    """A ``fills`` row as insert parameters."""
    return {
        "account": account,
        "trade_id": fill.trade_id,
        "symbol": fill.symbol,
        "client_order_id": fill.client_order_id,
        "exchange_order_id": fill.exchange_order_id,
        "side": fill.side,
        "contracts": fill.contracts,
        "price": fill.price,
        "fee": fill.fee,
        "fee_currency": fill.fee_currency,
        "ts": fill.timestamp,
    }


def funding_values(account: str, payment: FundingPayment) -> dict[str, Any]:
    """A ``funding_payments`` row as insert parameters."""
    return {
        "account": account,
        "payment_id": payment.payment_id,
        "symbol": payment.symbol,
        "ts": payment.timestamp,
        "rate": payment.rate,
        "position_contracts": payment.position_contracts,
        "amount": payment.amount,
        "currency": payment.currency,
    }


def exposure_row(tick_id: int, account: str, item: Exposure) -> ExposureRow:
    return ExposureRow(
        tick_id=tick_id,
        account=account,
        asset=item.asset,
        spot=item.spot,
        collateral=item.collateral,
        price=item.price,
        exposure_usd=item.exposure_usd,
    )


def target_row(tick_id: int, account: str, item: HedgeTarget) -> TargetRow:
    return TargetRow(
        tick_id=tick_id,
        account=account,
        asset=item.asset,
        instrument=item.instrument,
        ratio=item.ratio,
        beta=item.beta,
        rho=item.rho,
        proxy=item.proxy,
        target_short_usd=item.target_short_usd,
        reason=item.reason,
        # a standard error without a finite value (too few returns) is stored as none
        beta_se=item.beta_se if item.beta_se is not None and item.beta_se.is_finite() else None,
    )


def hedge_row(tick_id: int, account: str, item: InstrumentHedge) -> InstrumentHedgeRow:
    return InstrumentHedgeRow(
        tick_id=tick_id,
        account=account,
        instrument=item.instrument,
        target_short_usd=item.target_short_usd,
        current_short_usd=item.current_short_usd,
        target_contracts=item.target_contracts,
        current_contracts=item.current_contracts,
        notes=list(item.notes),
    )


def order_row(
    tick_id: int | None,
    account: str,
    order: PlannedOrder,
    state: OrderState,
    created_at: datetime,
) -> OrderRow:
    return OrderRow(
        client_order_id=order.client_order_id,
        account=account,
        tick_id=tick_id,
        symbol=order.symbol,
        side=order.side,
        contracts=order.contracts,
        reduce_only=order.reduce_only,
        order_type=order.order_type,
        limit_price=order.limit_price,
        state=state,
        filled_contracts=Decimal(0),
        fee=Decimal(0),
        reason=order.reason,
        created_at=created_at,
        updated_at=created_at,
    )


def apply_status(row: OrderRow, status: OrderStatus) -> None:
    row.state = status.state
    row.filled_contracts = status.filled_contracts
    row.fee = status.fee
    if status.exchange_order_id is not None:
        row.exchange_order_id = status.exchange_order_id
    if status.average_price is not None:
        row.average_price = status.average_price
    if status.fee_currency is not None:
        row.fee_currency = status.fee_currency
    if status.reject_reason is not None:
        row.reject_reason = status.reject_reason


def _side(value: str) -> Side:
    if value == "buy":
        return "buy"
    if value == "sell":
        return "sell"
    raise ValueError(f"bad side {value!r} in the database")


def _order_type(value: str) -> OrderType:
    if value == "market":
        return "market"
    if value == "limit":
        return "limit"
    raise ValueError(f"bad order type {value!r} in the database")


def order_record(row: OrderRow) -> OrderRecord:
    return OrderRecord(
        id=row.id,
        client_order_id=row.client_order_id,
        account=row.account,
        tick_id=row.tick_id,
        symbol=row.symbol,
        side=_side(row.side),
        contracts=row.contracts,
        reduce_only=row.reduce_only,
        order_type=_order_type(row.order_type),
        limit_price=row.limit_price,
        state=row.state,
        exchange_order_id=row.exchange_order_id,
        filled_contracts=row.filled_contracts,
        average_price=row.average_price,
        fee=row.fee,
        fee_currency=row.fee_currency,
        reason=row.reason,
        reject_reason=row.reject_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sent_at=row.sent_at,
    )


def tick_record(row: TickRow) -> TickRecord:
    return TickRecord(
        id=row.id,
        account=row.account,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        dry_run=row.dry_run,
        error=row.error,
        exchange_time=row.exchange_time,
    )
