"""Read-only views of the simulated exchange, and wallet movements (deposits, transfers).

Part of ``SimExchange`` (``engine.py``); split out to keep modules small. Every query returns
fresh core types (``bot.core.types``) or frozen records, never internal state.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from bot.core.types import (
    Candle,
    Fill,
    FundingPayment,
    FundingRate,
    MarginWallet,
    Market,
    OrderStatus,
    Position,
    Ticker,
)
from bot.sim import margin
from bot.sim.account import Account
from bot.sim.errors import (
    DuplicateIdError,
    FeedError,
    InsufficientFundsError,
    InvalidRequestError,
    NoSuchOrderError,
    UnknownSymbolError,
)
from bot.sim.feed import PriceFeed, timeframe_seconds
from bot.sim.orders import OrderBook
from bot.sim.params import STABLECOINS
from bot.sim.records import (
    ExecKind,
    Execution,
    LedgerEntry,
    OrderRecord,
    SimOrder,
    SimPosition,
    Wallet,
    datetime_to_ms,
    ms_to_datetime,
)

ZERO = Decimal(0)
_TRADE_KINDS: frozenset[ExecKind] = frozenset({"trade", "liquidation", "delivery"})


class QueryMixin:
    """State shared with the engine, and everything that reads it."""

    feed: PriceFeed
    hedge_mode: bool
    _account: Account
    _book: OrderBook
    _markets: dict[str, Market]
    _prices: dict[str, Decimal]
    _funding_rates: dict[str, Decimal]
    _default_funding_rate: Decimal
    _interval_ms: int
    _next_funding_ms: int
    _now_ms: int
    _funding_history: list[tuple[int, str, Decimal]]  # (settlement ms, symbol, rate)

    # -- markets, prices, funding ------------------------------------------------------

    def markets(self) -> dict[str, Market]:
        return dict(self._markets)

    def market(self, symbol: str) -> Market:
        try:
            return self._markets[symbol]
        except KeyError:
            raise UnknownSymbolError(f"unknown symbol {symbol!r}") from None

    def price(self, coin: str) -> Decimal:
        """The current price of ``coin`` (USD per coin), per the feed's no-look-ahead rule."""
        try:
            return self._prices[coin]
        except KeyError:
            raise FeedError(f"no price for {coin!r}") from None

    def _known(self, symbols: Iterable[str] | None) -> list[str]:
        if symbols is None:
            return list(self._markets)
        return [s for s in symbols if s in self._markets]

    def tickers(self, symbols: Iterable[str] | None = None) -> dict[str, Ticker]:
        """last = mark = index = the current price, for markets and for spot pairs of a priced
        coin against a stablecoin (``BTC/USDT``). Unknown symbols are left out."""
        now = ms_to_datetime(self._now_ms)
        out: dict[str, Ticker] = {}
        for symbol in list(self._markets) if symbols is None else symbols:
            market = self._markets.get(symbol)
            base, _, quote = symbol.partition("/")
            if market is not None:
                base = market.base
            elif quote not in STABLECOINS or base not in self._prices:
                continue
            p = self._prices[base]
            out[symbol] = Ticker(symbol, last=p, mark=p, index=p, timestamp=now)
        return out

    def funding_rates(self, symbols: Iterable[str] | None = None) -> dict[str, FundingRate]:
        """Perpetuals only; ``next_funding_time`` is the next settlement after ``now``."""
        out: dict[str, FundingRate] = {}
        for symbol in self._known(symbols):
            market = self._markets[symbol]
            if market.expiry is not None:
                continue
            rate = self._funding_rates.get(market.base, self._default_funding_rate)
            out[symbol] = FundingRate(
                symbol,
                rate=rate,
                interval_hours=Decimal(self._interval_ms // 3_600_000),
                next_funding_time=ms_to_datetime(self._next_funding_ms),
                predicted_rate=rate,
            )
        return out

    def funding_rate_history(
        self, symbol: str, since: datetime | None = None
    ) -> list[tuple[datetime, Decimal]]:
        """The rate applied at each past settlement of a perpetual (positions or not)."""
        since_ms = None if since is None else datetime_to_ms(since)
        return [
            (ms_to_datetime(ts), rate)
            for ts, sym, rate in self._funding_history
            if sym == symbol and (since_ms is None or ts >= since_ms)
        ]

    def candles(
        self,
        symbol_or_coin: str,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
        timeframe: str = "1h",
    ) -> list[Candle]:
        """Closed candles of a coin (or a spot/derivatives symbol's base), never after ``now``."""
        market = self._markets.get(symbol_or_coin)
        coin = market.base if market else symbol_or_coin.split("/")[0]
        if coin not in self._prices:
            raise UnknownSymbolError(f"no prices for {symbol_or_coin!r}")
        now = ms_to_datetime(self._now_ms)
        end = now if until is None else min(until, now)
        try:
            seconds = timeframe_seconds(timeframe)
            return self.feed.candles(coin, end, limit, since, seconds)
        except (ValueError, FeedError) as exc:
            raise InvalidRequestError(str(exc)) from None

    # -- wallets and positions ------------------------------------------------------------

    def spot_balances(self) -> dict[str, Decimal]:
        return dict(self._account.spot)

    def margin_balance(self, coin: str) -> Decimal:
        return self._account.margin.get(coin, ZERO)

    def _open_positions(self) -> Iterable[tuple[Market, SimPosition]]:
        for symbol, pos in self._account.positions.items():
            if pos.contracts:
                yield self._markets[symbol], pos

    def margin_wallets(self) -> dict[str, MarginWallet]:
        """Every margin wallet and every market's settle coin: balance + unrealized PnL."""
        coins = set(self._account.margin) | {m.settle for m in self._markets.values()}
        upnl = dict.fromkeys(coins, ZERO)
        for market, pos in self._open_positions():
            upnl[market.settle] += margin.pnl(
                market, pos.contracts, pos.entry, self._prices[market.base]
            )
        return {
            coin: MarginWallet(coin, self.margin_balance(coin), upnl[coin])
            for coin in sorted(coins)
        }

    def available_balance(self, coin: str) -> Decimal:
        """Margin balance free for new orders and withdrawals (see the engine docstring)."""
        used = ZERO
        cross_pnl = ZERO
        for market, pos in self._open_positions():
            if market.settle != coin:
                continue
            used += self._account.position_margin(market, pos)
            if pos.margin_mode == "cross":
                price = self._prices[market.base]
                cross_pnl += margin.pnl(market, pos.contracts, pos.entry, price)
        for order in self._book.open_orders():
            if self._markets[order.symbol].settle == coin:
                used += order.reserve_per_contract * order.remaining
        return self.margin_balance(coin) - used + min(cross_pnl, ZERO)

    def positions(self, symbols: Iterable[str] | None = None) -> dict[str, Position]:
        """Requested known symbols are all listed, flat ones with 0 contracts (and entry 0);
        unknown symbols are left out. ``None``: every non-flat position."""
        if symbols is None:
            wanted = [m.symbol for m, _ in self._open_positions()]
        else:
            wanted = self._known(symbols)
        out: dict[str, Position] = {}
        for symbol in wanted:
            market = self._markets[symbol]
            pos = self._account.positions.get(symbol) or SimPosition(symbol)
            price = self._prices[market.base]
            out[symbol] = Position(
                symbol=symbol,
                contracts=pos.contracts,
                entry_price=pos.entry,
                mark_price=price,
                unrealized_pnl=margin.pnl(market, pos.contracts, pos.entry, price),
                leverage=pos.leverage,
                margin_mode=pos.margin_mode,
                liquidation_price=self._account.liquidation_price(market, pos),
                hedge_mode=self.hedge_mode,
            )
        return out

    def liquidation_price(self, symbol: str) -> Decimal | None:
        """The liquidation price ``positions()`` reports for ``symbol`` (None: flat or unknown)."""
        pos = self._account.positions.get(symbol)
        market = self._markets.get(symbol)
        if pos is None or market is None:
            return None
        return self._account.liquidation_price(market, pos)

    def realized_pnl(self, symbol: str) -> Decimal:
        """Cumulative realized trading PnL of ``symbol`` (before fees and funding)."""
        pos = self._account.positions.get(symbol)
        return pos.realized_pnl if pos else ZERO

    # -- orders and executions --------------------------------------------------------------

    def _find_order(
        self, symbol: str | None, exchange_id: str | None, client_id: str | None
    ) -> SimOrder:
        if exchange_id is not None:
            order = self._book.get(exchange_id)
        elif client_id:
            order = self._book.by_client_id(client_id)
        else:
            raise InvalidRequestError("give an exchange id or a client id")
        if order is None or (symbol is not None and order.symbol != symbol):
            raise NoSuchOrderError(
                f"no order {exchange_id or client_id!r} on {symbol or 'any symbol'}"
            )
        return order

    def order_record(
        self,
        symbol: str | None = None,
        *,
        exchange_id: str | None = None,
        client_id: str | None = None,
    ) -> OrderRecord | None:
        try:
            return self._find_order(symbol, exchange_id, client_id).record()
        except NoSuchOrderError:
            return None

    def order_status(
        self,
        symbol: str | None = None,
        *,
        exchange_id: str | None = None,
        client_id: str | None = None,
    ) -> OrderStatus | None:
        """An order by exchange id or client id (open or history); None if unknown."""
        record = self.order_record(symbol, exchange_id=exchange_id, client_id=client_id)
        return None if record is None else record.status

    def open_orders(self, symbols: Iterable[str] | None = None) -> list[OrderStatus]:
        wanted = None if symbols is None else set(symbols)
        return [
            o.status() for o in self._book.open_orders() if wanted is None or o.symbol in wanted
        ]

    def order_history(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> list[OrderRecord]:
        """All orders (any state) created at or after ``since``, oldest first."""
        since_ms = None if since is None else datetime_to_ms(since)
        return [
            o.record()
            for o in self._book.history()
            if (symbol is None or o.symbol == symbol)
            and (since_ms is None or o.created_ms >= since_ms)
        ]

    def executions(
        self,
        symbol: str | None = None,
        since: datetime | None = None,
        kinds: Iterable[ExecKind] | None = None,
    ) -> list[Execution]:
        """Executions (trades, funding, liquidations, deliveries) at or after ``since``."""
        history = self._account.executions
        start = 0 if since is None else bisect_left(history, datetime_to_ms(since), key=_ts)
        wanted = None if kinds is None else frozenset(kinds)
        return [
            e
            for e in history[start:]
            if (symbol is None or e.symbol == symbol) and (wanted is None or e.kind in wanted)
        ]

    def fills(self, symbol: str | None = None, since: datetime | None = None) -> list[Fill]:
        """Trades, liquidations and deliveries as ``Fill`` (client id None for the latter two)."""
        return [e.to_fill() for e in self.executions(symbol, since, _TRADE_KINDS)]

    def funding_payments(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> list[FundingPayment]:
        return [e.to_funding_payment() for e in self.executions(symbol, since, ("funding",))]

    def ledger(self) -> list[LedgerEntry]:
        return list(self._account.ledger)

    # -- deposits, withdrawals, transfers ---------------------------------------------------

    def _free(self, coin: str, wallet: Wallet) -> Decimal:
        if wallet == "spot":
            return self._account.spot.get(coin, ZERO)
        return self.available_balance(coin)

    def deposit(self, coin: str, amount: Decimal, wallet: Wallet = "spot") -> LedgerEntry:
        _positive(amount)
        return self._account.move("deposit", coin, amount, None, wallet, self._now_ms)

    def withdraw(self, coin: str, amount: Decimal, wallet: Wallet = "spot") -> LedgerEntry:
        _positive(amount)
        if amount > self._free(coin, wallet):
            raise InsufficientFundsError(
                f"withdraw {amount} {coin}: {self._free(coin, wallet)} free"
            )
        return self._account.move("withdrawal", coin, amount, wallet, None, self._now_ms)

    def transfer(
        self,
        coin: str,
        amount: Decimal,
        source: Wallet = "spot",
        destination: Wallet = "margin",
        *,
        transfer_id: str | None = None,
    ) -> LedgerEntry:
        """Move coins between the spot and margin wallets (margin: up to the available balance).

        ``transfer_id`` (optional) is an idempotency key: an id already used raises
        ``DuplicateIdError`` and moves nothing; ``transfer_by_id`` finds the transfer.
        """
        if transfer_id is not None:
            if not transfer_id:
                raise InvalidRequestError("a transfer id must not be empty")
            if transfer_id in self._account.transfers_by_id:
                raise DuplicateIdError(f"transfer id {transfer_id!r} is already used")
        _positive(amount)
        if source == destination:
            raise InvalidRequestError("source and destination are the same wallet")
        if amount > self._free(coin, source):
            raise InsufficientFundsError(
                f"transfer {amount} {coin}: {self._free(coin, source)} free"
            )
        return self._account.move(
            "transfer", coin, amount, source, destination, self._now_ms, transfer_id
        )

    def transfer_by_id(self, transfer_id: str) -> LedgerEntry | None:
        """The ledger entry of a transfer made with ``transfer_id``; None if there is none."""
        return self._account.transfers_by_id.get(transfer_id)


def _ts(execution: Execution) -> int:
    return execution.ts_ms


def _positive(amount: Decimal) -> None:
    if not amount.is_finite() or amount <= 0:
        raise InvalidRequestError(f"amount must be > 0, got {amount}")
