"""Capped, jittered exponential backoff for temporary exchange errors."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog

from bot.exchange.errors import OutcomeUnknownError, TemporaryExchangeError

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # total tries, the first included
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        """Full-jitter backoff for try ``attempt`` (1-based); Retry-After wins when longer."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        jittered = random.uniform(0, ceiling)  # noqa: S311  (jitter, not cryptography)
        if retry_after_s is not None:
            return max(jittered, min(retry_after_s, self.max_delay_s * 8))
        return jittered


async def with_retries(
    operation: str,
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``call``; retry temporary errors (never an unknown-outcome one) per ``policy``."""
    attempt = 1
    while True:
        try:
            return await call()
        except OutcomeUnknownError:
            raise
        except TemporaryExchangeError as exc:
            if attempt >= policy.attempts:
                raise
            delay = policy.delay(attempt, exc.retry_after_s)
            log.warning(
                "exchange_retry",
                operation=operation,
                attempt=attempt,
                delay_s=round(delay, 3),
                error=str(exc),
            )
            await sleep(delay)
            attempt += 1
