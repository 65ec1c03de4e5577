"""The config's database URL check (stdlib urlsplit, kept off sqlalchemy for a fast
check-config) refuses every URL that sqlalchemy's make_url, which `run` uses, cannot read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config.models import DatabaseConfig

URLS = [
    "sqlite+aiosqlite:///hedgebot.db",
    "sqlite+aiosqlite:////var/lib/hedgebot/hedgebot.db",
    "sqlite+aiosqlite://",
    "postgresql+asyncpg://bot:pw@127.0.0.1:5432/hedgebot",
    "postgresql+asyncpg://bot:p%40ss@db/hedgebot",
    "postgresql+asyncpg://bot@db:/hedgebot",
    "postgresql+asyncpg://bot:pw@db:54x2/hedgebot",
    "postgresql+asyncpg://bot:pw@db:-1/hedgebot",
    "postgresql+asyncpg://bot:pw@db:99999/hedgebot",
    "postgresql+asyncpg://bot:pw@[::1]:5432/hedgebot",
    "postgresql+asyncpg://bot:pw@db:5432:12/hedgebot",
]


def sqlalchemy_reads(url: str) -> bool:
    try:
        _ = make_url(url).port
    except (ArgumentError, ValueError):
        return False
    return True


def config_accepts(url: str) -> bool:
    try:
        DatabaseConfig(url=url)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("url", URLS)
def test_the_config_accepts_only_urls_sqlalchemy_can_read(url: str) -> None:
    if config_accepts(url):
        assert sqlalchemy_reads(url), url


def test_bad_ports_are_refused() -> None:
    assert not config_accepts("postgresql+asyncpg://bot:pw@db:54x2/hedgebot")
    assert not config_accepts("postgresql+asyncpg://bot:pw@db:99999/hedgebot")
    assert config_accepts("postgresql+asyncpg://bot:pw@db:5432/hedgebot")
