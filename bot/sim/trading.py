"""Order placement, matching and cancellation; funding, liquidation and expiry events.

Part of ``SimExchange`` (``engine.py``); split out to keep modules small. The rules are stated
in the engine's module docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from bot.core.types import TERMINAL_STATES, Market, OrderRequest, OrderState, OrderStatus
from bot.sim import margin
from bot.sim.errors import InvalidRequestError, OrderClosedError, RejectCode, RejectError
from bot.sim.orders import Rejection, check_reduce_only, check_shape, crosses, fill_quantity
from bot.sim.params import SimParams
from bot.sim.queries import QueryMixin
from bot.sim.records import SimOrder, datetime_to_ms

ZERO = Decimal(0)
ONE = Decimal(1)

FillFractionHook = Callable[[OrderRequest], Decimal | None]


class TradingMixin(QueryMixin):
    params: SimParams
    fill_fraction_hook: FillFractionHook | None
    _next_expiry_ms: int | None

    # -- placement -------------------------------------------------------------------------

    def create_order(
        self, request: OrderRequest, *, max_fill_fraction: Decimal | None = None
    ) -> OrderStatus:
        """Place an order; return its status after any immediate fill.

        Raises ``RejectError``. A rejected order is recorded (state REJECTED, ``reject_reason``
        = the code) and keeps its client id; a duplicate client id records nothing and leaves
        the first order untouched. ``max_fill_fraction`` (else ``fill_fraction_hook(request)``)
        caps each fill at that share of the order, so the rest fills at later matches.
        """
        cid = request.client_order_id
        if cid and self._book.by_client_id(cid) is not None:
            raise RejectError(
                RejectCode.DUPLICATE_CLIENT_ID, f"client order id {cid!r} is already used", None
            )
        fraction = max_fill_fraction
        if fraction is None and self.fill_fraction_hook is not None:
            fraction = self.fill_fraction_hook(request)
        if fraction is not None and not ZERO < fraction <= ONE:
            raise InvalidRequestError(f"max fill fraction {fraction} outside (0, 1]")
        market = self._markets.get(request.symbol)
        settle = market.settle if market else None
        order = self._book.new_order(request, self._now_ms, fraction, settle)
        rejection = self._check(order, market)
        if rejection is not None or market is None:
            code, message = rejection or (RejectCode.UNKNOWN_SYMBOL, request.symbol)
            order.state = OrderState.REJECTED
            order.reject_reason = code.value
            self._book.add(order)
            raise RejectError(code, message, order.status())
        self._book.add(order)
        price = self._prices[market.base]
        if crosses(order, price):
            self._fill(order, market, price, is_maker=False)
        return order.status()

    def _check(self, order: SimOrder, market: Market | None) -> Rejection | None:
        price = self._prices.get(market.base) if market else None
        rejection = check_shape(order, market, price)
        if rejection is not None or market is None or price is None:
            return rejection
        pos = self._account.positions.get(order.symbol)
        held = pos.contracts if pos else ZERO
        rejection = check_reduce_only(order, held)
        if rejection is not None:
            return rejection
        c = order.contracts
        closing = min(c, abs(held)) if held and (held > 0) != (order.side == "buy") else ZERO
        if closing == c:
            # Wholly reducing (reduce-only or not): venues accept it whatever the balance, even
            # when the available balance is negative; it reserves nothing while it rests.
            order.reserve_per_contract = ZERO
            return None
        limit = order.limit_price
        ref = limit if limit is not None and not crosses(order, price) else price
        leverage = pos.leverage if pos else ONE
        required = margin.value(market, c - closing, ref) / leverage
        required += margin.value(market, c, ref) * self.params.fee_rate
        if closing and pos is not None:
            required -= self._account.position_margin(market, pos) * closing / abs(held)
        available = self.available_balance(market.settle)
        if required > available:
            return RejectCode.INSUFFICIENT_BALANCE, (
                f"needs {required} {market.settle} (initial margin + fee), {available} available"
            )
        order.reserve_per_contract = max(required, ZERO) / c
        return None

    # -- fills -------------------------------------------------------------------------------

    def _fill(self, order: SimOrder, market: Market, price: Decimal, *, is_maker: bool) -> None:
        pos = self._account.position(order.symbol)
        qty = fill_quantity(order, market, pos.contracts)
        if qty <= 0:  # a reduce-only order with nothing left to reduce
            self._close_order(order, OrderState.CANCELLED, RejectCode.REDUCE_ONLY.value)
            return
        execution = self._account.trade(
            market,
            order.side,
            qty,
            price,
            self.params.fee_rate,
            self._now_ms,
            is_maker=is_maker,
            order=order,
        )
        order.filled += qty
        order.cum_value += execution.value
        order.fee += execution.fee
        order.updated_ms = self._now_ms
        order.average_price = margin.average_price(market, order.filled, order.cum_value)
        if order.remaining == 0:
            self._close_order(order, OrderState.FILLED, None)
        else:
            order.state = OrderState.PARTIALLY_FILLED

    def _close_order(self, order: SimOrder, state: OrderState, reason: str | None) -> None:
        order.state = state
        order.reject_reason = reason
        order.updated_ms = self._now_ms
        self._book.close(order)

    def _match_orders(self) -> None:
        """Market remainders fill at the price (taker); crossed limits at their limit (maker)."""
        for order in self._book.open_orders():
            market = self._markets[order.symbol]
            price = self._prices[market.base]
            if order.order_type == "market":
                self._fill(order, market, price, is_maker=False)
            elif order.limit_price is not None and crosses(order, price):
                self._fill(order, market, order.limit_price, is_maker=True)

    # -- cancellation --------------------------------------------------------------------------

    def cancel_order(
        self,
        symbol: str | None = None,
        *,
        exchange_id: str | None = None,
        client_id: str | None = None,
    ) -> OrderStatus:
        """Cancel a resting order by exchange id or client id.

        ``NoSuchOrderError`` if unknown (or on another symbol); ``OrderClosedError`` carrying
        the unchanged status if it is already filled, cancelled or rejected.
        """
        order = self._find_order(symbol, exchange_id, client_id)
        if order.state in TERMINAL_STATES:
            message = f"order {order.exchange_id} is already {order.state.value}"
            raise OrderClosedError(message, order.status())
        self._close_order(order, OrderState.CANCELLED, None)
        return order.status()

    def cancel_all(self, symbol: str | None = None) -> list[OrderStatus]:
        cancelled: list[OrderStatus] = []
        for order in self._book.open_orders():
            if symbol is None or order.symbol == symbol:
                self._close_order(order, OrderState.CANCELLED, None)
                cancelled.append(order.status())
        return cancelled

    # -- funding, liquidation, expiry -------------------------------------------------------------

    def _settle_funding(self) -> None:
        for market in self._markets.values():
            if market.expiry is None and market.active:
                rate = self._funding_rates.get(market.base, self._default_funding_rate)
                self._funding_history.append((self._now_ms, market.symbol, rate))
        for symbol, pos in self._account.positions.items():
            if pos.contracts == 0:
                continue
            market = self._markets[symbol]
            if market.expiry is None:
                rate = self._funding_rates.get(market.base, self._default_funding_rate)
                price = self._prices[market.base]
                self._account.settle_funding(market, pos, price, rate, self._now_ms)

    def _liquidate(self) -> None:
        for symbol, pos in self._account.positions.items():
            if pos.contracts == 0:
                continue
            market = self._markets[symbol]
            liquidation = self._account.liquidation_price(market, pos)
            if liquidation is None:
                continue
            price = self._prices[market.base]
            short = pos.contracts < 0
            if (price >= liquidation) if short else (price <= liquidation):
                self._account.trade(
                    market,
                    "buy" if short else "sell",
                    abs(pos.contracts),
                    liquidation,
                    self.params.fee_rate,
                    self._now_ms,
                    kind="liquidation",
                )

    def _expire_markets(self) -> None:
        for symbol, market in list(self._markets.items()):
            if market.expiry is None or not market.active:
                continue
            if datetime_to_ms(market.expiry) > self._now_ms:
                continue
            for order in self._book.open_orders():
                if order.symbol == symbol:
                    self._close_order(order, OrderState.CANCELLED, RejectCode.MARKET_CLOSED.value)
            pos = self._account.positions.get(symbol)
            if pos is not None and pos.contracts:
                self._account.trade(
                    market,
                    "buy" if pos.contracts < 0 else "sell",
                    abs(pos.contracts),
                    self._prices[market.base],
                    self.params.fee_rate,
                    self._now_ms,
                    kind="delivery",
                )
            self._markets[symbol] = replace(market, active=False)
        self._next_expiry_ms = self._compute_next_expiry()

    def _compute_next_expiry(self) -> int | None:
        expiries = [
            datetime_to_ms(m.expiry)
            for m in self._markets.values()
            if m.expiry is not None and m.active
        ]
        return min(expiries, default=None)
