"""Domain values to JSON documents for the ``snapshots`` table.

Decimals become canonical strings (never floats), datetimes ISO 8601 in UTC, enums their value,
dataclasses objects of their fields, sets sorted lists. Anything else is refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from bot.core.types import Snapshot
from bot.store.coltypes import canonical_decimal

JSONValue = None | bool | int | str | list["JSONValue"] | dict[str, "JSONValue"]


def to_json(value: object) -> JSONValue:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        return to_json(value.value)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return canonical_decimal(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} in a snapshot")
        return value.astimezone(UTC).isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((to_json(item) for item in value), key=str)
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _object(value: object) -> dict[str, Any]:
    document = to_json(value)
    if not isinstance(document, dict):
        raise TypeError(f"expected a mapping, got {type(value).__name__}")
    return document


def snapshot_documents(snapshot: Snapshot) -> dict[str, Any]:
    """The JSON columns of a ``snapshots`` row (markets are config-like and not stored)."""
    return {
        "spot": _object(snapshot.spot),
        "static": _object(snapshot.static),
        "margin": _object(snapshot.margin),
        "positions": _object(snapshot.positions),
        "prices": _object(snapshot.prices),
        "funding": _object(snapshot.funding),
        "unknown_positions": sorted(snapshot.unknown_positions),
    }
