"""Bybit v5 request authentication (pure): HMAC-SHA256 signature and the recv-window rule.

A private request carries ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP`` (epoch ms),
``X-BAPI-RECV-WINDOW`` (ms, default 5000) and ``X-BAPI-SIGN`` = lowercase hex of
``HMAC_SHA256(secret, timestamp + api_key + recv_window + payload)``, where the payload is the RAW
query string of a GET (as sent: not decoded, not sorted) or the RAW body of a POST. It is valid
iff ``server_ms - recv_window <= timestamp < server_ms + 1000``. Failures, checked in this order:
unknown key -> 10003, timestamp -> 10002, signature -> 10004.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_RECV_WINDOW_MS = 5000
FUTURE_TOLERANCE_MS = 1000

API_KEY = "X-BAPI-API-KEY"
TIMESTAMP = "X-BAPI-TIMESTAMP"
RECV_WINDOW = "X-BAPI-RECV-WINDOW"
SIGN = "X-BAPI-SIGN"


@dataclass(frozen=True, slots=True)
class AuthFailure:
    code: int
    message: str
    http_status: int


def sign(secret: str, timestamp: str, api_key: str, recv_window: str, payload: bytes) -> str:
    """The ``X-BAPI-SIGN`` value for one request (lowercase hex)."""
    message = (timestamp + api_key + recv_window).encode() + payload
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def check_request(
    headers: Mapping[str, str],
    payload: bytes,
    secrets: Mapping[str, str],
    server_ms: int,
) -> AuthFailure | None:
    """None when the request is properly signed by a key of ``secrets`` (api key -> secret)
    within its recv window of ``server_ms``; otherwise the Bybit error."""
    api_key = _header(headers, API_KEY) or ""
    secret = secrets.get(api_key)
    if secret is None:
        return AuthFailure(10003, "API key is invalid.", 401)
    timestamp = _header(headers, TIMESTAMP) or ""
    recv_text = _header(headers, RECV_WINDOW) or ""  # signed as sent (empty when absent)
    try:
        stamp = int(timestamp)
        window = int(recv_text) if recv_text else DEFAULT_RECV_WINDOW_MS
    except ValueError:
        stamp, window = -1, DEFAULT_RECV_WINDOW_MS
    if not server_ms - window <= stamp < server_ms + FUTURE_TOLERANCE_MS:
        return AuthFailure(
            10002,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{timestamp}],server_timestamp[{server_ms}],recv_window[{recv_text}]",
            200,
        )
    expected = sign(secret, timestamp, api_key, recv_text, payload).encode()
    given = (_header(headers, SIGN) or "").encode("utf-8", "replace")
    if not hmac.compare_digest(expected, given):
        return AuthFailure(
            10004, "Error sign, please check your signature generation algorithm.", 401
        )
    return None
