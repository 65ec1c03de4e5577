"""The simulated exchange: one synchronous, deterministic, in-memory account on a settable clock.

Used three ways: wrapped as an in-process ``ExchangePort`` (``bot.exchange.sim_port``), served
over a venue API by an emulator, and driven directly by a backtester (``step()`` per candle).

Conventions (see also ``bot.sim.feed`` for the price at time t):

* Clock: epoch milliseconds, never moves backwards. In replay mode it stays inside
  ``[feed.start, feed.end]`` (``ReplayExhaustedError`` past the end).
* Events while the clock moves, in time order; at one instant: prices update (replay: at each
  candle close) -> resting orders match -> liquidations -> expiries -> funding.
* Fixed prices move only through ``set_price``; resting orders are then also re-matched on
  every clock move, so partial fills progress with time.
* Client order ids are unique for the account's life: a rejected order is recorded (state
  REJECTED, ``reject_reason`` = the ``RejectCode``) and keeps its id; a duplicate records nothing.
* Orders: market orders fill at once at the current price (taker). Limit orders that are
  marketable when placed fill at once at the current price (taker); others rest and fill at
  their limit price (maker) when a later price crosses it. One ``fee_rate`` for both, charged in
  the settle currency on every fill: ``fee_rate × value`` (inverse: face/price coin).
* Margin check at placement: initial margin of the part that opens exposure (value/leverage at
  the current price, or the limit price for a resting limit) plus the fee on the whole order,
  minus the margin the closing part releases, must not exceed ``available_balance``. A resting
  order keeps that amount reserved pro rata of its unfilled contracts. An order that only
  reduces (opposite side, no larger than the position; reduce-only or not) is never checked
  and reserves nothing, as on real venues: it is accepted even with a negative available
  balance. One that closes and flips is checked as above (for its opening part).
* ``available_balance(coin)`` = wallet balance − initial margin of open positions (value at
  entry / leverage) − reservations of resting orders + unrealized loss of cross positions
  (unrealized profit is not spendable).
* Funding: at each multiple of ``funding_interval_hours`` since the epoch (00/08/16 UTC for 8 h),
  every open perpetual position settles ``inverse.funding_payment_coin`` (linear: q·P·f) at the
  current price with its coin's rate; positive rate: the short receives.
* Liquidation prices: ``inverse.liquidation_price_short`` (and its long/linear analogues) with
  maintenance measured on ENTRY value by default (``SimParams.maintenance_basis``); isolated
  collateral = the position's initial margin, cross = the whole settle-wallet balance; fees
  ignored. When the price reaches it (checked at price updates) the position is closed at the
  liquidation price with the normal fee (execution kind ``liquidation``).
* Wallets: ``transfer`` moves coins between spot and margin (with an optional transfer id,
  unique for the account's life); ``spot_order`` trades BASE/stablecoin pairs at the current
  price in the spot wallet (``bot.sim.spot``).
* Dated futures: at expiry the position is closed at the current price (kind ``delivery``),
  resting orders are cancelled and the market becomes inactive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.sim.account import Account
from bot.sim.errors import (
    FeedError,
    InsufficientFundsError,
    InvalidRequestError,
    ReplayExhaustedError,
)
from bot.sim.feed import FixedPrices, PriceFeed, ReplayFeed
from bot.sim.orders import OrderBook
from bot.sim.params import STABLECOINS, SimParams, inverse_perpetual
from bot.sim.records import datetime_to_ms, ms_to_datetime
from bot.sim.spot import SpotBook, SpotMixin
from bot.sim.trading import FillFractionHook, TradingMixin

if TYPE_CHECKING:
    from bot.config.models import SimConfig
    from bot.core.types import MarginMode, Market

__all__ = ["FillFractionHook", "SimExchange", "SimParams", "inverse_perpetual"]

HOUR_MS = 3_600_000


class SimExchange(TradingMixin, SpotMixin):
    """The simulated venue. Mutate it only through its methods; queries return core types.

    Public attributes: ``feed``, ``params``, ``hedge_mode`` (reported on every Position, for
    fault injection; positions stay one-way) and ``fill_fraction_hook`` (partial fills).
    """

    def __init__(
        self,
        feed: PriceFeed,
        params: SimParams | None = None,
        *,
        start: datetime,
        spot: Mapping[str, Decimal] | None = None,
        margin_balances: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.feed = feed
        self.params = params = params or SimParams()
        self.hedge_mode = False
        self.fill_fraction_hook: FillFractionHook | None = None
        self._account = Account(
            spot or {},
            margin_balances or {},
            params.maintenance_margin_rate,
            params.maintenance_basis,
        )
        self._book = OrderBook()
        self._spot = SpotBook()
        self._markets: dict[str, Market] = {}
        self._default_funding_rate = params.default_funding_rate
        self._funding_rates = {
            c: params.funding_rates.get(c, params.default_funding_rate) for c in feed.coins
        }
        self._interval_ms = params.funding_interval_hours * HOUR_MS
        step = feed.step_seconds
        self._replay = step is not None
        self._step_ms = (step or 3600) * 1000
        feed_start, feed_end = feed.start, feed.end
        self._end_ms = None if feed_end is None else datetime_to_ms(feed_end)
        self._now_ms = start_ms = datetime_to_ms(start)
        if feed_start is not None and start_ms < datetime_to_ms(feed_start):
            raise InvalidRequestError(f"start {start} is before the price data ({feed_start})")
        if self._end_ms is not None and start_ms > self._end_ms:
            raise ReplayExhaustedError(f"start {start} is after the price data ({feed_end})")
        self._next_funding_ms = (start_ms // self._interval_ms + 1) * self._interval_ms
        self._next_expiry_ms: int | None = None
        self._funding_history: list[tuple[int, str, Decimal]] = []
        self._prices: dict[str, Decimal] = {}
        self._replay_feed = feed if type(feed) is ReplayFeed else None
        self._refresh_prices()
        unknown = sorted(set(params.contract_sizes_usd) - set(feed.coins))
        if unknown:
            raise InvalidRequestError(f"contract sizes given for coins without prices: {unknown}")
        for coin in feed.coins:
            listed = params.perp_coins is None or coin in params.perp_coins
            if coin not in STABLECOINS and listed:
                size = params.contract_sizes_usd.get(coin, params.default_contract_size_usd)
                self.add_market(inverse_perpetual(coin, size))

    @classmethod
    def from_config(cls, cfg: SimConfig, start: datetime | None = None) -> SimExchange:
        """Build from ``exchange.sim``. Clock start: ``start``, else ``replay.start`` (a naive
        timestamp is read as UTC), else the replay's first instant; with fixed prices, the wall
        clock in whole seconds (pass ``start`` for a deterministic run)."""
        if cfg.replay is not None and cfg.prices:
            raise InvalidRequestError("exchange.sim: give 'prices' or 'replay', not both")
        feed: PriceFeed
        if cfg.replay is not None:
            replay = ReplayFeed(cfg.replay.path)
            feed = replay
            if start is None and cfg.replay.start is not None:
                try:
                    parsed = datetime.fromisoformat(cfg.replay.start)
                except ValueError:
                    raise InvalidRequestError(f"replay.start {cfg.replay.start!r}") from None
                start = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            start = start or replay.start
        else:
            feed = FixedPrices(cfg.prices)
            start = start or datetime.now(UTC).replace(microsecond=0)
        params = SimParams(
            fee_rate=cfg.fee_rate,
            funding_rates=dict(cfg.funding_rate),
            funding_interval_hours=cfg.funding_interval_hours,
            maintenance_margin_rate=cfg.maintenance_margin_rate,
            contract_sizes_usd=dict(cfg.contract_size_usd),
            perp_coins=None if cfg.inverse_perps is None else frozenset(cfg.inverse_perps),
        )
        return cls(
            feed, params, start=start, spot=cfg.balances.spot, margin_balances=cfg.balances.margin
        )

    # -- markets and settings ---------------------------------------------------------------

    def add_market(self, market: Market) -> None:
        """Add a market on a priced coin: e.g. a dated inverse future (``expiry`` set) or a
        linear perpetual (``kind="linear"``, ``contract_size`` in coin, settled in USDT)."""
        if market.symbol in self._markets:
            raise InvalidRequestError(f"market {market.symbol} exists")
        if market.base not in self._prices:
            raise InvalidRequestError(f"no price for {market.base}")
        if market.kind == "inverse" and market.settle != market.base:
            raise InvalidRequestError("an inverse market settles in its base coin")
        if market.kind == "linear" and market.settle not in STABLECOINS:
            raise InvalidRequestError("a linear market settles in a stablecoin")
        if min(market.contract_size, market.amount_step, market.min_contracts) <= 0:
            raise InvalidRequestError("contract size, amount step and minimum must be > 0")
        if market.expiry is not None and datetime_to_ms(market.expiry) <= self._now_ms:
            raise InvalidRequestError(f"{market.symbol} expired at {market.expiry}")
        self._markets[market.symbol] = market
        self._next_expiry_ms = self._compute_next_expiry()

    def set_contract_size(self, symbol: str, contract_size: Decimal) -> None:
        """Re-specify an existing market's contract size (a venue changing a contract; the
        emulator's "changed contract size" fault). Positions and orders keep their contract
        counts, so their value changes with it."""
        market = self.market(symbol)
        if not contract_size.is_finite() or contract_size <= 0:
            raise InvalidRequestError(f"contract size must be > 0, got {contract_size}")
        self._markets[symbol] = replace(market, contract_size=contract_size)

    def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """1..100. Lowering it with a position open needs the extra initial margin."""
        market = self.market(symbol)
        if not leverage.is_finite() or not 1 <= leverage <= 100:
            raise InvalidRequestError(f"leverage {leverage} outside 1..100")
        pos = self._account.position(symbol)
        old, pos.leverage = pos.leverage, leverage
        if leverage < old and self.available_balance(market.settle) < 0:
            pos.leverage = old
            raise InsufficientFundsError(f"not enough {market.settle} for leverage {leverage}")

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Same mode: nothing. A switch needs the symbol flat and without resting orders."""
        self.market(symbol)
        if mode not in ("cross", "isolated"):
            raise InvalidRequestError(f"unknown margin mode {mode!r}")
        pos = self._account.position(symbol)
        if pos.margin_mode == mode:
            return
        if pos.contracts or any(o.symbol == symbol for o in self._book.open_orders()):
            raise InvalidRequestError(f"{symbol}: close the position and orders to switch mode")
        pos.margin_mode = mode

    def set_funding_rate(self, coin: str, rate: Decimal) -> None:
        """The rate per interval for ``coin``'s perpetuals from the next settlement on."""
        self._funding_rates[coin] = rate

    def set_price(self, coin: str, price: Decimal) -> None:
        """Fixed-price mode only: move one price now (matches orders, checks liquidations)."""
        if not isinstance(self.feed, FixedPrices):
            raise InvalidRequestError("set_price needs a FixedPrices feed")
        if coin not in self._prices:
            raise FeedError(f"no price for {coin!r}")
        self.feed.set_price(coin, price)
        self._prices[coin] = price
        self._after_price_change()

    # -- clock -----------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return ms_to_datetime(self._now_ms)

    @property
    def now_ms(self) -> int:
        return self._now_ms

    @property
    def is_replay(self) -> bool:
        return self._replay

    @property
    def step_seconds(self) -> int:
        """Candle length in replay mode; a nominal hour with fixed prices."""
        return self._step_ms // 1000

    def can_step(self) -> bool:
        """False when the next ``step()`` would pass the end of the replay data."""
        return self._end_ms is None or self._next_step_ms() <= self._end_ms

    def set_time(self, at: datetime) -> None:
        """Move the clock forward to ``at`` (aware), processing every event on the way."""
        self._advance_to(datetime_to_ms(at))

    def advance(self, seconds: float) -> None:
        self._advance_to(self._now_ms + round(seconds * 1000))

    def step(self) -> datetime:
        """Move to the next candle close (the next whole hour with fixed prices); return now."""
        self.next_step()
        return self.now

    def next_step(self) -> None:
        """``step`` without building the datetime it returns (the replay's loop reads the clock
        in epoch ms)."""
        self._advance_to(self._next_step_ms())

    def _next_step_ms(self) -> int:
        return (self._now_ms // self._step_ms + 1) * self._step_ms

    def _advance_to(self, target: int) -> None:
        if target < self._now_ms:
            raise InvalidRequestError(f"the clock cannot go back to {ms_to_datetime(target)}")
        if self._end_ms is not None and target > self._end_ms:
            raise ReplayExhaustedError(f"the replay data ends at {ms_to_datetime(self._end_ms)}")
        moved = target > self._now_ms
        while True:
            event = self._next_funding_ms
            if self._replay:
                event = min(event, self._next_step_ms())
            if self._next_expiry_ms is not None:
                event = min(event, self._next_expiry_ms)
            if event > target:
                break
            self._now_ms = event
            self._on_event(event)
        self._now_ms = target
        if moved and not self._replay and self._book.has_open:
            self._match_orders()  # fixed prices: let partial fills progress with time

    def _on_event(self, now: int) -> None:
        if self._replay and now % self._step_ms == 0:
            self._refresh_prices()
            self._after_price_change()
        if self._next_expiry_ms is not None and now >= self._next_expiry_ms:
            self._expire_markets()
        if now >= self._next_funding_ms:
            self._settle_funding()
            self._next_funding_ms += self._interval_ms

    def _refresh_prices(self) -> None:
        seconds = self._now_ms // 1000
        if self._replay_feed is not None:  # one pass over the series, same answers
            try:
                self._prices.update(self._replay_feed.prices_at(seconds))
                return
            except FeedError:
                pass  # the loop below updates the coins before the failing one, then raises
        price_at = self.feed.price_at
        for coin in self.feed.coins:
            self._prices[coin] = price_at(coin, seconds)

    def _after_price_change(self) -> None:
        if self._book.has_open:
            self._match_orders()
        if self.params.liquidations and self._account.positions:
            self._liquidate()
