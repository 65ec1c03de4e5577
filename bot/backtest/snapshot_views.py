"""What ``bot.backtest.snapshot.SnapshotReader`` hands out besides its own state: each open
position's PnL constants (``pnl_terms``, ``float_terms``), positions repriced on first access
(``RepricedPositions``) and tickers read from the engine on first access (``Tickers``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal

from bot.core.types import Market, Position, Ticker
from bot.sim.engine import SimExchange

ZERO = Decimal(0)
ONE = Decimal(1)

PnlTerms = tuple[str, Market, Position, Decimal | None, Decimal]


def pnl_terms(symbol: str, market: Market, pos: Position) -> PnlTerms:
    """What ``margin.pnl`` of an open inverse position computes before the price enters:
    ``bot.core.inverse.position_pnl_coin`` is ``±face × (1/price − 1/entry)`` with ``face =
    |contracts| × contract_size``. ``face`` None: call ``margin.pnl`` (linear, flat, no entry)."""
    if market.kind != "inverse" or pos.contracts == 0 or not pos.entry_price:
        return symbol, market, pos, None, ZERO
    face = abs(pos.contracts) * market.contract_size
    return symbol, market, pos, face, ONE / pos.entry_price


def float_terms(terms: Sequence[PnlTerms]) -> list[tuple[str, str, float, float]] | None:
    """Each open position's PnL constants as floats (settle coin, base, face signed so that
    ``face × (1/price − 1/entry)`` is its PnL, 1/entry); None when one has none (linear)."""
    out: list[tuple[str, str, float, float]] = []
    for _, market, pos, face, inverse_entry in terms:
        if face is None:
            return None
        signed = -float(face) if pos.contracts > 0 else float(face)
        out.append((market.settle, market.base, signed, float(inverse_entry)))
    return out


class RepricedPositions(Mapping[str, Position]):
    """The engine's positions at new prices: each ``Position`` is built on first access with the
    mark price and unrealized PnL of the read it belongs to (captured, so a later access sees
    the same values); the rest (contracts, entry, liquidation price, ...) is the engine's."""

    __slots__ = ("_base", "_built", "_markets", "_pnl", "_prices")

    def __init__(
        self,
        base: Mapping[str, Position],
        markets: Mapping[str, Market],
        prices: Mapping[str, Decimal],
        pnl: Mapping[str, Decimal],
    ) -> None:
        self._base = base
        self._markets = markets
        self._prices = prices
        self._pnl = pnl
        self._built: dict[str, Position] = {}

    def __getitem__(self, symbol: str) -> Position:
        built = self._built.get(symbol)
        if built is None:
            pos = self._base[symbol]
            built = self._built[symbol] = Position(
                symbol,
                pos.contracts,
                pos.entry_price,
                self._prices[self._markets[symbol].base],
                self._pnl.get(symbol, ZERO),
                pos.leverage,
                pos.margin_mode,
                pos.liquidation_price,
                pos.hedge_mode,
            )
        return built

    def __iter__(self) -> Iterator[str]:
        return iter(self._base)

    def __len__(self) -> int:
        return len(self._base)


class Tickers(Mapping[str, Ticker]):
    """``sim.tickers(symbols)``, asked of the engine when read (``with_tickers``): one symbol
    when one is looked up, all of them for anything else."""

    __slots__ = ("_one", "_read", "_sim", "_symbols")

    def __init__(self, sim: SimExchange, symbols: Sequence[str]) -> None:
        self._sim = sim
        self._symbols = symbols
        self._read: dict[str, Ticker] | None = None
        self._one: dict[str, Ticker] = {}

    def _tickers(self) -> dict[str, Ticker]:
        read = self._read
        if read is None:
            read = self._read = self._sim.tickers(self._symbols)
        return read

    def __getitem__(self, symbol: str) -> Ticker:
        if self._read is None and symbol in self._symbols:
            one = self._one.get(symbol)
            if one is None:
                one = self._one[symbol] = self._sim.tickers((symbol,))[symbol]
            return one
        return self._tickers()[symbol]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tickers())

    def __len__(self) -> int:
        return len(self._tickers())
