"""``hedgebot exchanges``: what each supported exchange supports, read from its profile."""

from __future__ import annotations

import json
import sys
import textwrap
from typing import Annotated, Any

import typer
from rich.console import Console

from bot.cli.status import TEXT, WORD, Cell, print_table
from bot.exchange.profile_model import ExchangeProfile
from bot.exchange.profiles import PROFILES, ccxt_available


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


def _yes(key: str) -> Cell:
    return lambda row: "yes" if row[key] else "no"


def _sandbox(row: dict[str, Any]) -> str:
    return "none (live only)" if row["sandbox"] == "none" else str(row["sandbox"])


def _client_id(key: str) -> Cell:
    return lambda row: str(row["client_ids"][key])


# Two tables of whole identifiers within 80 columns (two-line headers); an exchange missing
# from the installed ccxt shows "no" under "in ccxt" and says so in its notes.
MARKETS: tuple[tuple[str, str, Cell], ...] = (
    ("exchange", TEXT, lambda row: str(row["exchange"])),
    ("in\nccxt", WORD, _yes("ccxt")),
    ("inverse\nperps", WORD, _yes("inverse_perps")),
    ("linear\nperps", WORD, _yes("linear_perps")),
    ("dated\nfutures", WORD, _yes("dated_futures")),
    ("sandbox/\ndemo", TEXT, _sandbox),
    ("set\nleverage", WORD, _yes("set_leverage")),
)
ORDERS: tuple[tuple[str, str, Cell], ...] = (
    ("exchange", TEXT, lambda row: str(row["exchange"])),
    ("order\namount", TEXT, lambda row: str(row["amount_unit"])),
    ("client id\nsent as", TEXT, _client_id("param")),
    ("looked up\nas", TEXT, _client_id("exchange_field")),
    ("lookup", TEXT, _client_id("lookup")),
)


def print_exchanges(console: Console, rows: list[dict[str, Any]]) -> None:
    print_table(console, "Supported exchanges (from bot/exchange/profiles.py)", rows, MARKETS)
    print_table(console, "Orders and client order ids", rows, ORDERS)
    width = max(console.width, 40)
    for row in rows:
        notes = [row["sandbox_note"], *row["quirks"]] if row["sandbox_note"] else row["quirks"]
        for note in notes:
            # wrapped between words only, continued under an indent
            text = textwrap.fill(
                f"{row['exchange']}: {note}",
                width=width,
                subsequent_indent="  ",
                break_long_words=False,
                break_on_hyphens=False,
            )
            console.print(text, markup=False, highlight=False, soft_wrap=True)


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
