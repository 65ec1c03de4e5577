"""Price feeds for the simulated exchange: fixed prices, or a replay of real hourly candles.

Time convention (no look-ahead), shared by both feeds and the engine:

* A candle stamped ``T`` is the candle OPENED at ``T``; it covers ``[T, T+step)`` and its close
  becomes known at ``T+step``.
* ``price(coin, t)`` is the close of the latest candle that CLOSED at or before ``t``
  (open <= t - step). Exception: before the first candle has closed
  (``first_open <= t < first_open + step``) the price is that candle's OPEN, known at its open time.
  So at a candle's open time the price is the previous close, and it moves only at candle closes.
* ``candles(...)`` returns only closed candles: never the candle in progress at ``until``.
* A replay feed covers ``[start, end]``: ``start`` is the latest first-candle open of its coins
  (the first instant every coin has a price), ``end`` the earliest last-candle close. Asking for a
  price outside one coin's own data raises ``FeedRangeError``; nothing is extrapolated.
* Gaps are never filled: the price HOLDS at the close of the last candle before a gap until the
  next candle closes. Every gap is reported in ``ReplayFeed.gaps`` as ``Gap(coin, from, to)``
  (open times of the candles either side of the hole).
* Replay prices are USDT per coin, used as USD (basis ignored).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from bot.core.types import Candle
from bot.sim.errors import FeedError, FeedRangeError, ReplayDataError
from bot.sim.series import Gap, Series, from_epoch, load_series, to_epoch

__all__ = ["FixedPrices", "Gap", "PriceFeed", "ReplayFeed", "parse_file_name", "timeframe_seconds"]

HOUR = 3600
_FILE_RE = re.compile(
    r"^(?:.+_)?(?P<coin>[A-Z0-9]+?)(?:USDT|USDC|BUSD|FDUSD|USD)_(?P<tf>\d+[mhd])\.csv(?:\.gz)?$"
)
_UNIT_SECONDS = {"m": 60, "h": HOUR, "d": 24 * HOUR}
ZERO = Decimal(0)


def timeframe_seconds(timeframe: str) -> int:
    """``"1h"`` -> 3600, ``"15m"`` -> 900, ``"1d"`` -> 86400; ValueError otherwise."""
    match = re.fullmatch(r"(\d+)([mhd])", timeframe)
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(f"unsupported timeframe {timeframe!r} (use e.g. 15m, 1h, 4h, 1d)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_file_name(name: str) -> tuple[str, int] | None:
    """``binance_spot_BTCUSDT_1h.csv.gz`` -> ``("BTC", 3600)``; None if the name does not fit."""
    match = _FILE_RE.match(name)
    if match is None:
        return None
    return match.group("coin"), timeframe_seconds(match.group("tf"))


class PriceFeed(Protocol):
    """What the engine needs from a price source. Times are aware UTC datetimes."""

    @property
    def coins(self) -> tuple[str, ...]: ...

    @property
    def start(self) -> datetime | None: ...

    @property
    def end(self) -> datetime | None: ...

    @property
    def step_seconds(self) -> int | None:
        """Seconds between price changes (candle length); None when prices change only on demand."""
        ...

    def price(self, coin: str, at: datetime) -> Decimal: ...

    def price_at(self, coin: str, epoch_seconds: int) -> Decimal:
        """Same as ``price`` with the time as whole epoch seconds (the engine's hot path)."""
        ...

    def candles(
        self,
        coin: str,
        until: datetime,
        limit: int,
        since: datetime | None = None,
        timeframe: int = HOUR,
    ) -> list[Candle]:
        """Closed candles (close time <= ``until``), oldest first, of the first ``limit`` periods
        from ``since`` or, when ``since`` is None, of the last ``limit`` periods before ``until``
        (a gap yields fewer candles; nothing is filled). ``timeframe`` in seconds, a multiple
        of the data's step; longer candles aggregate the shorter ones."""
        ...


class FixedPrices:
    """Constant prices by coin (USD per coin); ``set_price`` moves one (tests, emulator).

    Candles are flat (open = high = low = close = price, volume 0) on the ``timeframe`` grid.
    """

    def __init__(self, prices: Mapping[str, Decimal]) -> None:
        self._prices: dict[str, Decimal] = {}
        for coin, price in prices.items():
            self.set_price(coin, price)

    @property
    def coins(self) -> tuple[str, ...]:
        return tuple(sorted(self._prices))

    @property
    def start(self) -> datetime | None:
        return None

    @property
    def end(self) -> datetime | None:
        return None

    @property
    def step_seconds(self) -> int | None:
        return None

    def set_price(self, coin: str, price: Decimal) -> None:
        if not price.is_finite() or price <= 0:
            raise FeedError(f"price of {coin} must be a positive number, got {price}")
        self._prices[coin] = price

    def price(self, coin: str, at: datetime) -> Decimal:
        return self.price_at(coin, 0)

    def price_at(self, coin: str, epoch_seconds: int) -> Decimal:
        try:
            return self._prices[coin]
        except KeyError:
            raise FeedError(f"no price for {coin!r}") from None

    def candles(
        self,
        coin: str,
        until: datetime,
        limit: int,
        since: datetime | None = None,
        timeframe: int = HOUR,
    ) -> list[Candle]:
        price = self.price_at(coin, 0)
        last_open = to_epoch(until) // timeframe * timeframe - timeframe  # last closed candle
        if since is None:
            first_open = last_open - (limit - 1) * timeframe
        else:
            first_open = -(-to_epoch(since) // timeframe) * timeframe
            last_open = min(last_open, first_open + (limit - 1) * timeframe)
        return [
            Candle(from_epoch(t), price, price, price, price, ZERO)
            for t in range(first_open, last_open + 1, timeframe)
        ]


class ReplayFeed:
    """Real candles loaded from a folder of ``<venue>_spot_<COIN><QUOTE>_<tf>.csv[.gz]`` files.

    Files whose names do not fit the pattern are ignored (e.g. a README); all candle files must
    share one timeframe, and one coin may appear only once. ``coins`` restricts what is loaded.
    Storage is one ``Series`` of parallel arrays per coin; a price lookup is O(1).
    """

    def __init__(self, folder: Path | str, coins: Iterable[str] | None = None) -> None:
        root = Path(folder)
        if not root.is_dir():
            raise ReplayDataError(str(root), None, "not a directory")
        wanted = None if coins is None else set(coins)
        self._series: dict[str, Series] = {}
        step: int | None = None
        for path in sorted(root.iterdir()):
            parsed = parse_file_name(path.name)
            if parsed is None or not path.is_file():
                continue
            coin, file_step = parsed
            if wanted is not None and coin not in wanted:
                continue
            if step is not None and file_step != step:
                raise ReplayDataError(
                    str(path), None, f"timeframe {file_step}s differs from {step}s"
                )
            if coin in self._series:
                raise ReplayDataError(str(path), None, f"a second file for {coin}")
            step = file_step
            self._series[coin] = load_series(path, coin, file_step)
        if step is None:
            raise ReplayDataError(
                str(root), None, "no candle files (e.g. binance_spot_BTCUSDT_1h.csv.gz)"
            )
        missing = sorted((wanted or set()) - set(self._series))
        if missing:
            raise ReplayDataError(str(root), None, f"no candle file for {', '.join(missing)}")
        self._init_range(str(root), step)

    @classmethod
    def from_series(cls, series: Iterable[Series], source: str = "<series>") -> ReplayFeed:
        """A feed over candles loaded elsewhere (e.g. by a faster or converting loader), with the
        folder constructor's checks: one timeframe, one series per coin, overlapping ranges.
        ``source`` names the data in error messages. The series are used as given (not copied)."""
        feed = cls.__new__(cls)
        feed._series = {}
        step: int | None = None
        for s in series:
            if step is not None and s.step != step:
                raise ReplayDataError(source, None, f"timeframe {s.step}s differs from {step}s")
            if s.coin in feed._series:
                raise ReplayDataError(source, None, f"a second series for {s.coin}")
            if not s.opens or len(s.slot) != (s.opens[-1] - s.opens[0]) // s.step + 1:
                raise ReplayDataError(source, None, f"{s.coin}: empty, or slots not built")
            step = s.step
            feed._series[s.coin] = s
        if step is None:
            raise ReplayDataError(source, None, "no candle series")
        feed._init_range(source, step)
        return feed

    def _init_range(self, source: str, step: int) -> None:
        self._step = step
        self._start = max(s.first for s in self._series.values())
        self._end = min(s.end for s in self._series.values())
        if self._start > self._end:
            raise ReplayDataError(source, None, "the coins' candle ranges do not overlap")
        self.gaps: list[Gap] = sorted(
            (g for s in self._series.values() for g in s.gaps), key=lambda g: (g.from_open, g.coin)
        )
        self._ordered = tuple((coin, self._series[coin]) for coin in sorted(self._series))

    @property
    def coins(self) -> tuple[str, ...]:
        return tuple(sorted(self._series))

    @property
    def start(self) -> datetime:
        return from_epoch(self._start)

    @property
    def end(self) -> datetime:
        return from_epoch(self._end)

    @property
    def step_seconds(self) -> int:
        return self._step

    def series(self, coin: str) -> Series:
        """The raw parallel arrays of one coin (read-only by convention)."""
        try:
            return self._series[coin]
        except KeyError:
            raise FeedError(f"no replay data for {coin!r}") from None

    def price(self, coin: str, at: datetime) -> Decimal:
        return self.price_at(coin, to_epoch(at))

    def price_at(self, coin: str, epoch_seconds: int) -> Decimal:
        s = self.series(coin)
        j = (epoch_seconds - s.opens[0]) // s.step - 1  # slot of t - step: candles closed by t
        if j < 0:
            if epoch_seconds < s.opens[0]:
                raise FeedRangeError(f"{coin}: {from_epoch(epoch_seconds)} is before the data")
            return s.open[0]
        if epoch_seconds > s.end:
            raise FeedRangeError(f"{coin}: {from_epoch(epoch_seconds)} is after the data")
        return s.close[s.slot[j]]

    def prices_at(self, epoch_seconds: int) -> dict[str, Decimal]:
        """``price_at`` of every coin (in ``coins`` order), in one pass."""
        out: dict[str, Decimal] = {}
        for coin, s in self._ordered:
            opens = s.opens
            j = (epoch_seconds - opens[0]) // s.step - 1
            if j < 0 or epoch_seconds > opens[-1] + s.step:  # before the first close, or after
                out[coin] = self.price_at(coin, epoch_seconds)  # the data: its answer or error
            else:
                out[coin] = s.close[s.slot[j]]
        return out

    def candles(
        self,
        coin: str,
        until: datetime,
        limit: int,
        since: datetime | None = None,
        timeframe: int = HOUR,
    ) -> list[Candle]:
        s = self.series(coin)
        if limit <= 0:
            return []
        if timeframe % s.step:
            raise FeedError(f"timeframe {timeframe}s is not a multiple of the data's {s.step}s")
        last_bucket = to_epoch(until) // timeframe * timeframe - timeframe  # last closed bucket
        if since is None:
            first_bucket = last_bucket - (limit - 1) * timeframe
        else:
            first_bucket = -(-to_epoch(since) // timeframe) * timeframe
            last_bucket = min(last_bucket, first_bucket + (limit - 1) * timeframe)
        lo = bisect_left(s.opens, first_bucket)
        hi = bisect_right(s.opens, last_bucket + timeframe - s.step)
        if timeframe == s.step:
            return [
                Candle(
                    from_epoch(s.opens[i]), s.open[i], s.high[i], s.low[i], s.close[i], s.volume[i]
                )
                for i in range(lo, hi)
            ]
        return _aggregate(s, lo, hi, timeframe)


def _aggregate(s: Series, lo: int, hi: int, timeframe: int) -> list[Candle]:
    """Group base candles ``[lo, hi)`` into ``timeframe`` buckets; empty buckets are skipped."""
    out: list[Candle] = []
    i = lo
    while i < hi:
        bucket = s.opens[i] // timeframe * timeframe
        j = i
        high, low, volume = s.high[i], s.low[i], ZERO
        while j < hi and s.opens[j] < bucket + timeframe:
            high = max(high, s.high[j])
            low = min(low, s.low[j])
            volume += s.volume[j]
            j += 1
        out.append(Candle(from_epoch(bucket), s.open[i], high, low, s.close[j - 1], volume))
        i = j
    return out
