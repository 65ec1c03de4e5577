"""An exception in an event-loop callback nobody awaits goes to the structured log, never to
stderr as a raw traceback (chaos seed 1, cycle 655: the MQTT client's socket, closed by a broker
restart, met its reader callback: ``FileNotFoundError`` from epoll, printed by asyncio)."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
import structlog
from structlog.testing import capture_logs

from bot.logs import configure_logging, log_loop_errors, register_secret


def test_a_callback_error_is_one_structured_event() -> None:
    async def main() -> None:
        log_loop_errors(asyncio.get_running_loop())

        def broken() -> None:
            raise FileNotFoundError(2, "No such file or directory")

        asyncio.get_running_loop().call_soon(broken)
        await asyncio.sleep(0.01)

    with capture_logs() as logs:
        asyncio.run(main())
    [event] = logs
    assert event["event"] == "event_loop_error"
    assert event["log_level"] == "error"
    assert "FileNotFoundError" in event["error"]
    assert "Exception in callback" in event["message"]


def test_a_reader_on_a_closed_socket_prints_no_raw_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The chaos case itself: a reader added for a socket closed meanwhile. In JSON, the
    traceback is a field of the event, and a secret in the message is scrubbed."""
    configure_logging("INFO", "json")
    register_secret("hb-loop-secret-77")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        log_loop_errors(loop)
        left, right = socket.socketpair()
        loop.add_writer(left.fileno(), lambda: None)  # registered with epoll, for writing
        fd = left.fileno()
        left.close()  # closed under the selector's feet, as by a broker restart
        # adding reading to the closed fd's registration now fails inside a callback
        loop.call_soon(loop.add_reader, fd, lambda: None)
        loop.call_soon(
            lambda: loop.call_exception_handler({"message": "key hb-loop-secret-77 in text"})
        )
        await asyncio.sleep(0.05)
        right.close()

    asyncio.run(main())
    err = capsys.readouterr().err
    assert not [line for line in err.splitlines() if line.startswith("Traceback")]
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    loop_events = [e for e in events if e["event"] == "event_loop_error"]
    assert len(loop_events) == 2
    assert any("Error" in (e.get("error") or "") for e in loop_events)
    assert "hb-loop-secret-77" not in err
    structlog.reset_defaults()
