"""Strict loading of one OHLCV candle file into parallel arrays.

A file is a CSV (optionally gzip) with the exact header ``timestamp,open,high,low,close,volume``;
``timestamp`` is the candle's OPEN time in ISO-8601 with a zero UTC offset (``Z`` or ``+00:00``).
Every problem is raised as ``ReplayDataError`` naming the file and the 1-based line number:
wrong column count, unparsable or non-finite numbers, prices <= 0 or above ``MAX_PRICE_USD``,
negative volume, low > min(open, close) or high < max(open, close), a candle whose prices (from
the previous close through its low and high) span more than ``MAX_CANDLE_MOVE``, a naive or
non-UTC timestamp, a timestamp off the timeframe grid, and a timestamp that is not strictly after
the previous one.
Missing candles are not an error; they are returned as gaps and never filled.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, NamedTuple, overload

from bot.core.bounds import MAX_PRICE_USD
from bot.sim.errors import InvalidRequestError, ReplayDataError

HEADER = ("timestamp", "open", "high", "low", "close", "volume")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZERO = Decimal(0)
# The widest factor one candle's prices may span, from the previous candle's close through its
# own low and high (across a gap too: the replay holds the price, then jumps in one step). Real
# hourly data stays far inside it: over every file of shared/data/spot_1h (11 coins, 2021-2026,
# flash crashes included) the widest span is 5.9 (DOT) and the largest close-to-close move 1.35;
# the bundled data/backtest and data/replay files stay under 1.3. A factor of 100 in an hour is a
# corrupt or mis-scaled row (a spike of 1e23 once reported a hedge effectiveness of -3420), not
# a market. Prices themselves must also be at most ``MAX_PRICE_USD`` (bot.core.bounds).
MAX_CANDLE_MOVE = Decimal(100)


class Gap(NamedTuple):
    """Missing candles: those strictly between the ones opened at ``from_open`` and ``to_open``."""

    coin: str
    from_open: datetime
    to_open: datetime


class DecimalColumn(Sequence[Decimal]):
    """A read-only column of numbers held as their texts, each read as exactly ``Decimal(text)``:
    one item on its own, the whole column (then kept) on the first slice, iteration or
    comparison. The replay's hot path reads only closes, so a candle file's open, high, low and
    volume are mostly never converted; the loader must have checked that every text is a finite
    number. Equal to a list of the same Decimals, as a list column would be."""

    __slots__ = ("_texts", "_values")

    def __init__(self, texts: list[str]) -> None:
        self._texts = texts
        self._values: list[Decimal] | None = None

    def _decimals(self) -> list[Decimal]:
        if self._values is None:
            self._values = list(map(Decimal, self._texts))
            self._texts = []
        return self._values

    @overload
    def __getitem__(self, index: int) -> Decimal: ...
    @overload
    def __getitem__(self, index: slice) -> list[Decimal]: ...
    def __getitem__(self, index: int | slice) -> Decimal | list[Decimal]:
        if self._values is None and isinstance(index, int):
            return Decimal(self._texts[index])  # one value (e.g. the first open): just that one
        return self._decimals()[index]

    def __len__(self) -> int:
        return len(self._texts) if self._values is None else len(self._values)

    def __iter__(self) -> Iterator[Decimal]:
        return iter(self._decimals())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DecimalColumn):
            return self._decimals() == other._decimals()
        if isinstance(other, list):
            return self._decimals() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a list, so unhashable like one

    def __repr__(self) -> str:
        return repr(self._decimals())


class SideColumns(NamedTuple):
    """The open, high, low and volume lists a row-by-row loader appends to (see ``appending``)."""

    open: list[Decimal]
    high: list[Decimal]
    low: list[Decimal]
    volume: list[Decimal]


@dataclass(slots=True)
class Series:
    """Candles of one coin as parallel arrays (epoch seconds of the open time + OHLCV).

    ``slot[j]`` is the index of the latest candle opened at or before ``opens[0] + j * step``: it
    turns "latest candle at or before t" into one subtraction and one list index. ``close`` is a
    list (the hot path); the other columns are read-only sequences (lists, or ``DecimalColumn``
    from the bulk loader, converted on first read).
    """

    coin: str
    step: int  # seconds per candle
    opens: list[int] = field(default_factory=list)
    open: Sequence[Decimal] = field(default_factory=list)
    high: Sequence[Decimal] = field(default_factory=list)
    low: Sequence[Decimal] = field(default_factory=list)
    close: list[Decimal] = field(default_factory=list)
    volume: Sequence[Decimal] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    slot: list[int] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.opens[0]

    @property
    def end(self) -> int:
        """Epoch seconds at which the last candle closes."""
        return self.opens[-1] + self.step

    def build_slots(self) -> None:
        slots: list[int] = []
        index = 0
        last = len(self.opens) - 1
        for t in range(self.opens[0], self.opens[-1] + 1, self.step):
            while index < last and self.opens[index + 1] <= t:
                index += 1
            slots.append(index)
        self.slot = slots


def appending(series: Series) -> SideColumns:
    """Fresh open, high, low and volume lists, set on ``series``, for a loader to append to."""
    columns = SideColumns([], [], [], [])
    series.open, series.high, series.low, series.volume = columns
    return columns


def to_epoch(at: datetime) -> int:
    """Whole epoch seconds (floor) of an aware datetime."""
    if at.tzinfo is None:
        raise InvalidRequestError(f"naive datetime {at.isoformat()}: use an aware UTC datetime")
    return (at - EPOCH) // timedelta(seconds=1)


def from_epoch(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def _open_text(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def _decimal(text: str, name: str, where: str, line: int) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ReplayDataError(where, line, f"{name} {text!r} is not a number") from None
    if not value.is_finite():
        raise ReplayDataError(where, line, f"{name} {text!r} is not finite")
    return value


def check_price(value: Decimal, name: str, where: str, line: int) -> None:
    """Refuse a price above ``MAX_PRICE_USD`` (USD per coin)."""
    if value > MAX_PRICE_USD:
        raise ReplayDataError(
            where, line, f"{name} {value} is above {MAX_PRICE_USD:,f} USD per coin: not a price"
        )


def check_move(
    high: Decimal, low: Decimal, previous_close: Decimal | None, where: str, line: int
) -> None:
    """Refuse a candle whose prices, from ``previous_close`` (None: the first candle) through
    ``low`` and ``high``, span more than a factor ``MAX_CANDLE_MOVE``."""
    limit = MAX_CANDLE_MOVE
    if previous_close is not None and high > previous_close * limit:
        problem = f"high {high} is more than {limit} times the previous close {previous_close}"
    elif previous_close is not None and low * limit < previous_close:
        problem = f"low {low} is less than 1/{limit} of the previous close {previous_close}"
    elif high > low * limit:
        problem = f"high {high} is more than {limit} times the low {low} of the same candle"
    else:
        return
    raise ReplayDataError(where, line, f"{problem}: a corrupt or mis-scaled price, not a market")


def _timestamp(text: str, where: str, line: int) -> int:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise ReplayDataError(where, line, f"timestamp {text!r} is not ISO-8601") from None
    offset = stamp.utcoffset()
    if offset is None:
        raise ReplayDataError(where, line, f"timestamp {text!r} has no UTC offset")
    if offset:
        raise ReplayDataError(where, line, f"timestamp {text!r} is not UTC")
    return to_epoch(stamp)


def _append_row(series: Series, side: SideColumns, row: list[str], where: str, line: int) -> None:
    if len(row) != len(HEADER):
        raise ReplayDataError(where, line, f"expected {len(HEADER)} columns, got {len(row)}")
    ts = _timestamp(row[0], where, line)
    o, h, lo, c, v = (_decimal(row[i], HEADER[i], where, line) for i in range(1, 6))
    if min(o, h, lo, c) <= 0:
        raise ReplayDataError(where, line, "prices must be > 0")
    for index, value in enumerate((o, h, lo, c), start=1):
        check_price(value, HEADER[index], where, line)
    if v < 0:
        raise ReplayDataError(where, line, "volume must be >= 0")
    if lo > min(o, c) or h < max(o, c):
        raise ReplayDataError(where, line, "inconsistent OHLC (need low <= open, close <= high)")
    check_move(h, lo, series.close[-1] if series.close else None, where, line)
    if ts % series.step:
        raise ReplayDataError(where, line, f"timestamp {row[0]} is off the {series.step}s grid")
    if series.opens:
        previous = series.opens[-1]
        if ts <= previous:
            problem = "duplicate timestamp" if ts == previous else "timestamp out of order"
            raise ReplayDataError(where, line, f"{problem} {row[0]}")
        if ts - previous > series.step:
            series.gaps.append(Gap(series.coin, from_epoch(previous), from_epoch(ts)))
    series.opens.append(ts)
    side.open.append(o)
    side.high.append(h)
    side.low.append(lo)
    series.close.append(c)
    side.volume.append(v)


def load_series(path: Path, coin: str, step: int) -> Series:
    """Parse one candle file strictly; see the module docstring for what is refused."""
    where = str(path)
    series = Series(coin=coin, step=step)
    side = appending(series)
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != HEADER:
            raise ReplayDataError(where, 1, f"header must be {','.join(HEADER)}, got {header}")
        try:
            for row in reader:
                if not row:
                    raise ReplayDataError(where, reader.line_num, "empty line")
                _append_row(series, side, row, where, reader.line_num)
        except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
            raise ReplayDataError(where, reader.line_num, f"unreadable: {exc}") from None
    if not series.opens:
        raise ReplayDataError(where, None, "no candles")
    series.build_slots()
    return series
