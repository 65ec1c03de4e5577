"""Spot orders of the classic account (``category=spot``): market orders on ``COINUSDT``.

Reached through ``/v5/order/create`` and the order lists (``bot.emulator.routes_order``
dispatches ``category=spot`` here). Only Market orders are emulated; they fill whole at once at
the engine's price (``bot.sim.spot``). ``qty`` follows Bybit: in ``marketUnit`` when given
(``baseCoin``/``quoteCoin``), else quote coin for a Buy and base coin for a Sell. Checks, in
order: the lot filter of the spot instrument (``basePrecision`` / ``quotePrecision`` decimals:
170137; below ``minOrderQty`` or ``minOrderAmt`` USDT: 170136 / 170140), then the engine
(duplicate ``orderLinkId`` 170141, spot balance 170131). A refused order is recorded (as
REJECTED) when the engine refused it, as for derivatives.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from bot.emulator.bybit_format import spot_id
from bot.emulator.reply import (
    PARAMS_ERROR,
    ApiError,
    Params,
    Reply,
    opt_int,
    opt_link_id,
    opt_str,
    paginate,
    params_error,
    req_decimal,
    req_side,
    req_str,
    time_window,
)
from bot.emulator.spot_rows import MarketUnit, SpotMeta, spot_order_row
from bot.emulator.state import EmulatorState
from bot.sim.errors import RejectCode, RejectError
from bot.sim.records import datetime_to_ms

BASE_PRECISION = Decimal("0.000001")  # the spot instrument's lotSizeFilter (bybit_format)
QUOTE_PRECISION = Decimal("0.00000001")
MIN_ORDER_AMT = Decimal(5)  # USDT
OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "Untriggered"})
SPOT_REJECTS: dict[RejectCode, tuple[int, str]] = {
    RejectCode.DUPLICATE_CLIENT_ID: (170141, "Duplicate clientOrderId."),
    RejectCode.INSUFFICIENT_BALANCE: (170131, "Insufficient balance."),
    RejectCode.INVALID_AMOUNT: (170136, "Order quantity lower than the minimum."),
    RejectCode.UNKNOWN_SYMBOL: (170121, "Invalid symbol."),
}


def spot_coin(state: EmulatorState, symbol: str) -> str:
    """The coin of a Bybit spot id (``SOLUSDT`` -> ``SOL``); 170121 when there is no such pair."""
    for coin in state.spot_coins():
        if spot_id(coin) == symbol:
            return coin
    raise ApiError(170121, "Invalid symbol.")


def _market_unit(params: Params) -> MarketUnit | None:
    unit = opt_str(params, "marketUnit")
    if unit is None:
        return None
    if unit == "baseCoin":
        return "baseCoin"
    if unit == "quoteCoin":
        return "quoteCoin"
    raise params_error(f"marketUnit {unit!r} (use baseCoin or quoteCoin)")


def _base_amount(qty: Decimal, in_quote: bool, price: Decimal) -> Decimal:
    """The order's size in base coin, after Bybit's lot checks on the qty as sent."""
    if qty <= 0:
        raise params_error("Qty invalid")
    precision = QUOTE_PRECISION if in_quote else BASE_PRECISION
    if qty % precision:
        raise ApiError(170137, "Order volume decimal too long.")
    amount = (qty / price).quantize(BASE_PRECISION, ROUND_DOWN) if in_quote else qty
    if amount < BASE_PRECISION:
        raise ApiError(170136, "Order quantity lower than the minimum.")
    if amount * price < MIN_ORDER_AMT:
        raise ApiError(170140, "Order value exceeded lower limit.")
    return amount


def create_spot_order(state: EmulatorState, params: Params) -> Reply:
    """A spot Market order; result ``{orderId, orderLinkId}`` as Bybit."""
    engine = state.engine
    coin = spot_coin(state, req_str(params, "symbol"))
    side = req_side(params)
    order_type = req_str(params, "orderType")
    if order_type != "Market":
        raise params_error(f"orderType {order_type!r}: the emulator has spot Market orders only")
    unit = _market_unit(params)
    qty = req_decimal(params, "qty")
    link = opt_link_id(params)
    price = engine.price(coin)
    in_quote = unit == "quoteCoin" or (unit is None and side == "buy")
    amount = _base_amount(qty, in_quote, price)
    meta = SpotMeta(qty, unit, price)
    try:
        status = engine.spot_order(f"{coin}/USDT", side, amount, link)
    except RejectError as exc:
        if exc.status is not None and exc.status.exchange_order_id:
            state.spot_meta[exc.status.exchange_order_id] = meta
        code, message = SPOT_REJECTS.get(exc.code, (PARAMS_ERROR, "params error"))
        raise ApiError(code, f"{message} ({exc.message})") from None
    order_id = status.exchange_order_id or ""
    state.spot_meta[order_id] = meta
    return Reply({"orderId": order_id, "orderLinkId": link})


def spot_orders(state: EmulatorState, params: Params, *, realtime: bool) -> Reply:
    """``/v5/order/realtime`` (open orders; by orderId/orderLinkId also closed ones) and
    ``/v5/order/history`` (every order in the time window; ids ignore the window), newest
    first. Market orders never rest, so the realtime list holds only orders asked by id."""
    engine = state.engine
    symbol = opt_str(params, "symbol")
    order_id = opt_str(params, "orderId")
    link = None if order_id else opt_str(params, "orderLinkId")
    by_id = order_id is not None or link is not None
    statuses = opt_str(params, "orderStatus")
    wanted_status = None if statuses is None else set(statuses.split(","))
    limit = opt_int(params, "limit", 1, 50) or 20
    open_only = realtime and not by_id and (opt_int(params, "openOnly", 0, 2) or 0) == 0
    start, end = (0, 0) if realtime or by_id else time_window(params, engine.now_ms)
    rows = []
    for record in reversed(engine.spot_order_history()):
        status = record.status
        if symbol not in (None, spot_id(record.base)):
            continue
        if order_id is not None and status.exchange_order_id != order_id:
            continue
        if link is not None and status.client_order_id != link:
            continue
        row = spot_order_row(record, state.spot_meta.get(status.exchange_order_id or ""))
        text = row["orderStatus"]
        if (open_only and text not in OPEN_STATUSES) or (
            wanted_status and text not in wanted_status
        ):
            continue
        if end and not start <= datetime_to_ms(record.created_at) <= end:
            continue
        rows.append(row)
    page, cursor = paginate(rows, limit, opt_str(params, "cursor"))
    return Reply({"category": "spot", "list": page, "nextPageCursor": cursor})
