"""What a route returns (``Reply``), how it refuses (``ApiError``), and request-parameter readers.

Routes are synchronous functions ``(EmulatorState, Params) -> Reply``; the dispatcher in
``bot.emulator.app`` wraps the reply in Bybit's envelope. Business errors travel as ``ApiError``
with a Bybit ``retCode`` (HTTP 200 unless said otherwise, as on Bybit).

``Params`` is the decoded query string (GET: every value a string) or the JSON body (POST: strings,
numbers and booleans as the client sent them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.core.types import Side

Params = Mapping[str, Any]

PARAMS_ERROR = 10001
NOT_SUPPORTED_SYMBOLS = "Not supported symbols"
WEEK_MS = 7 * 86_400_000
LINK_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")  # orderLinkId: at most 36 of A-Z a-z 0-9 _ -


@dataclass(frozen=True, slots=True)
class Reply:
    """One response: ``ret_code`` 0 is success; ``result`` becomes the envelope's ``result``."""

    result: Any = field(default_factory=dict)
    ret_code: int = 0
    ret_msg: str = "OK"
    http_status: int = 200
    ret_ext_info: Mapping[str, Any] = field(default_factory=dict)


class ApiError(Exception):
    """A refusal with a Bybit ``retCode`` (and the HTTP status Bybit would use)."""

    def __init__(self, code: int, message: str, http_status: int = 200, result: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.result = result

    def reply(self) -> Reply:
        result = {} if self.result is None else self.result
        return Reply(result, self.code, self.message, self.http_status)


def params_error(message: str) -> ApiError:
    return ApiError(PARAMS_ERROR, f"params error: {message}")


def opt_str(params: Params, name: str) -> str | None:
    """The parameter as text; missing, null or empty -> None."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def req_str(params: Params, name: str) -> str:
    value = opt_str(params, name)
    if value is None:
        raise params_error(f"{name} is required")
    return value


def opt_int(
    params: Params, name: str, low: int | None = None, high: int | None = None
) -> int | None:
    """An integer parameter (JSON number or decimal text), optionally bounded (inclusive)."""
    text = opt_str(params, name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise params_error(f"{name} must be an integer, got {text!r}") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise params_error(f"{name} {value} outside [{low}, {high}]")
    return value


def opt_decimal(params: Params, name: str) -> Decimal | None:
    """A finite decimal parameter (Bybit sends quantities and prices as strings)."""
    text = opt_str(params, name)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise params_error(f"{name} {text!r} is not a number") from None
    if not value.is_finite():
        raise params_error(f"{name} {text!r} is not a number")
    return value


def req_decimal(params: Params, name: str) -> Decimal:
    value = opt_decimal(params, name)
    if value is None:
        raise params_error(f"{name} is required")
    return value


def opt_bool(params: Params, name: str) -> bool:
    """A JSON boolean (or ``true``/``false``/``1``/``0`` text); missing -> False."""
    value = params.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise params_error(f"{name} must be a boolean, got {value!r}")


def req_category(params: Params, allowed: tuple[str, ...]) -> str:
    category = req_str(params, "category")
    if category not in allowed:
        raise params_error(f"category {category!r} is not supported here ({', '.join(allowed)})")
    return category


def paginate(rows: list[Any], limit: int, cursor: str | None) -> tuple[list[Any], str]:
    """One page of ``rows`` and the ``nextPageCursor`` (``""`` on the last page). The cursor is
    the offset of the next page, as text."""
    offset = 0
    if cursor is not None:
        if not cursor.isdigit():
            raise params_error(f"cursor {cursor!r} is invalid")
        offset = int(cursor)
    end = offset + limit
    return rows[offset:end], str(end) if end < len(rows) else ""


def req_side(params: Params) -> Side:
    """``side``: Buy or Sell."""
    text = req_str(params, "side")
    if text == "Buy":
        return "buy"
    if text == "Sell":
        return "sell"
    raise params_error(f"side {text!r} (use Buy or Sell)")


def opt_link_id(params: Params) -> str:
    """``orderLinkId`` (``""`` when absent), checked against Bybit's charset and length."""
    link = opt_str(params, "orderLinkId") or ""
    if link and not LINK_ID.fullmatch(link):
        raise params_error("orderLinkId: at most 36 characters of A-Z a-z 0-9 _ -")
    return link


def time_window(params: Params, now_ms: int) -> tuple[int, int]:
    """[startTime, endTime] in ms: default the last 7 days; one bound alone spans 7 days from
    it; both may span at most 7 days."""
    start = opt_int(params, "startTime", 0)
    end = opt_int(params, "endTime", 0)
    if end is None:
        return (now_ms - WEEK_MS, now_ms) if start is None else (start, start + WEEK_MS)
    if start is None:
        return end - WEEK_MS, end
    if end < start or end - start > WEEK_MS:
        raise params_error("startTime and endTime must span at most 7 days")
    return start, end
