"""``hedgebot status`` reads the current state from the database."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.helpers import REPLAY_DIR, run_cli, write_config


def test_status_after_a_run(tmp_path: Path) -> None:
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
        database: {{url: "sqlite+aiosqlite:///{tmp_path}/db.sqlite"}}
        """,
    )
    assert run_cli("run", "--config", str(config), "--ticks", "2").returncode == 0
    result = run_cli("status", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    (state,) = json.loads(result.stdout)["accounts"]
    assert state["account"] == "default"
    assert state["last_tick"]["status"] == "ok"
    sol = next(a for a in state["assets"] if a["asset"] == "SOL")
    assert sol["instrument"] == "BTC/USD:BTC"
    assert sol["proxy"] is True
    assert Decimal(sol["beta"]) > Decimal("0.5")
    assert Decimal(sol["rho"]) >= Decimal("0.7")
    assert sol["beta_estimated_at"] is not None
    assert abs(Decimal(sol["drift"])) < Decimal("0.02")
    assert state["margin"][0]["symbol"] == "BTC/USD:BTC"
    assert state["orders"]
    assert all(o["state"] == "FILLED" for o in state["orders"])
    table = run_cli("status", "--config", str(config))
    assert table.returncode == 0
    assert "BTC/USD:BTC" in table.stdout
    assert "Hedges" in table.stdout
