"""The daemon publishes through the alert service: started/stopped, state after each tick, the
kill switch engaged (env), and the daemon's Last Will when it is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.alerts.mqtt_helpers import Subscriber, clear_retained, unique_prefix
from tests.helpers import REPO, write_config


async def test_daemon_alerts_state_and_last_will(tmp_path: Path) -> None:
    prefix = unique_prefix()
    config = write_config(
        tmp_path,
        f"""
        exchange:
          id: sim
          sim:
            prices: {{BTC: 50000}}
            balances: {{spot: {{BTC: 0.5}}, margin: {{BTC: 1.5}}}}
        rules:
          - {{asset: BTC, ratio: 1}}
        hedge: {{leverage: 2}}
        limits: {{kill_switch_env: HEDGEBOT_TEST_KILL}}
        schedule: {{interval_seconds: 0.3}}
        alerts: {{enabled: true, prefix: {prefix}, instance: bot1}}
        database: {{url: "sqlite+aiosqlite:///{tmp_path}/db.sqlite"}}
        """,
    )
    env = {**os.environ, "HEDGEBOT_TEST_KILL": "1"}
    async with Subscriber(prefix) as sub:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--config",
            str(config),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=REPO,
            env=env,
        )
        try:
            await sub.wait_for(
                lambda s: any(m.payload == b"online" for m in s.on("/status")), within=60
            )
            await sub.wait_for(lambda s: bool(s.on("/state")), within=30)
            await sub.wait_for(
                lambda s: any(a["kind"] == "kill_switch" for a in s.alerts()), within=30
            )
            kinds = {a["kind"] for a in sub.alerts()}
            assert "daemon_started" in kinds
            state = sub.on("/state")[-1].json()
            assert state["account"] == "default"
            assert state["exposures"][0]["asset"] == "BTC"
            # the kill switch held the opening order: nothing was sent
            assert state["orders"] == []
            assert state["held"]
            # no short yet: the hedge's margin view alone, with what its wallet lacks (none)
            (margin,) = state["margin"]
            assert (margin["symbol"], margin["coin"], margin["balance"]) == (
                "BTC/USD:BTC",
                "BTC",
                "1.5",
            )
            assert (margin["liquidation_source"], margin["shortfall_usd"]) == (None, "0")
            assert state["collateral"] == []  # trading stopped: no collateral moves
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            await sub.wait_for(lambda s: s.on("/status")[-1].payload == b"offline", within=60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await clear_retained(prefix, "bot1")
