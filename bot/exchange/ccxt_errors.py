"""ccxt exceptions → the project's exchange errors, decided where they enter."""

from __future__ import annotations

import re
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
    exc: Exception,
    exchange: str,
    *,
    sending_order: bool,
    retry_after_s: float | None,
    refusal_codes: tuple[str, ...] = (),
) -> ExchangeError:
    """ccxt exception → project error. When sending an order, only a definite refusal is a
    refusal: anything else (timeouts, 5xx, dropped connections, server errors) may have placed
    the order, so its outcome is unknown and must be looked up, never resent.

    Definite refusals: ccxt's InsufficientFunds, InvalidOrder, BadRequest and OperationRejected
    (Binance -4061 position side vs dualSidePosition arrives as OperationRejected), and the
    venue codes of ``refusal_codes`` that ccxt leaves a plain ExchangeError (Binance -4118).
    """
    message = f"{exchange}: {type(exc).__name__}: {exc}"
    code = exchange_code(exc)
    if isinstance(exc, ccxt_errors.RateLimitExceeded | ccxt_errors.DDoSProtection):
        return RateLimitedError(message, retry_after_s=retry_after_s)
    if isinstance(exc, ccxt_errors.InvalidNonce):
        return ClockSkewError(f"{message} (delayed request, or is the clock in sync?)")
    if isinstance(exc, ccxt_errors.AuthenticationError):
        return AuthenticationFailedError(message)
    if isinstance(exc, ccxt_errors.OrderNotFound):
        return OrderNotFoundError(message)
    refused = isinstance(
        exc,
        ccxt_errors.InsufficientFunds
        | ccxt_errors.InvalidOrder
        | ccxt_errors.BadRequest
        | ccxt_errors.OperationRejected,
    )
    if refused or (code is not None and code in refusal_codes):
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


# The venue's own error code inside ccxt's message (ccxt embeds the raw body): Bybit
# ``"retCode":110043``, Binance ``"code":-4061``, MEXC ``"code":1002``, OKX ``"code":"1"`` with
# the real one per order in ``"sCode":"51000"``. Bounded by quotes and digits so that a number
# elsewhere in the body (the ``time`` field, an order id) is never read as a code.
_CODE_FIELDS = ("sCode", "retCode", "ret_code", "code")
_CODE = re.compile(r'"(sCode|retCode|ret_code|code)"\s*:\s*"?(-?\d+)(?![\d.])"?')


def exchange_code(exc: Exception) -> str | None:
    """The venue's error code out of ccxt's message, or None (the most specific field wins:
    OKX's per-order ``sCode`` over its envelope ``code``)."""
    found: dict[str, str] = {}
    for match in _CODE.finditer(str(exc)):
        found.setdefault(match.group(1), match.group(2))
    return next((found[name] for name in _CODE_FIELDS if name in found), None)


def ret_code(exc: Exception) -> str | None:
    """Bybit-style ``"retCode":NNN`` out of ccxt's message (kept for callers; see
    ``exchange_code``)."""
    return exchange_code(exc)
