"""Historical funding: the three file formats, and the plan that applies them in the simulator.

Formats (rates are fractions of position value per interval; positive: longs pay shorts):

- Binance USD-M (``binance_usdm_<COIN>USDT_funding.csv``: ``timestamp,symbol,funding_rate``):
  a LINEAR perp's rate, the only history here for altcoins and for BTC after 2020; used as the
  proxy for the inverse perp's rate. Interval = time since the previous settlement (never assumed).
- BitMEX XBTUSD (``bitmex_XBTUSD_funding_raw.csv``: ``timestamp,symbol,fundingInterval,
  fundingRate,...``): inverse, 8 h at 04/12/20 UTC (daily before 2016-06-04); ``fundingInterval``
  is an offset from 2000-01-01 (``2000-01-01T08:00:00Z`` = 8 h).
- Deribit BTC-PERPETUAL (``deribit_BTC-PERPETUAL_funding_index_1h*.csv``): inverse, funding
  accrues continuously; ``interest_1h`` (what accrued over the hour ending at ``timestamp``) is
  settled hourly.

The simulator settles every open perpetual at each multiple of ``funding_interval_hours`` since
the epoch, at the rate set for its coin. ``FundingPlan`` picks that grid as the greatest common
divisor of every settlement hour in the run (so each real settlement falls on it) and, for each
grid instant, gives each coin the rate of its real settlement there, or 0 when it has none there.
Outside a coin's history (or with no history) the config's constant rate applies on the config's
interval (``exchange.sim.funding_rate`` / ``funding_interval_hours``), as in the plain simulator;
such settlements are counted and reported. Decisions see, at ``now``, the rate of the latest
settlement at or before ``now`` (no look-ahead).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import reduce
from pathlib import Path
from typing import Literal

import numpy as np

from bot.backtest.candles import canonical_epochs, deribit_rows, read_text
from bot.backtest.parsing import HOUR, hour_epoch, number, rows, utc_epoch
from bot.core.types import FundingRate
from bot.sim.errors import ReplayDataError
from bot.sim.series import from_epoch

FundingSource = Literal["deribit", "bitmex", "binance_usdm"]
FUNDING_SOURCES: tuple[FundingSource, ...] = ("deribit", "bitmex", "binance_usdm")
ZERO = Decimal(0)
_BITMEX_EPOCH = 946_684_800  # 2000-01-01T00:00:00Z
_PATTERNS: tuple[tuple[FundingSource, re.Pattern[str]], ...] = (
    ("binance_usdm", re.compile(r"^binance_usdm_(?P<coin>[A-Z0-9]+)USDT_funding\.csv(?:\.gz)?$")),
    ("bitmex", re.compile(r"^bitmex_XBTUSD_funding_raw\.csv(?:\.gz)?$")),
    ("deribit", re.compile(r"^deribit_BTC-PERPETUAL_funding_index_1h.*\.csv(?:\.gz)?$")),
)
_LABELS = {
    "deribit": "Deribit BTC-PERPETUAL hourly funding (inverse)",
    "bitmex": "BitMEX XBTUSD 8h funding (inverse)",
    "binance_usdm": "Binance USD-M {coin}USDT funding (LINEAR perp, proxy for the inverse rate)",
}


def funding_file(name: str) -> tuple[FundingSource, str] | None:
    """``(source, coin)`` for a funding file name, None for any other file."""
    for source, pattern in _PATTERNS:
        match = pattern.match(name)
        if match is not None:
            return source, match.groupdict().get("coin") or "BTC"
    return None


@dataclass(frozen=True, slots=True)
class FundingHistory:
    """Settlements of one coin's perpetual from one source, oldest first (epoch seconds)."""

    coin: str
    source: FundingSource
    paths: tuple[Path, ...]
    times: tuple[int, ...]
    rates: tuple[Decimal, ...]
    interval_hours: tuple[int, ...]

    @property
    def label(self) -> str:
        return _LABELS[self.source].format(coin=self.coin)

    @property
    def inverse(self) -> bool:
        return self.source != "binance_usdm"

    def covers(self, start_s: int, end_s: int) -> float:
        """Share of ``[start_s, end_s]`` inside ``[first, last]`` settlement (0..1)."""
        if end_s <= start_s:
            return 1.0 if self.times[0] <= start_s <= self.times[-1] else 0.0
        inside = min(end_s, self.times[-1]) - max(start_s, self.times[0])
        return max(inside, 0) / (end_s - start_s)


def load_history(source: FundingSource, coin: str, paths: Iterable[Path]) -> FundingHistory:
    """Parse one or more files (parts, in name order) of one source; errors name file and line."""
    times: list[int] = []
    rates: list[Decimal] = []
    intervals: list[int | None] = []
    ordered = tuple(sorted(paths))
    for path in ordered:
        if source == "binance_usdm":
            text = read_text(path)
            columns = _binance_columns(text, coin)
            if columns is not None and _clearly_valid(columns, times[-1] if times else None):
                times.extend(columns[0])
                rates.extend(columns[1])
                intervals.extend([None] * len(columns[0]))
                continue
            parsed = _binance_rows(path, text, coin, columns)
        else:
            parsed = {"bitmex": _bitmex, "deribit": _deribit}[source](path, coin)
        for line, at, rate, hours in parsed:
            if times and at <= times[-1]:
                problem = "duplicate" if at == times[-1] else "out-of-order"
                raise ReplayDataError(str(path), line, f"{problem} settlement {from_epoch(at)}")
            if abs(rate) > 1:
                raise ReplayDataError(str(path), line, f"funding rate {rate} outside -1..1")
            times.append(at)
            rates.append(rate)
            intervals.append(hours)
    if not times:
        raise ReplayDataError(str(ordered[0]), None, "no funding settlements")
    return FundingHistory(
        coin, source, ordered, tuple(times), tuple(rates), _fill_intervals(times, intervals)
    )


def _clearly_valid(columns: tuple[list[int], list[Decimal]], previous: int | None) -> bool:
    """Whether one file's settlements (epoch s, rates) pass ``load_history``'s row checks, decided
    in bulk: times strictly increasing (after ``previous``, the prior part's last) and every
    |rate| < 1 as a float. Rounding to float is monotonic, so a rate above 1 never reads below 1;
    a float at exactly 1 is left to the exact per-row check, which then names the line."""
    times, rates = columns
    epochs = np.array(times, dtype=np.int64)
    if previous is not None and epochs.size and epochs[0] <= previous:
        return False
    floats = np.fromiter(map(float, rates), dtype=np.float64, count=len(rates))
    return bool(np.all(np.diff(epochs) > 0) and np.all(np.abs(floats) < 1))


def _fill_intervals(times: list[int], given: list[int | None]) -> tuple[int, ...]:
    """Each settlement's interval in hours: as given, else the time since the previous (the
    first: to the next; a lone settlement: 8 h); at least 1."""
    if given.count(None) == len(given) and len(times) > 1:
        # No interval given (Binance): every one is a time difference, computed in bulk.
        spans = np.diff(np.array(times, dtype=np.int64)) // HOUR
        hours: list[int] = np.maximum(np.concatenate((spans[:1], spans)), 1).tolist()
        return tuple(hours)
    out: list[int] = []
    for i, stated in enumerate(given):
        if stated is None:
            if i:
                stated = (times[i] - times[i - 1]) // HOUR
            else:
                stated = (times[1] - times[0]) // HOUR if len(times) > 1 else 8
        out.append(max(stated, 1))
    return tuple(out)


Parsed = Iterable[tuple[int, int, Decimal, int | None]]  # line, epoch s, rate, interval hours


def _fast_columns(text: str, header: str) -> tuple[list[int], list[list[str]]] | None:
    """Epoch seconds and the other columns of a canonical CSV (exact ``header``, plain cells,
    ``...T00:00:00Z`` stamps on whole hours); None when the strict per-row parser must judge."""
    if "\r" in text or '"' in text:
        return None
    first, _, body = text.partition("\n")
    body = body.removesuffix("\n")
    width = header.count(",") + 1
    count = body.count("\n") + 1
    if first != header or not body or body.count(",") != (width - 1) * count or "\n\n" in body:
        return None
    cells = body.replace("\n", ",").split(",")
    epochs = canonical_epochs(cells[0::width])
    if epochs is None or epochs.size != count or (epochs % HOUR).any():
        return None
    return epochs.tolist(), [cells[i::width] for i in range(1, width)]


def _decimals(texts: list[str]) -> list[Decimal] | None:
    try:
        values = list(map(Decimal, texts))
    except InvalidOperation:
        return None
    return values if all(map(Decimal.is_finite, values)) else None


def _binance_columns(text: str, coin: str) -> tuple[list[int], list[Decimal]] | None:
    """Settlement times (epoch s) and exact rates of a canonical Binance file, read in bulk; None
    when the strict per-row parser must judge it."""
    fast = _fast_columns(text, "timestamp,symbol,funding_rate")
    if fast is None or fast[1][0].count(f"{coin}USDT") != len(fast[1][0]):  # all this symbol
        return None
    rates = _decimals(fast[1][1])
    return None if rates is None else (fast[0], rates)


def _binance_rows(
    path: Path, text: str, coin: str, columns: tuple[list[int], list[Decimal]] | None
) -> Parsed:
    """Rows of a Binance file: from ``columns`` when the bulk read took it, else strictly."""
    if columns is not None:
        yield from ((i + 2, at, r, None) for i, (at, r) in enumerate(zip(*columns, strict=True)))
        return
    where, symbol = str(path), f"{coin}USDT"
    for line, row in rows(text, where, ("timestamp", "symbol", "funding_rate")):
        if row[1] != symbol:
            raise ReplayDataError(where, line, f"symbol {row[1]!r}, expected {symbol!r}")
        rate = number(row[2], "funding_rate", where, line)
        yield line, hour_epoch(row[0], "timestamp", where, line), rate, None


def _bitmex(path: Path, coin: str) -> Parsed:
    where = str(path)
    header = ("timestamp", "symbol", "fundingInterval", "fundingRate")
    text = read_text(path)
    fast = _fast_columns(text, ",".join((*header, "fundingRateDaily")))
    if fast is not None and all(s == "XBTUSD" for s in fast[1][0]):
        hours = {v: _bitmex_hours(v) for v in set(fast[1][1])}
        rates = _decimals(fast[1][2])
        if rates is not None and None not in hours.values():
            yield from (
                (i + 2, at, rate, hours[interval])
                for i, (at, interval, rate) in enumerate(
                    zip(fast[0], fast[1][1], rates, strict=True)
                )
            )
            return
    for line, row in rows(text, where, header):
        if row[1] != "XBTUSD":
            raise ReplayDataError(where, line, f"symbol {row[1]!r}, expected 'XBTUSD'")
        offset = utc_epoch(row[2], "fundingInterval", where, line) - _BITMEX_EPOCH
        if offset <= 0 or offset % HOUR:
            raise ReplayDataError(where, line, f"fundingInterval {row[2]!r} is not whole hours")
        rate = number(row[3], "fundingRate", where, line)
        yield line, hour_epoch(row[0], "timestamp", where, line), rate, offset // HOUR


def _bitmex_hours(text: str) -> int | None:
    """Hours of a BitMEX ``fundingInterval`` (an offset from 2000-01-01), None if not whole."""
    try:
        offset = utc_epoch(text, "fundingInterval", "", 0) - _BITMEX_EPOCH
    except ReplayDataError:
        return None
    return offset // HOUR if offset > 0 and not offset % HOUR else None


def _deribit(path: Path, coin: str) -> Parsed:
    where = str(path)
    parsed, _ = deribit_rows(path)  # in time order (see deribit_rows)
    for at, line, row in parsed:
        yield line, at, number(row[5], "interest_1h", where, line), 1


@dataclass(slots=True)
class FundingPlan:
    """Which rate each coin's perpetual settles at each grid instant (see the module docstring).

    ``histories``: the chosen history per coin; ``fallback``: the config's constant rate per coin
    (``default`` for others) on ``fallback_hours``. ``start_s``/``end_s`` bound the run.
    """

    coins: tuple[str, ...]
    histories: Mapping[str, FundingHistory]
    fallback: Mapping[str, Decimal]
    default: Decimal
    fallback_hours: int
    start_s: int
    end_s: int
    fallback_used: dict[str, int] = field(default_factory=dict)  # coin -> settlements
    grid_hours: int = 0
    _by_time: dict[str, dict[int, Decimal]] = field(default_factory=dict)
    _cache: dict[tuple[str, str], tuple[int, FundingRate]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_time = {
            c: dict(zip(h.times, h.rates, strict=True)) for c, h in self.histories.items()
        }
        hours: set[int] = set()
        for history in self.histories.values():
            for at, interval in zip(history.times, history.interval_hours, strict=True):
                if self.start_s < at <= self.end_s:
                    hours.update((at // HOUR, interval))  # the interval keeps a lone one sane
        if any(self._outside(coin, t) for coin in self.coins for t in (self.start_s, self.end_s)):
            hours.add(self.fallback_hours)
        self.grid_hours = reduce(math.gcd, hours, 0) or self.fallback_hours

    def _outside(self, coin: str, at: int) -> bool:
        history = self.histories.get(coin)
        return history is None or not history.times[0] <= at <= history.times[-1]

    def rates_at(self, at: int) -> dict[str, Decimal]:
        """The rate of every coin's settlement at grid instant ``at`` (epoch s); 0 = none."""
        out: dict[str, Decimal] = {}
        for coin in self.coins:
            if not self._outside(coin, at):
                out[coin] = self._by_time[coin].get(at, ZERO)
            elif at % (self.fallback_hours * HOUR) == 0:
                out[coin] = self.fallback.get(coin, self.default)
                self.fallback_used[coin] = self.fallback_used.get(coin, 0) + 1
            else:
                out[coin] = ZERO
        return out

    def funding_rate(self, coin: str, symbol: str, now: int) -> FundingRate:
        """What a decision at ``now`` sees: the latest settlement at or before ``now``."""
        history = self.histories.get(coin)
        index = -1 if history is None else bisect_right(history.times, now) - 1
        if history is None or now > history.times[-1]:
            index = -1
        cached = self._cache.get((coin, symbol))
        if cached is not None and cached[0] == index:
            return cached[1]
        if history is None or index < 0:
            rate = FundingRate(
                symbol, self.fallback.get(coin, self.default), Decimal(self.fallback_hours)
            )
        else:
            following = index + 1 < len(history.times)
            rate = FundingRate(
                symbol,
                rate=history.rates[index],
                interval_hours=Decimal(history.interval_hours[index]),
                next_funding_time=from_epoch(history.times[index + 1]) if following else None,
            )
        self._cache[(coin, symbol)] = (index, rate)
        return rate

    def notes(self, coins: Iterable[str] | None = None) -> list[str]:
        """Where each coin's funding came from, and any settlements that used the fallback;
        ``coins``: only these (e.g. the perps that held a position)."""
        out: list[str] = []
        wanted = set(self.coins if coins is None else coins)
        for coin in (c for c in self.coins if c in wanted):
            history = self.histories.get(coin)
            constant = self.fallback.get(coin, self.default)
            if history is not None:
                first, last = from_epoch(history.times[0]), from_epoch(history.times[-1])
                span = f"{first:%Y-%m-%d}..{last:%Y-%m-%d}"
                files = ", ".join(p.name for p in history.paths)
                out.append(f"funding {coin}: {history.label}, {span} ({files})")
            used = self.fallback_used.get(coin, 0)
            if history is None or used:
                out.append(
                    f"funding {coin}: {used} settlement(s) without history used the config's "
                    f"constant {constant} per {self.fallback_hours}h"
                )
        return out
