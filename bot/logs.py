"""Structured logging: JSON in the service, readable in a terminal, secrets scrubbed."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

_SECRETS: set[str] = set()
_REDACTED = "***"


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
    level: str = "INFO", fmt: Literal["auto", "json", "console"] = "auto"
) -> None:
    """Configure structlog (and stdlib logging, which ccxt and SQLAlchemy use)."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer(default=str)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    numeric_level = logging.getLevelName(level)
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
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(max(numeric_level, logging.INFO) if level != "DEBUG" else logging.DEBUG)
    # APScheduler reports every job run at INFO; our own tick events say more.
    logging.getLogger("apscheduler").setLevel(max(numeric_level, logging.WARNING))
    logging.getLogger("alembic").setLevel(max(numeric_level, logging.WARNING))
    # aiosqlite logs every statement from its worker thread at DEBUG: noise, not decisions.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)


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
