"""Strict field parsing for the data files; every error names the file and the 1-based line."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation

from bot.sim.errors import ReplayDataError
from bot.sim.series import check_price, to_epoch

HOUR = 3600


def rows(text: str, where: str, header: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of each data row; the header must start with ``header``."""
    reader = csv.reader(text.splitlines())
    found = next(reader, None)
    if found is None or tuple(cell.strip() for cell in found[: len(header)]) != header:
        raise ReplayDataError(where, 1, f"header must start with {','.join(header)}, got {found}")
    for row in reader:
        if not row:
            raise ReplayDataError(where, reader.line_num, "empty line")
        if len(row) != len(found):
            raise ReplayDataError(
                where, reader.line_num, f"expected {len(found)} columns, got {len(row)}"
            )
        yield reader.line_num, row


def utc_epoch(text: str, name: str, where: str, line: int) -> int:
    """Epoch seconds of an ISO-8601 timestamp with a zero UTC offset."""
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise ReplayDataError(where, line, f"{name} {text!r} is not ISO-8601") from None
    offset = stamp.utcoffset()
    if offset is None or offset:
        raise ReplayDataError(where, line, f"{name} {text!r} is not UTC")
    return to_epoch(stamp)


def hour_epoch(text: str, name: str, where: str, line: int) -> int:
    """``utc_epoch`` that must fall on a whole hour (funding settlements, hourly indexes)."""
    seconds = utc_epoch(text, name, where, line)
    if seconds % HOUR:
        raise ReplayDataError(where, line, f"{name} {text} is not on a whole hour")
    return seconds


def number(text: str, name: str, where: str, line: int, *, positive: bool = False) -> Decimal:
    """A finite Decimal (exactly as written); ``positive``: it must also be > 0."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ReplayDataError(where, line, f"{name} {text!r} is not a number") from None
    if not value.is_finite():
        raise ReplayDataError(where, line, f"{name} {text!r} is not finite")
    if positive and value <= 0:
        raise ReplayDataError(where, line, f"{name} {text!r} must be > 0")
    return value


def price(text: str, name: str, where: str, line: int) -> Decimal:
    """A price in USD per coin: a ``number`` > 0 and at most ``bot.core.bounds.MAX_PRICE_USD``."""
    value = number(text, name, where, line, positive=True)
    check_price(value, name, where, line)
    return value
