"""The order half of ``CcxtPort``: orders placed, cancelled and found by client id, and the
fill and funding histories (Bybit-style 7-day windows).

A mixin: ``CcxtPort`` supplies the ccxt client, the profile and the calls below marked
abstract (market loading, the exchange clock, the retrying and translating call).
"""

from __future__ import annotations

import contextlib
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import structlog
from ccxt.base import errors as ccxt_errors

from bot.core.types import (
    TERMINAL_STATES,
    Fill,
    FundingPayment,
    Market,
    OrderRequest,
    OrderState,
    OrderStatus,
)
from bot.exchange.ccxt_parse import (
    amount_from_contracts,
    client_id_of,
    parse_fill,
    parse_funding_payment,
    parse_order,
    status_from_fills,
    to_ms,
)
from bot.exchange.errors import (
    ExchangeError,
    OrderNotFoundError,
    OrderRejectedError,
    OrdersDisabledError,
    TemporaryExchangeError,
)
from bot.exchange.profile_model import ExchangeProfile
from bot.exchange.venue import NoSandboxError

T = TypeVar("T")
log = structlog.get_logger(__name__)
DAY_MS = 86_400_000
HISTORY_WINDOW_MS = 7 * DAY_MS  # Bybit's execution list answers at most 7 days per query
PAGE_LIMIT = 100


class CcxtOrders(ABC):
    """Orders and account history over a ccxt client (see the module docstring)."""

    client: Any
    profile: ExchangeProfile
    read_only_reason: str | None  # set when the venue may be read but never traded
    # Set once the venue refused an order as "API ordering disabled" (profile
    # orders_disabled_codes): every later order is refused with it, without a request.
    _orders_disabled: OrdersDisabledError | None = None
    _exchange_now: datetime | None  # the exchange clock read at the start of this tick

    @abstractmethod
    async def load_markets(self) -> Mapping[str, Market]: ...

    @abstractmethod
    async def fetch_time(self) -> datetime: ...

    @abstractmethod
    async def _call(
        self, operation: str, call: Callable[[], Awaitable[T]], *, retry: bool = True
    ) -> T: ...

    @abstractmethod
    def _translate(self, exc: Exception, *, sending_order: bool) -> ExchangeError: ...

    # -- fills and funding history ------------------------------------------------------------

    async def fetch_fills(self, symbol: str, since: datetime | None) -> Sequence[Fill]:
        markets = await self.load_markets()
        trades = await self._history("fetch_my_trades", self.client.fetch_my_trades, symbol, since)
        return [self._fill(t, markets[symbol]) for t in trades]

    async def _history(
        self, operation: str, fetch: Any, symbol: str, since: datetime | None
    ) -> list[dict[str, Any]]:
        """All rows since ``since`` (default: the last 7 days), walking Bybit-style 7-day
        windows and pages up to now, oldest first, without duplicates."""
        # The clock read at the start of this tick: asking again would cost a call (and, on a
        # replaying emulator, move its clock).
        now_ms = to_ms(self._exchange_now or await self.fetch_time()) + 1
        start = to_ms(since) if since else now_ms - HISTORY_WINDOW_MS
        rows: dict[str, dict[str, Any]] = {}
        while start <= now_ms:
            end = min(start + HISTORY_WINDOW_MS - 1, now_ms)
            page = await self._call(
                operation,
                lambda s=start, e=end: fetch(symbol, s, PAGE_LIMIT, {"until": e}),  # type: ignore[misc]
            )
            for row in page:
                rows[str(row.get("id"))] = row
            if len(page) >= PAGE_LIMIT:
                start = max(int(r["timestamp"]) for r in page) + 1
            else:
                start = end + 1
        return sorted(rows.values(), key=lambda r: int(r["timestamp"]))

    async def fetch_funding_payments(
        self, symbol: str, since: datetime | None
    ) -> Sequence[FundingPayment]:
        if not self.client.has.get("fetchFundingHistory"):
            return []
        markets = await self.load_markets()
        rows = await self._history(
            "fetch_funding_history", self.client.fetch_funding_history, symbol, since
        )
        return [
            parse_funding_payment(
                r, markets[symbol], self.profile.amount_unit, self.profile.funding_paid_positive
            )
            for r in rows
        ]

    # -- orders -------------------------------------------------------------------------------

    def _ccxt_amount(self, market: Market, contracts: Decimal) -> float:
        return float(amount_from_contracts(market, contracts, self.profile.amount_unit))

    def _order(self, raw: Mapping[str, Any], market: Market) -> OrderStatus:
        status = parse_order(raw, market, self.profile.amount_unit, self.profile.client_id_info_key)
        own = self.profile.own_client_id(status.client_order_id)
        return dataclasses.replace(status, client_order_id=own)

    def _fill(self, raw: Mapping[str, Any], market: Market) -> Fill:
        fill = parse_fill(raw, market, self.profile.amount_unit, self.profile.client_id_info_key)
        if fill.client_order_id is None:
            return fill
        return dataclasses.replace(
            fill, client_order_id=self.profile.own_client_id(fill.client_order_id)
        )

    def _is_mine(self, raw: Mapping[str, Any], client_order_id: str) -> bool:
        echoed = client_id_of(raw, self.profile.client_id_info_key)
        return echoed == self.profile.exchange_client_id(client_order_id)

    def _refuse_if_read_only(self) -> None:
        if self.read_only_reason is not None:
            raise NoSandboxError(self.read_only_reason)

    def order_params(self, request: OrderRequest) -> dict[str, Any]:
        """The ccxt params for an order (client id, reduce-only, post-only) per the profile."""
        client_id = self.profile.exchange_client_id(request.client_order_id)
        params: dict[str, Any] = {self.profile.client_id_param: client_id}
        if request.reduce_only:
            params["reduceOnly"] = True
        if request.post_only:
            params["postOnly"] = True
        return params

    async def create_order(self, request: OrderRequest) -> OrderStatus:
        self._refuse_if_read_only()
        if self._orders_disabled is not None:
            # The venue said API orders are off for this account: asking again every tick
            # would be a retry loop against a refusal no retry changes.
            raise OrdersDisabledError(str(self._orders_disabled), code=self._orders_disabled.code)
        markets = await self.load_markets()
        market = markets[request.symbol]
        amount = self._ccxt_amount(market, request.contracts)
        price = float(request.limit_price) if request.limit_price is not None else None
        try:
            raw = await self.client.create_order(
                request.symbol,
                request.order_type,
                request.side,
                amount,
                price,
                self.order_params(request),
            )
        except ccxt_errors.BaseError as exc:
            error = self._translate(exc, sending_order=True)
            if isinstance(error, OrderRejectedError) and error.code in (
                self.profile.orders_disabled_codes
            ):
                self._orders_disabled = OrdersDisabledError(
                    f"{self.profile.ccxt_id} refuses orders placed through the API ({error}); "
                    "API trading must be enabled for this account before hedgebot can trade",
                    code=error.code,
                )
                log.critical("venue_refuses_api_orders", code=error.code, error=str(error))
                raise self._orders_disabled from exc
            raise error from exc
        # Bybit acknowledges with ids only: read the order back for its state and fills.
        status = await self._lookup_quietly(request.symbol, request.client_order_id)
        if status is not None:
            return status
        return OrderStatus(
            client_order_id=request.client_order_id,
            exchange_order_id=str(raw.get("id")) if raw.get("id") else None,
            symbol=request.symbol,
            side=request.side,
            state=OrderState.OPEN,
            contracts=request.contracts,
            reduce_only=request.reduce_only,
        )

    async def _lookup_quietly(self, symbol: str, client_order_id: str) -> OrderStatus | None:
        try:
            return await self.fetch_order_by_client_id(symbol, client_order_id)
        except TemporaryExchangeError:
            return None

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderStatus:
        self._refuse_if_read_only()
        order_id: str | None = None
        params: dict[str, Any] = {}
        if self.profile.client_id_lookup == "scan_open_and_closed":
            # No cancel-by-client-id through ccxt here: find the order, cancel it by its id.
            found = await self.fetch_order_by_client_id(symbol, client_order_id)
            if found is None:
                raise OrderNotFoundError(f"{client_order_id} not found")
            if found.state in TERMINAL_STATES or found.exchange_order_id is None:
                return found
            order_id = found.exchange_order_id
        else:
            query = self.profile.exchange_client_id(client_order_id)
            params = {self.profile.client_id_query_param: query}
        # Filled or cancelled meanwhile (110001): the status read below says which.
        with contextlib.suppress(OrderNotFoundError):
            await self._call(
                "cancel_order",
                lambda: self.client.cancel_order(order_id, symbol, params),
                retry=False,
            )
        status = await self.fetch_order_by_client_id(symbol, client_order_id)
        if status is None:
            raise OrderNotFoundError(f"{client_order_id} not found after cancel")
        return status

    async def fetch_order_by_client_id(
        self, symbol: str, client_order_id: str
    ) -> OrderStatus | None:
        markets = await self.load_markets()
        market = markets[symbol]
        row = await self._find_order_row(symbol, client_order_id)
        if row is not None:
            return self._order(row, market)
        if self.profile.client_id_lookup != "bybit_order_link_id":
            return None
        params = {self.profile.client_id_query_param: client_order_id}
        trades = await self._call(
            "fetch_my_trades",
            lambda: self.client.fetch_my_trades(symbol, None, None, dict(params)),
        )
        fills = [self._fill(t, market) for t in trades]
        return status_from_fills(client_order_id, symbol, fills)

    async def _find_order_row(self, symbol: str, client_order_id: str) -> Mapping[str, Any] | None:
        """The raw ccxt order carrying our client id on ``symbol`` (a derivatives or a spot
        symbol), per the profile's lookup: open orders, then history; None if not listed."""
        query = {
            self.profile.client_id_query_param: self.profile.exchange_client_id(client_order_id)
        }
        if self.profile.client_id_lookup == "fetch_order_param":
            try:
                row = await self._call(
                    "fetch_order_by_client_id",
                    lambda: self.client.fetch_order(None, symbol, dict(query)),
                )
            except OrderNotFoundError:
                return None
            return row or None
        if self.profile.client_id_lookup == "bybit_order_link_id":
            params = {self.profile.client_id_query_param: client_order_id}
            fetches = (self.client.fetch_open_orders, self.client.fetch_canceled_and_closed_orders)
            for fetch in fetches:
                rows = await self._call(
                    "fetch_orders_by_client_id",
                    lambda f=fetch: f(symbol, None, None, dict(params)),  # type: ignore[misc]
                )
                for row in rows:
                    if self._is_mine(row, client_order_id):
                        return row  # type: ignore[no-any-return]
            return None
        for fetch in (self.client.fetch_open_orders, self.client.fetch_closed_orders):
            rows = await self._call("scan_orders", lambda f=fetch: f(symbol))  # type: ignore[misc]
            for row in rows:
                if self._is_mine(row, client_order_id):
                    return row  # type: ignore[no-any-return]
        return None

    async def fetch_open_orders(self, symbols: Sequence[str]) -> Sequence[OrderStatus]:
        markets = await self.load_markets()
        statuses: list[OrderStatus] = []
        for symbol in symbols:
            rows = await self._call(
                "fetch_open_orders",
                lambda s=symbol: self.client.fetch_open_orders(s),  # type: ignore[misc]
            )
            statuses.extend(self._order(r, markets[symbol]) for r in rows)
        return statuses
