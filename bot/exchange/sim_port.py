"""The simulated exchange as an in-process ``ExchangePort`` (offline runs, demo, tests).

A thin async wrapper over ``bot.sim.engine.SimExchange``: no awaits happen inside a call, so
each call is atomic with respect to other coroutines. Engine errors never escape: they are
translated into ``bot.exchange.errors`` types.

Clock: with ``auto_step`` (replay with ``step_per_tick``) every ``fetch_time()`` call advances the
replay by one candle and returns the new time; this is how the offline demo moves through
history, one candle per tick, so call it once per tick. Past the end of the data it raises
``PermanentExchangeError``. Without ``auto_step`` (fixed prices, or a replay driven from
outside) ``fetch_time()`` returns ``engine.now`` unchanged; the clock moves only when the owner
of the engine calls ``set_time``/``advance``/``step``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from bot.config.models import SimConfig
from bot.core.types import (
    Candle,
    Fill,
    FundingPayment,
    FundingRate,
    KeyInfo,
    MarginMode,
    MarginWallet,
    Market,
    OrderRequest,
    OrderStatus,
    Position,
    Ticker,
    TransferRequest,
    TransferStatus,
)
from bot.exchange.errors import (
    ConfigurationMismatchError,
    OrderNotFoundError,
    OrderRejectedError,
    PermanentExchangeError,
)
from bot.sim import errors as sim
from bot.sim.engine import SimExchange
from bot.sim.records import LedgerEntry

T = TypeVar("T")


@contextmanager
def _translated(config: bool = False) -> Iterator[None]:
    """Engine errors -> port errors (the port raises nothing else). ``config``: the call sets
    up the account (leverage, margin mode), so any refusal is a configuration mismatch."""
    try:
        yield
    except sim.RejectError as exc:
        raise OrderRejectedError(exc.message, code=exc.code.value) from exc
    except sim.NoSuchOrderError as exc:
        raise OrderNotFoundError(str(exc)) from exc
    except sim.ReplayExhaustedError as exc:
        raise PermanentExchangeError(f"replay finished: {exc}") from exc
    except sim.SimError as exc:
        if config:
            raise ConfigurationMismatchError(str(exc)) from exc
        raise PermanentExchangeError(str(exc)) from exc


class SimExchangePort:
    """``ExchangePort`` over a ``SimExchange``; see the module docstring for the clock rule."""

    def __init__(self, engine: SimExchange, auto_step: bool = False) -> None:
        if auto_step and not engine.is_replay:
            raise ValueError("auto_step needs a replay feed (fixed prices have no candles)")
        self.engine = engine
        self.auto_step = auto_step
        self._markets: dict[str, Market] | None = None

    @property
    def name(self) -> str:
        return "sim"

    def _call(self, fn: Callable[[], T]) -> T:
        with _translated():
            return fn()

    async def fetch_time(self) -> datetime:
        if self.auto_step:
            return self._call(self.engine.step)
        return self.engine.now

    async def load_markets(self) -> Mapping[str, Market]:
        if self._markets is None:
            self._markets = self.engine.markets()
        return dict(self._markets)

    async def refresh_markets(self) -> Mapping[str, Market]:
        self._markets = self.engine.markets()
        return dict(self._markets)

    async def fetch_spot_balances(self) -> Mapping[str, Decimal]:
        return self.engine.spot_balances()

    async def fetch_margin_wallets(self) -> Mapping[str, MarginWallet]:
        return self._call(self.engine.margin_wallets)

    async def fetch_positions(self, symbols: Sequence[str]) -> Mapping[str, Position]:
        return self._call(lambda: self.engine.positions(symbols))

    async def fetch_tickers(self, symbols: Sequence[str]) -> Mapping[str, Ticker]:
        return self._call(lambda: self.engine.tickers(symbols))

    async def fetch_funding_rates(self, symbols: Sequence[str]) -> Mapping[str, FundingRate]:
        return self._call(lambda: self.engine.funding_rates(symbols))

    async def create_order(self, request: OrderRequest) -> OrderStatus:
        return self._call(lambda: self.engine.create_order(request))

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderStatus:
        """Cancel by client id; an order that is already closed comes back unchanged."""
        with _translated():
            try:
                return self.engine.cancel_order(symbol, client_id=client_order_id)
            except sim.OrderClosedError as exc:
                return exc.status

    async def fetch_order_by_client_id(
        self, symbol: str, client_order_id: str
    ) -> OrderStatus | None:
        return self._call(lambda: self.engine.order_status(symbol, client_id=client_order_id))

    async def fetch_open_orders(self, symbols: Sequence[str]) -> Sequence[OrderStatus]:
        return self._call(lambda: self.engine.open_orders(symbols))

    async def fetch_fills(self, symbol: str, since: datetime | None) -> Sequence[Fill]:
        return self._call(lambda: self.engine.fills(symbol, since))

    async def fetch_funding_payments(
        self, symbol: str, since: datetime | None
    ) -> Sequence[FundingPayment]:
        return self._call(lambda: self.engine.funding_payments(symbol, since))

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: datetime | None, limit: int
    ) -> Sequence[Candle]:
        return self._call(
            lambda: self.engine.candles(symbol, limit, since=since, timeframe=timeframe)
        )

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Setting the current value again is a no-op, as on a venue's 'not modified'."""
        with _translated(config=True):
            self.engine.set_leverage(symbol, leverage)

    async def set_margin_mode(self, symbol: str, mode: MarginMode, leverage: Decimal) -> None:
        """Sets the mode, then the leverage. Same values: no-op. Switching the mode with a
        position or resting orders on ``symbol``: ConfigurationMismatchError."""
        with _translated(config=True):
            self.engine.set_margin_mode(symbol, mode)
            self.engine.set_leverage(symbol, leverage)

    async def transfer(self, request: TransferRequest) -> TransferStatus:
        """Applied at once. A transfer id already used moves nothing and answers the first
        transfer's status when it is the same move (a resend), else PermanentExchangeError."""
        with _translated():
            try:
                entry = self.engine.transfer(
                    request.coin,
                    request.amount,
                    request.source,
                    request.destination,
                    transfer_id=request.transfer_id,
                )
            except sim.DuplicateIdError:
                first = self.engine.transfer_by_id(request.transfer_id)
                if first is None or (first.coin, first.source, first.destination) != (
                    request.coin,
                    request.source,
                    request.destination,
                ):
                    raise
                entry = first
        return _transfer_status(entry)

    async def fetch_transfer(self, transfer_id: str, coin: str) -> TransferStatus | None:
        entry = self.engine.transfer_by_id(transfer_id)
        if entry is None or entry.coin != coin:
            return None
        return _transfer_status(entry)

    async def create_spot_order(self, request: OrderRequest) -> OrderStatus:
        """A spot market order (``contracts`` = base coins) on e.g. ``SOL/USDT``; refusals are
        OrderRejectedError with the engine's reject code."""
        if request.order_type != "market" or request.reduce_only or request.post_only:
            raise PermanentExchangeError("spot orders are plain market orders here")
        return self._call(
            lambda: self.engine.spot_order(
                request.symbol, request.side, request.contracts, request.client_order_id
            )
        )

    async def fetch_spot_order(self, symbol: str, client_order_id: str) -> OrderStatus | None:
        return self.engine.spot_order_status(client_order_id, symbol)

    async def fetch_key_info(self) -> KeyInfo | None:
        """The in-process simulator has no API keys."""
        return None

    async def close(self) -> None:
        return None


def _transfer_status(entry: LedgerEntry) -> TransferStatus:
    if entry.source is None or entry.destination is None or entry.reference is None:
        raise PermanentExchangeError(f"ledger entry {entry.entry_id} is not a transfer by id")
    return TransferStatus(
        transfer_id=entry.reference,
        coin=entry.coin,
        amount=entry.amount,
        source=entry.source,
        destination=entry.destination,
        state="SUCCESS",
        timestamp=entry.timestamp,
    )


def build_sim_port(cfg: SimConfig) -> SimExchangePort:
    """Engine from ``exchange.sim`` + port; replay with ``step_per_tick`` steps on fetch_time."""
    with _translated():
        engine = SimExchange.from_config(cfg)
    auto_step = cfg.replay is not None and cfg.replay.step_per_tick
    return SimExchangePort(engine, auto_step=auto_step)


if TYPE_CHECKING:
    from bot.exchange.port import ExchangePort

    def _conforms(port: SimExchangePort) -> ExchangePort:
        return port  # mypy checks SimExchangePort against the ExchangePort protocol here
