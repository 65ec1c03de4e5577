"""Benchmark (not a test): how long the ``hedgebot`` command takes to start.

    .venv/bin/python bench/startup_bench.py [--runs 7] [--limit 0.5]

Times whole processes (interpreter start to exit), each run after the others so they never
compete, and prints the median, min and max per command and PASS/FAIL of the median against the
limit: ``hedgebot --help``, ``hedgebot check-config config/demo.yaml`` and
``python -c 'import bot.cli.main'``. One untimed run of each first, to warm the file cache and
the bytecode. Exits 1 if any command fails. What is imported at start-up (not how fast) is a
test: tests/cli/test_startup.py.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

COMMANDS: dict[str, list[str]] = {
    "hedgebot --help": [str(BIN / "hedgebot"), "--help"],
    "hedgebot check-config config/demo.yaml": [
        str(BIN / "hedgebot"),
        "check-config",
        "config/demo.yaml",
    ],
    "python -c 'import bot.cli.main'": [sys.executable, "-c", "import bot.cli.main"],
}


def once(argv: list[str]) -> float:
    """Seconds from spawning the process to its exit; raises if it fails."""
    start = time.perf_counter()
    subprocess.run(argv, cwd=REPO, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="Timed runs per command.")
    parser.add_argument("--limit", type=float, default=0.5, help="Seconds (median).")
    args = parser.parse_args()
    failed = False
    print(f"{'command':<42} {'median':>7} {'min':>7} {'max':>7}  (s, {args.runs} runs)")
    for name, argv in COMMANDS.items():
        once(argv)  # warm-up, untimed
        times = [once(argv) for _ in range(args.runs)]
        median = statistics.median(times)
        verdict = "PASS" if median < args.limit else "FAIL"
        failed |= verdict == "FAIL"
        print(
            f"{name:<42} {median:7.3f} {min(times):7.3f} {max(times):7.3f}  "
            f"{verdict} (< {args.limit} s)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
