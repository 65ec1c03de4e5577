"""``hedgebot alerts``: test the alert channels; list recent alerts and their delivery state."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from bot.config.loader import ConfigError
    from bot.config.models import AlertsConfig

alerts_app = typer.Typer(
    no_args_is_help=True, help="Alerts: test the channels, list recent alerts."
)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="YAML config file.")]
EXIT_NONE_DELIVERED = 1


def _load(path: Path) -> Any:
    from bot.cli.common import load_or_exit

    return load_or_exit(path, trading=False)


def _print_config_error(error: ConfigError) -> None:
    for problem in error.problems:
        typer.echo(str(problem), err=True)


@alerts_app.command("test")
def test_channels(config_path: ConfigOption) -> None:
    """Publish a test alert through every configured channel; say which succeeded.

    Exits 0 if at least one channel delivered it, 1 if none did, 2 on a config problem.
    """
    import asyncio

    from bot.config.loader import ConfigError
    from bot.logs import configure_logging

    config = _load(config_path)
    configure_logging("WARNING", config.logging.format)
    if not config.alerts.enabled:
        typer.echo("alerts are disabled (alerts.enabled: false): no channel to test", err=True)
        raise typer.Exit(EXIT_NONE_DELIVERED)
    try:
        results = asyncio.run(_test(config.alerts, os.environ))
    except ConfigError as exc:
        _print_config_error(exc)
        raise typer.Exit(2) from None
    for channel, ok, detail in results:
        typer.echo(f"{channel}: {'OK' if ok else 'FAILED'}: {detail}")
    if not any(ok for _channel, ok, _detail in results):
        raise typer.Exit(EXIT_NONE_DELIVERED)


async def _test(config: AlertsConfig, environ: Mapping[str, str]) -> list[tuple[str, bool, str]]:
    import asyncio

    import aiomqtt

    from bot.alerts.apprise_channel import AppriseSender, apprise_urls
    from bot.alerts.model import Severity, Topics, alert_payload, make_alert
    from bot.alerts.mqtt import MqttSettings, publish_once
    from bot.logs import scrub_text

    settings = MqttSettings.from_config(config, environ)
    urls = apprise_urls(config.apprise_urls, config.apprise_urls_env, environ)
    topics = Topics(config.prefix, config.instance)
    alert = make_alert(
        "test",
        Severity.INFO,
        "test alert from `hedgebot alerts test`: this channel works",
        raised_at=datetime.now(UTC),
    )
    results: list[tuple[str, bool, str]] = []
    topic = topics.alert(alert.severity, alert.kind)
    try:
        await asyncio.wait_for(
            publish_once(settings, topic, alert_payload(alert, datetime.now(UTC))),
            timeout=settings.publish_timeout + 10,
        )
    except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
        problem = scrub_text(str(exc) or type(exc).__name__)
        results.append(("mqtt", False, f"broker {settings.address}: {problem}"))
    else:
        detail = f"{topic} on {settings.address}, acknowledged by the broker (QoS 1)"
        results.append(("mqtt", True, detail))
    if urls:
        sender = AppriseSender(urls, topics)
        try:
            ok = await asyncio.to_thread(sender.send, alert)
        except Exception as exc:
            ok, detail = False, scrub_text(repr(exc))
        else:
            detail = f"{len(urls)} URL(s)" + ("" if ok else ": Apprise reported a failure")
        results.append(("apprise", ok, detail))
    return results


@alerts_app.command("list")
def list_alerts(
    config_path: ConfigOption,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    account: Annotated[str, typer.Option("--account", help="Account.")] = "default",
) -> None:
    """Recent alerts (newest first) with their delivery state per channel, from the database."""
    import asyncio

    from sqlalchemy.exc import DBAPIError

    from bot.logs import configure_logging

    config = _load(config_path)
    configure_logging("WARNING", config.logging.format)
    try:
        rows = asyncio.run(_recent(config.database.url, account, limit))
    except DBAPIError as exc:
        typer.echo(
            f"cannot read the alerts from the database ({type(exc.orig).__name__}): is it "
            f"migrated? Run `hedgebot db upgrade --config {config_path}`.",
            err=True,
        )
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        typer.echo("no alerts")
        return
    table = Table(title=f"Alerts of {account} (newest first)")
    for column in ("id", "raised_at", "severity", "status", "kind", "subject", "message"):
        table.add_column(column)
    table.add_column("mqtt")
    table.add_column("apprise")
    for row in rows:
        subject = row["instrument"] or row["asset"] or ""
        table.add_row(
            str(row["id"]),
            row["raised_at"],
            row["severity"],
            row["status"],
            row["kind"],
            subject,
            row["message"],
            _shown(row["delivery"]["mqtt"]),
            _shown(row["delivery"]["apprise"]),
        )
    Console(width=200).print(table)


def _shown(delivery: Mapping[str, Any]) -> str:
    at = delivery["delivered_at"]
    return f"delivered {at}" if at else str(delivery["state"])


async def _recent(url: str, account: str, limit: int) -> list[dict[str, Any]]:
    from bot.alerts.model import alert_document, iso
    from bot.store.db import create_engine
    from bot.store.outbox import Outbox

    engine = create_engine(url)
    try:
        entries = await Outbox(engine, account=account).recent(limit)
    finally:
        await engine.dispose()
    rows = []
    for entry in entries:
        row = {"id": entry.id, **alert_document(entry.alert), "created_at": iso(entry.created_at)}
        row["delivery"] = {
            channel: {
                "state": delivery.state,
                "delivered_at": iso(delivery.delivered_at) if delivery.delivered_at else None,
            }
            for channel, delivery in (("mqtt", entry.mqtt), ("apprise", entry.apprise))
        }
        rows.append(row)
    return rows
