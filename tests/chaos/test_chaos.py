"""A short seeded chaos schedule against the real daemon (issue 15, item 1): fails on any broken
invariant, printing each failing cycle's seed and the command that replays it.

``bench/chaos.py`` runs the same harness for 1,000 cycles and prints the counts. Here: a fixed
seed, ``CYCLES`` cycles (about a minute on two CPUs), the first with a guaranteed SIGKILL and
restart and a broker restart on top of the drawn faults. Needs the ``mosquitto`` binary (the
run starts and restarts a broker of its own, as the alert tests do).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.chaos.harness import ChaosRun, reproduce

SEED = 15
CYCLES = 10
MIN_CYCLES = 4  # at least the forced kill's cycle and a few more, however slow the machine
BUDGET_S = 120  # no cycle starts after this; a slow machine runs fewer, each still checked
CYCLE_LIMIT_S = 60  # a cycle that hangs fails the test rather than pytest's whole run


@pytest.mark.timeout(BUDGET_S + CYCLE_LIMIT_S + 60)
async def test_seeded_chaos_schedule_breaks_no_invariant() -> None:
    started = time.monotonic()
    report: list[str] = []
    async with ChaosRun(SEED) as run:
        for index in range(CYCLES):
            if time.monotonic() - started > BUDGET_S:
                break  # a slow machine runs fewer cycles; each one is still checked
            if index == 1:  # at least one kill and broker restart whatever the draws
                await run.kill_daemon()
                await run.start_daemon("limit")
                run.counts.restarts += 1
                await run.bounce_broker(0.5)
            problems = await asyncio.wait_for(run.run_cycle(index), CYCLE_LIMIT_S)
            if problems:
                report.append(f"cycle {index}, seed {SEED}:")
                report += [f"  {problem}" for problem in problems]
                report.append(f"  reproduce: {reproduce(SEED, index, ())}")
        counts = run.counts
    summary = "\n".join(counts.lines())
    assert not report, "\n".join([*report, summary])
    assert counts.cycles >= MIN_CYCLES, summary
    assert counts.kills >= 1
    assert counts.broker_restarts >= 1
    assert counts.orders > 0  # the schedule did reach the order path
