"""The margin view of real ticks on the simulated exchange, as people and machines see it: the
tick printer's collateral and shortfall lines, the state summary (MQTT state, HTTP /status), the
Prometheus gauges and the ``margin_state`` rows."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from bot.app import Runtime, open_runtime
from bot.cli.output import action_line, shortfall_line, tick_printer
from bot.config.loader import parse_config
from bot.core.types import CollateralAction, CollateralActionKind, MarginShortfall
from bot.daemon.collateral import ActionReport
from bot.daemon.report import action_outcome, state_summary
from bot.daemon.tick_outcome import TickOutcome
from bot.http.metrics import Metrics
from tests.helpers import REPO

BTC_PERP = "BTC/USD:BTC"
MARGIN_GAUGES = (
    "hedgebot_margin_shortfall_usd",
    "hedgebot_margin_required_coins",
    "hedgebot_margin_equity_coins",
)

CONFIG = """
exchange:
  id: sim
  sim:
    prices: {BTC: 50000}
    balances: {spot: {BTC: 2}, margin: {BTC: 0.05}}
rules:
  - {asset: BTC, ratio: 1}
hedge: {leverage: 2}
collateral: {fund_from: FUND_FROM}
database: {url: "DB_URL"}
"""


@asynccontextmanager
async def runtime(
    tmp_path: Path, fund_from: str, *, dry_run: bool = False
) -> AsyncIterator[Runtime]:
    text = CONFIG.replace("FUND_FROM", fund_from).replace(
        "DB_URL", f"sqlite+aiosqlite:///{tmp_path}/db.sqlite"
    )
    opened = await open_runtime(parse_config(text, base_dir=REPO), dry_run=dry_run, environ={})
    try:
        yield opened
    finally:
        await opened.close()


def printed(outcome: TickOutcome) -> list[str]:
    console = Console(record=True, width=200)
    tick_printer(console)(outcome)
    text = re.sub(r"\n {6,}", " ", console.export_text())  # join wrapped continuation lines
    return [line.strip() for line in text.splitlines()]


def gauges(metrics: Metrics) -> dict[tuple[str, str], float]:
    """(metric, instrument) -> value of the per-instrument margin gauges."""
    return {
        (family.name, sample.labels["instrument"]): sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        if family.name in MARGIN_GAUGES
        for sample in family.samples
    }


def plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


async def test_a_top_up_as_printed_summarized_measured_and_recorded(tmp_path: Path) -> None:
    async with runtime(tmp_path, "spot") as rt:
        first = await rt.hedger.tick()
        second = await rt.hedger.tick()
        recorded = [await rt.hedger.records.margin_state(o.tick_id) for o in (first, second)]
    (action,) = first.decision.collateral.actions
    assert (action.kind, action.source, action.destination) == ("transfer", "spot", "margin")
    assert first.collateral is not None
    assert first.collateral.succeeded == [action.action_id]
    assert f"transfer {plain(action.amount)} BTC spot -> margin: SUCCESS" in printed(first)
    assert not any(line.startswith("margin shortfall") for line in printed(first))

    summary = state_summary(first)
    assert summary["collateral"] == [
        {
            "action_id": action.action_id,
            "kind": "transfer",
            "coin": "BTC",
            "amount": plain(action.amount),
            "usd_value": plain(action.usd_value),
            "source": "spot",
            "destination": "margin",
            "symbol": None,
            "side": None,
            "reason": action.reason,
            "outcome": "SUCCESS",
        }
    ]
    # tick 1 read the account before its first order: a margin view, no short yet
    (view,) = first.margin
    (entry,) = summary["margin"]
    assert entry == {
        "symbol": BTC_PERP,
        "mark_price": None,
        "liquidation_price": None,
        "liquidation_source": None,
        "own_liquidation_price": None,
        "formula": None,
        "distance": None,
        "margin_ratio": None,
        "coin": "BTC",
        "balance": plain(view.balance),
        "equity": plain(view.equity),
        "required": plain(view.required),
        "short_usd": plain(view.short_usd),
        "shortfall_usd": plain(view.shortfall_usd),
        "coins_missing": plain(view.coins_missing),
    }
    # tick 2: the short exists; its liquidation view and its wallet merge into one entry
    (check,) = second.risk
    (view,) = second.margin
    (entry,) = state_summary(second)["margin"]
    assert state_summary(second)["collateral"] == []
    assert entry["liquidation_source"] == check.source == "exchange"
    assert entry["distance"] == plain(check.distance or Decimal(0))
    assert (entry["coin"], entry["required"]) == ("BTC", plain(view.required))
    assert view.short_usd > 0
    assert view.required > 0

    metrics = Metrics()
    metrics.listener("default")(second)
    assert gauges(metrics) == {
        ("hedgebot_margin_shortfall_usd", BTC_PERP): float(view.shortfall_usd),
        ("hedgebot_margin_required_coins", BTC_PERP): float(view.required),
        ("hedgebot_margin_equity_coins", BTC_PERP): float(view.equity),
    }
    assert recorded == [list(first.margin), list(second.margin)]


async def test_a_dry_run_top_up_is_printed_as_such(tmp_path: Path) -> None:
    async with runtime(tmp_path, "spot", dry_run=True) as rt:
        outcome = await rt.hedger.tick()
    (action,) = outcome.decision.collateral.actions
    assert f"transfer {plain(action.amount)} BTC spot -> margin: DRY-RUN" in printed(outcome)
    assert [c["outcome"] for c in state_summary(outcome)["collateral"]] == ["DRY_RUN"]


async def test_a_shortfall_is_printed_summarized_and_measured(tmp_path: Path) -> None:
    async with runtime(tmp_path, "none") as rt:
        outcome = await rt.hedger.tick()
    (shortfall,) = outcome.decision.plan.shortfalls
    (view,) = outcome.margin
    assert outcome.decision.collateral.actions == ()
    assert outcome.collateral is None
    assert view.shortfall_usd == shortfall.short_usd > Decimal(90_000)
    assert view.coins_missing == shortfall.coins_missing > Decimal("0.9")
    carried = f"{shortfall.carried_usd:,.2f}"
    target = f"{shortfall.target_usd:,.2f}"
    missing = plain(shortfall.coins_missing.quantize(Decimal("1e-8")))
    assert (
        f"margin shortfall {BTC_PERP}: carries {carried} of {target} USD; {missing} BTC missing"
        in printed(outcome)
    )
    (entry,) = state_summary(outcome)["margin"]
    assert entry["shortfall_usd"] == plain(view.shortfall_usd)
    assert entry["coins_missing"] == plain(view.coins_missing)
    metrics = Metrics()
    metrics.listener("default")(outcome)
    assert gauges(metrics)[("hedgebot_margin_shortfall_usd", BTC_PERP)] == float(view.shortfall_usd)


def leg(
    kind: CollateralActionKind, coin: str, amount: str, reason: str = "conv"
) -> CollateralAction:
    """A collateral action as the policy plans it (legs of one conversion share a reason)."""
    if kind == "transfer":
        return CollateralAction(
            f"t-{coin}", kind, coin, Decimal(amount), Decimal(1), "spot", "margin", reason=reason
        )
    return CollateralAction(
        f"hb-{coin}",
        kind,
        coin,
        Decimal(amount),
        Decimal(1),
        symbol=f"{coin}/USDT",
        side="sell" if kind == "spot_sell" else "buy",
        reason=reason,
    )


SELL = leg("spot_sell", "SOL", "12.50")
BUY = leg("spot_buy", "BTC", "0.123456789")
MOVE = leg("transfer", "BTC", "0.5")
CHAIN = (SELL, BUY, MOVE)


@pytest.mark.parametrize(
    ("action", "report", "line"),
    [
        (MOVE, ActionReport(succeeded=["t-BTC"]), "transfer 0.5 BTC spot -> margin: SUCCESS"),
        (SELL, ActionReport(failed=["hb-SOL"]), "convert sell 12.5 SOL -> BTC: FAILED"),
        (BUY, ActionReport(succeeded=["hb-BTC"]), "convert buy 0.12345679 BTC <- SOL: SUCCESS"),
        (
            MOVE,
            ActionReport(failed=["hb-SOL"], skipped=["t-BTC"]),
            "transfer 0.5 BTC spot -> margin: NOT SENT (an earlier step of its chain did not "
            "succeed)",
        ),
        (
            BUY,
            ActionReport(unknown=["hb-BTC"]),
            "convert buy 0.12345679 BTC <- SOL: UNKNOWN (looked up again next tick)",
        ),
        (SELL, ActionReport(), "convert sell 12.5 SOL -> BTC: DRY-RUN"),
    ],
)
def test_action_lines(action: CollateralAction, report: ActionReport, line: str) -> None:
    assert action_line(action, CHAIN, action_outcome(report, action.action_id)) == line


def test_a_lone_leg_names_its_quote() -> None:
    lone = leg("spot_sell", "SOL", "1", reason="another conversion")
    assert action_line(lone, CHAIN, "SUCCESS") == "convert sell 1 SOL -> USDT: SUCCESS"


def test_shortfall_line() -> None:
    shortfall = MarginShortfall(
        BTC_PERP, "BTC", Decimal(1_100_000), Decimal("197000"), Decimal("2.850000001")
    )
    assert shortfall_line(shortfall) == (
        "margin shortfall BTC/USD:BTC: carries 197,000.00 of 1,100,000.00 USD; 2.85 BTC missing"
    )
