"""A data folder for a backtest: which files hold each coin's prices and funding, loaded strictly.

The folder is searched recursively (so ``shared/data`` with its ``spot_1h/``, ``perp_binance_usdm/``
and ``inverse_perp/`` works as it is). Recognised files:

- candles named like the simulator's replay files, ``<venue>_spot_<COIN><QUOTE>_<tf>.csv[.gz]``
  (``bot.sim.feed.parse_file_name``): one file per coin, one timeframe for all;
- funding: see ``bot.backtest.funding``;
- the Deribit BTC-PERPETUAL file also gives BTC prices (its hourly index, as candles) and is used
  for BTC when no candle file covers the requested period (its 2019-04..2020-06 predates the
  spot files; the README measured it within 4.8 bp median of Binance BTCUSDT).

Everything else is ignored. Only the coins the run needs are loaded. Funding per coin, unless
overridden: the history covering most of the period; among equals the venue of the price source,
then inverse before linear. Gaps are never filled (the price holds, ``bot.sim.feed``) and are
listed in the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.backtest.candles import deribit_index_series, deribit_rows, load_candles
from bot.backtest.funding import (
    FUNDING_SOURCES,
    FundingHistory,
    FundingSource,
    funding_file,
    load_history,
)
from bot.sim.errors import ReplayDataError
from bot.sim.feed import ReplayFeed, parse_file_name
from bot.sim.series import Series, from_epoch

DERIBIT_INDEX = "Deribit BTC index (hourly, as 1h candles)"
FundingChoice = FundingSource | str  # a source name, or "config" for the config's constant rate


@dataclass(frozen=True, slots=True)
class DataFiles:
    """What a folder holds: candle files by coin (with their step) and funding files."""

    root: Path
    candles: Mapping[str, tuple[tuple[Path, int], ...]]
    funding: Mapping[tuple[str, FundingSource], tuple[Path, ...]]


def discover(root: Path) -> DataFiles:
    """Recognised files below ``root`` (sorted; hidden folders skipped)."""
    if not root.is_dir():
        raise ReplayDataError(str(root), None, "not a directory")
    candles: dict[str, list[tuple[Path, int]]] = {}
    funding: dict[tuple[str, FundingSource], list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        parsed = parse_file_name(path.name)
        if parsed is not None:
            candles.setdefault(parsed[0], []).append((path, parsed[1]))
            continue
        found = funding_file(path.name)
        if found is not None:
            funding.setdefault((found[1], found[0]), []).append(path)
    return DataFiles(
        root,
        {coin: tuple(files) for coin, files in candles.items()},
        {key: tuple(paths) for key, paths in funding.items()},
    )


@dataclass(frozen=True, slots=True)
class MarketData:
    """The loaded prices (one replay feed) and every funding history found for its coins."""

    root: Path
    feed: ReplayFeed
    price_sources: Mapping[str, str]  # coin -> file name or DERIBIT_INDEX
    histories: Mapping[str, tuple[FundingHistory, ...]]  # coin -> available histories
    repairs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # source -> notes

    def uses(self, source: str, histories: Mapping[str, FundingHistory]) -> bool:
        """Whether a run with these funding histories reads files of ``source`` (``deribit``)."""
        prices = source == "deribit" and DERIBIT_INDEX in self.price_sources.values()
        return prices or any(h.source == source for h in histories.values())


def load_market_data(
    root: Path, coins: Sequence[str], start_s: int | None = None, end_s: int | None = None
) -> MarketData:
    """Load the prices of ``coins`` (covering ``[start_s, end_s]`` when given) and their funding."""
    files = discover(root)
    series: list[Series] = []
    sources: dict[str, str] = {}
    for coin in sorted(set(coins)):
        chosen, label = _price_series(files, coin, start_s, end_s)
        series.append(chosen)
        sources[coin] = label
    feed = ReplayFeed.from_series(series, str(root))
    histories = {
        coin: tuple(
            load_history(source, coin, files.funding[(coin, source)])
            for source in FUNDING_SOURCES
            if (coin, source) in files.funding
        )
        for coin in feed.coins
    }
    deribit = tuple(
        f"{path.name}: line(s) {', '.join(map(str, moved))} out of time order, taken in time order"
        for (coin, source), paths in sorted(files.funding.items())
        if source == "deribit" and coin in feed.coins
        for path in paths
        if (moved := deribit_rows(path)[1])
    )
    return MarketData(root, feed, sources, histories, {"deribit": deribit})


def _price_series(
    files: DataFiles, coin: str, start_s: int | None, end_s: int | None
) -> tuple[Series, str]:
    options = files.candles.get(coin, ())
    if len(options) > 1:
        names = ", ".join(str(path) for path, _ in options)
        raise ReplayDataError(str(files.root), None, f"several candle files for {coin}: {names}")
    deribit = files.funding.get((coin, "deribit"), ()) if coin == "BTC" else ()
    tried: list[str] = []
    if options:
        path, step = options[0]
        loaded = load_candles(path, coin, step)
        if _covers(loaded, start_s, end_s):
            return loaded, path.name
        tried.append(f"{path.name} covers {_span(loaded)}")
    if deribit:
        index = deribit_index_series(deribit)
        if _covers(index, start_s, end_s) or not options:
            return index, DERIBIT_INDEX
        tried.append(f"the Deribit index covers {_span(index)}")
    if not tried:
        raise ReplayDataError(str(files.root), None, f"no candle file for {coin}")
    wanted = f"{_stamp(start_s)}..{_stamp(end_s)}"
    raise ReplayDataError(
        str(files.root), None, f"no prices for {coin} over {wanted}: {'; '.join(tried)}"
    )


def _covers(series: Series, start_s: int | None, end_s: int | None) -> bool:
    """Whether the candles hold the period's start and end (when given)."""
    start_ok = start_s is None or series.first <= start_s < series.end
    end_ok = end_s is None or series.first < end_s <= series.end
    return start_ok and end_ok


def _span(series: Series) -> str:
    return f"{_stamp(series.first)}..{_stamp(series.end)}"


def _stamp(seconds: int | None) -> str:
    return "…" if seconds is None else f"{from_epoch(seconds):%Y-%m-%d %H:%M}"


def choose_funding(
    market: MarketData,
    coin: str,
    start_s: int,
    end_s: int,
    override: FundingChoice | None = None,
) -> FundingHistory | None:
    """The history to settle ``coin``'s perpetual with; None: the config's constant rate."""
    available = market.histories.get(coin, ())
    if override == "config":
        return None
    if override is not None:
        for history in available:
            if history.source == override:
                return history
        names = ", ".join(h.source for h in available) or "none"
        raise ReplayDataError(
            str(market.root), None, f"no {override} funding for {coin} (available: {names})"
        )
    venue = "deribit" if market.price_sources.get(coin) == DERIBIT_INDEX else None
    ranked = sorted(
        (h for h in available if h.covers(start_s, end_s) > 0),
        key=lambda h: (
            -round(h.covers(start_s, end_s), 6),
            h.source != venue,
            not h.inverse,
            FUNDING_SOURCES.index(h.source),
        ),
    )
    return ranked[0] if ranked else None
