"""Running ``hedgebot`` as an operator does: on a terminal (a pty), and the demo in a copy of the
repository's layout (``config/demo.yaml`` beside ``data/``, its database under ``var/``)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import REPO

COLUMNS = 80


@dataclass(frozen=True)
class TerminalRun:
    returncode: int
    output: str  # stdout and stderr as the terminal showed them, "\n" line ends


def demo_checkout(tmp_path: Path) -> Path:
    """A folder laid out like the repository for the demo: ``config/demo.yaml`` (the shipped
    file, unchanged) and ``data`` (a link to the bundled replay data). Run from it, the demo
    records into its own ``var/``."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "demo.yaml").write_text((REPO / "config" / "demo.yaml").read_text())
    (tmp_path / "data").symlink_to(REPO / "data", target_is_directory=True)
    return tmp_path


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEBOT_")}
    env.update({"COLUMNS": str(COLUMNS), "LINES": "24", "TERM": "xterm"})
    env.update(extra or {})
    return env


def run_on_terminal(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> TerminalRun:
    """``hedgebot ARGS`` with stdin, stdout and stderr on one 80-column pty."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=cli_env(env),
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            raise AssertionError(f"hedgebot {' '.join(args)} did not finish in {timeout} s")
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    return TerminalRun(code, text.replace("\r\n", "\n"))
