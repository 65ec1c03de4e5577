"""The chaos harness, shared by ``tests/chaos/test_chaos.py`` and ``bench/chaos.py``.

The emulator serves on 127.0.0.1 from this process (its market clock moved by the harness, 1 s
every 0.25 s, so resting remainders fill); the daemon is ``python -m bot.cli run`` in a child
process, through the real ccxt client, recording into SQLite and publishing alerts to a Mosquitto
of its own (restarted by the schedule). Each cycle: the prices walk, the drawn faults go in at
their moments, the daemon may be SIGKILLed and restarted, the broker may go down; then the faults
stop, and the cycle's invariants are checked:

* from the exchange, as they happen (``tests.chaos.world.Watch``): no client id twice, no order
  above ``max_order_usd``, no growth of the short past ``max_total_short_usd`` or past the
  target by more than one order; no transfer id twice, none the database did not record first,
  none while another collateral action's outcome is unknown;
* convergence: the hedge at target within the band within ``CONVERGE_TICKS`` ticks (the
  database's ``ticks`` rows) once the faults stop;
* every critical alert of the outbox received by an MQTT subscriber once the broker is back
  and a daemon is up to deliver it;
* no unhandled traceback (a raw ``Traceback`` on stderr, a tick failed by an exception that is
  neither an exchange error nor the database held by the schedule, a daemon exiting on its
  own);
* no API key or secret in the daemon's output, the database file or any MQTT payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import sqlite3
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import aiohttp
import aiomqtt
import ccxt

import bot.exchange.errors as exchange_errors
from bot.config.models import SimConfig
from bot.emulator import RunningEmulator, start_emulator
from tests.alerts.mqtt_helpers import HOST, Mosquitto
from tests.chaos.schedule import KINDS, Drawn, Plan, Revert, apply, draw, walk_prices
from tests.chaos.world import CHAOS_SIM, Watch, convergence_gaps, daemon_config
from tests.integration.conftest import KEY, SECRET, DaemonProcess, Venue, db_rows

QUIET = logging.getLogger("tests.chaos.collector")  # a broker going down is the schedule's doing
QUIET.addHandler(logging.NullHandler())
QUIET.propagate = False
CONVERGE_TICKS = 30
FIRE_WAIT_S = 5.0
CONVERGE_WALL_S = 90.0
ALERT_WAIT_S = 10.0
STARTUP_WAIT_S = 60.0  # a daemon restarted on a loaded machine, until it publishes
EXPECTED_ERRORS = frozenset(
    name
    for module in (ccxt, exchange_errors)
    for name, value in vars(module).items()
    if isinstance(value, type) and issubclass(value, Exception)
) | {"UnexplainedPositionError", "TickSkipped"}


@dataclass
class Counts:
    cycles: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    unfired: Counter[str] = field(default_factory=Counter)  # drawn, but met no request
    kills: int = 0
    restarts: int = 0
    broker_restarts: int = 0
    database_locks: int = 0
    orders: int = 0
    transfers: int = 0
    violations: Counter[str] = field(default_factory=Counter)
    critical_alerts: int = 0
    lost_critical_alerts: int = 0
    tracebacks: int = 0
    secret_leaks: int = 0
    converged: int = 0
    interventions: int = 0  # open orders cancelled by hand after a failed convergence
    failures: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        share = 100 * self.converged / self.cycles if self.cycles else 0.0
        v = self.violations
        return [
            f"cycles: {self.cycles}",
            f"faults drawn: {sum(self.faults.values())} (of which met no request: "
            f"{sum(self.unfired.values())})",
            *(
                f"  {kind}: {self.faults[kind]}"
                + (f" ({self.unfired[kind]} met no request)" if self.unfired[kind] else "")
                for kind, _ in KINDS
                if self.faults[kind]
            ),
            f"kills: {self.kills}, restarts: {self.restarts}, broker restarts: "
            f"{self.broker_restarts}, database held: {self.database_locks}",
            f"orders reaching the exchange: {self.orders}, transfers: {self.transfers}",
            f"transfers sent twice or while another was unresolved: {v['duplicate_transfer']}",
            f"duplicate client ids: {v['duplicate_client_id']}",
            f"cap violations: {v['cap_violation']} (above target by more than one order: "
            f"{v['above_target']})",
            f"oversize orders: {v['oversize_order']}",
            f"critical alerts: {self.critical_alerts}, lost: {self.lost_critical_alerts}",
            f"tracebacks: {self.tracebacks}",
            f"secret leaks: {self.secret_leaks}",
            f"convergence: {share:.1f}% ({self.converged}/{self.cycles}); operator "
            f"interventions: {self.interventions}",
        ]


class Collector:
    """A persistent-session MQTT subscriber to ``{prefix}/#`` that reconnects forever."""

    def __init__(self, port: int, prefix: str) -> None:
        self.port, self.prefix = port, prefix
        self.payloads: list[bytes] = []
        self.alert_ids: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        name = f"{self.prefix}-collector"
        while True:
            try:
                client = aiomqtt.Client(
                    HOST, self.port, identifier=name, clean_session=False, timeout=2, logger=QUIET
                )
                async with client:
                    await client.subscribe(f"{self.prefix}/#", qos=1)
                    async for message in client.messages:
                        payload = message.payload
                        data = payload if isinstance(payload, bytes) else str(payload).encode()
                        self.payloads.append(str(message.topic).encode() + b" " + data)
                        if "/alerts/" in str(message.topic):
                            with contextlib.suppress(ValueError, KeyError, TypeError):
                                self.alert_ids.add(json.loads(data)["alert_id"])
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)


class ChaosRun:
    """One world (emulator, broker, database) and the daemon, cycled by ``run_cycle``."""

    def __init__(self, seed: int, *, exclude: tuple[str, ...] = (), workdir: Path | None = None):
        self.seed = seed
        self.kinds = tuple(k for k, _ in KINDS if k not in exclude)
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="hb-chaos-")
        self.dir = workdir or Path(self._tmp.name if self._tmp else ".")
        self.db = self.dir / "hedgebot.sqlite"
        self.config = self.dir / "hedgebot.yaml"
        self.prefix = f"hbchaos-{uuid.uuid4().hex[:8]}"
        self.counts = Counts()
        self.daemons: list[DaemonProcess] = []
        self.daemon: DaemonProcess | None = None
        self._killed: set[int] = set()
        self._scanned: dict[int, tuple[int, int]] = {}
        self._alerts_checked: set[str] = set()
        self._violations_seen = 0
        self._booked: list[tuple[str, dict[int, int]]] = []
        self._leaked: set[tuple[str, str]] = set()

    async def __aenter__(self) -> ChaosRun:
        sim = SimConfig.model_validate(CHAOS_SIM)
        self.emulator: RunningEmulator = await start_emulator(sim, follow_wall_clock=False)
        self.session = aiohttp.ClientSession()
        self.venue = Venue(self.emulator, self.session)
        self.watch = Watch(self.emulator.engine, db=self.db)
        self.watch.install()
        self.broker = Mosquitto(self.dir)
        await asyncio.to_thread(self.broker.start)
        self.collector = Collector(self.broker.port, self.prefix)
        self.collector.start()
        self._clock = asyncio.create_task(self._drive_clock())
        await self.start_daemon("market")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._clock.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._clock
        for daemon in self.daemons:
            await daemon.kill()
            if self._tmp is None:  # a kept work directory: the daemons' logs too
                (self.dir / f"daemon-{daemon.pid}.log").write_bytes(bytes(daemon.stderr))
        await self.collector.stop()
        await asyncio.to_thread(self.broker.stop)
        await self.session.close()
        await self.emulator.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    async def _drive_clock(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            self.emulator.engine.advance(1)

    async def start_daemon(self, style: str) -> None:
        doc = daemon_config(self.emulator.url, self.db, self.broker.port, self.prefix, style)
        self.config.write_text(json.dumps(doc, indent=2, default=str))
        self.daemon = await DaemonProcess.start(self.config)
        self.daemons.append(self.daemon)

    async def kill_daemon(self) -> None:
        if self.daemon is not None and self.daemon.process.returncode is None:
            self._killed.add(self.daemon.pid)
            os.kill(self.daemon.pid, signal.SIGKILL)
            await self.daemon.wait(within_s=10)
            self.counts.kills += 1
        self.daemon = None

    async def _kill_and_restart(self, plan: Plan) -> None:
        assert plan.kill_at is not None
        await asyncio.sleep(plan.kill_at)
        await self.kill_daemon()
        await asyncio.sleep(plan.restart_after)
        await self.start_daemon(plan.style)
        self.counts.restarts += 1

    async def _broker_outage(self, at: float, down: float) -> None:
        await asyncio.sleep(at)
        await self.bounce_broker(down)

    async def bounce_broker(self, down: float) -> None:
        """Stop the broker (SIGTERM: it keeps its sessions), start it again ``down`` s later."""
        await asyncio.to_thread(self.broker.stop)
        await asyncio.sleep(down)
        await asyncio.to_thread(self.broker.start)
        self.counts.broker_restarts += 1

    async def _inject(self, drawn: Drawn, reverts: list[Revert]) -> None:
        """Inject ``drawn`` at its moment. Its booked faults are kept: at the end of the fault
        phase, a drawn fault none of whose faults met a request (nothing to fault: no order
        was sent, say) is counted as ``unfired``."""
        await asyncio.sleep(drawn.at_s)
        if drawn.kind == "database_lock":
            await asyncio.to_thread(hold_database, self.db, drawn.params["hold_s"])
            self.counts.database_locks += 1
            return
        booked: dict[int, int] = {}
        revert = await apply(self.venue, drawn, booked)
        self.watch.note_target()
        if revert is not None:
            reverts.append(revert)
        self._booked.append((drawn.kind, booked))

    def ticks(self) -> int:
        rows = db_rows(self.db, "select count(*) from ticks")
        return int(rows[0][0]) if rows else 0

    async def converge(self) -> tuple[bool, str]:
        """Wait for the hedge at target; (converged, why not)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONVERGE_WALL_S
        start = await asyncio.to_thread(self.ticks)
        while True:
            gaps = convergence_gaps(self.emulator.engine)
            if not gaps:
                return True, ""
            ticks = await asyncio.to_thread(self.ticks) - start
            if ticks > CONVERGE_TICKS or loop.time() > deadline:
                return False, f"after {ticks} ticks: {'; '.join(gaps)}"
            await asyncio.sleep(0.1)

    async def run_cycle(self, index: int) -> list[str]:
        """One cycle; the invariants it broke (also counted in ``counts``)."""
        plan = draw(random.Random(f"{self.seed}:{index}"), self.kinds)
        self.watch.new_cycle(index)
        await walk_prices(self.venue, plan.walk)
        self.watch.note_target()
        reverts: list[Revert] = []
        self._booked = []
        jobs = [self._inject(d, reverts) for d in plan.faults]
        if plan.kill_at is not None:
            jobs.append(self._kill_and_restart(plan))
        if plan.broker_down is not None:
            jobs.append(self._broker_outage(*plan.broker_down))
        self.counts.faults.update(d.kind for d in plan.faults)
        await asyncio.gather(asyncio.sleep(plan.phase_s), *jobs)
        for _ in range(int(FIRE_WAIT_S / 0.1)):  # give each fault its chance to meet a request
            if not self._unfired():
                break
            await asyncio.sleep(0.1)
        self.counts.unfired.update(self._unfired())
        await self.venue.clear_faults()  # the faults stop
        for revert in reverts:
            await revert()
        if self.daemon is None or self.daemon.process.returncode is not None:
            await self.start_daemon(plan.style)
            self.counts.restarts += 1
        converged, why = await self.converge()
        self.counts.converged += converged
        # Everything the watch saw since the last cycle's check, the convergence included.
        seen, self._violations_seen = self._violations_seen, len(self.watch.violations)
        problems = [f"{v.kind}: {v.detail}" for v in self.watch.violations[seen:]]
        self.counts.violations.update(v.kind for v in self.watch.violations[seen:])
        if not converged:
            problems.append(f"no convergence: {why}")
            # As an operator would: cancel what rests on the venue, so that the next cycles
            # test the daemon again rather than the same stuck state.
            cancelled = self.emulator.engine.cancel_all()
            self.counts.interventions += 1
            problems.append(f"operator intervention: cancelled {len(cancelled)} open order(s)")
        problems += await self.check_alerts()
        problems += self.check_output()
        problems += self.check_secrets()
        self.counts.cycles += 1
        self.counts.orders = self.watch.orders
        self.counts.transfers = self.watch.transfers
        if problems:
            head = f"cycle {index} (seed {self.seed}): " + ", ".join(d.kind for d in plan.faults)
            self.counts.failures.append(head)
        return problems

    def _unfired(self) -> list[str]:
        pending = {f.fault_id: f.count for f in self.emulator.faults.pending()}
        return [
            kind
            for kind, booked in self._booked
            if booked and all(pending.get(i) == n for i, n in booked.items())
        ]

    async def check_alerts(self) -> list[str]:
        # "Once the broker is back" means once a daemon is up to deliver: a critical alert
        # recorded just before a SIGKILL is delivered by the next daemon, whose start takes
        # over 15 s on a loaded machine (seed 1, cycle 857, with four worlds on two cores:
        # raised 22:12:46.7, delivered 22:13:04.8 by the restarted daemon). So the wait for
        # the alerts starts once the running daemon's own ``daemon_started`` was received.
        await self._daemon_delivering()
        rows = await asyncio.to_thread(
            db_rows, self.db, "select alert_id, kind from alert_outbox where severity='critical'"
        )
        new = {aid: kind for aid, kind in rows if aid not in self._alerts_checked}
        self.counts.critical_alerts += len(new)
        for _ in range(int(ALERT_WAIT_S / 0.1)):
            if not set(new) - self.collector.alert_ids:
                break
            await asyncio.sleep(0.1)
        self._alerts_checked |= set(new)
        lost = sorted(f"{new[a]} {a}" for a in set(new) - self.collector.alert_ids)
        self.counts.lost_critical_alerts += len(lost)
        return [f"critical alert never received: {what}" for what in lost]

    async def _daemon_delivering(self) -> None:
        """Wait (up to ``STARTUP_WAIT_S``) until the newest ``daemon_started`` alert of the
        outbox reached the collector: the daemon now running publishes what is pending."""
        query = "select alert_id from alert_outbox where kind='daemon_started' order by id desc"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_WAIT_S
        while loop.time() < deadline:
            rows = await asyncio.to_thread(db_rows, self.db, query + " limit 1")
            if rows and rows[0][0] in self.collector.alert_ids:
                return
            await asyncio.sleep(0.2)

    def check_output(self) -> list[str]:
        """Raw tracebacks, ticks failed by unexpected exceptions, daemons that died alone."""
        problems = []
        for daemon in self.daemons:
            seen_err, _ = self._scanned.get(daemon.pid, (0, 0))
            text = daemon.stderr[seen_err:].decode(errors="replace")
            end = seen_err + len(text.encode()) - len(text.rpartition("\n")[2].encode())
            lines = text[: text.rfind("\n") + 1].splitlines()
            for index, line in enumerate(lines):
                problem = _traceback_in(line)
                if problem:
                    problems.append(f"pid {daemon.pid}: {problem}{_raised(lines[index + 1 :])}")
            code = daemon.process.returncode
            died = code is not None and daemon.pid not in self._killed
            if died and self._scanned.get(daemon.pid, (0, 0))[1] == 0:
                tail = daemon.err[-1500:]
                problems.append(f"pid {daemon.pid}: the daemon exited {code} by itself: {tail}")
            self._scanned[daemon.pid] = (end, int(died))
        self.counts.tracebacks += len(problems)
        return problems

    def check_secrets(self) -> list[str]:
        places: dict[str, bytes] = {}
        for daemon in self.daemons:
            places[f"stderr of {daemon.pid}"] = bytes(daemon.stderr)
            places[f"stdout of {daemon.pid}"] = bytes(daemon.stdout)
        for suffix in ("", "-wal"):
            path = self.db.with_name(self.db.name + suffix)
            if path.exists():
                places[f"database {path.name}"] = path.read_bytes()
        places["MQTT messages"] = b"\n".join(self.collector.payloads)
        problems = []
        for where, data in places.items():
            for name, secret in (("API key", KEY), ("API secret", SECRET)):
                if secret.encode() in data and (where, name) not in self._leaked:
                    self._leaked.add((where, name))
                    problems.append(f"the {name} is in the {where}")
        self.counts.secret_leaks += len(problems)
        return problems


def hold_database(db: Path, seconds: float) -> None:
    """Hold the write lock of the SQLite file for ``seconds`` (WAL: readers go on, writers wait
    up to their busy timeout, then fail), as a backup or a person's sqlite3 shell would."""
    if not db.exists():
        return
    with contextlib.closing(sqlite3.connect(db, timeout=10, isolation_level=None)) as conn:
        conn.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        conn.execute("COMMIT")


def _raised(after: list[str]) -> str:
    """The exception line ending a raw traceback (its first unindented line), so that a failing
    cycle says what was raised even when the daemon's output is not kept."""
    if not after:
        return ""
    tail = next((line for line in after if line and not line[0].isspace()), after[-1])
    return f": {tail[:300]}"


def _traceback_in(line: str) -> str | None:
    if line.startswith("Traceback (most recent call last)"):
        return "unhandled traceback on stderr"
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if event.get("event") != "tick_failed" or event.get("database_unavailable"):
        return None  # a database held past the busy timeout is an outage the schedule made
    error = str(event.get("error", ""))
    name = error.partition("(")[0]
    return None if name in EXPECTED_ERRORS else f"tick failed on {error[:300]}"


def reproduce(seed: int, cycle: int, exclude: tuple[str, ...], first: int = 0) -> str:
    """The command that replays the draws of cycles ``first``..``cycle`` (the state a cycle
    meets is what the earlier cycles of its run left), and the one that runs that cycle alone
    on a fresh world."""
    command = f".venv/bin/python bench/chaos.py --seed {seed}" + "".join(
        f" --exclude {k}" for k in exclude
    )
    start = f" --first {first}" if first else ""
    return (
        f"{command}{start} --cycles {cycle - first + 1}  "
        f"(alone: {command} --first {cycle} --cycles 1)"
    )
