"""Benchmark (not a test): the chaos schedule of issue 15 against the real daemon.

    .venv/bin/python bench/chaos.py [--cycles 1000] [--seed 1] [--first 0] [--exclude KIND ...]

The daemon (``python -m bot.cli run``, a child process, real ccxt) hedges two coins on the Bybit
emulator served from this process, alerting over a Mosquitto of its own, while each cycle draws
faults from ``tests/chaos/schedule.py`` (seeded: ``--seed`` and the cycle number name the same
faults on every run), SIGKILLs and restarts it, restarts the broker; after each cycle the
invariants of ``tests/chaos/harness.py`` are checked. A broken invariant prints the cycle, its
seed and the command that replays it; the end prints the counts. Exit 1 if any cycle failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.chaos.harness import ChaosRun, reproduce  # noqa: E402
from tests.chaos.schedule import KINDS  # noqa: E402


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000, help="cycles to run (1000)")
    parser.add_argument("--seed", type=int, default=1, help="the schedule's seed (1)")
    parser.add_argument("--first", type=int, default=0, help="number of the first cycle (0)")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        choices=[kind for kind, _ in KINDS],
        help="leave this fault kind out (repeatable)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="work directory to keep")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this long")
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> int:
    exclude = tuple(args.exclude)
    started = time.monotonic()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    async with ChaosRun(args.seed, exclude=exclude, workdir=args.keep) as run:
        for index in range(args.first, args.first + args.cycles):
            if args.minutes is not None and time.monotonic() - started > args.minutes * 60:
                break
            problems = await run.run_cycle(index)
            if problems:
                print(f"FAILED cycle {index} (seed {args.seed}):", flush=True)
                for problem in problems:
                    print(f"  {problem}", flush=True)
                print(f"  reproduce: {reproduce(args.seed, index, exclude)}", flush=True)
        counts = run.counts
    print(f"seed {args.seed}, {time.monotonic() - started:.0f} s")
    for line in counts.lines():
        print(line)
    return 1 if counts.failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
