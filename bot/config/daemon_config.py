"""The daemon's own sections: when ticks run, where records go, the log and the HTTP surface.

``schedule``, ``database``, ``logging`` and ``http``: process-wide settings, shared by every
account of the daemon. Re-exported by ``bot.config.models``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from bot.config.fields import DEFAULT_DATABASE_URL, EnvVarName, Strict


class ScheduleConfig(Strict):
    """When ticks run."""

    interval_seconds: Annotated[float, Field(gt=0, le=86_400)] = Field(
        60.0, description="Seconds between ticks."
    )
    # At most a day, like interval_seconds: APScheduler adds it to datetimes, and a huge value
    # (1e14) passed validation and then raised OverflowError on every tick.
    misfire_grace_seconds: Annotated[int, Field(ge=1, le=86_400)] = Field(
        30, description="A tick that starts this much late still runs; later, it is skipped."
    )
    shutdown_grace_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        30.0, description="On SIGTERM, how long the tick in flight may take to finish."
    )


class DatabaseConfig(Strict):
    """Where everything is recorded."""

    url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite+aiosqlite:///FILE or "
        "postgresql+asyncpg://user@host/db.",
    )
    # 120 s: a PostgreSQL restart or a compose stack starting (hedgebot up before the server)
    # takes seconds to a minute; past two minutes a person should look, so `run` exits 1.
    startup_wait_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(
        120.0,
        description="At start, how long to wait for an unavailable database (down, restarting, "
        "locked by another writer) before giving up.",
    )

    @field_validator("url")
    @classmethod
    def _known_driver(cls, url: str) -> str:
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "the URL must start with 'sqlite+aiosqlite://' or 'postgresql+asyncpg://'"
            )
        # The standard library's parser, not sqlalchemy's make_url: importing sqlalchemy costs
        # check-config ~0.17 s of its 0.5 s budget. It rejects every port make_url rejects, and
        # out-of-range ports too (tests/config/test_database_url.py holds the two side by side).
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url)
            _ = parts.port
            if parts.netloc.endswith(":"):
                raise ValueError("empty port")
        except ValueError:
            # Never echo the URL: it may hold a password.
            raise ValueError(
                "cannot parse it as a database URL (check the host and port)"
            ) from None
        return url


class LoggingConfig(Strict):
    """The structured log."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level logged."
    )
    format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto: JSON when not on a terminal, console text on one."
    )


class HttpConfig(Strict):
    """Health, readiness, status and metrics over HTTP (loopback by default)."""

    enabled: bool = Field(
        False, description="Serve /healthz, /readyz, /status and /metrics over HTTP."
    )
    host: str = Field("127.0.0.1", description="Bind address (0.0.0.0 inside a container).")
    port: Annotated[int, Field(ge=0, le=65_535)] = Field(8080, description="TCP port.")
    token_env: EnvVarName | None = Field(
        None,
        description="Environment variable holding a bearer token; when set, every route but "
        '/healthz needs "Authorization: Bearer <token>".',
    )
    stale_after_ticks: Annotated[float, Field(ge=1, le=10_000)] = Field(
        3.0, description="/healthz answers 503 when the last tick is older than this many ticks."
    )
