"""``hedgebot status``: the current state from the database, as tables or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="YAML config file.")]


def status_command(
    config_path: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Per account: exposure, target, hedge, drift, β/ρ, margin, funding, last orders, open
    alerts and the last tick time, read from the database (the daemon need not run)."""
    import asyncio

    from bot.cli.common import load_or_exit
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


# Display only: the database and --json keep exact values.
CENTS = Decimal("0.01")
SATOSHI = Decimal("1e-8")


def _usd(value: str | None) -> str:
    return "-" if value is None else f"{Decimal(value).quantize(CENTS):,}"


def _coin(value: str | None) -> str:
    if value is None:
        return "-"
    return format(Decimal(value).quantize(SATOSHI).normalize(), "f")


def _percent(value: str | None, places: int = 2) -> str:
    return "-" if value is None else f"{Decimal(value) * 100:.{places}f}%"


def _rate(value: str | None) -> str:
    """A funding rate per settlement: percent to 4 places (0.0100%)."""
    return _percent(value, 4)


def _fixed(value: str | None, places: int = 4) -> str:
    return "-" if value is None else f"{Decimal(value):.{places}f}"


def _beta(row: dict[str, Any]) -> str:
    """β to 4 places, with its standard error when the estimate has one: ``1.2346 ±0.0312``."""
    beta = _fixed(row.get("beta"))
    se = row.get("beta_se")
    return beta if se is None else f"{beta} ±{_fixed(str(se))}"


def _time(value: str | None) -> str:
    """An ISO instant as ``YYYY-MM-DD HH:MM`` in UTC."""
    if value is None:
        return "-"
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _liquidation(row: dict[str, Any]) -> str:
    if row.get("liquidation_source") is None:
        return "no short"
    if row.get("liquidation_price") is None:
        return "unreachable"
    return _usd(row["liquidation_price"])


def _missing(row: dict[str, Any]) -> str:
    missing = row.get("coins_missing")
    return "-" if missing is None else f"{_coin(missing)} {row['coin']}"


Cell = Callable[[dict[str, Any]], str]
# Column kinds. Identifiers are never cut, and stay on one line; when a table is too wide for the
# console (rare: very large numbers, long dated-future symbols), words and numbers fold onto more
# lines (and identifiers too, whole, only on a console too narrow for them alone).
TEXT = "text"  # an identifier
WORD = "word"  # a state, a side: left-justified, may fold
NUMBER = "number"  # right-justified, may fold


def _field(name: str, show: Callable[[str | None], str] = str) -> Cell:
    return lambda row: show(row.get(name))


def _identifiers_fit(
    width: int, columns: tuple[tuple[str, str, Cell], ...], texts: list[list[str]]
) -> bool:
    """Whether the identifier columns fit ``width`` whole, every other column folded to one
    character (what the table can shrink to without cutting them)."""
    needed = 2 * (len(columns) - 1)
    for index, (header, kind, _cell) in enumerate(columns):
        lines = [
            line for text in (header, *(row[index] for row in texts)) for line in text.split("\n")
        ]
        needed += max(map(cell_len, lines)) if kind == TEXT else 1
    return needed <= width


def print_table(
    console: Console,
    title: str,
    rows: list[dict[str, Any]],
    columns: tuple[tuple[str, str, Cell], ...],
) -> None:
    """A compact table (two spaces between columns, no side borders: fits 80 columns for the
    usual widths of these values, see ``TEXT``); an empty one prints ``title: none``. A header
    may take two lines (``"set\\nleverage"``)."""
    if not rows:
        console.print(f"{title}: none", markup=False, highlight=False)
        return
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    texts = [[cell(row) for _h, _k, cell in columns] for row in rows]
    # on a console too narrow for the identifiers, they fold rather than being cut
    whole = _identifiers_fit(console.width, columns, texts)
    for header, kind, _cell in columns:
        table.add_column(
            header,
            justify="right" if kind == NUMBER else "left",
            no_wrap=kind == TEXT and whole,
            overflow="fold",
        )
    for cells in texts:
        table.add_row(*cells)
    console.print(table)


def render(console: Console, state: dict[str, Any]) -> None:
    """One account's state for people: numbers rounded (USD to cents, coins to 8 decimals,
    ratios as percentages), identifiers whole."""
    last = state.get("last_tick")
    console.print(
        f"{state['account']}: last tick "
        + ("never" if last is None else f"{last['started_at']} ({last['status']})"),
        markup=False,
        highlight=False,
    )
    assets = state.get("assets", [])
    print_table(
        console,
        "Hedges (USD)",
        assets,
        (
            ("asset", TEXT, _field("asset")),
            ("instrument", TEXT, _field("instrument")),
            ("exposure", NUMBER, _field("exposure_usd", _usd)),
            ("target", NUMBER, _field("target_short_usd", _usd)),
            ("hedge", NUMBER, _field("hedge_usd", _usd)),
            ("drift", NUMBER, _field("drift", _percent)),
        ),
    )
    print_table(
        console,
        "Hedge ratios",
        assets,
        (
            ("asset", TEXT, _field("asset")),
            ("instrument", TEXT, _field("instrument")),
            ("ratio", NUMBER, _field("ratio", _percent)),
            ("β", NUMBER, _beta),
            ("ρ", NUMBER, _field("rho", _fixed)),
            ("proxy", WORD, lambda row: "yes" if row.get("proxy") else "no"),
        ),
    )
    margin = state.get("margin", [])
    print_table(
        console,
        "Margin (coins of the settle coin)",
        [row for row in margin if row.get("coin") is not None],
        (
            ("instrument", TEXT, _field("symbol")),
            ("coin", TEXT, _field("coin")),
            ("balance", NUMBER, _field("balance", _coin)),
            ("equity", NUMBER, _field("equity", _coin)),
            ("required", NUMBER, _field("required", _coin)),
        ),
    )
    print_table(
        console,
        "Liquidation and shortfall",
        margin,
        (
            ("instrument", TEXT, _field("symbol")),
            ("liquidation", NUMBER, _liquidation),
            ("distance", NUMBER, _field("distance", _percent)),
            ("shortfall USD", NUMBER, _field("shortfall_usd", _usd)),
            ("missing", NUMBER, _missing),
        ),
    )
    print_table(
        console,
        "Funding (carry in USD at the last tick's prices; + received)",
        state.get("funding", {}).get("instruments", []),
        (
            ("instrument", TEXT, _field("symbol")),
            ("rate", NUMBER, _field("rate", _rate)),
            ("annualised", NUMBER, _field("annualised", _percent)),
            ("next (UTC)", TEXT, _field("next_funding_time", _time)),
            ("today", NUMBER, _field("carry_today_usd", _usd)),
            ("30 days", NUMBER, _field("carry_30d_usd", _usd)),
        ),
    )
    print_table(
        console,
        "Collateral actions",
        state.get("collateral_actions", []),
        (
            ("time (UTC)", TEXT, _field("created_at", _time)),
            ("kind", TEXT, _field("kind")),
            ("coin", TEXT, _field("coin")),
            ("amount", NUMBER, _field("amount", _coin)),
            ("USD", NUMBER, _field("usd_value", _usd)),
            ("state", WORD, _field("state")),
        ),
    )
    print_table(
        console,
        "Last orders",
        state.get("orders", []),
        (
            ("client_order_id", TEXT, _field("client_order_id")),
            ("symbol", TEXT, _field("symbol")),
            ("side", WORD, _field("side")),
            ("contracts", NUMBER, _field("contracts")),
            ("state", WORD, _field("state")),
        ),
    )
    print_table(
        console,
        "Open alerts",
        state.get("open_alerts", []),
        (
            ("condition", TEXT, _field("condition")),
            ("since (UTC)", TEXT, _field("since", _time)),
            ("asset", TEXT, _field("asset")),
            ("instrument", TEXT, _field("instrument")),
        ),
    )
