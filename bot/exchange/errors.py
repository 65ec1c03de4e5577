"""The project's own exchange error types.

Adapters translate their library's exceptions into these at the boundary, so the daemon decides
on one question only: retry later (temporary) or stop and tell a human (permanent).
"""

from __future__ import annotations


class ExchangeError(Exception):
    """Base class for every error raised through the exchange port."""


class TemporaryExchangeError(ExchangeError):
    """Worth retrying later: timeouts, 5xx, rate limits, maintenance."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RateLimitedError(TemporaryExchangeError):
    """The exchange asked us to slow down (HTTP 429 or its own rate-limit code)."""


class ExchangeUnavailableError(TemporaryExchangeError):
    """Maintenance, IP ban or a 5xx: trading pauses and resumes on its own."""


class ClockSkewError(TemporaryExchangeError):
    """The exchange refused a request as too old or too new for its receive window: a request
    delayed under load (retry), or a clock out of sync (fix the clock). Never placed anything."""


class OutcomeUnknownError(TemporaryExchangeError):
    """A request that may have taken effect timed out or lost its response.

    For orders this means: look the order up by client id before anything else; never resend.
    """


class PermanentExchangeError(ExchangeError):
    """Retrying the same request will not help."""


class AuthenticationFailedError(PermanentExchangeError):
    """Wrong key or secret, expired key, or a stale timestamp the exchange refused."""


class OrderRejectedError(PermanentExchangeError):
    """The exchange refused this order (insufficient margin, reduce-only violation, ...)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class OrdersDisabledError(OrderRejectedError):
    """The venue refuses every order placed through the API for this account (MEXC's "Contract
    not allow place order"): no retry changes it, a person must enable API trading."""


class OrderNotFoundError(PermanentExchangeError):
    """The exchange does not know the order asked for."""


class ConfigurationMismatchError(PermanentExchangeError):
    """The account is set up differently from the config (hedge mode, leverage, margin mode)."""
