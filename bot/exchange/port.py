"""The one interface the daemon uses to talk to an exchange.

Implementations: the in-process simulated exchange (``bot.exchange.sim_port``) and the ccxt
adapter (``bot.exchange.ccxt_port``). Both return the plain types of ``bot.core.types`` and raise
only the errors of ``bot.exchange.errors``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

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


class ExchangePort(Protocol):
    """Async access to one exchange account."""

    @property
    def name(self) -> str:
        """A short name for logs, e.g. ``sim`` or ``bybit``."""
        ...

    async def fetch_time(self) -> datetime:
        """The exchange's clock (UTC). The simulated exchange may advance its replay here."""
        ...

    async def load_markets(self) -> Mapping[str, Market]:
        """Derivatives markets by symbol (cached after the first call)."""
        ...

    async def refresh_markets(self) -> Mapping[str, Market]:
        """Derivatives markets by symbol read again from the exchange (specs may change: a
        contract size, a step); later calls of ``load_markets`` return these."""
        ...

    async def fetch_spot_balances(self) -> Mapping[str, Decimal]:
        """Spot wallet totals, coin -> coins."""
        ...

    async def fetch_margin_wallets(self) -> Mapping[str, MarginWallet]:
        """Coin-margined wallets, coin -> wallet (balance and unrealized PnL in coin)."""
        ...

    async def fetch_positions(self, symbols: Sequence[str]) -> Mapping[str, Position]:
        """Open positions for ``symbols``. A symbol missing from the result is flat only if the
        exchange explicitly listed it; callers treat omissions as unknown."""
        ...

    async def fetch_tickers(self, symbols: Sequence[str]) -> Mapping[str, Ticker]:
        """Last/mark/index prices by symbol, USD per coin."""
        ...

    async def fetch_funding_rates(self, symbols: Sequence[str]) -> Mapping[str, FundingRate]:
        """Current funding rates for perpetuals."""
        ...

    async def create_order(self, request: OrderRequest) -> OrderStatus:
        """Send an order. Raises OutcomeUnknownError when the send may have taken effect."""
        ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderStatus:
        """Cancel an order by its client id."""
        ...

    async def fetch_order_by_client_id(
        self, symbol: str, client_order_id: str
    ) -> OrderStatus | None:
        """Find an order by client id (open, then history, then trades); None if unknown."""
        ...

    async def fetch_open_orders(self, symbols: Sequence[str]) -> Sequence[OrderStatus]:
        """Resting orders on ``symbols``."""
        ...

    async def fetch_fills(self, symbol: str, since: datetime | None) -> Sequence[Fill]:
        """Executions on ``symbol`` since ``since``."""
        ...

    async def fetch_funding_payments(
        self, symbol: str, since: datetime | None
    ) -> Sequence[FundingPayment]:
        """Funding settled on ``symbol`` since ``since`` (signed coin amounts)."""
        ...

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: datetime | None, limit: int
    ) -> Sequence[Candle]:
        """Candles for ``symbol`` (a spot or derivatives symbol)."""
        ...

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Set leverage; tolerate 'not modified'."""
        ...

    async def set_margin_mode(self, symbol: str, mode: MarginMode, leverage: Decimal) -> None:
        """Set margin mode (some exchanges need the leverage with it); tolerate 'not modified'."""
        ...

    async def transfer(self, request: TransferRequest) -> TransferStatus:
        """Move coins between the spot and the contract (margin) wallet of this account.

        Raises OutcomeUnknownError when the transfer may have taken effect (timeout, lost
        response): look it up with ``fetch_transfer`` before sending it again.
        """
        ...

    async def fetch_transfer(self, transfer_id: str, coin: str) -> TransferStatus | None:
        """A transfer by its id (recent history); None when the exchange has no such transfer."""
        ...

    async def create_spot_order(self, request: OrderRequest) -> OrderStatus:
        """A spot market order on ``request.symbol`` (e.g. ``SOL/USDT``); ``contracts`` is the
        amount in base coins. Raises OutcomeUnknownError when the send may have taken effect."""
        ...

    async def fetch_spot_order(self, symbol: str, client_order_id: str) -> OrderStatus | None:
        """A spot order by client id (open, then history); None if unknown."""
        ...

    async def fetch_key_info(self) -> KeyInfo | None:
        """The API key's permissions; None where the exchange has no such call."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
