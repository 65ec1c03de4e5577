"""The long-lived daemon: an APScheduler tick job, clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.daemon.tick import Hedger, TickSkipped

log = structlog.get_logger(__name__)


@dataclass
class RunStats:
    ticks: int = 0
    failures: int = 0


class Daemon:
    """Runs ``hedger.tick`` on a schedule until stopped or ``max_ticks`` ticks have run.

    The tick job coalesces missed runs, never overlaps itself (max_instances=1) and is dropped
    when it starts more than ``misfire_grace_s`` late. A failed tick is logged and counted; the
    daemon goes on. Stopping waits for the tick in flight, so no half-written tick is left.
    """

    def __init__(
        self,
        hedger: Hedger,
        *,
        interval_s: float,
        misfire_grace_s: int,
        max_ticks: int | None = None,
    ) -> None:
        self.hedger = hedger
        self.interval_s = interval_s
        self.misfire_grace_s = misfire_grace_s
        self.max_ticks = max_ticks
        self.stats = RunStats()
        self._stop = asyncio.Event()
        self._tick_lock = asyncio.Lock()

    def request_stop(self, reason: str = "requested") -> None:
        if not self._stop.is_set():
            log.info("daemon_stopping", reason=reason)
            self._stop.set()

    async def _job(self) -> None:
        if self._stop.is_set():
            return
        async with self._tick_lock:
            try:
                await self.hedger.tick()
            except TickSkipped:
                pass
            except Exception as exc:
                self.stats.failures += 1
                log.error(
                    "tick_failed",
                    error=repr(exc),
                    failures=self.stats.failures,
                    exc_info=True,
                )
            finally:
                self.stats.ticks += 1
            if self.max_ticks is not None and self.stats.ticks >= self.max_ticks:
                self.request_stop(f"reached --ticks {self.max_ticks}")

    async def run(self) -> RunStats:
        """Run until stopped; returns tick and failure counts."""
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.request_stop, sig.name)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._job,
            "interval",
            seconds=self.interval_s,
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=self.misfire_grace_s,
            id="tick",
        )
        scheduler.start()
        log.info("daemon_started", interval_s=self.interval_s, max_ticks=self.max_ticks)
        try:
            await self._stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            async with self._tick_lock:  # let the tick in flight finish
                pass
            for sig in installed:
                loop.remove_signal_handler(sig)
            log.info("daemon_stopped", ticks=self.stats.ticks, failures=self.stats.failures)
        return self.stats
