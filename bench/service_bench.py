"""Benchmark (not a test): one daemon hedging many accounts against the Bybit emulator.

    .venv/bin/python bench/service_bench.py [--accounts 100] [--assets 5] [--interval 10]
                                            [--duration 65]

Child processes serve one emulator per account on 127.0.0.1 (so the daemon's RSS is its own);
the daemon runs every account through real ccxt at the given tick interval. Prints p50/p99/max
tick time per account tick, ticks run, failures, and the daemon's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COINS = ["BTC", "ETH", "SOL", "AVAX", "LINK", "DOT", "ADA", "XRP"]
PRICES = {
    "BTC": 50000,
    "ETH": 2500,
    "SOL": 150,
    "AVAX": 30,
    "LINK": 15,
    "DOT": 7,
    "ADA": 0.5,
    "XRP": 0.6,
}


def sim_config(assets: list[str]) -> dict[str, object]:
    return {
        "prices": {c: PRICES[c] for c in assets},
        "balances": {
            "spot": {c: round(20_000 / PRICES[c], 6) for c in assets},
            "margin": {c: round(20_000 / PRICES[c], 6) for c in assets},
        },
    }


async def serve_emulators(count: int, assets: list[str]) -> None:
    """Child process: start ``count`` emulators, print their URLs as JSON, serve until killed."""
    from bot.config.models import SimConfig
    from bot.emulator import start_emulator

    config = SimConfig.model_validate(sim_config(assets))
    emulators = [await start_emulator(config) for _ in range(count)]
    print(json.dumps([e.url for e in emulators]), flush=True)
    await asyncio.Event().wait()


def config_text(urls: list[str], assets: list[str], interval: float, db: Path) -> str:
    rules = "".join(f"\n      - {{asset: {c}, ratio: 0.5}}" for c in assets)
    accounts = "".join(
        f"""
  - name: acct{i:03d}
    exchange: {{id: bybit, url: "{url}", timeout_ms: 20000}}
    rules:{rules}"""
        for i, url in enumerate(urls[1:], start=1)
    )
    return f"""
exchange: {{id: bybit, url: "{urls[0]}", timeout_ms: 20000}}
rules:{rules.replace("      ", "  ")}
hedge: {{leverage: 2, band: 0.02}}
schedule: {{interval_seconds: {interval}, misfire_grace_seconds: {int(interval)}}}
logging: {{level: WARNING, format: json}}
database: {{url: "sqlite+aiosqlite:///{db}"}}
accounts:{accounts}
"""


async def run(args: argparse.Namespace) -> dict[str, object]:
    from bot.app import open_service
    from bot.config.loader import parse_config
    from bot.daemon.runner import Daemon
    from bot.logs import configure_logging

    configure_logging("WARNING", "json")
    assets = COINS[: args.assets]
    per_child = -(-args.accounts // args.emulator_procs)
    children = [
        subprocess.Popen(  # noqa: S603, ASYNC220  (started once, before timing)
            [
                sys.executable,
                __file__,
                "--serve",
                str(min(per_child, args.accounts - first)),
                "--assets",
                str(args.assets),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for first in range(0, args.accounts, per_child)
    ]
    try:
        urls: list[str] = []
        for child in children:
            assert child.stdout is not None
            urls.extend(json.loads(child.stdout.readline()))
        with tempfile.TemporaryDirectory() as tmp:
            config = parse_config(
                config_text(urls, assets, args.interval, Path(tmp) / "bench.sqlite"),
                base_dir=REPO,
            )
            env = {"HEDGEBOT_API_KEY": "test-key", "HEDGEBOT_API_SECRET": "test-secret"}
            started = time.monotonic()
            service = await open_service(config, dry_run=False, environ=env)
            startup_s = time.monotonic() - started
            durations: list[float] = []
            failures = 0

            def record(_hedger: object, seconds: float, ok: bool) -> None:
                nonlocal failures
                durations.append(seconds)
                failures += 0 if ok else 1

            daemon = Daemon(
                service.hedgers,
                interval_s=args.interval,
                misfire_grace_s=int(args.interval),
                on_tick_done=record,
            )
            task = asyncio.create_task(daemon.run())
            await asyncio.sleep(args.duration)
            daemon.request_stop("benchmark over")
            await task
            await service.close()
    finally:
        for child in children:
            child.kill()
            child.wait()
    durations.sort()
    return {
        "accounts": args.accounts,
        "emulator_processes": len(children),
        "assets_per_account": args.assets,
        "interval_s": args.interval,
        "duration_s": args.duration,
        "startup_s": round(startup_s, 2),
        "account_ticks": len(durations),
        "failures": failures,
        "tick_p50_s": round(statistics.median(durations), 3),
        "tick_p99_s": round(durations[int(0.99 * (len(durations) - 1))], 3),
        "tick_max_s": round(durations[-1], 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--assets", type=int, default=5)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=65.0)
    parser.add_argument(
        "--emulator-procs",
        type=int,
        default=2,
        help="processes serving the emulators (they share the machine's cores)",
    )
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve_emulators(args.serve, COINS[: args.assets]))
        return
    print(json.dumps(asyncio.run(run(args)), indent=2))


if __name__ == "__main__":
    main()
