"""The daemon's snapshot (``bot.daemon.snapshot.read_snapshot``), read directly from the engine.

``read_snapshot`` is async over an exchange port; here the same fields come straight from the
``SimExchange`` queries the simulated port wraps (``margin_wallets``, ``positions``, ``tickers``,
``price``), so a replay pays no event-loop cost. Deliberate differences:

- funding: the rate a decision sees is the historical one of the latest settlement at or before
  ``now`` (``FundingPlan.funding_rate``), not the rate the engine holds for its next settlement;
- what the engine is asked depends on what happened since the last read (``Change``): after
  orders or a liquidation everything is read again; after a funding settlement the margin
  balances and positions (their cross liquidation prices follow the balance); otherwise only
  prices moved, and positions and wallets are carried over with their mark price and
  unrealized PnL recomputed by the engine's own ``bot.sim.margin.pnl``;
- repriced ``Position`` objects are built on first access (``RepricedPositions``): most ticks
  never read them; tickers are added only when the tick goes on to decide (``with_tickers``).

``tests/backtest`` compares every tick of a run that trades, settles funding and gets liquidated
with ``read_snapshot`` through the simulated port.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from bot.backtest.funding import FundingPlan
from bot.backtest.snapshot_views import (
    PnlTerms,
    RepricedPositions,
    Tickers,
    float_terms,
    pnl_terms,
)
from bot.backtest.wallets import WalletState, wallet_states
from bot.config.models import HoldingsConfig
from bot.core.types import FundingRate, MarginWallet, Market, Position, Snapshot
from bot.daemon.snapshot import price_symbol
from bot.sim import margin
from bot.sim.engine import SimExchange

ZERO = Decimal(0)
ONE = Decimal(1)
Change = Literal["none", "balances", "all"]


class SnapshotReader:
    """Snapshots of one engine (see the module docstring)."""

    def __init__(
        self,
        sim: SimExchange,
        holdings: HoldingsConfig,
        assets: Sequence[str],
        funding: FundingPlan,
    ) -> None:
        self.sim = sim
        self.holdings = holdings
        self.assets = frozenset(assets)
        self.funding = funding
        self.markets: dict[str, Market] = sim.markets()
        self.priced = frozenset(sim.feed.coins)
        self.spot_wallet: dict[str, Decimal] = {}  # the engine's spot wallet, whatever the source
        self.held: dict[str, Decimal] = {}  # signed contracts per instrument (reported ones)
        self.prices_f: dict[str, float] = {}  # the last read's prices, as floats
        self._grid_s = funding.grid_hours * 3600
        self._static = dict(holdings.static)
        self._instruments: tuple[str, ...] = ()
        self._spot: dict[str, Decimal] = {}
        self._margin: dict[str, MarginWallet] = {}
        self._base: dict[str, Position] = {}  # the engine's positions of the instruments
        self._positions: Mapping[str, Position] = {}
        self._open: list[tuple[str, Market, Position]] = []  # every non-flat position
        self._pnl_terms: list[PnlTerms] = []  # the same, with their PnL constants
        self._pnl_coins: list[str] = []  # the coins they settle in
        # per open inverse position: settle coin, base, ±face (USD) and 1/entry, as floats
        self._pnl_floats: list[tuple[str, str, float, float]] | None = []
        self._unknown: frozenset[str] = frozenset()
        self._coins: list[str] = []
        self._priced_coins: list[str] = []
        self._ticker_symbols: list[str] = []
        self._coin_key: tuple[tuple[str, ...], frozenset[str]] = ((), frozenset())
        self._funding: dict[str, FundingRate] = {}
        self._funding_until = -1  # epoch s: the funding view holds until the next grid instant
        self._funding_for: tuple[str, ...] = ()  # ... for these instruments
        self._held_f: dict[str, float] = {}  # spot wallet + static, per coin (statistics)
        self._coins_f: list[tuple[str, float]] = []  # the same + margin balances
        self._full_reads = 0  # reads of everything (positions may have changed)
        self._balance_reads = 0  # reads of the margin balances alone (funding settled)
        self._wallets: tuple[tuple[int, int], dict[str, WalletState]] = ((-1, -1), {})

    def read(self, instruments: Sequence[str], change: Change, now: datetime) -> Snapshot:
        """The snapshot now, given what happened to the account since the last read.

        The mappings inside are shared with later snapshots until the account changes (they
        are never mutated, only replaced), which spares a copy per tick."""
        sim = self.sim
        instruments = tuple(instruments)
        full = change == "all" or instruments != self._instruments or not self._coins
        if change == "balances" and not full:
            full = not self._refresh_balances()
        if full:
            self._read_all(instruments)
        price = sim.price
        prices: dict[str, Decimal] = {}
        floats: dict[str, float] = {}
        for coin in self._priced_coins:
            prices[coin] = value = price(coin)
            floats[coin] = float(value)
        self.prices_f = floats
        if not full:
            self._reprice(prices)
        now_s = sim.now_ms // 1000
        if now_s >= self._funding_until or self._funding_for != self._instruments:
            self._funding = self._funding_view(now_s)
        return Snapshot(
            taken_at=now,
            spot=self._spot,
            static=self._static,
            margin=self._margin,
            positions=self._positions,
            prices=prices,
            markets=self.markets,
            funding=self._funding,
            unknown_positions=self._unknown,
        )

    @property
    def funding_until(self) -> int:
        """Epoch s at which the funding rates a decision sees next change (the next funding
        grid instant); the last read's hold until then."""
        return self._funding_until

    @property
    def positions_read(self) -> int:
        """How many times the positions were read anew (orders, liquidations, other
        instruments); a read after funding settlements only does not count."""
        return self._full_reads

    @property
    def instruments(self) -> tuple[str, ...]:
        """The instruments of the last read."""
        return self._instruments

    @property
    def open_terms(self) -> list[PnlTerms]:
        """Every open position with its PnL constants (``pnl_terms``), as of the last read."""
        return self._pnl_terms

    @property
    def coin_key(self) -> tuple[tuple[str, ...], frozenset[str]]:
        """Changes whenever the coins valued or priced may change (instruments, funded wallets)."""
        return self._coin_key

    def with_tickers(self, snapshot: Snapshot) -> Snapshot:
        """``snapshot`` as ``decide()`` gets it: with the tickers ``read_snapshot`` fetches (each
        coin's price symbol, every instrument, the spot pair of every instrument's base) and the
        positions built now, before any order of this tick changes the engine. The tickers are
        asked of the engine when first read (``decide()`` reads none; the runner reads those of
        the symbols it orders): within the tick, where only the engine's step moves prices."""
        return replace(
            snapshot,
            positions=dict(snapshot.positions),
            tickers=Tickers(self.sim, self._ticker_symbols),
        )

    def wallet_states(self, leverage: Decimal) -> dict[str, WalletState]:
        """Each coin-margined wallet as ``bot.core.margin.coin_wallets`` sees it in the last
        read's snapshot (``bot.backtest.wallets``), in float; the same object until balances
        or positions change. After a funding settlement only the balances are new."""
        (full, balances), states = self._wallets
        if (full, balances) == (self._full_reads, self._balance_reads):
            return states
        if full == self._full_reads:
            margin = self._margin
            fresh = dict(states)
            for coin, state in states.items():
                value = float(margin[coin].balance) if coin in margin else 0.0
                if value != state.balance:
                    size = abs(value) + abs(state.pnl_b) + state.initial
                    fresh[coin] = state._replace(balance=value, size=size)
            states = fresh
        else:
            states = wallet_states(
                self._margin,
                self._base.values(),
                (position for _, _, position in self._open),
                self.markets,
                leverage,
            )
        self._wallets = ((self._full_reads, self._balance_reads), states)
        return states

    def liquidation_possible(self) -> bool:
        """Whether the engine may have liquidated something at the current prices: some open
        position's price has reached the liquidation price the engine reported for it (which
        depends only on balances, entries and sizes, all unchanged since the last read)."""
        price = self.sim.price
        for _, market, position in self._open:
            limit = position.liquidation_price
            if limit is None:
                continue
            now = price(market.base)
            if (now >= limit) if position.contracts < 0 else (now <= limit):
                return True
        return False

    def account_value(self, stable: Mapping[str, float]) -> float:
        """USD value of the whole account (the engine's spot wallet, static holdings, margin
        equity) at the last read's prices, for the statistics (float); ``stable``: prices of
        coins without candles (stablecoins)."""
        return self.value_at(self.prices_f, stable)

    def value_at(self, floats: Mapping[str, float], stable: Mapping[str, float]) -> float:
        """``account_value`` with the last read's balances and positions at the prices
        ``floats`` (USD per coin, those of ``_priced_coins``). The unrealized PnL of inverse
        positions is summed in float (a statistic): the same sums whether the positions were
        just read or only carried over (``bot.backtest.skip_record``)."""
        total = 0.0
        for coin, amount in self._coins_f:  # spot + static + margin balance, per coin
            total += amount * (floats[coin] if coin in floats else self._usd(coin, stable))
        terms = self._pnl_floats
        if terms is None:  # a linear or entry-less position: the read's Decimal PnL
            margin = self._margin
            for coin in self._pnl_coins:  # the others' unrealized PnL is 0 (``_reprice``)
                wallet = margin[coin]
                if wallet.unrealized_pnl:
                    value = floats[coin] if coin in floats else self._usd(coin, stable)
                    total += float(wallet.unrealized_pnl) * value
            return total
        upnl = dict.fromkeys(self._pnl_coins, 0.0)
        for settle, base, face, inverse_entry in terms:
            price = floats[base] if base in floats else float(self.sim.price(base))
            upnl[settle] += face * (1.0 / price - inverse_entry)
        for coin, pnl in upnl.items():
            if pnl:
                total += pnl * (floats[coin] if coin in floats else self._usd(coin, stable))
        return total

    def shorts(self) -> dict[str, float]:
        """Short held per instrument, USD face (linear: at the mark), as floats."""
        out: dict[str, float] = {}
        for symbol, position in self._base.items():
            market = self.markets[symbol]
            face = float(-position.contracts * market.contract_size)
            out[symbol] = face if market.is_inverse else face * float(position.mark_price or 0)
        return out

    # -- reading -----------------------------------------------------------------------------

    def _read_all(self, instruments: tuple[str, ...]) -> None:
        sim = self.sim
        markets = self.markets
        self._full_reads += 1
        self._instruments = instruments
        self.spot_wallet = sim.spot_balances()
        self._spot = dict(self.spot_wallet) if self.holdings.source == "exchange" else {}
        self._margin = sim.margin_wallets()
        self._read_positions()
        self._unknown = frozenset(s for s in instruments if s in markets and s not in self._base)
        funded = frozenset(coin for coin, wallet in self._margin.items() if wallet.balance != 0)
        if (instruments, funded) != self._coin_key:
            self._coin_key = (instruments, funded)
            self._coins = sorted(
                self.assets
                | funded
                | {markets[symbol].base for symbol in instruments if symbol in markets}
                | set(self._static)
            )
            self._priced_coins = [coin for coin in self._coins if coin in self.priced]
            spot_pairs = {f"{markets[s].base}/USDT" for s in instruments if s in markets}
            self._ticker_symbols = sorted(
                {price_symbol(coin, markets) for coin in self._coins}
                | set(instruments)
                | spot_pairs
            )
        held: dict[str, float] = {}
        for holdings in (self.spot_wallet, self._static):
            for coin, amount in holdings.items():
                if amount:
                    held[coin] = held.get(coin, 0.0) + float(amount)
        self._held_f = held
        self._sum_coins()

    def _sum_coins(self) -> None:
        total = dict(self._held_f)
        for coin, wallet in self._margin.items():
            if wallet.balance:
                total[coin] = total.get(coin, 0.0) + float(wallet.balance)
        self._coins_f = list(total.items())

    def _read_positions(self) -> None:
        """The instruments' positions (flat ones too) and every open position, in one or two
        engine queries."""
        sim = self.sim
        everything = sim.positions()  # every non-flat position
        flat = [s for s in self._instruments if s not in everything]
        listed = sim.positions(flat) if flat else {}
        self._positions = self._base = {
            s: everything[s] if s in everything else listed[s]
            for s in self._instruments
            if s in everything or s in listed
        }
        self.held = {symbol: position.contracts for symbol, position in self._base.items()}
        self._open = [(s, self.markets[s], p) for s, p in everything.items()]
        self._pnl_terms = [pnl_terms(s, m, p) for s, m, p in self._open]
        self._pnl_coins = sorted({m.settle for _, m, _ in self._open})
        self._pnl_floats = float_terms(self._pnl_terms)

    def _refresh_balances(self) -> bool:
        """After funding: new margin balances and positions (liquidation prices); False when a
        wallet went to or from zero, which changes the coins valued (a full read then)."""
        balance = self.sim.margin_balance
        fresh = {coin: balance(coin) for coin in self._margin}
        if frozenset(c for c, b in fresh.items() if b != 0) != self._coin_key[1]:
            return False
        self._margin = {
            c: MarginWallet(c, fresh[c], w.unrealized_pnl) for c, w in self._margin.items()
        }
        self._sum_coins()
        if self._pnl_floats is None:  # a linear or entry-less position: read everything again
            self._read_positions()
        else:
            self._new_limits()
        self._balance_reads += 1
        return True

    def _new_limits(self) -> None:
        """The positions after funding settlements: the same contracts and entries, so only
        their liquidation prices (which depend on the balance) are asked again. The marks and
        PnL they carry stay those of the last full read: with every open position inverse,
        nothing reads them before ``_reprice`` replaces them (``shorts`` values an inverse
        short by its face)."""
        limit = self.sim.liquidation_price
        fresh: dict[str, Position] = {}
        for symbol, _, pos in self._open:
            price = limit(symbol)
            if price != pos.liquidation_price:  # (``replace`` costs twice as much)
                pos = Position(
                    symbol,
                    pos.contracts,
                    pos.entry_price,
                    pos.mark_price,
                    pos.unrealized_pnl,
                    pos.leverage,
                    pos.margin_mode,
                    price,
                    pos.hedge_mode,
                )
            fresh[symbol] = pos
        self._open = [(symbol, market, fresh[symbol]) for symbol, market, _ in self._open]
        self._positions = self._base = {s: fresh.get(s, p) for s, p in self._base.items()}

    def _reprice(self, prices: Mapping[str, Decimal]) -> None:
        """Carry positions and wallets over to the new prices (module docstring)."""
        upnl: dict[str, Decimal] = dict.fromkeys(self._margin, ZERO)
        pnl_by_symbol: dict[str, Decimal] = {}
        for symbol, market, pos, face, inverse_entry in self._pnl_terms:
            price = prices[market.base]
            if face is None:
                pnl = margin.pnl(market, pos.contracts, pos.entry_price, price)
            else:  # margin.pnl of an inverse position, ``ONE / entry`` computed once
                pnl = face * (ONE / price - inverse_entry)
                if pos.contracts > 0:
                    pnl = -pnl
            pnl_by_symbol[symbol] = pnl
            upnl[market.settle] += pnl
        self._positions = RepricedPositions(self._base, self.markets, prices, pnl_by_symbol)
        # only the wallets of coins with an open position move; the others (unrealized PnL
        # 0, as the engine reports it) are the same frozen objects
        wallets = dict(self._margin)
        for coin in self._pnl_coins:
            wallets[coin] = MarginWallet(coin, wallets[coin].balance, upnl[coin])
        self._margin = wallets

    def _funding_view(self, now_s: int) -> dict[str, FundingRate]:
        """The latest settled rate per perp instrument: the same until the next grid instant
        or a change of the instruments."""
        self._funding_until = (now_s // self._grid_s + 1) * self._grid_s
        self._funding_for = self._instruments
        markets = self.markets
        return {
            symbol: self.funding.funding_rate(markets[symbol].base, symbol, now_s)
            for symbol in self._instruments
            if symbol in markets and markets[symbol].expiry is None
        }

    def _usd(self, coin: str, stable: Mapping[str, float]) -> float:
        return float(self.sim.price(coin)) if coin in self.priced else stable[coin]
