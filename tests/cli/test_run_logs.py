"""Where ``hedgebot run`` logs: on a terminal, the structured log goes to a file and only
warnings reach the terminal (unless --verbose), so the tick summary stays readable; off a
terminal, JSON on stderr as before (tests/daemon/test_daemon.py)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import structlog

from bot.logs import configure_logging
from tests.cli.terminal import demo_checkout, run_on_terminal

RUN = ("run", "--config", "config/demo.yaml", "--ticks", "2")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOG_EVENT = re.compile(r"\b(exposure_usd|target_short_usd|client_order_id)=|\{\"|\[info")


def summary_only(output: str) -> None:
    """Every line is the summary's (or the two lines saying where the log and record go)."""
    for line in output.splitlines():
        assert line.startswith(("tick ", "  ", "logs: ", "record: ")), line
    assert not LOG_EVENT.search(ANSI.sub("", output))


def test_on_a_terminal_the_log_goes_to_a_file(tmp_path: Path) -> None:
    checkout = demo_checkout(tmp_path)
    result = run_on_terminal(*RUN, cwd=checkout)
    assert result.returncode == 0, result.output[-3000:]
    summary_only(result.output)
    assert result.output.startswith(
        "logs: var/demo.log (warnings also here; --verbose: all here)\n"
    )
    events = [json.loads(line) for line in (checkout / "var" / "demo.log").read_text().splitlines()]
    names = {event["event"] for event in events}
    assert {"exposure", "target", "hedge", "order_planned", "order_sent"} <= names
    # full precision stays in the log
    exposure = next(e for e in events if e["event"] == "exposure" and e["asset"] == "BTC")
    assert exposure["exposure_usd"] == "153035.875"
    # the demo hedges each coin on its own perp: no β estimated, no standard error
    targets = [e for e in events if e["event"] == "target"]
    assert targets
    assert all("beta_se" in e and e["beta_se"] is None for e in targets)


def test_warnings_still_reach_the_terminal(tmp_path: Path) -> None:
    checkout = demo_checkout(tmp_path)
    result = run_on_terminal(*RUN, cwd=checkout, env={"HEDGEBOT_KILL": "1"})
    assert result.returncode == 0, result.output[-3000:]
    warnings = [line for line in result.output.splitlines() if "kill_switch_engaged" in line]
    assert len(warnings) == 2  # one a tick
    held = "order sell 76,518 c BTC/USD:BTC: HELD (kill switch engaged: no new exposure)"
    assert f"\n  {held}\n" in result.output
    assert "FILLED" not in result.output
    assert "exposure_usd=" not in result.output  # info events stay in the file


def test_verbose_shows_every_event_on_the_terminal(tmp_path: Path) -> None:
    checkout = demo_checkout(tmp_path)
    result = run_on_terminal(*RUN, "--verbose", cwd=checkout)
    assert result.returncode == 0, result.output[-3000:]
    plain = ANSI.sub("", result.output)  # readable events, in colour
    assert "exposure_usd=" in plain
    assert "order_sent" in plain
    assert not plain.startswith("logs: ")
    assert not (checkout / "var" / "demo.log").exists()


def test_log_file_option_chooses_the_file(tmp_path: Path) -> None:
    checkout = demo_checkout(tmp_path)
    log = tmp_path / "elsewhere" / "run.log"
    result = run_on_terminal(*RUN, "--log-file", str(log), cwd=checkout)
    assert result.returncode == 0, result.output[-3000:]
    summary_only(result.output)
    assert f"logs: {log} " in result.output
    assert "order_sent" in log.read_text()
    assert not (checkout / "var" / "demo.log").exists()


def test_with_a_log_file_only_warnings_reach_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In process: every event lands in the file as JSON; stderr gets our warnings and the
    libraries', but not info events, nor APScheduler's by-design "tick still running"."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    path = tmp_path / "run.log"
    try:
        configure_logging("INFO", "console", log_file=path)
        log = structlog.get_logger("tests.cli")
        log.info("exposure", exposure_usd="152951.85330410242870992521")
        log.warning("order_rejected", reason="110017")
        logging.getLogger("apscheduler.scheduler").warning("Execution of job skipped")
        logging.getLogger("ccxt.base").warning("a library warning")
    finally:
        configure_logging()  # closes the file
        structlog.configure(**saved)
        root.handlers, root.level = handlers, level
    err = capsys.readouterr().err
    assert "order_rejected" in err
    assert "a library warning" in err
    assert "exposure" not in err
    assert "Execution of job" not in err
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["event"] for e in events] == [
        "exposure",
        "order_rejected",
        "Execution of job skipped",
        "a library warning",
    ]
    assert events[0]["exposure_usd"] == "152951.85330410242870992521"
    assert events[2]["logger"] == "apscheduler.scheduler"


def test_the_decision_log_and_report_carry_the_standard_error_of_beta() -> None:
    """A proxy hedge's target: β with its standard error, exact, in the JSON log of the decision
    and in the decision's report (``hedgebot plan --json``, the HTTP and MQTT state)."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from structlog.testing import capture_logs

    from bot.core.types import HedgeTarget, Plan, Snapshot
    from bot.daemon.decide import Decision
    from bot.daemon.decision_log import log_decision
    from bot.daemon.report import decision_report

    proxy = HedgeTarget(
        "SOL",
        "BTC/USD:BTC",
        Decimal(1),
        Decimal(1000),
        beta=Decimal("1.234567"),
        rho=Decimal("0.81"),
        proxy=True,
        beta_se=Decimal("0.031249"),
    )
    own = HedgeTarget("BTC", "BTC/USD:BTC", Decimal(1), Decimal(2000))
    snapshot = Snapshot(datetime(2026, 1, 2, tzinfo=UTC), {}, {}, {}, {}, {}, {})
    decision = Decision(snapshot, {}, (proxy, own), Plan((), ()))
    with capture_logs() as logs:
        log_decision(decision, (), band=None, dry_run=True)
    targets = [(e["asset"], e["beta"], e["beta_se"]) for e in logs if e["event"] == "target"]
    assert targets == [("SOL", "1.234567", "0.031249"), ("BTC", "1", None)]
    hedges = [(h["asset"], h["beta_se"]) for h in decision_report(decision)["hedges"]]
    assert hedges == [("SOL", "0.031249"), ("BTC", None)]
