"""The ``hedgebot`` command line."""

# Start-up: importing the CLI (``hedgebot --help``) loads typer and rich, not even the config
# models; each command imports what it needs (the config, ccxt, sqlalchemy, numpy, aiohttp, the
# daemon, the emulator, the backtest) when it runs. tests/cli/test_startup.py checks what is
# imported; bench/startup_bench.py times it.
#
# This module makes the app and holds the one-shot commands (check-config, plan, db upgrade,
# emulator, config reference); the others live in their own modules and are registered here, in
# the order `hedgebot --help` lists them: bot.cli.run (the daemon), bot.cli.control, bot.cli.alerts,
# bot.cli.exchanges, bot.cli.backtest, bot.cli.status. bot.cli.common holds what they share.

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.cli.common import EXIT_CONFIG, ConfigOption, err, load_or_exit
from bot.cli.run import run

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
app.add_typer(db_app, name="db")


@app.command("check-config")
def check_config(file: Annotated[Path, typer.Argument(help="YAML config file.")]) -> None:
    """Validate a config file; print each problem as `path (line N): message`, exit 2 if any."""
    config = load_or_exit(file, trading=False, startup_checks=True)
    typer.echo(
        f"{file}: OK (exchange {config.exchange.id}, {len(config.rules)} rule(s), "
        f"{'testnet' if not config.is_mainnet else 'MAINNET'})"
    )


app.command("run")(run)


@app.command()
def plan(
    config_path: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compute one tick's plan without sending or recording anything."""
    import asyncio

    from bot.logs import configure_logging

    config = load_or_exit(config_path)
    configure_logging("WARNING", config.logging.format)
    from bot.app import plan_once
    from bot.cli.output import print_decision
    from bot.daemon.report import decision_report

    decision = asyncio.run(plan_once(config, os.environ))
    report = decision_report(decision)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        print_decision(Console(), report)


@db_app.command("upgrade")
def db_upgrade(config_path: ConfigOption) -> None:
    """Apply every pending migration to the configured database."""
    import asyncio

    from bot.logs import configure_logging

    config = load_or_exit(config_path, trading=False)
    configure_logging(config.logging.level, config.logging.format)
    from bot.store.db import upgrade

    asyncio.run(upgrade(config.database.url))
    typer.echo("database is at the latest revision")


@app.command()
def emulator(
    port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1.")] = 8123,
    config_path: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config whose exchange.sim to serve.")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Bind address.")] = "127.0.0.1",
) -> None:
    """Serve the simulated exchange over Bybit's v5 HTTP API (test credentials from the config's
    exchange.sim.api_key/secret, default test-key/test-secret), with /admin test controls."""
    from bot.config.models import SimConfig
    from bot.emulator import serve_forever
    from bot.logs import configure_logging

    sim = SimConfig(prices={"BTC": Decimal(50_000), "ETH": Decimal(3_000)})
    if config_path is not None:
        config = load_or_exit(config_path, trading=False)
        configure_logging(config.logging.level, config.logging.format)
        if config.exchange.sim is None:
            err.print(f"{config_path}: exchange.sim is missing: nothing to serve", markup=False)
            raise typer.Exit(EXIT_CONFIG)
        sim = config.exchange.sim
    else:
        configure_logging("INFO", "auto")
    serve_forever(sim, host, port)


def _register_control_commands() -> None:
    from bot.cli.control import hedge_off, pause, resume

    app.command("pause")(pause)
    app.command("resume")(resume)
    app.command("hedge-off")(hedge_off)


_register_control_commands()


from bot.cli.alerts import alerts_app  # noqa: E402

app.add_typer(alerts_app, name="alerts")

from bot.cli.exchanges import exchanges_command  # noqa: E402

app.command("exchanges")(exchanges_command)


from bot.cli.backtest import backtest_command  # noqa: E402  (needs nothing from here)

app.command("backtest")(backtest_command)


def _register_status_command() -> None:
    from bot.cli.status import status_command

    app.command("status")(status_command)


_register_status_command()


config_app = typer.Typer(no_args_is_help=True, help="The configuration schema.")
app.add_typer(config_app, name="config")


@config_app.command("reference")
def config_reference_command() -> None:
    """Print the configuration reference (Markdown), generated from the schema."""
    from bot.cli.config_reference import render_reference  # pydantic introspection

    sys.stdout.write(render_reference())
