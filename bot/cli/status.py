"""``hedgebot status``: the current state from the database, as tables or JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="YAML config file.")]


def status_command(
    config_path: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Per account: exposure, target, hedge, drift, β/ρ, margin, funding, last orders, open
    alerts and the last tick time, read from the database (the daemon need not run)."""
    from bot.cli.main import load_or_exit
    from bot.store.db import create_engine, upgrade
    from bot.store.status_query import account_status

    config = load_or_exit(config_path, trading=False)

    async def main() -> list[dict[str, Any]]:
        await upgrade(config.database.url)
        engine = create_engine(config.database.url)
        try:
            return [await account_status(engine, name) for name, _ in config.account_configs()]
        finally:
            await engine.dispose()

    states = asyncio.run(main())
    if as_json:
        sys.stdout.write(json.dumps({"accounts": states}, indent=2, default=str) + "\n")
        return
    console = Console()
    for state in states:
        render(console, state)


def render(console: Console, state: dict[str, Any]) -> None:
    last = state.get("last_tick")
    console.print(
        f"[bold]{state['account']}[/bold]: last tick "
        + ("never" if last is None else f"{last['started_at']} ({last['status']})")
    )
    assets = Table(title="Hedges")
    columns = (
        "asset",
        "instrument",
        "exposure_usd",
        "target_short_usd",
        "hedge_usd",
        "drift",
        "beta",
        "rho",
        "proxy",
    )
    for column in columns:
        assets.add_column(column)
    for row in state.get("assets", []):
        assets.add_row(*(str(row.get(c)) for c in columns))
    console.print(assets)
    for title, key, cols in (
        (
            "Margin",
            "margin",
            ("symbol", "liquidation_price", "formula", "distance", "margin_ratio"),
        ),
        ("Last orders", "orders", ("client_order_id", "symbol", "side", "contracts", "state")),
        ("Open alerts", "open_alerts", ("condition", "since", "asset", "instrument")),
    ):
        table = Table(title=title)
        for column in cols:
            table.add_column(column)
        for row in state.get(key, []):
            table.add_row(*(str(row.get(c)) for c in cols))
        console.print(table)
