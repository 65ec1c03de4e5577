"""Wiring: config → exchange port, store, rules and hedger. The only place that builds them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError

from bot.config.models import Config
from bot.config.secrets import resolve_credentials
from bot.core.planner import PlannerSettings
from bot.daemon.collateral import collateral_settings
from bot.daemon.decide import Decision, decide
from bot.daemon.estimates import EstimateCache
from bot.daemon.ownership import account_lock
from bot.daemon.snapshot import read_snapshot
from bot.daemon.tick import Hedger
from bot.emulator.app import RunningEmulator
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.errors import TemporaryExchangeError
from bot.exchange.factory import build_port
from bot.exchange.port import ExchangePort
from bot.exchange.profiles import profile_for
from bot.exchange.spot_sources import SpotSource, open_spot_source
from bot.exchange.venue import check_venue
from bot.logs import register_secret, scrub_text
from bot.store.db import create_engine, upgrade
from bot.store.repo import Store
from strategies import HedgeRule, build_rule

log = structlog.get_logger(__name__)
T = TypeVar("T")

EMBEDDED_RATE_LIMIT_MS = 1


@dataclass
class Runtime:
    config: Config
    port: ExchangePort
    store: Store
    hedger: Hedger
    emulator: RunningEmulator | None = None

    async def close(self) -> None:
        for source in self.hedger.spot_sources:
            await source.close()
        await self.port.close()
        await self.store.close()
        if self.emulator is not None:
            await self.emulator.stop()


def build_rules(config: Config) -> list[HedgeRule]:
    return [build_rule(rule) for rule in config.rules]


async def open_port(
    config: Config, environ: Mapping[str, str], *, dry_run: bool = True
) -> tuple[ExchangePort, RunningEmulator | None]:
    """Resolve credentials (registering them for redaction) and build the port.

    With ``exchange.embedded_emulator`` the Bybit emulator is started in-process on 127.0.0.1
    over ``exchange.sim`` first, and ccxt is pointed at it: the full wire path, offline.
    """
    credentials = resolve_credentials(config.exchange, environ)
    register_secret(credentials.api_key.get_secret_value())
    register_secret(credentials.secret.get_secret_value())
    exchange = config.exchange
    if not exchange.embedded_emulator or exchange.sim is None:
        if exchange.id != "sim":
            check_venue(
                profile_for(exchange.id),
                testnet=exchange.testnet,
                url=exchange.url,
                dry_run=dry_run,
            )
        return build_port(exchange, credentials), None
    from bot.emulator import start_emulator

    emulator = await start_emulator(exchange.sim)
    try:
        # Still rate-limited, but paced for an in-process server, not for Bybit's limits.
        port = CcxtPort.from_config(
            exchange.model_copy(update={"url": emulator.url}),
            credentials,
            rate_limit_ms=EMBEDDED_RATE_LIMIT_MS,
        )
    except BaseException:
        await emulator.stop()
        raise
    return port, emulator


async def open_runtime(
    config: Config, *, dry_run: bool, environ: Mapping[str, str], account: str = "default"
) -> Runtime:
    """Migrate the database, then build everything one account's daemon needs."""
    port, emulator = await open_port(config, environ, dry_run=dry_run)
    await upgrade(config.database.url)
    store = Store(create_engine(config.database.url))
    hedger = Hedger(
        account=account,
        config=config,
        port=port,
        store=store,
        rules=build_rules(config),
        dry_run=dry_run,
        environ=environ,  # the kill switch variable is read from the same environment
    )
    hedger.spot_sources = open_spot_sources(config, environ)
    runtime = Runtime(config=config, port=port, store=store, hedger=hedger, emulator=emulator)
    try:
        if not dry_run:
            await hedger.prepare()
            hedger.prepared = True
    except BaseException:
        await runtime.close()
        raise
    return runtime


@dataclass
class AccountRuntime:
    name: str
    config: Config
    port: ExchangePort
    hedger: Hedger
    emulator: RunningEmulator | None = None


@dataclass
class Service:
    """Every account of one daemon: one store, a port, hedger and lock per account."""

    config: Config
    store: Store
    accounts: list[AccountRuntime]

    @property
    def hedgers(self) -> list[Hedger]:
        return [account.hedger for account in self.accounts]

    async def close(self) -> None:
        for account in self.accounts:
            for source in account.hedger.spot_sources:
                await source.close()
            if account.hedger.lock is not None:
                await account.hedger.lock.release()
            await account.port.close()
            if account.emulator is not None:
                await account.emulator.stop()
        await self.store.close()


def open_spot_sources(config: Config, environ: Mapping[str, str]) -> list[SpotSource]:
    """Read-only clients for ``holdings.sources`` (bags held on other exchanges)."""
    sources = []
    for source in config.holdings.sources:
        credentials = resolve_credentials(source.exchange_config(), environ)
        register_secret(credentials.api_key.get_secret_value())
        register_secret(credentials.secret.get_secret_value())
        local = source.url is not None and "127.0.0.1" in source.url
        sources.append(
            open_spot_source(
                source, credentials, rate_limit_ms=EMBEDDED_RATE_LIMIT_MS if local else None
            )
        )
    return sources


class DatabaseUnavailableError(RuntimeError):
    """The database could not be used at start within ``database.startup_wait_seconds``."""


async def with_database_wait(
    open_: Callable[[], Awaitable[T]],
    *,
    wait_s: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``open_()``, tried again while it fails on the database being unavailable (refused or
    cut connections, a server restarting, SQLite held by another writer past its busy timeout),
    with a growing pause (1 s, 2 s, ... 10 s), for up to ``wait_s`` seconds; then
    ``DatabaseUnavailableError``. Errors of the data itself (integrity, SQL) are not waited on.
    """
    deadline = clock() + wait_s
    attempt = 0
    while True:
        try:
            return await open_()
        except (DBAPIError, ConnectionError) as exc:  # ConnectionError: a server not listening
            if isinstance(exc, IntegrityError | ProgrammingError | DataError):
                raise
            attempt += 1
            orig = exc.orig if isinstance(exc, DBAPIError) else None
            error = scrub_text(str(orig if orig is not None else exc) or type(exc).__name__)
            if clock() >= deadline:
                raise DatabaseUnavailableError(
                    f"the database is unavailable ({error.splitlines()[0]}); waited "
                    f"{wait_s:g} s (database.startup_wait_seconds)"
                ) from exc
            delay = min(2.0 ** (attempt - 1), 10.0, max(deadline - clock(), 0.0))
            log.warning(
                "database_unavailable_at_start",
                attempt=attempt,
                retry_in_s=delay,
                error=error,
            )
            await sleep(delay)


async def _first_ownership(hedger: Hedger) -> None:
    """Take the account and prepare it. A refusal (auth, key permissions, hedge mode) stops the
    daemon; an exchange that is only slow or down is retried by the account's ticks."""
    try:
        await hedger.ensure_owner()
    except TemporaryExchangeError as exc:
        log.warning("account_prepare_deferred", account=hedger.account, error=str(exc))


async def open_service(
    config: Config, *, dry_run: bool, environ: Mapping[str, str], locks: bool = True
) -> Service:
    """Migrate, then build every account. Each account is prepared (key check, leverage, margin
    mode, one-way mode) once its lock is held: at start when free, else on takeover."""
    await upgrade(config.database.url)
    store = Store(create_engine(config.database.url))
    service = Service(config=config, store=store, accounts=[])
    try:
        for name, account_config in config.account_configs():
            port, emulator = await open_port(account_config, environ, dry_run=dry_run)
            hedger = Hedger(
                account=name,
                config=account_config,
                port=port,
                store=store,
                rules=build_rules(account_config),
                dry_run=dry_run,
                environ=environ,
            )
            hedger.spot_sources = open_spot_sources(account_config, environ)
            if locks:
                hedger.lock = account_lock(config.database.url, name)
            service.accounts.append(AccountRuntime(name, account_config, port, hedger, emulator))
        await asyncio.gather(*(_first_ownership(h) for h in service.hedgers))
    except BaseException:
        await service.close()
        raise
    return service


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


async def start_fresh_record(config: Config) -> str | None:
    """Start a fresh record when every account trades on an embedded emulator; the line that
    tells the operator what became of the database (None: not such a daemon, nothing to say).

    The embedded emulator's exchange is built from ``exchange.sim`` at every start and dies with
    the process, so nothing an earlier record holds (positions, orders, fills, tick ids) exists
    on it: continuing that record would mix two exchanges in ``hedgebot status`` and have the
    reconciler look up orders this exchange never saw. A SQLite file is therefore moved aside to
    ``<file>.previous`` (one earlier run kept, its WAL files with it), unless a running hedgebot
    holds an account lock on it. A PostgreSQL database is never reset: the line says it goes on.
    """
    accounts = config.account_configs()
    if not all(account.exchange.embedded_emulator for _, account in accounts):
        return None
    url = config.database.url
    database = make_url(url).database
    if not url.startswith("sqlite"):
        return "record: continues the PostgreSQL database (only a SQLite file starts afresh)"
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    locks = [account_lock(url, name) for name, _ in accounts]
    try:
        for lock in locks:
            if not await lock.try_acquire():
                return f"record: continues {database}: another hedgebot is running on it"
        return _move_aside(database)
    finally:
        for lock in locks:
            await lock.release()


def _move_aside(database: str) -> str:
    """Move the SQLite file ``database`` (and its WAL files) to ``<file>.previous``."""
    path = Path(database).expanduser()
    if not path.exists():
        return f"record: {database}, new (the embedded exchange starts afresh every run)"
    previous = path.with_name(f"{path.name}.previous")
    for suffix in ("", *SQLITE_SIDE_FILES):
        kept = previous.with_name(previous.name + suffix)
        kept.unlink(missing_ok=True)
        current = path.with_name(path.name + suffix)
        if current.exists():
            current.replace(kept)
    return f"record: {database}, new; the previous run's is now {database}.previous"


async def plan_once(config: Config, environ: Mapping[str, str]) -> Decision:
    """One tick's decision without sending or recording anything."""
    port, emulator = await open_port(config, environ)
    try:
        rules = build_rules(config)
        sources = open_spot_sources(config, environ)
        try:
            snapshot = await read_snapshot(port, config.holdings, rules, sources)
        finally:
            for source in sources:
                await source.close()
        estimates = EstimateCache(port)
        await estimates.refresh(rules, snapshot.taken_at)
        settings = PlannerSettings.from_config(config.hedge, config.limits)
        plan_key = f"plan:{datetime.now(UTC).isoformat()}"
        margin, policy = collateral_settings(config)
        return decide(
            snapshot,
            rules,
            settings,
            plan_key,
            betas=estimates.betas,
            realized_vol=estimates.vols,
            margin=margin,
            collateral=policy,
        )
    finally:
        await port.close()
        if emulator is not None:
            await emulator.stop()
