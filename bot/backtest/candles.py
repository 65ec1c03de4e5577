"""Candle files -> ``bot.sim.series.Series``, fast, with the simulator's own strictness.

``load_candles`` accepts exactly what ``bot.sim.series.load_series`` accepts and returns an equal
``Series``: it parses the common canonical form (``...T00:00:00Z`` timestamps, plain numbers, no
quoting) with vectorised checks, and hands any file it is not sure about to ``load_series``
itself, which then names the file and the 1-based line of the first problem. A file the fast path
takes is therefore one the strict loader would also take, with the same values (``Decimal`` of
the same text). Both refuse absurd prices (``bot.sim.series.check_price``, ``check_move``: above
1e9 USD, or a span of more than 100 times in one candle), as ``deribit_index_series`` does.

``deribit_index_series`` turns the Deribit BTC-PERPETUAL hourly file (``timestamp,timestamp_ms,
index_price,prev_index_price,interest_8h,interest_1h``) into 1h candles: the row stamped ``T``
is the candle opened at ``T − 1h`` with open ``prev_index_price`` and close ``index_price`` (high
and low the larger and smaller of the two, volume 0), so the price at ``T`` is the index at ``T``.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.backtest.parsing import HOUR, hour_epoch, price, rows
from bot.core.bounds import MAX_PRICE_USD
from bot.sim.errors import ReplayDataError
from bot.sim.series import (
    HEADER,
    MAX_CANDLE_MOVE,
    DecimalColumn,
    Gap,
    Series,
    SideColumns,
    appending,
    check_move,
    from_epoch,
    load_series,
)

DERIBIT_HEADER = (
    "timestamp",
    "timestamp_ms",
    "index_price",
    "prev_index_price",
    "interest_8h",
    "interest_1h",
)
ZERO = Decimal(0)
_CANONICAL_TS_LEN = len("2022-01-01T00:00:00Z")
# The fast path takes only prices clearly inside the strict loader's limits: below 1e9 (floats
# round monotonically, so a text above 1e9 never reads as a float below it) and spans under
# 99.9 % of the limit; anything at or near an edge is the strict loader's exact (Decimal) call.
_FAST_MAX_PRICE = float(MAX_PRICE_USD)
_FAST_MAX_MOVE = float(MAX_CANDLE_MOVE) * 0.999


def read_text(path: Path) -> str:
    """The whole file as text (gzip when the name ends in ``.gz``); errors name the file."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
                return handle.read()
        return path.read_text(encoding="utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ReplayDataError(str(path), None, f"unreadable: {exc}") from None


def load_candles(path: Path, coin: str, step: int) -> Series:
    """One candle file as a ``Series`` (see the module docstring); ``ReplayDataError`` names the
    file and line of a problem."""
    series = _fast_series(read_text(path), coin, step)
    return series if series is not None else load_series(path, coin, step)


def _fast_series(text: str, coin: str, step: int) -> Series | None:
    """The canonical-form fast path; None when anything needs the strict loader's judgement.

    The body is split on commas and newlines in one go and read as six interleaved columns; a
    row with a missing or extra cell shifts a timestamp into a number column (or the reverse),
    which the type checks below refuse, so such a file goes to the strict loader. Only closes
    become Decimals here; open, high, low and volume stay texts until first read
    (``DecimalColumn``)."""
    if "\r" in text or '"' in text or "_" in text or not text.isascii():
        # ASCII without underscores: every text float() reads as finite, Decimal() reads too, so
        # the columns left as texts (DecimalColumn) cannot fail when read later.
        return None
    header, _, body = text.partition("\n")
    body = body.removesuffix("\n")
    count = body.count("\n") + 1
    if header != ",".join(HEADER) or not body or body.count(",") != 5 * count:
        return None
    if "\n\n" in body or body.startswith("\n"):
        return None
    cells = body.replace("\n", ",").split(",")
    stamps = cells[0::6]
    columns = [cells[i::6] for i in range(1, 6)]
    opens = canonical_epochs(stamps)
    if opens is None or opens.size != count:
        return None
    try:
        o, h, lo, c, v = (np.array(col, dtype=np.float64) for col in columns)
    except ValueError:
        return None
    values = np.stack([o, h, lo, c, v])
    if not np.all(np.isfinite(values)) or np.any(values[:4] <= 0) or np.any(v < 0):
        return None
    if np.any(values[:4] >= _FAST_MAX_PRICE) or not _moves_sane(h, lo, c):
        return None
    if np.any(opens % step) or np.any(np.diff(opens) <= 0):
        return None
    if not _ohlc_consistent(o, h, lo, c, columns):
        return None
    series = Series(coin=coin, step=step, opens=opens.tolist())
    series.open, series.high, series.low, _, series.volume = map(DecimalColumn, columns)
    series.close = list(map(Decimal, columns[3]))
    holes = np.flatnonzero(np.diff(opens) > step).tolist()
    series.gaps = [
        Gap(coin, from_epoch(series.opens[i]), from_epoch(series.opens[i + 1])) for i in holes
    ]
    grid = np.arange(opens[0], opens[-1] + 1, step, dtype=np.int64)
    series.slot = (np.searchsorted(opens, grid, side="right") - 1).tolist()
    return series


def _moves_sane(
    h: npt.NDArray[np.float64], lo: npt.NDArray[np.float64], c: npt.NDArray[np.float64]
) -> bool:
    """Every candle's span, from the previous close through its low and high, clearly under
    ``MAX_CANDLE_MOVE`` (``bot.sim.series.check_move`` decides the rest, exactly)."""
    top = np.maximum(h[1:], c[:-1])
    bottom = np.minimum(lo[1:], c[:-1])
    return bool(np.all(h[:1] < lo[:1] * _FAST_MAX_MOVE) and np.all(top < bottom * _FAST_MAX_MOVE))


def canonical_epochs(stamps: list[str]) -> npt.NDArray[np.int64] | None:
    """Epoch seconds of ``YYYY-MM-DDTHH:MM:SSZ`` stamps; None for any other form."""
    if not stamps:
        return np.zeros(0, dtype=np.int64)
    texts = np.array(stamps)
    # Checked on the code points: all 20 long (numpy pads shorter ones with NULs, so position 19
    # is "Z" only when a stamp is that long), with "T" at 10 and "Z" at 19, and no NUL inside
    # (numpy's date parser would stop there, where Python's strings go on).
    if texts.dtype != np.dtype(f"<U{_CANONICAL_TS_LEN}"):
        return None
    codes = texts.view(np.uint32).reshape(len(stamps), _CANONICAL_TS_LEN)
    if np.any(codes[:, 10] != ord("T")) or np.any(codes[:, -1] != ord("Z")) or not codes.all():
        return None
    try:
        parsed = texts.astype(f"<U{_CANONICAL_TS_LEN - 1}").astype("datetime64[s]")  # no "Z"
    except ValueError:
        return None
    epochs: npt.NDArray[np.int64] = parsed.astype(np.int64)
    return epochs


def _ohlc_consistent(
    o: npt.NDArray[np.float64],
    h: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    texts: list[list[str]],
) -> bool:
    """low <= min(open, close) and high >= max(open, close), exactly: floats decide the clear
    cases, Decimals of the texts (open, high, low, close, volume) the rows where floats tie."""
    low_ref, high_ref = np.minimum(o, c), np.maximum(o, c)
    if np.any(lo > low_ref) or np.any(h < high_ref):
        return False
    to, th, tl, tc, _ = texts
    for i in np.flatnonzero((lo == low_ref) | (h == high_ref)).tolist():
        do, dh, dl, dc = Decimal(to[i]), Decimal(th[i]), Decimal(tl[i]), Decimal(tc[i])
        if dl > min(do, dc) or dh < max(do, dc):
            return False
    return True


@cache
def deribit_rows(path: Path) -> tuple[list[tuple[int, int, list[str]]], list[int]]:
    """``(epoch s, line, cells)`` of a Deribit file in time order, and the lines that were out of
    order. The published file has one (its uploader sorted by Europe/London local time, so the
    autumn DST hour comes back); each row carries its own UTC timestamp, so order is restored
    and only a duplicate timestamp is an error."""
    where = str(path)
    parsed = [
        (hour_epoch(row[0], "timestamp", where, line), line, row)
        for line, row in rows(read_text(path), where, DERIBIT_HEADER)
    ]
    moved = [line for (t, line, _), (u, _, _) in zip(parsed[1:], parsed, strict=False) if t <= u]
    parsed.sort(key=lambda item: item[0])
    for (t, line, row), (u, previous, _) in zip(parsed[1:], parsed, strict=False):
        if t == u:
            raise ReplayDataError(where, line, f"timestamp {row[0]} repeats line {previous}")
    return parsed, moved


def deribit_index_series(paths: Sequence[Path]) -> Series:
    """BTC 1h candles from the Deribit index column of one or more consecutive files (parts, in
    name order); see the module docstring."""
    series = Series(coin="BTC", step=HOUR)
    side = appending(series)
    for path in sorted(paths):
        _add_deribit_candles(series, side, path)
    if not series.opens:
        raise ReplayDataError(", ".join(map(str, paths)), None, "no index prices")
    series.build_slots()
    return series


def _add_deribit_candles(series: Series, side: SideColumns, path: Path) -> None:
    where = str(path)
    parsed, _ = deribit_rows(path)
    for stamp, line, row in parsed:
        close = price(row[2], "index_price", where, line)
        if not row[3]:
            continue  # the first hour has no previous index: no complete candle
        previous = price(row[3], "prev_index_price", where, line)
        high, low = max(previous, close), min(previous, close)
        check_move(high, low, series.close[-1] if series.close else None, where, line)
        opened = stamp - HOUR
        if series.opens:
            last = series.opens[-1]
            if opened <= last:
                raise ReplayDataError(where, line, f"timestamp {row[0]} is not after the previous")
            if opened - last > HOUR:
                series.gaps.append(Gap("BTC", from_epoch(last), from_epoch(opened)))
        series.opens.append(opened)
        side.open.append(previous)
        side.high.append(high)
        side.low.append(low)
        series.close.append(close)
        side.volume.append(ZERO)
