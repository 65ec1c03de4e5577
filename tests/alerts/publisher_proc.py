"""A small alerts publisher process for the tests: ``python -m tests.alerts.publisher_proc``.

``hold``: start the service, raise one alert, print ``ready`` once it is delivered, then wait to
be killed (the Last Will test). ``run``: with DEBUG logging, register an API key as a secret,
raise an alert and a state whose texts contain that key and the broker password, wait until
delivered, stop cleanly and exit 0 (the secrets test).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime

from bot.alerts import Severity, make_alert
from bot.alerts.service import AlertService
from bot.config.models import AlertsConfig
from bot.logs import configure_logging, register_secret
from bot.store.db import create_engine


async def wait_delivered(service: AlertService, deadline_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while await service.outbox.pending_count("mqtt") or not (
        service.publisher and service.publisher.connected
    ):
        if loop.time() > end:
            raise TimeoutError("alerts not delivered")
        await asyncio.sleep(0.02)


async def main(args: argparse.Namespace) -> int:
    configure_logging("DEBUG" if args.mode == "run" else "WARNING", "json")  # to stderr
    config = AlertsConfig(
        enabled=True,
        port=args.port,
        prefix=args.prefix,
        instance=args.instance,
        username=args.username,
        password_env=args.password_env,
        keepalive_seconds=5,
        reconnect_min_seconds=0.1,
        reconnect_max_seconds=0.5,
    )
    engine = create_engine(args.db)
    service = AlertService(config, engine, environ=os.environ)
    await service.start()
    if args.mode == "hold":
        await service.add([make_alert("test", "info", "hello", raised_at=datetime.now(UTC))])
        await wait_delivered(service)
        print("ready", flush=True)
        await asyncio.sleep(3600)
        return 1
    api_key = args.api_key
    register_secret(api_key)
    password = os.environ[args.password_env] if args.password_env else ""
    leak = f"exchange said: bad key {api_key} (broker password {password})"
    await service.add(
        [
            make_alert(
                "order_rejected",
                Severity.WARNING,
                leak,
                raised_at=datetime.now(UTC),
                values={"detail": leak, "n": 1},
            )
        ]
    )
    service.publish_state({"note": leak, "exposures": {"BTC": "1"}})
    await wait_delivered(service)
    await service.stop(reason="test done")
    await engine.dispose()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["hold", "run"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--instance", default="default")
    parser.add_argument("--username")
    parser.add_argument("--password-env")
    parser.add_argument("--api-key", default="")
    sys.exit(asyncio.run(main(parser.parse_args())))
