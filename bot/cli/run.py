"""``hedgebot run``: the hedging daemon, and what it starts around the tick loop.

Opening the accounts once the database is usable (or refusing to start, with an alert), the
run's log destination, alerting per account, metrics, the HTTP surface and config reload on
SIGHUP. Registered on the ``hedgebot`` app by ``bot.cli.main``; like every command it imports
the daemon, ccxt, sqlalchemy and aiohttp only when it runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from bot.cli.common import EXIT_REFUSED, ConfigOption, err, load_or_exit

if TYPE_CHECKING:
    from aiohttp import web

    from bot.app import Service
    from bot.config.loader import ConfigError
    from bot.config.models import Config
    from bot.daemon.alerting import AlertBridge
    from bot.daemon.runner import Daemon
    from bot.daemon.tick import Hedger
    from bot.http.metrics import Metrics


def startup_refusals() -> tuple[type[Exception], ...]:
    """Start-up problems that stop the daemon before it trades, with a message instead of a
    trace (imported when ``run`` starts: ``bot.daemon.setup`` brings ccxt)."""
    from bot.config.loader import ConfigError
    from bot.daemon.setup import KeyPermissionError
    from bot.exchange.errors import ExchangeError

    return (KeyPermissionError, ExchangeError, ConfigError)


async def start_http_surface(
    config: Config,
    service: Service,
    daemon: Daemon,
    metrics: Metrics,
    backlog: Callable[[], Awaitable[int | None]] | None = None,
) -> web.AppRunner | None:
    """Start /healthz, /readyz, /status and /metrics when ``http.enabled``."""
    if not config.http.enabled:
        return None
    import time

    from bot.http.server import HttpContext, start_http

    token = os.environ.get(config.http.token_env) if config.http.token_env else None
    ctx = HttpContext(
        service=service,
        daemon=daemon,
        metrics=metrics,
        token=token or None,
        interval_s=config.schedule.interval_seconds,
        stale_after_ticks=config.http.stale_after_ticks,
        started=time.monotonic(),
        outbox_backlog=backlog,
    )
    return await start_http(ctx, config.http.host, config.http.port)


async def start_alerting(service: Service) -> dict[str, AlertBridge]:
    """One alert service per account (a no-op when ``alerts.enabled`` is false)."""
    from bot.alerts.service import AlertService
    from bot.daemon.alerting import AlertBridge

    bridges: dict[str, AlertBridge] = {}
    for account in service.accounts:
        alerts = AlertService(account.config.alerts, service.store.engine, account=account.name)
        await alerts.start()
        bridge = AlertBridge(account.hedger, alerts)
        account.hedger.async_listeners.append(bridge.after_tick)
        bridges[account.name] = bridge
    return bridges


def tick_done_hook(
    metrics: Metrics, bridges: dict[str, AlertBridge]
) -> Callable[[Hedger, float, bool], None]:
    """After every tick: metrics; after a failed one, the alert flags (no measurements)."""
    import asyncio
    from datetime import UTC, datetime

    pending: set[asyncio.Task[None]] = set()

    def done(hedger: Hedger, seconds: float, ok: bool) -> None:
        metrics.observe_duration(hedger, seconds, ok)
        bridge = bridges.get(hedger.account)
        if not ok and bridge is not None:
            task = asyncio.get_running_loop().create_task(bridge.after_failure(datetime.now(UTC)))
            pending.add(task)
            task.add_done_callback(pending.discard)

    return done


def log_reload_rejected(exc: ConfigError) -> None:
    """A bad config on SIGHUP: say why, keep running on the old one."""
    import structlog

    structlog.get_logger(__name__).error(
        "config_reload_rejected", problems=[str(p) for p in exc.problems], kept="previous config"
    )


def run_log_file(config: Config, chosen: Path | None, *, verbose: bool) -> Path | None:
    """Where ``run`` writes its structured log: ``--log-file``; on a terminal without
    ``--verbose``, ``<database file>.log`` beside a SQLite database (else ./hedgebot.log);
    None (everything on stderr, JSON off a terminal) otherwise."""
    if chosen is not None:
        return chosen
    if verbose or not sys.stderr.isatty():
        return None
    from sqlalchemy.engine import make_url

    url = config.database.url
    database = make_url(url).database
    if url.startswith("sqlite") and database and not database.startswith((":memory:", "file:")):
        return Path(database).expanduser().with_suffix(".log")
    return Path("hedgebot.log")


def configure_run_logging(config: Config, chosen: Path | None, *, verbose: bool) -> None:
    """Logging for ``run`` (see ``run_log_file``); on a terminal, say where the log goes."""
    from bot.logs import configure_logging

    destination = run_log_file(config, chosen, verbose=verbose)
    configure_logging(
        config.logging.level,
        config.logging.format,
        log_file=destination,
        terminal_level=config.logging.level if verbose else "WARNING",
    )
    if destination is not None and sys.stderr.isatty():
        err.print(
            f"logs: {destination} (warnings also here; --verbose: all here)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


async def start_record(config: Config, out: Console) -> None:
    """A daemon on an embedded emulator starts a fresh record (``start_fresh_record``): say so."""
    from bot.app import start_fresh_record

    line = await start_fresh_record(config)
    if line is not None:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


async def open_or_refuse(config: Config, out: Console, *, dry_run: bool) -> Service | int:
    """The daemon's accounts, opened once the database is usable (``with_database_wait``); or
    the exit code after saying why not: 1 (no database), ``EXIT_REFUSED`` (a start-up refusal,
    also a critical ``startup_refused`` alert)."""
    from bot.app import DatabaseUnavailableError, open_service, with_database_wait
    from bot.daemon.alerting import alert_refusal
    from bot.logs import scrub_text

    wait_s = config.database.startup_wait_seconds
    try:
        await with_database_wait(lambda: start_record(config, out), wait_s=wait_s)
        return await with_database_wait(
            lambda: open_service(config, dry_run=dry_run, environ=os.environ), wait_s=wait_s
        )
    except DatabaseUnavailableError as exc:
        err.print(f"hedgebot could not start: {exc}", markup=False)
        return 1
    except startup_refusals() as exc:
        err.print(f"hedgebot will not start: {scrub_text(str(exc))}", markup=False)
        await alert_refusal(config, scrub_text(str(exc)))
        return EXIT_REFUSED


def run(
    config_path: ConfigOption,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and record, send nothing.")
    ] = False,
    ticks: Annotated[int | None, typer.Option("--ticks", min=1, help="Stop after N ticks.")] = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Every log event on stderr, also on a terminal."),
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file",
            help="Append the JSON log here, showing only warnings on stderr (default on a "
            "terminal: beside the SQLite database, with the suffix .log).",
        ),
    ] = None,
) -> None:
    """Run the hedging daemon."""
    import asyncio

    config = load_or_exit(config_path, startup_checks=True)
    configure_run_logging(config, log_file, verbose=verbose)
    from bot.app import build_rules
    from bot.cli.output import tick_printer
    from bot.config.loader import ConfigError, load_config
    from bot.daemon.runner import Daemon
    from bot.logs import log_loop_errors

    async def main() -> int:
        log_loop_errors(asyncio.get_running_loop())
        out = Console()
        opened = await open_or_refuse(config, out, dry_run=dry_run)
        if isinstance(opened, int):
            return opened
        service = opened
        printer = tick_printer(out)
        for hedger in service.hedgers:
            hedger.on_tick = printer
        bridges = await start_alerting(service)

        async def reload() -> None:
            try:
                fresh = load_config(config_path, startup_checks=True)
            except ConfigError as exc:
                log_reload_rejected(exc)
                return
            by_name = dict(fresh.account_configs())
            for account in service.accounts:
                if account.name in by_name:
                    new = by_name[account.name]
                    account.hedger.reconfigure(new, build_rules(new))

        from bot.http.metrics import Metrics

        metrics = Metrics()
        for account in service.accounts:
            account.hedger.listeners.append(metrics.listener(account.name))
        daemon = Daemon(
            service.hedgers,
            interval_s=config.schedule.interval_seconds,
            misfire_grace_s=config.schedule.misfire_grace_seconds,
            max_ticks=ticks,
            grace_s=config.schedule.shutdown_grace_seconds,
            reload=reload,
            on_tick_done=tick_done_hook(metrics, bridges),
        )

        async def backlog() -> int:
            return sum([await b.alerts.outbox.pending_count("mqtt") for b in bridges.values()])

        http_runner = await start_http_surface(config, service, daemon, metrics, backlog)
        try:
            stats = await daemon.run()
        finally:
            if http_runner is not None:
                await http_runner.cleanup()
            for bridge in bridges.values():  # flush the outbox before the store closes
                await bridge.alerts.stop(reason="stopped")
            await service.close()
        return 0 if stats.ticks > stats.failures else 1

    raise typer.Exit(asyncio.run(main()))
