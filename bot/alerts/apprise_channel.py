"""Optional Apprise delivery (``alerts.apprise_urls``): the same outbox, its own delivered marker.

A background task sends the outbox's ``apprise`` rows in ``id`` order, one notification per
alert to every URL, and marks a row delivered when Apprise reports success for all of them.
A failure is retried after a capped, jittered backoff (the same as MQTT's); MQTT delivery is
not affected. Apprise is synchronous: each send runs in a worker thread, never on the event
loop. URLs (which often embed tokens) are registered as secrets so no log line shows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import structlog

from bot.alerts.model import Alert, Severity, Topics, iso
from bot.alerts.mqtt import backoff_delay
from bot.logs import register_secret, scrub_text
from bot.store.outbox import Outbox

if TYPE_CHECKING:
    import apprise

log = structlog.get_logger(__name__)

_NOTIFY_TYPES = {Severity.INFO: "info", Severity.WARNING: "warning", Severity.CRITICAL: "failure"}


def utc_now() -> datetime:
    return datetime.now(UTC)


def apprise_urls(
    urls: Sequence[str], env_name: str | None, environ: Mapping[str, str]
) -> list[str]:
    """``alerts.apprise_urls`` plus those in the variable ``alerts.apprise_urls_env`` (split on
    whitespace and commas); each registered as a secret, with its password part if any."""
    found = [url.strip() for url in urls if url.strip()]
    if env_name is not None:
        found += [part for part in environ.get(env_name, "").replace(",", " ").split() if part]
    for url in found:
        register_secret(url)
        with contextlib.suppress(ValueError):
            password = urlsplit(url).password
            if password:
                register_secret(password)
    return found


def _load_apprise() -> type[apprise.Apprise]:
    with warnings.catch_warnings():
        # Apprise's e-mail plugin imports the deprecated imghdr module (Python 3.11/3.12).
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        return apprise.Apprise


class AppriseSender:
    """Sends one alert to every URL; ``send`` is blocking (call it in a thread)."""

    def __init__(self, urls: Sequence[str], topics: Topics) -> None:
        self._urls = list(urls)
        self._topics = topics
        self._apprise: apprise.Apprise | None = None

    @property
    def configured(self) -> bool:
        return bool(self._urls)

    def _client(self) -> apprise.Apprise:
        if self._apprise is None:
            client = _load_apprise()()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                for url in self._urls:
                    if not client.add(url):
                        log.warning("apprise_url_rejected", url=scrub_text(url))
            self._apprise = client
        return self._apprise

    def title(self, alert: Alert) -> str:
        return f"[{alert.severity.value.upper()}] {alert.kind} ({self._topics.base})"

    def body(self, alert: Alert) -> str:
        lines = [alert.message]
        lines += [f"{name}: {value}" for name, value in alert.values.items()]
        where = " ".join(part for part in (alert.asset, alert.instrument) if part)
        if where:
            lines.append(f"on: {where}")
        lines.append(f"raised at {iso(alert.raised_at)} ({alert.status.value})")
        lines.append(f"alert id {alert.alert_id}, account {alert.account}")
        return scrub_text("\n".join(lines))

    def send(self, alert: Alert) -> bool:
        client = self._client()
        if len(client) == 0:
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            result = client.notify(
                body=self.body(alert),
                title=scrub_text(self.title(alert)),
                notify_type=_NOTIFY_TYPES[alert.severity],
            )
        return bool(result)


class AppriseWorker:
    """The background task draining the ``apprise`` rows of the outbox."""

    def __init__(
        self,
        sender: AppriseSender,
        outbox: Outbox,
        *,
        poll: float = 5.0,
        retry_min: float = 1.0,
        retry_max: float = 60.0,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self._sender = sender
        self._outbox = outbox
        self._poll = poll
        self._retry_min, self._retry_max = retry_min, retry_max
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self.delivered = 0

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                ok = await self._drain()
            except Exception as exc:  # the database, or Apprise itself
                log.error("apprise_worker_error", error=scrub_text(repr(exc)))
                ok = False
            if self._stop.is_set():
                return
            if ok:
                failures = 0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
                continue
            delay = backoff_delay(
                failures, base=self._retry_min, cap=self._retry_max, rng=self._rng
            )
            failures += 1
            log.warning("apprise_unavailable", attempt=failures, retry_in_s=round(delay, 3))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)

    async def _drain(self) -> bool:
        """Send pending rows in order; False at the first failure (the rest waits)."""
        while entries := await self._outbox.pending("apprise", limit=50):
            for entry in entries:
                if not await asyncio.to_thread(self._sender.send, entry.alert):
                    return False
                await self._outbox.mark_delivered("apprise", [entry.id], self._clock())
                self.delivered += 1
        return True
