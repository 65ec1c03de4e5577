"""Test controls under ``/admin`` (JSON in and out, no authentication; served only by the
emulator, never by a real venue). Errors: HTTP 400 ``{"ok": false, "error": "..."}``.

Clock: ``POST /admin/clock/set {"time_ms"|"time"}``, ``/advance {"seconds"}``,
``/step {"count"}``, ``/mode {"mode": wall|manual|step_per_tick}``.
Market: ``POST /admin/price {"coin","price"}``, ``/funding-rate {"coin","rate"}``,
``/markets {"coin","kind","expiry","contract_size","amount_step","min_contracts"}``,
``/contract-size {"symbol","contract_size"}``, ``/hedge-mode {"on"}``.
Wallets: ``POST /admin/deposit`` and ``/withdraw {"coin","amount","wallet": spot|margin}``.
Key: ``POST /admin/api-key {"read_only","ips","withdraw"}``.
Faults: ``POST /admin/faults {kind, path, method, count, ...}`` (``bot.emulator.faults``),
``GET``/``DELETE /admin/faults``. Logs: ``GET /admin/orders[?all=1]`` (derivatives),
``GET /admin/spot-orders``, ``GET /admin/transfers`` (wallet transfers, with their ids),
``GET``/``DELETE /admin/requests``. Overview: ``GET /admin/state``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any, cast

from aiohttp import web

from bot.core.types import Market, OrderState
from bot.emulator.bybit_format import SymbolMap, bybit_id, fmt, ms
from bot.emulator.clock import ClockMode
from bot.emulator.faults import parse_fault
from bot.emulator.state import STATE_KEY, EmulatorState
from bot.sim.errors import SimError
from bot.sim.records import Wallet, ms_to_datetime

Body = Mapping[str, Any]
AdminHandler = Callable[[EmulatorState, Body, web.Request], dict[str, Any]]


def _admin(handler: AdminHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """JSON body in, ``{"ok": true, ...}`` out; the market clock catches up first."""

    @wraps(handler)
    async def wrapped(request: web.Request) -> web.Response:
        state = request.app[STATE_KEY]
        try:
            raw = await request.read()
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            state.clock.catch_up()
            data = handler(state, body, request)
        except (ValueError, KeyError, TypeError, InvalidOperation, SimError) as exc:
            message = f"{type(exc).__name__}: {exc}"
            return web.json_response({"ok": False, "error": message}, status=400)
        return web.json_response({"ok": True, **data})

    return wrapped


def _decimal(body: Body, name: str) -> Decimal:
    value = Decimal(str(body[name]))
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number")
    return value


def _time(value: Any) -> datetime:
    """Epoch ms (int) or ISO-8601 text (naive = UTC)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return ms_to_datetime(value)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _wallet(body: Body) -> Wallet:
    wallet = body.get("wallet", "spot")
    if wallet not in ("spot", "margin"):
        raise ValueError("wallet must be 'spot' or 'margin'")
    return cast(Wallet, wallet)


def _market_json(market: Market) -> dict[str, Any]:
    return {
        "symbol": market.symbol,
        "bybit_id": bybit_id(market),
        "category": market.kind,
        "settle": market.settle,
        "contract_size": fmt(market.contract_size),
        "amount_step": fmt(market.amount_step),
        "min_contracts": fmt(market.min_contracts),
        "expiry_ms": ms(market.expiry) if market.expiry else None,
        "active": market.active,
    }


def state_view(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    engine = state.engine
    return {
        "now_ms": engine.now_ms,
        "now": engine.now.isoformat(),
        "clock_mode": state.clock.mode,
        "is_replay": engine.is_replay,
        "can_step": engine.can_step(),
        "hedge_mode": engine.hedge_mode,
        "prices": {c: fmt(engine.price(c)) for c in engine.feed.coins},
        "markets": [_market_json(m) for m in engine.markets().values()],
        "spot": {c: fmt(v) for c, v in engine.spot_balances().items()},
        "margin": {c: fmt(w.balance) for c, w in engine.margin_wallets().items()},
        "faults": [f.to_json() for f in state.faults.pending()],
    }


def clock_set(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    target = _time(body["time_ms"] if "time_ms" in body else body["time"])
    state.engine.set_time(target)
    return {"now_ms": state.engine.now_ms}


def clock_advance(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    state.engine.advance(float(body["seconds"]))
    return {"now_ms": state.engine.now_ms}


def clock_step(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    for _ in range(int(body.get("count", 1))):
        state.engine.step()
    return {"now_ms": state.engine.now_ms}


def clock_mode(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    state.clock.mode = cast(ClockMode, str(body["mode"]))
    state.clock.catch_up()
    return {"mode": state.clock.mode, "now_ms": state.engine.now_ms}


def set_price(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    state.engine.set_price(str(body["coin"]), _decimal(body, "price"))
    return {}


def set_funding_rate(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    state.engine.set_funding_rate(str(body["coin"]), _decimal(body, "rate"))
    return {}


def deposit(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    state.engine.deposit(str(body["coin"]), _decimal(body, "amount"), _wallet(body))
    return {}


def withdraw(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    state.engine.withdraw(str(body["coin"]), _decimal(body, "amount"), _wallet(body))
    return {}


def add_market(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    """``kind`` inverse (default) or linear; with ``expiry`` a dated future
    (``BTC/USD:BTC-250328``), else a perpetual. ``contract_size``: USD (inverse) or coin."""
    coin = str(body["coin"])
    kind = str(body.get("kind", "inverse"))
    if kind not in ("inverse", "linear"):
        raise ValueError("kind must be 'inverse' or 'linear'")
    expiry = _time(body["expiry"]) if body.get("expiry") is not None else None
    quote, settle = ("USD", coin) if kind == "inverse" else ("USDT", "USDT")
    symbol = f"{coin}/{quote}:{settle}"
    if expiry is not None:
        symbol += "-" + expiry.strftime("%y%m%d")
    default_size = "1" if kind == "inverse" else "0.001"
    market = Market(
        symbol=symbol,
        base=coin,
        quote=quote,
        settle=settle,
        kind="inverse" if kind == "inverse" else "linear",
        contract_size=Decimal(str(body.get("contract_size", default_size))),
        amount_step=Decimal(str(body.get("amount_step", "1"))),
        min_contracts=Decimal(str(body.get("min_contracts", "1"))),
        expiry=expiry,
    )
    existing = SymbolMap.build(state.engine.markets().values())
    if existing.market(market.kind, bybit_id(market)) is not None:
        raise ValueError(f"a market with Bybit id {bybit_id(market)} exists")
    state.engine.add_market(market)
    return {"market": _market_json(market)}


def set_contract_size(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    """The "changed contract size" fault: re-specify an existing market."""
    state.engine.set_contract_size(str(body["symbol"]), _decimal(body, "contract_size"))
    return {"market": _market_json(state.engine.market(str(body["symbol"])))}


def hedge_mode(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    state.engine.hedge_mode = bool(body["on"])
    return {"hedge_mode": state.engine.hedge_mode}


def api_key(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    info = state.key_info
    if "read_only" in body:
        info.read_only = bool(body["read_only"])
    if "withdraw" in body:
        info.withdraw = bool(body["withdraw"])
    if "ips" in body:
        info.ips = [str(ip) for ip in body["ips"]]
    return {"read_only": info.read_only, "withdraw": info.withdraw, "ips": info.ips}


def add_fault(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    return {"fault": state.faults.add(parse_fault(body)).to_json()}


def list_faults(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    return {"faults": [f.to_json() for f in state.faults.pending()]}


def clear_faults(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    state.faults.clear()
    return {}


def orders(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    """Every order the engine accepted, oldest first (``?all=1``: also those the emulator
    refused with an error, which the engine records as REJECTED)."""
    include_all = request.query.get("all", "") in ("1", "true")
    rows = []
    for record in state.engine.order_history():
        status = record.status
        refused = status.state == OrderState.REJECTED and status.reject_reason != "post_only"
        if refused and not include_all:
            continue
        rows.append(
            {
                "orderLinkId": status.client_order_id,
                "orderId": status.exchange_order_id,
                "symbol": status.symbol,
                "side": status.side,
                "orderType": record.order_type,
                "qty": fmt(status.contracts),
                "filled": fmt(status.filled_contracts),
                "price": fmt(record.limit_price),
                "reduceOnly": status.reduce_only,
                "postOnly": record.post_only,
                "state": status.state.value,
                "rejectReason": status.reject_reason,
                "createdTime": ms(record.created_at),
            }
        )
    return {"orders": rows}


def spot_orders(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    """Every spot order (filled or refused by the engine), oldest first; ``amount`` and
    ``filled`` in base coin, ``value`` in quote coin, ``fee`` in ``feeCurrency``."""
    rows = []
    for record in state.engine.spot_order_history():
        status = record.status
        rows.append(
            {
                "orderLinkId": status.client_order_id,
                "orderId": status.exchange_order_id,
                "symbol": status.symbol,
                "side": status.side,
                "amount": fmt(status.contracts),
                "filled": fmt(status.filled_contracts),
                "price": fmt(status.average_price),
                "value": fmt(record.value),
                "fee": fmt(status.fee),
                "feeCurrency": status.fee_currency,
                "state": status.state.value,
                "rejectReason": status.reject_reason,
                "createdTime": ms(record.created_at),
            }
        )
    return {"orders": rows}


def transfers(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    """Every transfer between the spot and margin wallets, oldest first."""
    rows = [
        {
            "transferId": entry.reference,
            "entryId": entry.entry_id,
            "coin": entry.coin,
            "amount": fmt(entry.amount),
            "from": entry.source,
            "to": entry.destination,
            "time": ms(entry.timestamp),
        }
        for entry in state.engine.ledger()
        if entry.kind == "transfer"
    ]
    return {"transfers": rows}


def requests_log(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    return {"requests": [entry.to_json() for entry in state.requests]}


def clear_requests(state: EmulatorState, body: Body, request: web.Request) -> dict[str, Any]:
    state.requests.clear()
    return {}


ADMIN_ROUTES: list[tuple[str, str, AdminHandler]] = [
    ("GET", "/admin/state", state_view),
    ("POST", "/admin/clock/set", clock_set),
    ("POST", "/admin/clock/advance", clock_advance),
    ("POST", "/admin/clock/step", clock_step),
    ("POST", "/admin/clock/mode", clock_mode),
    ("POST", "/admin/price", set_price),
    ("POST", "/admin/funding-rate", set_funding_rate),
    ("POST", "/admin/deposit", deposit),
    ("POST", "/admin/withdraw", withdraw),
    ("POST", "/admin/markets", add_market),
    ("POST", "/admin/contract-size", set_contract_size),
    ("POST", "/admin/hedge-mode", hedge_mode),
    ("POST", "/admin/api-key", api_key),
    ("POST", "/admin/faults", add_fault),
    ("GET", "/admin/faults", list_faults),
    ("DELETE", "/admin/faults", clear_faults),
    ("GET", "/admin/orders", orders),
    ("GET", "/admin/spot-orders", spot_orders),
    ("GET", "/admin/transfers", transfers),
    ("GET", "/admin/requests", requests_log),
    ("DELETE", "/admin/requests", clear_requests),
]


def add_admin_routes(router: web.UrlDispatcher) -> None:
    for method, path, handler in ADMIN_ROUTES:
        router.add_route(method, path, _admin(handler))
