"""The long-lived daemon: one APScheduler tick job per account, clean stop, config reload."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import DBAPIError

from bot.daemon.tick import Hedger
from bot.daemon.tick_outcome import TickSkipped

log = structlog.get_logger(__name__)


@dataclass
class AccountStats:
    ticks: int = 0
    failures: int = 0
    skipped: int = 0
    last_tick_at: float | None = None  # time.monotonic() of the last finished tick
    last_ok_at: datetime | None = None
    last_duration_s: float | None = None


@dataclass
class RunStats:
    ticks: int = 0
    failures: int = 0
    by_account: dict[str, AccountStats] = field(default_factory=dict)


class Daemon:
    """Runs each account's ``hedger.tick`` on a schedule until stopped or ``max_ticks``.

    Each account has its own job: they run concurrently, and a slow or failing account never
    stalls another. A job coalesces missed runs, never overlaps itself (max_instances=1) and is
    dropped when it starts more than ``misfire_grace_s`` late. A failed tick is logged and
    counted; the daemon goes on. Stopping waits for ticks in flight (up to ``grace_s``), so no
    half-written tick is left. SIGHUP calls ``reload`` (which keeps the old config on error).
    """

    def __init__(
        self,
        hedgers: Hedger | Sequence[Hedger],
        *,
        interval_s: float,
        misfire_grace_s: int,
        max_ticks: int | None = None,
        grace_s: float = 30.0,
        reload: Callable[[], Coroutine[Any, Any, None]] | None = None,
        on_tick_done: Callable[[Hedger, float, bool], None] | None = None,
    ) -> None:
        self.hedgers = [hedgers] if isinstance(hedgers, Hedger) else list(hedgers)
        self.interval_s = interval_s
        self.misfire_grace_s = misfire_grace_s
        self.max_ticks = max_ticks
        self.grace_s = grace_s
        self.reload = reload
        self.on_tick_done = on_tick_done  # e.g. metrics: (hedger, seconds, ok)
        self.stats = RunStats(by_account={h.account: AccountStats() for h in self.hedgers})
        self._stop = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}

    @property
    def hedger(self) -> Hedger:
        """The only hedger of a single-account daemon."""
        return self.hedgers[0]

    def request_stop(self, reason: str = "requested") -> None:
        if not self._stop.is_set():
            log.info("daemon_stopping", reason=reason)
            self._stop.set()

    async def _job(self, hedger: Hedger) -> None:
        if self._stop.is_set():
            return
        task = asyncio.current_task()
        if task is not None:
            self._in_flight[hedger.account] = task
        stats = self.stats.by_account[hedger.account]
        started = time.monotonic()
        ok = False
        try:
            await hedger.tick()
            ok = True
            stats.last_ok_at = datetime.now(UTC)
        except TickSkipped:
            stats.skipped += 1
        except Exception as exc:
            stats.failures += 1
            self.stats.failures += 1
            # The database down or restarting (refused connections, a connection cut mid-tick,
            # SQLite held by another writer) is an outage, not a bug: its message says all, and
            # a stack per tick for its whole length would bury the log.
            outage = isinstance(exc, DBAPIError)
            log.error(
                "tick_failed",
                account=hedger.account,
                error=repr(exc),
                failures=stats.failures,
                database_unavailable=outage,
                exc_info=not outage,
            )
        finally:
            self._in_flight.pop(hedger.account, None)
            stats.ticks += 1
            self.stats.ticks += 1
            stats.last_tick_at = time.monotonic()
            stats.last_duration_s = stats.last_tick_at - started
            if self.on_tick_done is not None:
                self.on_tick_done(hedger, stats.last_duration_s, ok)
        if self.max_ticks is not None and all(
            s.ticks >= self.max_ticks for s in self.stats.by_account.values()
        ):
            self.request_stop(f"reached --ticks {self.max_ticks}")

    def _reload_soon(self) -> None:
        if self.reload is not None:
            asyncio.get_running_loop().create_task(self.reload())

    async def run(self) -> RunStats:
        """Run until stopped; returns tick and failure counts."""
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        handlers: list[tuple[signal.Signals, Callable[[], None]]] = [
            (signal.SIGINT, lambda: self.request_stop("SIGINT")),
            (signal.SIGTERM, lambda: self.request_stop("SIGTERM")),
            (signal.SIGHUP, self._reload_soon),
        ]
        for sig, handler in handlers:
            try:
                loop.add_signal_handler(sig, handler)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass
        scheduler = AsyncIOScheduler(timezone=UTC)
        for hedger in self.hedgers:
            scheduler.add_job(
                self._job,
                "interval",
                args=[hedger],
                seconds=self.interval_s,
                next_run_time=datetime.now(UTC),
                coalesce=True,
                max_instances=1,
                misfire_grace_time=self.misfire_grace_s,
                id=f"tick:{hedger.account}",
            )
        scheduler.start()
        log.info(
            "daemon_started",
            interval_s=self.interval_s,
            max_ticks=self.max_ticks,
            accounts=[h.account for h in self.hedgers],
        )
        try:
            await self._stop.wait()
        finally:
            # Drain first: the asyncio executor's shutdown cancels the jobs still running.
            scheduler.pause()  # jobs due meanwhile would see the stop flag and return anyway
            await self._drain()
            scheduler.shutdown(wait=False)
            for sig in installed:
                loop.remove_signal_handler(sig)
            log.info("daemon_stopped", ticks=self.stats.ticks, failures=self.stats.failures)
        return self.stats

    async def _drain(self) -> None:
        """Let ticks in flight finish, within the grace period; cancel what is left."""
        pending = [task for task in self._in_flight.values() if not task.done()]
        if not pending:
            return
        _done, late = await asyncio.wait(pending, timeout=self.grace_s)
        for task in late:
            log.warning("tick_cancelled_at_shutdown", grace_s=self.grace_s)
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
