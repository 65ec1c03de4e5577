"""Deterministic client order ids.

The same plan (same plan key, symbol, side and index) always yields the same id, so a retried tick
re-finds its orders on the exchange instead of sending them twice.
"""

from __future__ import annotations

import hashlib

PREFIX = "hb-"
MAX_LENGTH = 36  # Bybit orderLinkId limit; the tightest of the supported venues
_HEX_CHARS = 30


def client_order_id(plan_key: str, symbol: str, side: str, index: int) -> str:
    """``hb-`` + 30 hex chars of sha256 of ``plan_key|symbol|side|index`` (33 chars, [a-z0-9-])."""
    digest = hashlib.sha256(f"{plan_key}|{symbol}|{side}|{index}".encode()).hexdigest()
    return PREFIX + digest[:_HEX_CHARS]
