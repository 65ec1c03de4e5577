"""Operator overrides from the CLI, and what the rules record: β estimates and position risk."""

from __future__ import annotations

import sqlite3
import textwrap
from decimal import Decimal
from pathlib import Path

from bot.app import open_runtime
from bot.config.loader import load_config
from tests.helpers import REPLAY_DIR, run_cli, write_config

BTC = "BTC/USD:BTC"


def make_config(tmp_path: Path, rules: str) -> Path:
    return write_config(
        tmp_path,
        textwrap.dedent(f"""
        exchange:
          id: sim
          sim:
            replay: {{path: {REPLAY_DIR}, start: "2024-04-10T00:00:00+00:00"}}
            inverse_perps: [BTC, ETH]
            balances: {{spot: {{SOL: 500}}, margin: {{BTC: 2}}}}
        hedge: {{band: 0.02, leverage: 2, maintenance_basis: mark}}
        database: {{url: "sqlite+aiosqlite:///{tmp_path}/db.sqlite"}}
        """)
        + rules,
    )


RULES = """
rules:
  - kind: beta
    asset: SOL
    ratio: 0.7
    estimator: {window: 240, refresh_minutes: 180}
"""


async def ticks(config_path: Path, count: int) -> list[Decimal]:
    """Run ``count`` ticks in-process; the short held on BTC after each."""
    runtime = await open_runtime(load_config(config_path), dry_run=False, environ={})
    shorts = []
    try:
        for _ in range(count):
            await runtime.hedger.tick()
            position = (await runtime.port.fetch_positions([BTC]))[BTC]
            shorts.append(-position.contracts)
    finally:
        await runtime.close()
    return shorts


async def test_pause_hedge_off_and_resume_from_the_cli(tmp_path: Path) -> None:
    config = make_config(tmp_path, RULES)
    (first,) = await ticks(config, 1)
    assert first > 0
    # the sim port starts afresh per runtime: the state that matters here is the database's
    assert run_cli("pause", "--config", str(config), "--reason", "test").returncode == 0
    (paused,) = await ticks(config, 1)
    assert paused == 0  # a new sim account, and pause lets no order out
    assert run_cli("hedge-off", "--config", str(config)).returncode == 0
    (off,) = await ticks(config, 1)
    assert off == 0
    assert run_cli("resume", "--config", str(config)).returncode == 0
    (resumed,) = await ticks(config, 1)
    assert resumed > 0
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        modes = [row[0] for row in db.execute("select mode from controls order by id")]
        assert modes == ["paused", "hedge_off", "active"]
        reasons = [row[0] for row in db.execute("select reason from controls order by id")]
        assert reasons[0] == "test"


async def test_beta_estimates_and_position_risk_are_recorded(tmp_path: Path) -> None:
    config = make_config(tmp_path, RULES)
    await ticks(config, 2)
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        rows = db.execute(
            "select asset, hedge, state, beta, rho, window, n, method, data_end, beta_se "
            "from beta_estimates"
        ).fetchall()
        risk = db.execute(
            "select symbol, exchange_liquidation_price, own_liquidation_price, formula "
            "from position_risk"
        ).fetchall()
    pairs = {(r[0], r[1]) for r in rows}
    assert ("SOL", "BTC") in pairs
    sol_btc = next(r for r in rows if r[:2] == ("SOL", "BTC"))
    assert sol_btc[2] == "ok"
    assert 0.5 < sol_btc[3] < 3  # β
    assert sol_btc[5] == 240
    assert sol_btc[6] == 240
    assert sol_btc[7] == "ols"
    assert sol_btc[8] is not None
    assert 0 < sol_btc[9] < 0.5 * sol_btc[3]  # the standard error of β, stored with it
    # one estimate per refresh period (180 min), not per tick (each replay tick is 1 h)
    assert len([r for r in rows if r[:2] == ("SOL", "BTC")]) == 1
    assert risk
    assert {r[0] for r in risk} == {BTC}
    assert all(r[3] == "mark-basis cross" for r in risk)
    assert all(r[1] is not None and r[2] is not None for r in risk)
