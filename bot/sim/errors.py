"""Errors raised by the simulated exchange core.

These never cross the exchange port: ``bot.exchange.sim_port`` translates them into the types of
``bot.exchange.errors`` and an emulator maps them to its venue's error codes (``RejectError.code``
is stable and meant for that mapping).
"""

from __future__ import annotations

from enum import StrEnum

from bot.core.types import OrderStatus


class RejectCode(StrEnum):
    """Why an order was refused. Values are part of the interface (emulator, port, tests)."""

    DUPLICATE_CLIENT_ID = "duplicate_client_id"  # nothing recorded; the first order is untouched
    REDUCE_ONLY = "reduce_only"  # would increase or flip the position
    INSUFFICIENT_BALANCE = "insufficient_balance"  # initial margin + fee > available margin
    INVALID_AMOUNT = "invalid_amount"  # not positive, below the minimum or off the amount step
    INVALID_PRICE = "invalid_price"  # limit order without a positive limit price
    POST_ONLY = "post_only"  # a post-only limit that would take liquidity
    UNKNOWN_SYMBOL = "unknown_symbol"
    MARKET_CLOSED = "market_closed"  # expired or inactive market


class SimError(Exception):
    """Base class of every error of the simulated exchange."""


class RejectError(SimError):
    """An order was refused. ``status`` is the recorded REJECTED order (None for duplicates)."""

    def __init__(self, code: RejectCode, message: str, status: OrderStatus | None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class NoSuchOrderError(SimError):
    """No order with this exchange id or client id (on this symbol)."""


class OrderClosedError(SimError):
    """The order is already in a terminal state (filled, cancelled, rejected): nothing to do."""

    def __init__(self, message: str, status: OrderStatus) -> None:
        super().__init__(message)
        self.status = status


class UnknownSymbolError(SimError):
    """The symbol is not a market of this exchange."""


class InsufficientFundsError(SimError):
    """A withdrawal, transfer or leverage change needs more than is available."""


class DuplicateIdError(SimError):
    """A transfer id that was already used: nothing was moved (the first transfer stands)."""


class InvalidRequestError(SimError):
    """A malformed or impossible request (bad amount, clock moved backwards, ...)."""


class ReplayExhaustedError(SimError):
    """The replay clock cannot move past the end of the price data."""


class FeedError(SimError):
    """A price feed problem: unknown coin, or a time outside the data."""


class FeedRangeError(FeedError):
    """A price was asked for a time the feed does not cover."""


class ReplayDataError(FeedError):
    """A replay file is malformed. The message names the file and, for row problems, the line."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem
