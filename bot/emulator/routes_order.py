"""Private order endpoints: create, cancel, cancel-all, open/closed order lists, executions.

Engine rejections map to Bybit retCodes (``REJECT_CODES``). As on Bybit, a PostOnly order that
would take liquidity is ACCEPTED (retCode 0) and immediately cancelled
(``rejectReason EC_PostOnlyWillTakeLiquidity``), and IOC/FOK limit remainders are cancelled.
Spot orders (``category=spot`` on create and on the order lists) are ``bot.emulator.routes_spot``.
"""

from __future__ import annotations

from decimal import Decimal

from bot.core.types import Market, OrderRequest, OrderState
from bot.emulator import routes_spot
from bot.emulator.bybit_format import from_qty, ms, on_tick
from bot.emulator.bybit_rows import (
    EXEC_KINDS,
    OrderMeta,
    execution_row,
    order_row,
    order_status_text,
)
from bot.emulator.faults import ORDER_CREATE, FaultKind
from bot.emulator.reply import (
    NOT_SUPPORTED_SYMBOLS,
    PARAMS_ERROR,
    ApiError,
    Params,
    Reply,
    opt_bool,
    opt_int,
    opt_link_id,
    opt_str,
    paginate,
    params_error,
    req_category,
    req_decimal,
    req_side,
    req_str,
    time_window,
)
from bot.emulator.routes_market import CONTRACT_CATEGORIES, contract_market
from bot.emulator.state import EmulatorState, Route, RouteTable
from bot.sim.errors import NoSuchOrderError, OrderClosedError, RejectCode, RejectError
from bot.sim.records import Execution, OrderRecord

TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")
POSITION_IDX_MISMATCH = "position idx not match position mode"
OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "Untriggered"})
REJECT_CODES: dict[RejectCode, tuple[int, str]] = {
    RejectCode.DUPLICATE_CLIENT_ID: (110072, "OrderLinkedID is duplicate"),
    RejectCode.REDUCE_ONLY: (110017, "Reduce-only rule not satisfied"),
    RejectCode.INSUFFICIENT_BALANCE: (110007, "ab not enough for new order"),
    RejectCode.INVALID_AMOUNT: (PARAMS_ERROR, "params error: Qty invalid"),
    RejectCode.INVALID_PRICE: (PARAMS_ERROR, "params error: Price invalid"),
    RejectCode.UNKNOWN_SYMBOL: (PARAMS_ERROR, NOT_SUPPORTED_SYMBOLS),
    RejectCode.MARKET_CLOSED: (110066, "No trading is allowed at the current time"),
    RejectCode.POST_ONLY: (PARAMS_ERROR, "params error: PostOnly would take liquidity"),
}


def _reject(exc: RejectError) -> ApiError:
    code, message = REJECT_CODES[exc.code]
    return ApiError(code, f"{message} ({exc.message})")


def _limit_price(state: EmulatorState, params: Params, market: Market) -> Decimal:
    price = req_decimal(params, "price")
    if price <= 0 or not on_tick(price, state.tick(market.base)):
        raise params_error(f"price {price} must be a positive multiple of the tickSize")
    return price


def _order_request(state: EmulatorState, params: Params) -> tuple[OrderRequest, OrderMeta]:
    """Validate a create body into the engine's request and the emulator's extras."""
    category = req_category(params, CONTRACT_CATEGORIES)
    market = contract_market(state, category, req_str(params, "symbol"))
    side = req_side(params)
    order_type = req_str(params, "orderType")
    if order_type not in ("Market", "Limit"):
        raise params_error(f"orderType {order_type!r} (use Market or Limit)")
    qty = req_decimal(params, "qty")
    if qty <= 0:
        raise params_error("Qty invalid")
    tif = opt_str(params, "timeInForce") or ("IOC" if order_type == "Market" else "GTC")
    if tif not in TIME_IN_FORCE or (order_type == "Market" and tif == "PostOnly"):
        raise params_error(f"timeInForce {tif!r} is invalid for a {order_type} order")
    link = opt_link_id(params)
    position_idx = opt_int(params, "positionIdx", 0, 2) or 0
    if (position_idx != 0) != state.engine.hedge_mode:
        # Bybit's exact answer (ccxt/ccxt#16102): retCode 10001 without the "params error:"
        # prefix the emulator's other parameter checks carry.
        raise ApiError(PARAMS_ERROR, POSITION_IDX_MISMATCH)
    request = OrderRequest(
        symbol=market.symbol,
        side=side,
        contracts=from_qty(market, qty),
        reduce_only=opt_bool(params, "reduceOnly"),
        client_order_id=link,
        order_type="limit" if order_type == "Limit" else "market",
        limit_price=_limit_price(state, params, market) if order_type == "Limit" else None,
        post_only=tif == "PostOnly",
    )
    return request, OrderMeta(tif, position_idx, state.engine.price(market.base))


def create_order(state: EmulatorState, params: Params) -> Reply:
    """Result ``{orderId, orderLinkId}`` only, as Bybit. ``category=spot``: ``routes_spot``."""
    if params.get("category") == "spot":
        return routes_spot.create_spot_order(state, params)
    engine = state.engine
    request, meta = _order_request(state, params)
    if state.faults.take(frozenset({FaultKind.REDUCE_ONLY}), "POST", ORDER_CREATE):
        raise ApiError(110017, "Reduce-only rule not satisfied (injected fault)")
    try:
        status = engine.create_order(request)
    except RejectError as exc:
        if exc.status is not None and exc.status.exchange_order_id:
            state.order_meta[exc.status.exchange_order_id] = meta
        if exc.code != RejectCode.POST_ONLY or exc.status is None:
            raise _reject(exc) from None
        status = exc.status  # accepted, then cancelled by the matching engine
    order_id = status.exchange_order_id or ""
    state.order_meta[order_id] = meta
    open_states = (OrderState.OPEN, OrderState.PARTIALLY_FILLED)
    immediate = meta.time_in_force in ("IOC", "FOK") and request.order_type == "limit"
    if immediate and status.state in open_states:
        engine.cancel_order(request.symbol, exchange_id=order_id)
    return Reply({"orderId": order_id, "orderLinkId": request.client_order_id})


def cancel_order(state: EmulatorState, params: Params) -> Reply:
    """By orderId (wins) or orderLinkId; 110001 when unknown or already closed."""
    category = req_category(params, CONTRACT_CATEGORIES)
    market = contract_market(state, category, req_str(params, "symbol"))
    order_id = opt_str(params, "orderId")
    link = opt_str(params, "orderLinkId")
    if order_id is None and link is None:
        raise params_error("orderId or orderLinkId is required")
    try:
        status = state.engine.cancel_order(
            market.symbol, exchange_id=order_id, client_id=None if order_id else link
        )
    except (NoSuchOrderError, OrderClosedError):
        raise ApiError(110001, "order not exists or too late to cancel") from None
    return Reply({"orderId": status.exchange_order_id, "orderLinkId": status.client_order_id})


def cancel_all(state: EmulatorState, params: Params) -> Reply:
    category = req_category(params, CONTRACT_CATEGORIES)
    symbol = opt_str(params, "symbol")
    settle = opt_str(params, "settleCoin")
    base = opt_str(params, "baseCoin")
    engine = state.engine
    markets = engine.markets()
    wanted = None if symbol is None else contract_market(state, category, symbol).symbol
    cancelled = []
    for order in engine.open_orders():
        market = markets[order.symbol]
        if market.kind != category or wanted not in (None, market.symbol):
            continue
        if settle not in (None, market.settle) or base not in (None, market.base):
            continue
        status = engine.cancel_order(market.symbol, exchange_id=order.exchange_order_id)
        cancelled.append(
            {"orderId": status.exchange_order_id, "orderLinkId": status.client_order_id}
        )
    return Reply({"list": cancelled, "success": "1"})


def _orders(state: EmulatorState, params: Params, *, realtime: bool) -> Reply:
    engine = state.engine
    category = req_category(params, (*CONTRACT_CATEGORIES, "spot"))
    if category == "spot":
        return routes_spot.spot_orders(state, params, realtime=realtime)
    symbol = opt_str(params, "symbol")
    base = opt_str(params, "baseCoin")
    settle = opt_str(params, "settleCoin")
    if realtime and category == "linear" and not (symbol or base or settle):
        raise params_error("symbol, baseCoin or settleCoin is required")
    order_id = opt_str(params, "orderId")
    link = None if order_id else opt_str(params, "orderLinkId")
    by_id = order_id is not None or link is not None
    statuses = opt_str(params, "orderStatus")
    wanted_status = None if statuses is None else set(statuses.split(","))
    limit = opt_int(params, "limit", 1, 50) or 20
    open_only = realtime and not by_id and (opt_int(params, "openOnly", 0, 2) or 0) == 0
    start, end = (0, 0) if realtime or by_id else time_window(params, engine.now_ms)
    ids = state.symbols().ids
    markets = engine.markets()
    rows = []
    for record in reversed(engine.order_history()):
        status = record.status
        market = markets[status.symbol]
        if market.kind != category or symbol not in (None, ids[market.symbol]):
            continue
        if base not in (None, market.base) or settle not in (None, market.settle):
            continue
        if order_id is not None and status.exchange_order_id != order_id:
            continue
        if link is not None and status.client_order_id != link:
            continue
        text = order_status_text(status.state, status.reject_reason)
        if (open_only and text not in OPEN_STATUSES) or (
            wanted_status and text not in wanted_status
        ):
            continue
        if end and not start <= ms(record.created_at) <= end:
            continue
        meta = state.order_meta.get(status.exchange_order_id or "")
        rows.append(order_row(market, record, meta, state.tick(market.base)))
    page, cursor = paginate(rows, limit, opt_str(params, "cursor"))
    return Reply({"category": category, "list": page, "nextPageCursor": cursor})


def open_orders(state: EmulatorState, params: Params) -> Reply:
    """Open orders, newest first; by orderId/orderLinkId also recent closed ones."""
    return _orders(state, params, realtime=True)


def order_history(state: EmulatorState, params: Params) -> Reply:
    """Every order (open ones too: classic ``fetch_order`` reads this list), newest first,
    created within the time window (ignored for id queries)."""
    return _orders(state, params, realtime=False)


def execution_list(state: EmulatorState, params: Params) -> Reply:
    """Trades, funding, liquidations (BustTrade) and deliveries, newest first."""
    engine = state.engine
    category = req_category(params, (*CONTRACT_CATEGORIES, "spot"))
    symbol = opt_str(params, "symbol")
    base = opt_str(params, "baseCoin")
    settle = opt_str(params, "settleCoin")
    order_id = opt_str(params, "orderId")
    link = None if order_id else opt_str(params, "orderLinkId")
    exec_type = opt_str(params, "execType")
    limit = opt_int(params, "limit", 1, 100) or 50
    by_id = order_id is not None or link is not None
    start, end = (0, 0) if by_id else time_window(params, engine.now_ms)
    kind = None if exec_type is None else EXEC_KINDS.get(exec_type)
    ids = state.symbols().ids
    markets = engine.markets()
    records: dict[str, OrderRecord | None] = {}
    rows = []
    for e in reversed(engine.executions()):
        market = markets[e.symbol]
        if market.kind != category or symbol not in (None, ids[market.symbol]):
            continue
        if base not in (None, market.base) or settle not in (None, market.settle):
            continue
        if exec_type is not None and e.kind != kind:
            continue
        if not _matches_order(e, order_id, link) or (end and not start <= e.ts_ms <= end):
            continue
        oid = e.exchange_order_id
        if oid is not None and oid not in records:
            records[oid] = engine.order_record(exchange_id=oid)
        order = records.get(oid) if oid is not None else None
        rows.append(execution_row(market, e, order, engine.params.fee_rate))
    page, cursor = paginate(rows, limit, opt_str(params, "cursor"))
    return Reply({"category": category, "list": page, "nextPageCursor": cursor})


def _matches_order(e: Execution, order_id: str | None, link: str | None) -> bool:
    if order_id is not None:
        return e.exchange_order_id == order_id
    return link is None or e.client_order_id == link


ROUTES: RouteTable = {
    ("POST", "/v5/order/create"): Route(create_order, private=True),
    ("POST", "/v5/order/cancel"): Route(cancel_order, private=True),
    ("POST", "/v5/order/cancel-all"): Route(cancel_all, private=True),
    ("GET", "/v5/order/realtime"): Route(open_orders, private=True),
    ("GET", "/v5/order/history"): Route(order_history, private=True),
    ("GET", "/v5/execution/list"): Route(execution_list, private=True),
}
