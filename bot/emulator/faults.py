"""Injected faults: each applies to the next ``count`` matching requests, then disappears.

Kinds (``FaultKind``), and what a ccxt client sees:

* ``http_429``: HTTP 429 (or ``status``, e.g. 403) with a text body and ``Retry-After:
  retry_after_s`` -> ``RateLimitExceeded``. Not processed.
* ``rate_limit``: HTTP 200, ``retCode`` 10006 "Too many visits!" -> ``RateLimitExceeded``.
* ``server_error``: HTTP ``status`` (default 500) with JSON ``retCode`` 10016 and ``message``
  -> ``ExchangeError`` (the retCode wins over the status; a message containing "Request timeout"
  gives ``RequestTimeout``). Not processed.
* ``maintenance``: HTTP 503 with an HTML maintenance page -> ``ExchangeNotAvailable``.
* ``timeout``: sleeps ``delay_s`` without processing, then answers 10016 "Request timeout"
  (a client with a shorter timeout gets ``RequestTimeout``).
* ``lost_response``: the request IS processed (an order is placed, a transfer applied), then
  the response is lost: the server sleeps ``delay_s`` (``RequestTimeout``) or, with ``drop``,
  closes the connection (``ExchangeNotAvailable``). Default path ``/v5/order/create``; give
  ``path`` ``/v5/asset/transfer/inter-transfer`` for a transfer.
* ``reduce_only``: ``/v5/order/create`` answers 110017 without placing anything
  (``InvalidOrder``). Derivatives orders only (a spot order leaves it pending).
* ``partial_fill``: the next ``count`` orders fill at most ``fraction`` of their size per match;
  the rest rests and fills at later matches (engine ``fill_fraction_hook``). Derivatives
  orders only: spot market orders fill whole.
* ``clock_skew``: HTTP 200, ``retCode`` 10002 with Bybit's recv-window message, as when the
  client's clock is off (ccxt: ``InvalidNonce``). Not processed.
* ``empty_positions``: ``/v5/position/list`` (default path) answers an empty ``list``, as a
  venue that misreads the account for one call; the engine is untouched.
* ``ticker_price``: ``/v5/market/tickers`` (default path) reports ``price`` as the last, mark,
  index, bid and ask prices of ``coin``'s rows (every row without ``coin``): a stale or outlier
  print; the engine's own price is untouched.

``path`` is the exact request path or ``*`` (every venue path; the admin API is never faulted);
``method`` optionally restricts it (GET/POST).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from bot.core.types import OrderRequest

ORDER_CREATE = "/v5/order/create"


class FaultKind(StrEnum):
    HTTP_429 = "http_429"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    MAINTENANCE = "maintenance"
    TIMEOUT = "timeout"
    LOST_RESPONSE = "lost_response"
    REDUCE_ONLY = "reduce_only"
    PARTIAL_FILL = "partial_fill"
    CLOCK_SKEW = "clock_skew"
    EMPTY_POSITIONS = "empty_positions"
    TICKER_PRICE = "ticker_price"


BEFORE_KINDS = frozenset(
    {
        FaultKind.HTTP_429,
        FaultKind.RATE_LIMIT,
        FaultKind.SERVER_ERROR,
        FaultKind.MAINTENANCE,
        FaultKind.TIMEOUT,
        FaultKind.CLOCK_SKEW,
    }
)
# Kinds that rewrite a successful answer (``rewrite_result``) after processing.
REWRITE_KINDS = frozenset({FaultKind.EMPTY_POSITIONS, FaultKind.TICKER_PRICE})
_DEFAULT_PATHS = {
    FaultKind.LOST_RESPONSE: ORDER_CREATE,
    FaultKind.REDUCE_ONLY: ORDER_CREATE,
    FaultKind.PARTIAL_FILL: ORDER_CREATE,
    FaultKind.EMPTY_POSITIONS: "/v5/position/list",
    FaultKind.TICKER_PRICE: "/v5/market/tickers",
}
_TICKER_PRICES = ("lastPrice", "markPrice", "indexPrice", "bid1Price", "ask1Price")
MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>Bybit - System Maintenance</title></head><body>"
    "<h1>System maintenance</h1><p>We are upgrading our systems. Trading will resume shortly."
    "</p></body></html>"
)


@dataclass(frozen=True, slots=True)
class Fault:
    """One pending fault; ``count`` is how many more requests it applies to."""

    kind: FaultKind
    path: str = "*"
    method: str | None = None
    count: int = 1
    delay_s: float = 15.0  # timeout / lost_response: longer than ccxt's default 10 s
    drop: bool = False  # lost_response: close the connection instead of sleeping
    status: int | None = None  # http_429 (default 429) / server_error (default 500)
    retry_after_s: int = 1  # http_429
    message: str = "Internal system error."  # server_error
    fraction: Decimal = Decimal("0.5")  # partial_fill
    price: Decimal | None = None  # ticker_price
    coin: str | None = None  # ticker_price: only this coin's rows
    fault_id: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path in ("*", path)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.fault_id,
            "kind": self.kind.value,
            "path": self.path,
            "method": self.method,
            "count": self.count,
            "delay_s": self.delay_s,
            "drop": self.drop,
            "status": self.status,
            "retry_after_s": self.retry_after_s,
            "message": self.message,
            "fraction": str(self.fraction),
            "price": None if self.price is None else str(self.price),
            "coin": self.coin,
        }


def parse_fault(data: Mapping[str, Any]) -> Fault:
    """A fault from admin JSON (``kind`` required, the rest optional); ValueError if invalid."""
    try:
        kind = FaultKind(str(data.get("kind")))
    except ValueError:
        kinds = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"unknown fault kind {data.get('kind')!r} (use {kinds})") from None
    unknown = set(data) - {f for f in Fault.__dataclass_fields__ if f != "fault_id"}
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    try:
        fraction = Decimal(str(data.get("fraction", "0.5")))
    except InvalidOperation:
        raise ValueError(f"fraction {data.get('fraction')!r} is not a number") from None
    price = _price(data.get("price"))
    method = data.get("method")
    status = data.get("status")
    fault = Fault(
        kind=kind,
        path=str(data.get("path") or _DEFAULT_PATHS.get(kind, "*")),
        method=str(method).upper() if method else None,
        count=int(data.get("count", 1)),
        delay_s=float(data.get("delay_s", 15.0)),
        drop=bool(data.get("drop", False)),
        status=int(status) if status is not None else None,
        retry_after_s=int(data.get("retry_after_s", 1)),
        message=str(data.get("message", "Internal system error.")),
        fraction=fraction,
        price=price,
        coin=str(data["coin"]) if data.get("coin") is not None else None,
    )
    if fault.kind == FaultKind.TICKER_PRICE and fault.price is None:
        raise ValueError("ticker_price needs a price")
    if fault.count < 1:
        raise ValueError("count must be >= 1")
    if fault.delay_s < 0:
        raise ValueError("delay_s must be >= 0")
    if not Decimal(0) < fault.fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    if fault.status is not None and not 400 <= fault.status <= 599:
        raise ValueError("status must be an HTTP error status (400..599)")
    return fault


def _price(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"price {value!r} is not a number") from None
    if not price.is_finite() or price <= 0:
        raise ValueError("price must be a finite number > 0")
    return price


def rewrite_result(fault: Fault, result: Any) -> Any:
    """A REWRITE-kind fault applied to a successful answer's ``result`` (a new object)."""
    if not isinstance(result, Mapping) or not isinstance(result.get("list"), list):
        return result
    if fault.kind == FaultKind.EMPTY_POSITIONS:
        return {**result, "list": [], "nextPageCursor": ""}
    if fault.kind == FaultKind.TICKER_PRICE and fault.price is not None:
        text = format(fault.price, "f")
        rows = []
        for row in result["list"]:
            symbol = str(row.get("symbol", ""))
            if fault.coin is None or symbol.startswith(fault.coin + "USD"):
                row = {**row, **{k: text for k in _TICKER_PRICES if k in row}}
            rows.append(row)
        return {**result, "list": rows}
    return result


class FaultBook:
    """Pending faults, consumed in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._seq = 0

    def add(self, fault: Fault) -> Fault:
        self._seq += 1
        fault = replace(fault, fault_id=self._seq)
        self._faults.append(fault)
        return fault

    def take(self, kinds: frozenset[FaultKind], method: str, path: str) -> Fault | None:
        """The first pending fault of ``kinds`` matching the request, its count decremented
        (removed at zero); None if there is none."""
        for index, fault in enumerate(self._faults):
            if fault.kind in kinds and fault.matches(method, path):
                if fault.count > 1:
                    self._faults[index] = replace(fault, count=fault.count - 1)
                else:
                    del self._faults[index]
                return fault
        return None

    def pending(self) -> list[Fault]:
        return list(self._faults)

    def clear(self) -> None:
        self._faults.clear()

    def fill_fraction(self, request: OrderRequest) -> Decimal | None:
        """The engine's ``fill_fraction_hook``: a pending partial-fill fault's fraction."""
        fault = self.take(frozenset({FaultKind.PARTIAL_FILL}), "POST", ORDER_CREATE)
        return None if fault is None else fault.fraction


@dataclass(frozen=True, slots=True)
class RawResponse:
    """A response outside the JSON envelope path (status, body, content type, headers)."""

    status: int
    body: str
    content_type: str
    headers: Mapping[str, str]
    ret_code: int | None = None


def _json(ret_code: int, ret_msg: str, time_ms: int) -> str:
    body = {"retCode": ret_code, "retMsg": ret_msg, "result": {}, "retExtInfo": {}, "time": time_ms}
    return json.dumps(body, separators=(",", ":"))


def fault_response(fault: Fault, time_ms: int) -> RawResponse:
    """What a BEFORE-kind fault answers (``timeout`` after its sleep)."""
    kind = fault.kind
    if kind == FaultKind.HTTP_429:
        headers = {"Retry-After": str(fault.retry_after_s)}
        return RawResponse(fault.status or 429, "Too Many Requests", "text/plain", headers)
    if kind == FaultKind.RATE_LIMIT:
        headers = {
            "X-Bapi-Limit": "10",
            "X-Bapi-Limit-Status": "0",
            "X-Bapi-Limit-Reset-Timestamp": str(time_ms + 1000),
        }
        return RawResponse(
            200, _json(10006, "Too many visits!", time_ms), "application/json", headers
        )
    if kind == FaultKind.SERVER_ERROR:
        body = _json(10016, fault.message, time_ms)
        return RawResponse(fault.status or 500, body, "application/json", {}, 10016)
    if kind == FaultKind.MAINTENANCE:
        return RawResponse(fault.status or 503, MAINTENANCE_PAGE, "text/html", {})
    if kind == FaultKind.TIMEOUT:
        body = _json(10016, "Request timeout, please try again later", time_ms)
        return RawResponse(200, body, "application/json", {}, 10016)
    if kind == FaultKind.CLOCK_SKEW:
        message = (
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{time_ms - 60_000}],server_timestamp[{time_ms}],recv_window[5000]"
        )
        return RawResponse(200, _json(10002, message, time_ms), "application/json", {}, 10002)
    raise ValueError(f"{kind} is not answered before processing")
