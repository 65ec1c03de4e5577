"""Structured logging: JSON in the service, readable in a terminal, secrets scrubbed.

``configure_logging(..., log_file=PATH)`` (``hedgebot run`` on a terminal) appends every event
as a JSON line to PATH and shows only WARNING and above on stderr, so that the tick summary on
stdout stays readable; without it every event goes to stderr as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

import structlog

_SECRETS: set[str] = set()
_REDACTED = "***"
_log_stream: IO[str] | None = None  # the open log file, when events go to one


def register_secret(value: str) -> None:
    """Never let ``value`` reach a log line (API keys, secrets, broker passwords)."""
    if len(value) >= 4:
        _SECRETS.add(value)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _SECRETS:
            if secret in value:
                value = value.replace(secret, _REDACTED)
        return value
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(item) for item in value)
    return value


def scrub_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: replace every registered secret in the event's strings."""
    if not _SECRETS:
        return event_dict
    return {key: _scrub(value) for key, value in event_dict.items()}


def scrub_text(text: str) -> str:
    """The same redaction for text that leaves the process another way (errors, DB rows)."""
    result: str = _scrub(text)
    return result


def configure_logging(
    level: str = "INFO",
    fmt: Literal["auto", "json", "console"] = "auto",
    *,
    log_file: Path | None = None,
    terminal_level: str = "WARNING",
) -> None:
    """Configure structlog (and stdlib logging, which ccxt and SQLAlchemy use).

    Without ``log_file`` every event at ``level`` or above goes to stderr: JSON when ``fmt`` is
    json (or auto off a terminal), readable otherwise. With it, every such event is appended to
    ``log_file`` as one JSON line (exact values, as in the service) and only those at
    ``terminal_level`` or above also reach stderr.
    """
    global _log_stream
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer(default=str)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    if _log_stream is not None:
        _log_stream.close()
        _log_stream = None
    numeric_level = logging.getLevelName(level)
    stderr_level = numeric_level
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        _log_stream = log_file.open("a", encoding="utf-8", buffering=1)
        stderr_level = max(numeric_level, logging.getLevelName(terminal_level))
        renderer = _FileThenTerminal(_log_stream, renderer, stderr_level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = _CurrentStderrHandler()
    handler.addFilter(_StdlibScrubber())
    handler.setLevel(stderr_level)
    handlers: list[logging.Handler] = [handler]
    if _log_stream is not None:
        handler.addFilter(_SchedulerInFileOnly())
        to_file = logging.StreamHandler(_log_stream)
        to_file.addFilter(_StdlibScrubber())
        to_file.setFormatter(_JsonLineFormatter())
        handlers.append(to_file)
    root = logging.getLogger()
    root.handlers = handlers
    root.setLevel(max(numeric_level, logging.INFO) if level != "DEBUG" else logging.DEBUG)
    # APScheduler reports every job run at INFO; our own tick events say more.
    logging.getLogger("apscheduler").setLevel(max(numeric_level, logging.WARNING))
    logging.getLogger("alembic").setLevel(max(numeric_level, logging.WARNING))
    # aiosqlite logs every statement from its worker thread at DEBUG: noise, not decisions.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)


class _FileThenTerminal:
    """structlog's last processor when events go to a file: append the event to it as a JSON
    line, then hand it to ``terminal`` for stderr only at ``level`` or above (else drop it)."""

    def __init__(self, stream: IO[str], terminal: Any, level: int) -> None:
        self.stream = stream
        self.json = structlog.processors.JSONRenderer(default=str)
        self.terminal = terminal
        self.level = level

    def __call__(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
        self.stream.write(f"{self.json(logger, method, dict(event_dict))!s}\n")
        name = str(event_dict.get("level", method)).upper()
        numeric = logging.getLevelName("WARNING" if name == "WARN" else name)
        if not isinstance(numeric, int) or numeric < self.level:
            raise structlog.DropEvent
        return self.terminal(logger, method, event_dict)


class _SchedulerInFileOnly(logging.Filter):
    """APScheduler warns when a tick is still running as the next one is due, or starts late:
    by design (a tick never overlaps itself, a late one is coalesced), so with a log file those
    warnings stay in it and keep off the terminal; its errors still reach it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.name.startswith("apscheduler")


class _JsonLineFormatter(logging.Formatter):
    """Stdlib records (ccxt, SQLAlchemy, asyncio) in the log file, as JSON lines like ours."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "event": record.getMessage(),
            "logger": record.name,
            "level": record.levelname.lower(),
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (it may be swapped, e.g. by pytest)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _StdlibScrubber(logging.Filter):
    """ccxt's verbose mode logs raw requests through stdlib logging: scrub those too."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub_text(record.getMessage())
        record.args = None
        return True


def log_loop_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Send what the event loop would print as a raw traceback (an exception in a callback
    nobody awaits) to the structured log instead: event ``event_loop_error``, with the loop's
    message and the exception. The known case is benign: the MQTT client's socket closed by a
    broker restart between scheduling and running its reader callback (``FileNotFoundError``
    from epoll, chaos seed 1, cycle 655); the client reconnects on its own."""

    def handle(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        structlog.get_logger("bot.loop").error(
            "event_loop_error",
            message=scrub_text(str(context.get("message", ""))),
            error=None if error is None else scrub_text(repr(error)),
            exc_info=error if isinstance(error, BaseException) else None,
        )

    loop.set_exception_handler(handle)
