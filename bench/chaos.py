"""Benchmark (not a test): the chaos schedule of issue 15 against the real daemon.

    .venv/bin/python bench/chaos.py [--cycles 1000] [--seed 1] [--first 0] [--jobs 1]
        [--exclude KIND ...] [--keep DIR] [--minutes M]

The daemon (``python -m bot.cli run``, a child process, real ccxt) hedges two coins on the Bybit
emulator served from this process, alerting over a Mosquitto of its own, while each cycle draws
faults from ``tests/chaos/schedule.py`` (seeded: ``--seed`` and the cycle number name the same
faults on every run), SIGKILLs and restarts it, restarts the broker, holds its database; after
each cycle the invariants of ``tests/chaos/harness.py`` are checked. A broken invariant prints
the cycle, its seed and the command that replays it; the end prints the counts. Exit 1 if any
cycle failed.

``--jobs N`` splits the cycles into N consecutive slices, each run by a process of its own on a
world of its own (emulator, broker, database, daemon), and adds up their counts: the same draws
as one run (a cycle's faults depend only on the seed and its number), in a fraction of the time
on a machine whose cores the single run leaves idle. A cycle meets what the earlier cycles of
its slice left, so a failing cycle's replay command starts at its slice's first cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.chaos.harness import ChaosRun, Counts, reproduce  # noqa: E402
from tests.chaos.schedule import KINDS  # noqa: E402


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000, help="cycles to run (1000)")
    parser.add_argument("--seed", type=int, default=1, help="the schedule's seed (1)")
    parser.add_argument("--first", type=int, default=0, help="number of the first cycle (0)")
    parser.add_argument("--jobs", type=int, default=1, help="worlds run side by side (1)")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        choices=[kind for kind, _ in KINDS],
        help="leave this fault kind out (repeatable)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="work directory to keep")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this long")
    parser.add_argument("--counts-json", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.cycles < 1:
        parser.error("--jobs and --cycles must be at least 1")
    return args


async def run_slice(args: argparse.Namespace) -> Counts:
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
                replay = reproduce(args.seed, index, exclude, first=args.first)
                print(f"  reproduce: {replay}", flush=True)
        return run.counts


def slices(first: int, cycles: int, jobs: int) -> list[tuple[int, int]]:
    """``jobs`` consecutive (first, count) slices covering ``cycles`` cycles from ``first``."""
    size, extra = divmod(cycles, jobs)
    out, at = [], first
    for job in range(jobs):
        count = size + (job < extra)
        if count:
            out.append((at, count))
        at += count
    return out


def run_jobs(args: argparse.Namespace) -> Counts:
    """Each slice in a process of its own (this script, one job), their counts added up."""
    total = Counts()
    with tempfile.TemporaryDirectory(prefix="hb-chaos-jobs-") as tmp:
        children = []
        for number, (first, count) in enumerate(slices(args.first, args.cycles, args.jobs)):
            out = Path(tmp) / f"counts-{number}.json"
            command = [
                sys.executable,
                __file__,
                f"--seed={args.seed}",
                f"--first={first}",
                f"--cycles={count}",
                f"--counts-json={out}",
                *(f"--exclude={kind}" for kind in args.exclude),
            ]
            if args.keep is not None:
                command.append(f"--keep={args.keep / f'job-{number}'}")
            if args.minutes is not None:
                command.append(f"--minutes={args.minutes}")
            # our own script and arguments; its output goes to ours
            children.append((subprocess.Popen(command), out))  # noqa: S603
        for child, out in children:
            child.wait()
            if not out.exists():
                total.failures.append(f"a job exited {child.returncode} without its counts")
                continue
            add(total, json.loads(out.read_text()))
    return total


def as_json(counts: Counts) -> dict[str, object]:
    return {name: value for name, value in vars(counts).items()}


def add(total: Counts, part: dict[str, object]) -> None:
    for name, value in part.items():
        mine = getattr(total, name)
        if isinstance(mine, Counter):
            mine.update(value)  # type: ignore[arg-type]
        elif isinstance(mine, list):
            mine.extend(value)  # type: ignore[arg-type]
        else:
            setattr(total, name, mine + value)


def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.jobs > 1:
        counts = run_jobs(args)
    else:
        counts = asyncio.run(run_slice(args))
        if args.counts_json is not None:  # a job of a parallel run: the parent prints
            args.counts_json.write_text(json.dumps(as_json(counts)))
            return 1 if counts.failures else 0
    jobs = f", {args.jobs} jobs" if args.jobs > 1 else ""
    print(f"seed {args.seed}, {time.monotonic() - started:.0f} s{jobs}")
    for line in counts.lines():
        print(line)
    for failure in counts.failures:
        print(f"failed: {failure}")
    return 1 if counts.failures else 0


if __name__ == "__main__":
    sys.exit(main(parse()))
