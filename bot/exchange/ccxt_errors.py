"""ccxt exceptions → the project's exchange errors, decided where they enter."""

from __future__ import annotations

from collections.abc import Mapping

from ccxt.base import errors as ccxt_errors

from bot.exchange.errors import (
    AuthenticationFailedError,
    ClockSkewError,
    ExchangeError,
    ExchangeUnavailableError,
    OrderNotFoundError,
    OrderRejectedError,
    OutcomeUnknownError,
    PermanentExchangeError,
    RateLimitedError,
    TemporaryExchangeError,
)

# Bybit "server error"/"server busy" codes that ccxt raises as a plain ExchangeError.
SERVER_BUSY_CODES = frozenset({"10016", "10019"})


def retry_after_seconds(headers: object) -> float | None:
    """The Retry-After header of the last response, in seconds (ccxt itself ignores it)."""
    if not isinstance(headers, Mapping):
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def translate_ccxt_error(
    exc: Exception, exchange: str, *, sending_order: bool, retry_after_s: float | None
) -> ExchangeError:
    """ccxt exception → project error. When sending an order, only a definite refusal is a
    refusal: anything else (timeouts, 5xx, dropped connections, server errors) may have placed
    the order, so its outcome is unknown and must be looked up, never resent."""
    message = f"{exchange}: {type(exc).__name__}: {exc}"
    code = ret_code(exc)
    if isinstance(exc, ccxt_errors.RateLimitExceeded | ccxt_errors.DDoSProtection):
        return RateLimitedError(message, retry_after_s=retry_after_s)
    if isinstance(exc, ccxt_errors.InvalidNonce):
        return ClockSkewError(f"{message} (delayed request, or is the clock in sync?)")
    if isinstance(exc, ccxt_errors.AuthenticationError):
        return AuthenticationFailedError(message)
    if isinstance(exc, ccxt_errors.OrderNotFound):
        return OrderNotFoundError(message)
    if isinstance(
        exc, ccxt_errors.InsufficientFunds | ccxt_errors.InvalidOrder | ccxt_errors.BadRequest
    ):
        if sending_order:
            return OrderRejectedError(message, code=code)
        return PermanentExchangeError(message)
    if sending_order:
        return OutcomeUnknownError(message)
    if isinstance(exc, ccxt_errors.ExchangeNotAvailable) or code in SERVER_BUSY_CODES:
        return ExchangeUnavailableError(message, retry_after_s=retry_after_s)
    if isinstance(exc, ccxt_errors.NetworkError):
        return TemporaryExchangeError(message)
    return PermanentExchangeError(message)


def ret_code(exc: Exception) -> str | None:
    """Bybit-style ``"retCode":NNN`` out of ccxt's message (it embeds the raw body)."""
    text = str(exc)
    marker = '"retCode":'
    start = text.find(marker)
    if start < 0:
        return None
    digits = "".join(
        ch for ch in text[start + len(marker) : start + len(marker) + 12] if ch.isdigit()
    )
    return digits or None
