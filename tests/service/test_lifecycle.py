"""SIGHUP reloads and re-validates the config; SIGTERM exits 0 after the tick in flight."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from tests.helpers import REPO, write_config

BODY = """
exchange:
  id: sim
  sim:
    prices: {{BTC: 50000}}
    balances: {{spot: {{BTC: 0.5}}, margin: {{BTC: 1.5}}}}
rules:
  - {{asset: BTC, ratio: {ratio}}}
hedge: {{leverage: 2}}
schedule: {{interval_seconds: 0.3, shutdown_grace_seconds: 10}}
logging: {{format: json}}
database: {{url: "sqlite+aiosqlite:///{db}"}}
"""


def read_events(stream: IO[str], wanted: str, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == wanted:
                return dict(event)
    raise AssertionError(f"no {wanted!r} event")


def test_sighup_reload_keeps_old_config_on_error_and_sigterm_exits_0(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    config = write_config(tmp_path, BODY.format(ratio=1, db=db))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stderr is not None
    try:
        first = read_events(proc.stderr, "target", 60)
        assert first["ratio"] == "1"
        config.write_text(BODY.format(ratio="0.5", db=db))
        proc.send_signal(signal.SIGHUP)
        read_events(proc.stderr, "config_reloaded", 30)
        reloaded = read_events(proc.stderr, "target", 30)
        assert reloaded["ratio"] == "0.5"
        config.write_text(BODY.format(ratio="1.5", db=db))  # invalid: ratio above 1
        proc.send_signal(signal.SIGHUP)
        rejected = read_events(proc.stderr, "config_reload_rejected", 30)
        assert any("rules.0.ratio" in str(p) for p in rejected["problems"])  # type: ignore[attr-defined]
        kept = read_events(proc.stderr, "target", 30)
        assert kept["ratio"] == "0.5"  # the old (valid) config is kept
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert time.monotonic() - started < 10  # within the grace period
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == 0
