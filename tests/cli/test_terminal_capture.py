"""What the operator sees on an 80-column terminal: ``hedgebot run`` (the demo), ``status``,
``exchanges`` and ``backtest --compare`` run on a pty and read back through a terminal emulator
(pyte) wider than the 80 columns the program is told, so that a line past column 80 shows as
such instead of wrapping. No identifier is cut (no ``…``), each is printed whole, and every
table the commands promise is there."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyte
import pytest
from rich.console import Console

from bot.cli.status import render
from bot.exchange.profiles import PROFILES
from bot.store.models import FundingPaymentRow
from bot.store.status_query import funding_carry
from tests.cli.terminal import COLUMNS, demo_checkout, run_on_terminal
from tests.helpers import REPLAY_DIR, REPO, run_cli, write_config

WIDE = 200  # the emulated screen: wider than the 80 columns the program is told it has
ROWS = 3000
# The demo's first funding settlement is at 08:00, its exchange time starts at 02:00, one
# hour per tick: by tick 8 each hedge has been paid (or has paid) funding once.
DEMO_TICKS = 8
DEMO = ("--config", "config/demo.yaml")


@dataclass(frozen=True)
class Screen:
    lines: list[str]  # what the terminal shows, trailing blanks removed

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def on_screen(*args: str, cwd: Path) -> Screen:
    """``hedgebot ARGS`` on an 80-column pty, as a terminal would show it afterwards."""
    result = run_on_terminal(*args, cwd=cwd)
    assert result.returncode == 0, result.output[-3000:]
    screen = pyte.Screen(WIDE, ROWS)
    stream = pyte.Stream(screen)
    stream.feed(result.output.replace("\n", "\r\n"))  # the pty's own line ends
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    assert lines, "nothing on the screen"
    return Screen(lines)


def assert_nothing_cut(screen: Screen) -> None:
    """Every line within 80 columns, no ellipsis, no ``None`` shown for a missing value."""
    for line in screen.lines:
        assert len(line) <= COLUMNS, f"{len(line)} columns: {line!r}"
    assert "…" not in screen.text
    assert "..." not in screen.text
    assert not re.search(r"\bNone\b", screen.text), screen.text


def cells(line: str) -> list[str]:
    """A compact table's line split into its cells (two spaces or more between columns)."""
    return re.split(r" {2,}", line.strip())


def rows_starting(screen: Screen, word: str) -> list[list[str]]:
    """The lines whose first word is ``word``, as cells."""
    return [cells(line) for line in screen.lines if line.split(" ", 1)[0] == word]


def table(screen: Screen, title: str, rows: int) -> tuple[list[str], list[list[str]]]:
    """The header and the first ``rows`` rows of the table titled ``title...`` (one-line
    headers), as cells."""
    start = next(i for i, line in enumerate(screen.lines) if line.startswith(title))
    assert set(screen.lines[start + 2].strip()) == {"─"}, screen.lines[start : start + 3]
    body = screen.lines[start + 3 : start + 3 + rows]
    return cells(screen.lines[start + 1]), [cells(line) for line in body]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Screen]:
    checkout = demo_checkout(tmp_path_factory.mktemp("demo"))
    screen = on_screen("run", *DEMO, "--ticks", str(DEMO_TICKS), cwd=checkout)
    return checkout, screen


def recorded(checkout: Path, query: str) -> list[str]:
    with sqlite3.connect(checkout / "var" / "demo.sqlite") as connection:
        found = [str(row[0]) for row in connection.execute(query)]
    connection.close()
    return found


def test_run_fits_and_names_each_instrument_whole(demo: tuple[Path, Screen]) -> None:
    checkout, screen = demo
    assert_nothing_cut(screen)
    symbols = recorded(checkout, "select distinct instrument from targets order by instrument")
    assert symbols == ["BTC/USD:BTC", "ETH/USD:ETH", "SOL/USD:SOL"]
    for symbol in symbols:
        hedges = [line for line in screen.lines if line.startswith(f"  hedge {symbol}: ")]
        assert len(hedges) == DEMO_TICKS, symbol
    orders = [line for line in screen.lines if line.startswith("  order ")]
    assert orders
    for line in orders:
        # "  order sell 76,518 c BTC/USD:BTC: FILLED @ ..."
        assert line.split()[4].removesuffix(":") in symbols, line
    assert f"tick {DEMO_TICKS} exchange time" in screen.text


def test_status_fits_and_shows_funding_per_instrument(demo: tuple[Path, Screen]) -> None:
    checkout, _ = demo
    screen = on_screen("status", *DEMO, cwd=checkout)
    assert_nothing_cut(screen)
    symbols = recorded(checkout, "select distinct instrument from targets order by instrument")
    for symbol in symbols:
        # hedges, ratios, margin, liquidation and funding: one row each, the symbol whole
        starts = [line for line in screen.lines if line.startswith(symbol + " ")]
        assert len(starts) == 3, (symbol, screen.text)
        assert sum(f" {symbol} " in line for line in screen.lines) >= 2, symbol
    for client_order_id in recorded(
        checkout, "select client_order_id from orders order by id desc limit 5"
    ):
        assert re.search(rf"^{re.escape(client_order_id)}  ", screen.text, re.M), client_order_id
    header, liquidations = table(screen, "Liquidation and shortfall", len(symbols))
    assert header[:2] == ["instrument", "liquidation"]
    assert [row[0] for row in liquidations] == symbols
    for row in liquidations:  # a price, or why there is none
        assert row[1] in {"unreachable", "no short"} or re.fullmatch(r"[\d,]+\.\d\d", row[1])

    # the funding table: one row per instrument, the numbers --json has, rounded
    header, funding_rows = table(screen, "Funding (carry in USD", len(symbols))
    assert header == ["instrument", "rate", "annualised", "next (UTC)", "today", "30 days"]
    shown = {row[0]: row for row in funding_rows}
    status = run_cli("status", *DEMO, "--json", cwd=checkout)
    assert status.returncode == 0, status.stderr
    (account,) = json.loads(status.stdout)["accounts"]
    funding = account["funding"]["instruments"]
    assert [row["symbol"] for row in funding] == symbols
    for row in funding:
        assert row["payments_30d"] >= 1, row  # the demo's 08:00 settlement is recorded
        next_time = datetime.fromisoformat(row["next_funding_time"])
        assert shown[row["symbol"]] == [
            row["symbol"],
            f"{Decimal(row['rate']) * 100:.4f}%",
            f"{Decimal(row['annualised']) * 100:.2f}%",
            next_time.strftime("%Y-%m-%d %H:%M"),
            f"{Decimal(row['carry_today_usd']).quantize(Decimal('0.01')):,}",
            f"{Decimal(row['carry_30d_usd']).quantize(Decimal('0.01')):,}",
        ]
    amounts = recorded(checkout, "select amount from funding_payments where currency = 'BTC'")
    btc = next(row for row in funding if row["symbol"] == "BTC/USD:BTC")
    assert Decimal(btc["carry_30d"]) == sum(map(Decimal, amounts))
    assert Decimal(btc["carry_30d"]) > 0  # a short earns a positive rate


def test_a_proxy_hedge_shows_beta_with_its_standard_error(tmp_path: Path) -> None:
    """The demo hedges each coin on its own perp: here SOL on BTC's perp by its estimated β,
    whose standard error the tick's hedge line and status's ratio table show beside it."""
    config = write_config(
        tmp_path,
        f"""
        exchange:
          id: sim
          sim:
            replay: {{path: {REPLAY_DIR}, start: "2024-04-10T00:00:00+00:00"}}
            inverse_perps: [BTC]
            balances: {{spot: {{SOL: 500}}, margin: {{BTC: 2}}}}
        rules:
          - {{kind: beta, asset: SOL, ratio: 0.7, estimator: {{window: 240}}}}
        hedge: {{leverage: 2}}
        schedule: {{interval_seconds: 0.2}}
        database: {{url: "sqlite+aiosqlite:///var/db.sqlite"}}
        """,
    )
    # relative paths, as the demo's: the line naming the log file fits 80 columns
    run = on_screen("run", "--config", config.name, "--ticks", "2", cwd=tmp_path)
    assert_nothing_cut(run)
    why = [line for line in run.lines if line.startswith("    why: SOL rule, ratio 0.7, β ")]
    assert len(why) == 2, run.text
    for line in why:
        assert re.search(r", β \d\.\d{1,4} ±0\.\d{1,4}, ρ 0\.\d{1,4} \(proxy\)", line), line

    screen = on_screen("status", "--config", config.name, cwd=tmp_path)
    assert_nothing_cut(screen)
    status = run_cli("status", "--config", config.name, "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    (account,) = json.loads(status.stdout)["accounts"]
    sol, btc = account["assets"]
    assert (sol["asset"], sol["proxy"], btc["asset"], btc["proxy"]) == ("SOL", True, "BTC", False)
    assert 0 < Decimal(sol["beta_se"]) < Decimal(sol["beta"]) / 4
    assert btc["beta_se"] is None
    header, rows = table(screen, "Hedge ratios", 2)
    assert header == ["asset", "instrument", "ratio", "β", "ρ", "proxy"]
    places = Decimal("0.0001")
    beta, se = (Decimal(sol[name]).quantize(places) for name in ("beta", "beta_se"))
    assert rows[0][:4] == ["SOL", "BTC/USD:BTC", "70.00%", f"{beta} ±{se}"]
    assert rows[1][:4] == ["BTC", "BTC/USD:BTC", "100.00%", "1.0000"]


def test_exchanges_fit_with_every_identifier_whole(tmp_path: Path) -> None:
    screen = on_screen("exchanges", cwd=tmp_path)
    assert_nothing_cut(screen)
    for exchange_id, profile in PROFILES.items():
        markets, orders = rows_starting(screen, exchange_id)
        assert markets[0] == orders[0] == exchange_id
        assert orders[1:] == [
            profile.amount_unit,
            profile.client_id_param,
            profile.client_id_query_param,
            profile.client_id_lookup,
        ], orders
        assert "none (live only)" in markets if profile.sandbox == "none" else True


COMPARE = ("backtest-sol-btc-band0", "backtest-sol-btc-band2", "backtest-sol-btc-band10")


def compare_screen(tmp_path: Path) -> Screen:
    first, *others = (REPO / "config" / f"{name}.yaml" for name in COMPARE)
    args = ["backtest", "-c", str(first), "--data", str(REPLAY_DIR)]
    for other in others:
        args += ["--compare", str(other)]
    return on_screen(*args, cwd=tmp_path)


def test_backtest_compare_fits_80_columns(tmp_path: Path) -> None:
    screen = compare_screen(tmp_path)
    for line in screen.lines:
        assert len(line) <= COLUMNS, f"{len(line)} columns: {line!r}"
    assert "Backtest comparison" in screen.text


def test_backtest_compare_names_each_column(tmp_path: Path) -> None:
    screen = compare_screen(tmp_path)
    assert "…" not in screen.text
    for name in COMPARE:
        assert re.search(rf"\b{re.escape(name)}\b", screen.text), name


# -- the funding carry, pure ------------------------------------------------------------------

AS_OF = datetime(2024, 3, 31, 5, 0, tzinfo=UTC)
RATES = {
    "BTC/USD:BTC": {
        "symbol": "BTC/USD:BTC",
        "rate": "0.0001",
        "interval_hours": "8",
        "next_funding_time": "2024-03-31T08:00:00+00:00",
        "predicted_rate": None,
    },
    "ETH/USDT:USDT": {"symbol": "ETH/USDT:USDT", "rate": "-0.0002", "interval_hours": "4"},
}
PRICES = {"BTC": "60000", "ETH": "3000"}


def paid(symbol: str, at: datetime, amount: str, currency: str) -> FundingPaymentRow:
    return FundingPaymentRow(
        payment_id=f"{symbol}@{at.isoformat()}",
        symbol=symbol,
        ts=at,
        rate=Decimal("0.0001"),
        position_contracts=Decimal(-1000),
        amount=Decimal(amount),
        currency=currency,
    )


def test_funding_carry_counts_today_and_30_days_at_the_last_prices() -> None:
    day = AS_OF.replace(hour=0)
    payments = [
        paid("BTC/USD:BTC", day, "0.001", "BTC"),  # today (the day starts at 00:00 UTC)
        paid("BTC/USD:BTC", day - timedelta(hours=8), "0.002", "BTC"),  # yesterday
        paid("BTC/USD:BTC", AS_OF - timedelta(days=30), "5", "BTC"),  # 30 days ago: out
        paid("BTC/USD:BTC", AS_OF + timedelta(hours=1), "5", "BTC"),  # after the tick: out
        paid("ETH/USDT:USDT", day, "-1.5", "USDT"),  # a stablecoin without a price: 1 USD
        paid("SOL/USD:SOL", day, "2", "SOL"),  # paid, no rate now, no price
    ]
    rows = {row["symbol"]: row for row in funding_carry(RATES, payments, PRICES, AS_OF)}
    assert list(rows) == ["BTC/USD:BTC", "ETH/USDT:USDT", "SOL/USD:SOL"]
    btc, eth, sol = rows.values()
    assert (btc["annualised"], eth["annualised"], sol["annualised"]) == ("0.1095", "-0.438", None)
    assert (btc["carry_today"], btc["carry_30d"]) == ("0.001", "0.003")
    assert (btc["carry_today_usd"], btc["carry_30d_usd"]) == ("60", "180")
    assert (btc["payments_today"], btc["payments_30d"]) == (1, 2)
    assert btc["next_funding_time"] == "2024-03-31T08:00:00+00:00"
    assert (eth["carry_today_usd"], eth["currency"]) == ("-1.5", "USDT")
    assert (sol["rate"], sol["carry_30d"], sol["carry_30d_usd"]) == (None, "2", None)


def test_funding_without_payments_is_zero_and_without_rates_none() -> None:
    (row,) = funding_carry({"BTC/USD:BTC": RATES["BTC/USD:BTC"]}, [], PRICES, AS_OF)
    assert (row["carry_today_usd"], row["carry_30d_usd"], row["currency"]) == ("0", "0", None)
    assert funding_carry({}, [], PRICES, AS_OF) == []
    console = Console(width=COLUMNS, record=True, file=io.StringIO())
    render(console, {"account": "default", "last_tick": None, "funding": {"instruments": []}})
    assert "Funding (carry in USD at the last tick's prices; + received): none" in (
        console.export_text()
    )


def test_the_hedge_ratio_table_shows_beta_with_its_standard_error() -> None:
    from bot.cli.status import _beta

    assert _beta({"beta": "1.234567", "beta_se": "0.031249"}) == "1.2346 ±0.0312"
    assert _beta({"beta": "-0.5", "beta_se": 0.00004}) == "-0.5000 ±0.0000"
    assert _beta({"beta": "1", "beta_se": None}) == "1.0000"
    assert _beta({"beta": None}) == "-"


def _asset(asset: str, instrument: str, beta: str, **fields: object) -> dict[str, object]:
    """One ``assets`` row as ``account_status`` gives it."""
    row: dict[str, object] = {
        "asset": asset,
        "instrument": instrument,
        "exposure_usd": "1234567.891",
        "ratio": "0.7",
        "target_short_usd": "864197.5237",
        "hedge_usd": "850000",
        "drift": "-0.0164",
        "beta": beta,
        "rho": None,
        "proxy": False,
        "beta_se": None,
    }
    return row | fields


def test_status_shows_a_proxy_hedges_standard_error_within_80_columns() -> None:
    """The demo hedges each coin on its own perp (no β estimated): a proxy hedge's row, β with
    its standard error, beside an own-perp one and a dated future's long symbol."""
    assets = [
        _asset(
            "SOL",
            "BTC/USD:BTC-261225",
            "-1.234567",
            rho="0.8123456",
            proxy=True,
            beta_se="0.0312499",
        ),
        _asset("WIF", "SOL/USD:SOL", "2.5", rho="0.61", proxy=True, beta_se="0.1875"),
        _asset("BTC", "BTC/USD:BTC", "1"),
    ]
    console = Console(width=COLUMNS, record=True, file=io.StringIO())
    render(console, {"account": "default", "last_tick": None, "assets": assets})
    screen = Screen(console.export_text().splitlines())
    assert_nothing_cut(screen)
    header, rows = table(screen, "Hedge ratios", len(assets))
    assert header == ["asset", "instrument", "ratio", "β", "ρ", "proxy"]
    assert rows == [
        ["SOL", "BTC/USD:BTC-261225", "70.00%", "-1.2346 ±0.0312", "0.8123", "yes"],
        ["WIF", "SOL/USD:SOL", "70.00%", "2.5000 ±0.1875", "0.6100", "yes"],
        ["BTC", "BTC/USD:BTC", "70.00%", "1.0000", "-", "no"],
    ]
