"""Wiring: config → exchange port, store, rules and hedger. The only place that builds them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config.models import Config
from bot.config.secrets import resolve_credentials
from bot.core.planner import PlannerSettings
from bot.daemon.decide import Decision, decide
from bot.daemon.snapshot import read_snapshot
from bot.daemon.tick import Hedger
from bot.exchange.factory import build_port
from bot.exchange.port import ExchangePort
from bot.logs import register_secret
from bot.store.db import create_engine, upgrade
from bot.store.repo import Store
from strategies import HedgeRule, build_rule


@dataclass
class Runtime:
    config: Config
    port: ExchangePort
    store: Store
    hedger: Hedger

    async def close(self) -> None:
        await self.port.close()
        await self.store.close()


def build_rules(config: Config) -> list[HedgeRule]:
    return [build_rule(rule) for rule in config.rules]


def open_port(config: Config, environ: Mapping[str, str]) -> ExchangePort:
    """Resolve credentials (registering them for redaction) and build the port."""
    credentials = resolve_credentials(config.exchange, environ)
    register_secret(credentials.api_key.get_secret_value())
    register_secret(credentials.secret.get_secret_value())
    return build_port(config.exchange, credentials)


async def open_runtime(
    config: Config, *, dry_run: bool, environ: Mapping[str, str], account: str = "default"
) -> Runtime:
    """Migrate the database, then build everything one account's daemon needs."""
    port = open_port(config, environ)
    await upgrade(config.database.url)
    store = Store(create_engine(config.database.url))
    hedger = Hedger(
        account=account,
        config=config,
        port=port,
        store=store,
        rules=build_rules(config),
        dry_run=dry_run,
    )
    runtime = Runtime(config=config, port=port, store=store, hedger=hedger)
    try:
        if not dry_run:
            await hedger.prepare()
    except BaseException:
        await runtime.close()
        raise
    return runtime


async def plan_once(config: Config, environ: Mapping[str, str]) -> Decision:
    """One tick's decision without sending or recording anything."""
    port = open_port(config, environ)
    try:
        rules = build_rules(config)
        snapshot = await read_snapshot(port, config.holdings, rules)
        settings = PlannerSettings.from_config(config.hedge, config.limits)
        plan_key = f"plan:{datetime.now(UTC).isoformat()}"
        return decide(snapshot, rules, settings, plan_key)
    finally:
        await port.close()
