"""The order book of one simulated account: every order ever created, indexed two ways.

Orders are addressable by exchange id and by client id (unique per account, for the account's
whole life: a rejected order keeps its client id). History is kept in creation order; resting
orders are also kept in a small dict so matching never scans the history.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from bot.core.types import Market, OrderRequest, OrderState
from bot.sim.errors import RejectCode
from bot.sim.records import SimOrder

ZERO = Decimal(0)

Rejection = tuple[RejectCode, str]


class OrderBook:
    def __init__(self) -> None:
        self._orders: dict[str, SimOrder] = {}  # exchange id -> order, in creation order
        self._by_client: dict[str, SimOrder] = {}
        self._open: dict[str, SimOrder] = {}
        self._seq = 0

    def new_order(
        self, request: OrderRequest, now_ms: int, fraction: Decimal | None, settle: str | None
    ) -> SimOrder:
        """A fresh OPEN order for ``request`` (not yet added)."""
        self._seq += 1
        return SimOrder(
            exchange_id=f"sim-{self._seq:08d}",
            client_id=request.client_order_id,
            symbol=request.symbol,
            side=request.side,
            order_type=request.order_type,
            contracts=request.contracts,
            limit_price=request.limit_price if request.order_type == "limit" else None,
            reduce_only=request.reduce_only,
            post_only=request.post_only,
            created_ms=now_ms,
            updated_ms=now_ms,
            fee_currency=settle,
            max_fill_fraction=fraction,
        )

    def add(self, order: SimOrder) -> None:
        self._orders[order.exchange_id] = order
        if order.client_id:
            self._by_client[order.client_id] = order
        if order.state in (OrderState.OPEN, OrderState.PARTIALLY_FILLED):
            self._open[order.exchange_id] = order

    def close(self, order: SimOrder) -> None:
        self._open.pop(order.exchange_id, None)

    def get(self, exchange_id: str) -> SimOrder | None:
        return self._orders.get(exchange_id)

    def by_client_id(self, client_id: str) -> SimOrder | None:
        return self._by_client.get(client_id)

    @property
    def has_open(self) -> bool:
        return bool(self._open)

    def open_orders(self) -> list[SimOrder]:
        """A snapshot list, safe to iterate while orders fill and close."""
        return list(self._open.values())

    def history(self) -> Iterator[SimOrder]:
        return iter(self._orders.values())


def crosses(order: SimOrder, price: Decimal) -> bool:
    """True when a limit order is marketable at ``price`` (buy at or above, sell at or below)."""
    limit = order.limit_price
    if limit is None:
        return True
    return price <= limit if order.side == "buy" else price >= limit


def check_shape(order: SimOrder, market: Market | None, price: Decimal | None) -> Rejection | None:
    """Market, amount and price checks that need no account state."""
    if market is None:
        return RejectCode.UNKNOWN_SYMBOL, f"unknown symbol {order.symbol!r}"
    if not market.active:
        return RejectCode.MARKET_CLOSED, f"{order.symbol} is not active"
    c = order.contracts
    if not c.is_finite() or c <= 0 or c < market.min_contracts or c % market.amount_step:
        return RejectCode.INVALID_AMOUNT, (
            f"{c} contracts: need a multiple of {market.amount_step}, at least "
            f"{market.min_contracts}"
        )
    if order.order_type == "limit":
        limit = order.limit_price
        if limit is None or not limit.is_finite() or limit <= 0:
            return RejectCode.INVALID_PRICE, "a limit order needs a positive limit price"
        if order.post_only and price is not None and crosses(order, price):
            return RejectCode.POST_ONLY, f"post-only {order.side} at {limit} would take at {price}"
    return None


def check_reduce_only(order: SimOrder, held: Decimal) -> Rejection | None:
    """A reduce-only order must be opposite to the position and no larger than it."""
    if not order.reduce_only:
        return None
    opposite = held != 0 and (held > 0) != (order.side == "buy")
    if not opposite or order.contracts > abs(held):
        return RejectCode.REDUCE_ONLY, (
            f"reduce-only {order.side} {order.contracts} would increase or flip position {held}"
        )
    return None


def fill_quantity(order: SimOrder, market: Market, held: Decimal) -> Decimal:
    """Contracts to fill now: the remainder, capped for reduce-only orders by the position and
    by ``max_fill_fraction`` of the order (at least one amount step). 0 means cancel (a
    reduce-only order with nothing left to reduce)."""
    qty = order.remaining
    if order.reduce_only:
        if held == 0 or (held > 0) == (order.side == "buy"):
            return ZERO
        qty = min(qty, abs(held))
    if order.max_fill_fraction is not None:
        step = market.amount_step
        chunk = (order.contracts * order.max_fill_fraction) // step * step
        qty = min(qty, max(chunk, step))
    return qty
