"""``hedgebot exchanges``: what each supported exchange supports, read from its profile."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bot.exchange.profiles import PROFILES, ExchangeProfile, ccxt_available

COLUMNS = (
    ("exchange", "exchange"),
    ("ccxt", "in ccxt"),
    ("inverse_perps", "inverse perps"),
    ("linear_perps", "linear perps"),
    ("dated_futures", "dated futures"),
    ("sandbox", "sandbox/demo"),
    ("client_ids", "client ids"),
    ("set_leverage", "set leverage"),
    ("amount_unit", "order amount"),
)


def exchange_row(profile: ExchangeProfile) -> dict[str, Any]:
    """One exchange's capabilities as plain JSON-able values (the ``--json`` row)."""
    available = ccxt_available(profile.ccxt_id)
    return {
        "exchange": profile.ccxt_id,
        "name": profile.title,
        "ccxt": available,
        "inverse_perps": profile.inverse_perps and available,
        "linear_perps": profile.linear_perps and available,
        "dated_futures": profile.dated_futures and available,
        "sandbox": profile.sandbox,
        "sandbox_note": profile.sandbox_note,
        "client_ids": {
            "param": profile.client_id_param,
            "exchange_field": profile.client_id_query_param,
            "lookup": profile.client_id_lookup,
            "max_length": profile.client_id_max_length,
            "charset": profile.client_id_charset,
        },
        "set_leverage": profile.supports_set_leverage,
        "set_margin_mode": profile.supports_set_margin_mode,
        "amount_unit": profile.amount_unit,
        "position_mode_check": profile.position_mode_check,
        "spot_wallet": profile.spot_balance_params is not None,
        "funding_interval_source": profile.funding_interval_source,
        "quirks": list(profile.quirks)
        + ([] if available else ["not available in the installed ccxt"]),
    }


def exchange_rows() -> list[dict[str, Any]]:
    return [exchange_row(PROFILES[exchange_id]) for exchange_id in sorted(PROFILES)]


def _cell(key: str, row: dict[str, Any]) -> str:
    value = row[key]
    if key == "ccxt":
        return "yes" if value else "not available in installed ccxt"
    if key == "sandbox":
        return "none (live only)" if value == "none" else str(value)
    if key == "client_ids":
        return f"{value['param']} → {value['exchange_field']} ({value['lookup']})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def print_exchanges(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table(title="Supported exchanges (from bot/exchange/profiles.py)")
    for _key, title in COLUMNS:
        table.add_column(title)
    for row in rows:
        table.add_row(*(_cell(key, row) for key, _title in COLUMNS))
    console.print(table)
    for row in rows:
        notes = [row["sandbox_note"], *row["quirks"]] if row["sandbox_note"] else row["quirks"]
        for note in notes:
            console.print(f"{row['exchange']}: {note}", markup=False, highlight=False)


def exchanges_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List the supported exchanges and what each supports (inverse, linear, dated futures,
    sandbox or demo, client order ids, leverage setting), from their profiles."""
    rows = exchange_rows()
    if as_json:
        sys.stdout.write(json.dumps({"exchanges": rows}, indent=2) + "\n")
        return
    print_exchanges(Console(), rows)
