"""The daemon's entry point to alerts: rules → outbox → background publishers.

    alerts = AlertService(config.alerts, store.engine, account=account)  # may raise ConfigError
    await alerts.start()                        # daemon_started; publisher tasks begin
    ...each tick...
    await alerts.observe(TickObservation(...))  # rules; alerts + condition states committed
    alerts.publish_state({...})                 # retained state summary, latest wins
    ...
    await alerts.stop(reason="signal")          # daemon_stopped; drain, "offline", disconnect

Nothing here waits for a broker: :meth:`observe` and :meth:`add` are database writes, and the
publishers are separate tasks that retry forever with backoff. A database error in
:meth:`observe`/:meth:`add` is logged and the alerts are kept in memory and written with the
next call; it never propagates into the tick. With ``alerts.enabled: false`` every method is a
no-op (and no table is touched).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.alerts.apprise_channel import AppriseSender, AppriseWorker, apprise_urls
from bot.alerts.model import DEFAULT_ACCOUNT, Alert, Severity, Topics, state_payload
from bot.alerts.mqtt import MqttPublisher, MqttSettings
from bot.alerts.rules import DAEMON_KEY, ConditionState, TickObservation, evaluate_tick, lifecycle
from bot.config.models import AlertsConfig
from bot.logs import scrub_text
from bot.store.outbox import Channel, Outbox, OutboxPolicy

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class AlertService:
    def __init__(
        self,
        config: AlertsConfig,
        engine: AsyncEngine,
        *,
        account: str = DEFAULT_ACCOUNT,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Validates the secrets (``ConfigError`` if ``alerts.password_env`` is unset); no I/O."""
        self.config = config
        self.account = account
        self._clock = clock
        self._states: dict[str, ConditionState] = {}
        self._saved: dict[str, ConditionState] = {}
        self._unsaved: list[Alert] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self.topics = Topics(config.prefix, config.instance)
        self.publisher: MqttPublisher | None = None
        self.apprise: AppriseWorker | None = None
        env = os.environ if environ is None else environ
        channels: set[Channel] = set()
        urls = apprise_urls(config.apprise_urls, config.apprise_urls_env, env)
        if config.enabled:
            channels.add("mqtt")
            if urls:
                channels.add("apprise")
        policy = OutboxPolicy(max_rows=config.max_rows, channels=frozenset(channels))
        self.outbox = Outbox(engine, account=account, policy=policy, clock=clock)
        if not config.enabled:
            return
        settings = MqttSettings.from_config(config, env)
        self.publisher = MqttPublisher(settings, self.outbox, clock=clock)
        if urls:
            self.apprise = AppriseWorker(
                AppriseSender(urls, self.topics),
                self.outbox,
                poll=config.poll_seconds,
                retry_min=config.reconnect_min_seconds,
                retry_max=config.reconnect_max_seconds,
                clock=clock,
            )

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    async def start(self) -> list[Alert]:
        """Load the condition states, raise ``daemon_started`` and start the publishers."""
        if not self.enabled or self._started:
            return []
        self._started = True
        try:
            self._states = await self.outbox.load_conditions()
            self._saved = dict(self._states)
        except Exception as exc:
            log.error("alerts_state_unreadable", error=scrub_text(repr(exc)))
        state, alerts = lifecycle(
            True,
            self._clock(),
            self._states.get(DAEMON_KEY),
            self.config.rules,
            account=self.account,
        )
        self._set_daemon_state(state)
        if self.publisher is not None:
            self._tasks.append(asyncio.create_task(self.publisher.run(), name="hedgebot-mqtt"))
        if self.apprise is not None:
            self._tasks.append(asyncio.create_task(self.apprise.run(), name="hedgebot-apprise"))
        for task in self._tasks:
            task.add_done_callback(_report_end)
        await self._record(alerts)
        return alerts

    async def observe(self, observation: TickObservation) -> list[Alert]:
        """Run every rule over one tick; commit the alerts with the new condition states."""
        if not self.enabled:
            return []
        states, alerts = evaluate_tick(
            observation, self._states, self.config.rules, account=self.account
        )
        daemon = self._states.get(DAEMON_KEY)
        self._states = states
        self._set_daemon_state(daemon)  # lifecycle state is not the tick's business
        await self._record(alerts)
        return alerts

    async def add(self, alerts: Sequence[Alert]) -> None:
        """Queue ad-hoc alerts (their own transaction); never raises on database errors."""
        if self.enabled and alerts:
            await self._record(list(alerts))

    async def stage(self, session: AsyncSession, alerts: Sequence[Alert]) -> list[int]:
        """Queue alerts in the caller's open transaction; call :meth:`notify` after commit."""
        if not self.enabled or not alerts:
            return []
        return await self.outbox.stage(session, alerts)

    def notify(self) -> None:
        """Wake the publishers (new rows were committed by someone else)."""
        if self.publisher is not None:
            self.publisher.wake()
        if self.apprise is not None:
            self.apprise.wake()

    def publish_state(self, summary: Mapping[str, Any]) -> None:
        """The retained ``state`` document after a tick (exposures, targets, hedges, margin,
        funding...). Not stored: only the newest matters; it goes out when connected."""
        if self.publisher is None:
            return
        payload = state_payload(summary, account=self.account, updated_at=self._clock())
        self.publisher.set_state(scrub_text(payload.decode()).encode())

    async def stop(self, *, reason: str = "requested", drain_s: float | None = None) -> None:
        """Raise ``daemon_stopped``, let the publishers drain for up to ``drain_s`` seconds
        (default ``alerts.stop_timeout_seconds``), publish ``offline`` and stop them.

        Whatever is not delivered by then stays in the outbox for the next start.
        """
        if not self.enabled or not self._started:
            return
        state, alerts = lifecycle(
            False,
            self._clock(),
            self._states.get(DAEMON_KEY),
            self.config.rules,
            account=self.account,
            reason=reason,
        )
        self._set_daemon_state(state)
        await self._record(alerts)
        for worker in (self.publisher, self.apprise):
            if worker is not None:
                worker.request_stop()
        wait = self.config.stop_timeout_seconds if drain_s is None else drain_s
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=wait)
            for task in pending:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if pending:
                log.warning("alerts_stop_timeout", undelivered_tasks=len(pending), waited_s=wait)
        self._tasks = []
        self._started = False

    def _set_daemon_state(self, state: ConditionState | None) -> None:
        if state is None:
            self._states.pop(DAEMON_KEY, None)
        else:
            self._states[DAEMON_KEY] = state

    async def _record(self, alerts: list[Alert]) -> None:
        """Write new alerts (and any left from a failed write) with the changed states."""
        pending = [*self._unsaved, *alerts]
        changed = {
            key: state for key, state in self._states.items() if self._saved.get(key) != state
        }
        forget = [key for key in self._saved if key not in self._states]
        try:
            await self.outbox.record(pending, changed, forget)
        except Exception as exc:
            self._unsaved = _bounded(pending, self.config.max_rows)
            log.error(
                "alerts_not_recorded",
                error=scrub_text(repr(exc)),
                queued_in_memory=len(pending),
            )
            return
        self._unsaved = []
        self._saved = dict(self._states)
        for alert in pending:
            log.info(
                "alert_raised",
                kind=alert.kind,
                severity=alert.severity.value,
                status=alert.status.value,
                alert_id=alert.alert_id,
                message=alert.message,
            )
        if pending:
            self.notify()


def _bounded(alerts: list[Alert], limit: int) -> list[Alert]:
    """At most ``limit`` alerts kept in memory: drop info, then warnings, oldest first."""
    kept = list(alerts)
    for severity in (Severity.INFO, Severity.WARNING):
        excess = len(kept) - limit
        if excess <= 0:
            break
        victims = [alert for alert in kept if alert.severity is severity][:excess]
        gone = {alert.alert_id for alert in victims}
        kept = [alert for alert in kept if alert.alert_id not in gone]
    return kept


def _report_end(task: asyncio.Task[None]) -> None:
    """A publisher task must only end when stopped: say so loudly if it died."""
    if task.cancelled() or task.exception() is None:
        return
    error = task.exception()
    log.error("alerts_task_died", task=task.get_name(), error=scrub_text(repr(error)))
