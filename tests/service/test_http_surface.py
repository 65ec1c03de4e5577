"""/healthz, /readyz, /status and /metrics of a running daemon (real ccxt, embedded emulator)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import REPO, write_config

TOKEN = "t0ken-for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)  # noqa: S310  (127.0.0.1 only)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def daemon_config(tmp_path: Path, http_port: int) -> Path:
    return write_config(
        tmp_path,
        f"""
        exchange:
          id: bybit
          embedded_emulator: true
          sim:
            prices: {{BTC: 50000, ETH: 2500}}
            balances: {{spot: {{BTC: 0.5, ETH: 4}}, margin: {{BTC: 1.5, ETH: 6}}}}
        rules:
          - {{asset: BTC, ratio: 1}}
          - {{asset: ETH, ratio: 0.5}}
        hedge: {{leverage: 2}}
        schedule: {{interval_seconds: 0.5}}
        http: {{enabled: true, port: {http_port}, token_env: HEDGEBOT_HTTP_TOKEN}}
        database: {{url: "sqlite+aiosqlite:///{tmp_path}/db.sqlite"}}
        """,
    )


def wait_for(url: str, deadline_s: float, token: str | None = None) -> tuple[int, bytes]:
    deadline = time.monotonic() + deadline_s
    last: tuple[int, bytes] = (0, b"")
    while time.monotonic() < deadline:
        try:
            last = get(url, token)
            if last[0] == 200:
                return last
        except OSError:
            pass
        time.sleep(0.2)
    return last


def test_health_ready_status_and_metrics(tmp_path: Path) -> None:
    port = free_port()
    config = daemon_config(tmp_path, port)
    env = {**os.environ, "HEDGEBOT_HTTP_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        status, body = wait_for(f"{base}/healthz", 60)
        assert status == 200, body
        health = json.loads(body)
        assert health["status"] == "ok"
        # two ticks so that the status carries a full state
        deadline = time.monotonic() + 30
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            code, raw = get(f"{base}/status", TOKEN)
            assert code == 200
            state = json.loads(raw)["accounts"]["default"]
            if state["ticks"] and state["ticks"] >= 2 and state["state"]:
                break
            time.sleep(0.3)
        summary = state["state"]
        assert state["owner"] is True
        assert {e["asset"] for e in summary["exposures"]} == {"BTC", "ETH"}
        assert {h["instrument"] for h in summary["instruments"]} == {"BTC/USD:BTC", "ETH/USD:ETH"}
        assert summary["funding"]
        assert summary["margin"]  # both shorts have a liquidation view
        margin = {entry["symbol"]: entry for entry in summary["margin"]}
        assert set(margin) == {"BTC/USD:BTC", "ETH/USD:ETH"}
        for symbol, coin in (("BTC/USD:BTC", "BTC"), ("ETH/USD:ETH", "ETH")):
            entry = margin[symbol]
            assert entry["coin"] == coin
            assert Decimal(entry["equity"]) > Decimal(entry["required"]) > 0
            assert Decimal(entry["balance"]) > 0
            assert (entry["shortfall_usd"], entry["coins_missing"]) == ("0", "0")
            assert entry["liquidation_source"] in ("exchange", "own", "unreachable")
        assert summary["collateral"] == []  # collateral.fund_from is "none"
        # the token guards everything but liveness
        assert get(f"{base}/status")[0] == 401
        assert get(f"{base}/status", "wrong")[0] == 401
        assert get(f"{base}/healthz")[0] == 200
        code, raw = get(f"{base}/readyz", TOKEN)
        ready = json.loads(raw)
        assert code == 200, ready
        assert ready["checks"]["database"]["ok"] is True
        assert "migrations at" in ready["checks"]["database"]["detail"]
        assert ready["checks"]["exchange:default"]["ok"] is True
        code, raw = get(f"{base}/metrics", TOKEN)
        assert code == 200
        families = {f.name: f for f in text_string_to_metric_families(raw.decode())}
        for name in (
            "hedgebot_tick_duration_seconds",
            "hedgebot_tick_failures",
            "hedgebot_orders",
            "hedgebot_hedge_ratio_achieved",
            "hedgebot_exposure_usd",
            "hedgebot_hedge_usd",
            "hedgebot_margin_ratio",
            "hedgebot_liquidation_distance",
            "hedgebot_funding_carry_annualized",
            "hedgebot_outbox_backlog",
            "hedgebot_exchange_errors",
            "hedgebot_margin_shortfall_usd",
            "hedgebot_margin_required_coins",
            "hedgebot_margin_equity_coins",
        ):
            assert name in families, name
        required = {
            s.labels["instrument"]: s.value
            for s in families["hedgebot_margin_required_coins"].samples
        }
        assert set(required) == {"BTC/USD:BTC", "ETH/USD:ETH"}
        assert all(value > 0 for value in required.values())
        ratios = {
            s.labels["asset"]: s.value for s in families["hedgebot_hedge_ratio_achieved"].samples
        }
        assert 0.97 < ratios["BTC"] < 1.01  # fees paid since the fill shrink exposure a little
        assert 0.47 < ratios["ETH"] < 0.51
        durations = [
            s
            for s in families["hedgebot_tick_duration_seconds"].samples
            if s.name.endswith("_count")
        ]
        assert durations[0].value >= 2
        filled = [
            s
            for s in families["hedgebot_orders"].samples
            if s.labels.get("outcome") == "filled" and s.name.endswith("_total")
        ]
        assert filled
        assert filled[0].value >= 2
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert TOKEN not in err
