"""Wiring: config → exchange port, store, rules and hedger. The only place that builds them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config.models import Config
from bot.config.secrets import resolve_credentials
from bot.core.planner import PlannerSettings
from bot.daemon.decide import Decision, decide
from bot.daemon.estimates import EstimateCache
from bot.daemon.snapshot import read_snapshot
from bot.daemon.tick import Hedger
from bot.emulator.app import RunningEmulator
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.factory import build_port
from bot.exchange.port import ExchangePort
from bot.logs import register_secret
from bot.store.db import create_engine, upgrade
from bot.store.repo import Store
from strategies import HedgeRule, build_rule

EMBEDDED_RATE_LIMIT_MS = 1


@dataclass
class Runtime:
    config: Config
    port: ExchangePort
    store: Store
    hedger: Hedger
    emulator: RunningEmulator | None = None

    async def close(self) -> None:
        await self.port.close()
        await self.store.close()
        if self.emulator is not None:
            await self.emulator.stop()


def build_rules(config: Config) -> list[HedgeRule]:
    return [build_rule(rule) for rule in config.rules]


async def open_port(
    config: Config, environ: Mapping[str, str]
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
    port, emulator = await open_port(config, environ)
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
    runtime = Runtime(config=config, port=port, store=store, hedger=hedger, emulator=emulator)
    try:
        if not dry_run:
            await hedger.prepare()
    except BaseException:
        await runtime.close()
        raise
    return runtime


async def plan_once(config: Config, environ: Mapping[str, str]) -> Decision:
    """One tick's decision without sending or recording anything."""
    port, emulator = await open_port(config, environ)
    try:
        rules = build_rules(config)
        snapshot = await read_snapshot(port, config.holdings, rules)
        estimates = EstimateCache(port)
        await estimates.refresh(rules, snapshot.taken_at)
        settings = PlannerSettings.from_config(config.hedge, config.limits)
        plan_key = f"plan:{datetime.now(UTC).isoformat()}"
        return decide(
            snapshot,
            rules,
            settings,
            plan_key,
            betas=estimates.betas,
            realized_vol=estimates.vols,
        )
    finally:
        await port.close()
        if emulator is not None:
            await emulator.stop()
