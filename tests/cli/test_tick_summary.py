"""The tick summary ``hedgebot run`` prints: each order says what became of it, each hedge says
how far it is hedged and why, numbers are rounded for people and no line passes 80 columns."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from bot.cli.output import WIDTH, fit, hedge_reason, humane, refusal
from bot.config.models import SimConfig
from bot.core.types import HedgeTarget
from bot.emulator import start_emulator
from tests.cli.terminal import demo_checkout
from tests.helpers import REPO, run_cli, write_config


def assert_fits(text: str) -> None:
    assert text.strip()
    for line in text.splitlines():
        assert len(line) <= WIDTH, line


def unwrapped(text: str) -> list[str]:
    """The summary's lines with their continuation lines (4 more columns in) joined back."""
    lines: list[str] = []
    for line in text.splitlines():
        depth = len(line) - len(line.lstrip(" "))
        if lines and depth >= len(lines[-1]) - len(lines[-1].lstrip(" ")) + 4:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return [line.strip() for line in lines]


def test_dry_run_demo_says_dry_run_and_never_filled(tmp_path: Path) -> None:
    checkout = demo_checkout(tmp_path)
    args = ("run", "--config", "config/demo.yaml", "--ticks", "12", "--dry-run")
    result = run_cli(*args, cwd=checkout, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert_fits(out)
    assert out.count("tick ") == 12
    orders = [line.strip() for line in out.splitlines() if line.strip().startswith("order ")]
    # nothing is ever filled, so every tick plans the opening orders again
    assert len(orders) == 12 * 4
    assert all(line.endswith(": DRY-RUN (not sent)") for line in orders), orders
    assert "FILLED" not in out
    assert "PARTIAL" not in out
    assert re.search(r"^  order sell 76,876 c BTC/USD:BTC: DRY-RUN \(not sent\)$", out, re.M)
    # full precision stays out of the summary
    assert not re.search(r"\d\.\d{9,}", out)
    assert "reduce_only=" not in out


# One BTC rule on the emulator: 1.5 BTC at 50,000 USD is one 75,000-contract short.
EMULATED = {
    "prices": {"BTC": "50000"},
    "contract_size_usd": {"BTC": "1"},
    "balances": {"spot": {"BTC": "0.5"}, "margin": {"BTC": "1"}},
    "fee_rate": "0.00055",
}


async def run_against_faulty_emulator(
    tmp_path: Path, fault: dict[str, object], ticks: int
) -> tuple[int, str, str]:
    """``hedgebot run`` against an emulator served from this event loop, whose next order gets
    ``fault`` (the emulator's /admin API, as in tests/integration)."""
    running = await start_emulator(SimConfig.model_validate(EMULATED), follow_wall_clock=False)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{running.url}/admin/faults", json=fault) as response,
        ):
            assert response.status == 200, await response.text()
        config = write_config(
            tmp_path,
            f"""
            exchange:
              id: bybit
              url: {running.url}
              sim: {EMULATED}
            rules:
              - {{asset: BTC, ratio: 1}}
            hedge: {{leverage: 5}}
            schedule: {{interval_seconds: 0.2}}
            database: {{url: "sqlite+aiosqlite:///{tmp_path}/db.sqlite"}}
            """,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEBOT_")}
        env.update({"HEDGEBOT_API_KEY": "test-key", "HEDGEBOT_API_SECRET": "test-secret"})
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--config",
            str(config),
            "--ticks",
            str(ticks),
            cwd=REPO,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 90)
    finally:
        await running.stop()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_rejected_order_says_rejected_with_the_reason(tmp_path: Path) -> None:
    code, out, err = await run_against_faulty_emulator(
        tmp_path, {"kind": "reduce_only", "count": 1}, ticks=2
    )
    assert code == 0, err[-3000:]
    assert_fits(out)
    first, second = out.split("tick 2 ")
    (rejected,) = [line for line in unwrapped(first) if line.startswith("order ")]
    # the exchange's code and message, without the JSON around them (kept in the database)
    assert rejected == (
        "order sell 75,000 c BTC/USD:BTC: REJECTED: 110017: Reduce-only rule not satisfied "
        "(injected fault)"
    )
    assert "FILLED" not in first
    # the next tick plans it again (a new client id) and it fills
    (filled,) = [line for line in unwrapped(second) if line.startswith("order ")]
    assert re.fullmatch(
        r"order sell 75,000 c BTC/USD:BTC: FILLED @ 50,000\.00, fee 0\.000825 BTC", filled
    ), filled


async def test_a_partial_fill_says_partial(tmp_path: Path) -> None:
    code, out, err = await run_against_faulty_emulator(
        tmp_path, {"kind": "partial_fill", "count": 1, "fraction": "0.5"}, ticks=1
    )
    assert code == 0, err[-3000:]
    assert_fits(out)
    (line,) = [line for line in unwrapped(out) if line.startswith("order ")]
    assert re.fullmatch(
        r"order sell 75,000 c BTC/USD:BTC: PARTIAL 37,500 c @ 50,000\.00, "
        r"fee 0\.0004125 BTC, rest open",
        line,
    ), line


def test_wide_book_fits_80_columns_and_says_why(tmp_path: Path) -> None:
    """Millions of USD, a margin too small for its hedge, a margin coin held USD-neutral and a
    proxy rule without a usable β: every reason is there, wrapped, within 80 columns."""
    config = write_config(
        tmp_path,
        f"""
        exchange:
          id: sim
          sim:
            prices: {{BTC: 98765.4321, ETH: 3456.789, SOL: 123.456789}}
            inverse_perps: [BTC, ETH]
            balances:
              spot: {{BTC: 40.123456789, SOL: 123456.789, ETH: 10}}
              margin: {{BTC: 0.5, ETH: 3}}
        rules:
          - {{asset: BTC, ratio: 1}}
          - {{kind: beta, asset: SOL, ratio: 0.7, candidates: [BTC, ETH]}}
        hedge: {{leverage: 1}}
        limits: {{max_total_short_usd: 100000000, max_order_usd: 1000000}}
        database: {{url: "sqlite+aiosqlite:///{tmp_path}/db.sqlite"}}
        """,
    )
    result = run_cli("run", "--config", str(config), "--ticks", "1", "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert_fits(out)
    joined = "\n".join(unwrapped(out))
    assert "exposure SOL: 123456.789 spot + 0 collateral @ 123.46 = 15,241,578.75 USD" in joined
    assert "hedge BTC/USD:BTC: hedged 0.00% vs target 1.23% of BTC exposure" in out
    assert "why: BTC rule, ratio 1, β 1" in out
    assert "cut to what its margin carries: 49,333.38 of 4,012,193.26 USD" in out
    assert "why: ETH margin coin, USD-neutral" in out
    assert re.search(
        r"margin shortfall BTC/USD:BTC: carries 49,333\.38 of 4,012,193\.26 USD; "
        r"40\.\d{1,8} BTC missing",
        joined,
    )
    assert "critical beta_unavailable: no own contract and no proxy with a usable beta" in joined
    assert "order sell 49,333 c BTC/USD:BTC: DRY-RUN (not sent)" in out


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("short", ["short"]),
        ("x" * WIDTH, ["x" * WIDTH]),
        (
            "  margin shortfall BTC/USD:BTC: carries 4,990.02 of 102,500.00 USD; "
            "0.97705 BTC missing",
            [
                "  margin shortfall BTC/USD:BTC: carries 4,990.02 of 102,500.00 USD;",
                "      0.97705 BTC missing",
            ],
        ),
        (
            "    why: SOL lifted: rho(SOL, BTC) 0.4321 below floor 0.7: proxy hedge skipped "
            "(target 0)",
            [
                "    why: SOL lifted: rho(SOL, BTC) 0.4321 below floor 0.7: proxy hedge skipped",
                "        (target 0)",
            ],
        ),
    ],
)
def test_fit_wraps_onto_indented_continuation_lines(line: str, expected: list[str]) -> None:
    assert fit(line) == expected


def test_fit_never_passes_the_width() -> None:
    for line in ("  " + "word " * 60, "  " + "y" * 300, "  a; " + "b " * 100):
        lines = fit(line)
        assert all(len(part) <= WIDTH for part in lines), lines
        assert " ".join(part.strip() for part in lines).split() == line.split() or "y" in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rho(SOL, BTC) 0.43215678 below floor 0.7", "rho(SOL, BTC) 0.4322 below floor 0.7"),
        ("sell of 153035.0 split into 2", "sell of 153035 split into 2"),
        ("exposure 152951.85330410242870992521 USD", "exposure 152951.8533 USD"),
        ("needs 0.0000123456 BTC", "needs 0.00001235 BTC"),
        ("at 2024-03-01T02:00:00.123 and v1.2.3", "at 2024-03-01T02:00:00.123 and v1.2.3"),
    ],
)
def test_humane_rounds_the_decimals_of_free_text(text: str, expected: str) -> None:
    assert humane(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'bybit: InvalidOrder: bybit {"retCode":110017,"retMsg":"Reduce-only rule not '
            'satisfied","result":{},"time":1}',
            "110017: Reduce-only rule not satisfied",
        ),
        (
            'binancecoinm: InsufficientFunds: binancecoinm {"code":-2019,"msg":"Margin is '
            'insufficient."}',
            "-2019: Margin is insufficient.",
        ),
        ("leverage or margin mode not set", "leverage or margin mode not set"),
        ("bybit {not json", "bybit {not json"),
    ],
)
def test_refusal_keeps_the_code_and_message(text: str, expected: str) -> None:
    assert refusal(text) == expected


D = Decimal


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            HedgeTarget("BTC", "BTC/USD:BTC", D(1), D("153035.875")),
            "BTC rule, ratio 1, β 1",
        ),
        (
            HedgeTarget(
                "SOL",
                "BTC/USD:BTC",
                D("0.7"),
                D(1000),
                beta=D("1.234567"),
                rho=D("0.8123456"),
                proxy=True,
                reason="beta 1.234567 rho 0.8123456 vs BTC; inside window thu 12:00 for 4h",
            ),
            "SOL rule, ratio 0.7, β 1.2346, ρ 0.8123 (proxy); inside window thu 12:00 for 4h",
        ),
        (
            HedgeTarget(
                "SOL",
                "BTC/USD:BTC",
                D(1),
                D(1000),
                beta=D("1.234567"),
                rho=D("0.8123456"),
                proxy=True,
                reason="beta 1.234567 rho 0.8123456 vs BTC",
                beta_se=D("0.031249"),
            ),
            "SOL rule, ratio 1, β 1.2346 ±0.0312, ρ 0.8123 (proxy)",
        ),
        (
            HedgeTarget(
                "SOL",
                "BTC/USD:BTC",
                D(0),
                D(0),
                reason="rho(SOL, BTC) 0.41234567 below floor 0.7: proxy hedge skipped (target 0)",
            ),
            "SOL lifted: rho(SOL, BTC) 0.4123 below floor 0.7: proxy hedge skipped (target 0)",
        ),
        (
            HedgeTarget(
                "SOL",
                "SOL/USD:SOL",
                D(0),
                D(0),
                beta=D(1),
                reason="outside every window: hedge lifted (target 0)",
            ),
            "SOL lifted: outside every window: hedge lifted (target 0)",
        ),
        (
            HedgeTarget("BTC", "BTC/USD:BTC", D(1), D(5000), reason="collateral", collateral=True),
            "BTC margin coin, USD-neutral",
        ),
        (
            HedgeTarget("ETH", "ETH/USD:ETH", D("0.5"), D(0)),
            "ETH rule, ratio 0.5: no exposure to hedge",
        ),
    ],
)
def test_hedge_reason_names_rule_beta_rho_or_why_lifted(target: HedgeTarget, expected: str) -> None:
    assert hedge_reason(target) == expected
