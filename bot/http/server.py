"""/healthz, /readyz, /status and /metrics for operators and orchestrators."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from bot.app import Service
from bot.daemon.report import state_summary
from bot.daemon.runner import Daemon
from bot.http.metrics import Metrics
from bot.store.db import current_revision, head_revision

log = structlog.get_logger(__name__)
OPEN_PATHS = frozenset({"/healthz"})  # liveness probes carry no token
CHECK_TIMEOUT_S = 5.0


@dataclass
class HttpContext:
    service: Service
    daemon: Daemon
    metrics: Metrics
    token: str | None
    interval_s: float
    stale_after_ticks: float
    started: float
    outbox_backlog: Callable[[], Awaitable[int | None]] | None = None


def _json(body: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=partial(json.dumps, default=str))


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the loop is alive and some tick finished within the allowed age."""
    ctx: HttpContext = request.app["ctx"]
    now = time.monotonic()
    limit = max(ctx.interval_s * ctx.stale_after_ticks, 30.0)
    ages = {
        name: (now - stats.last_tick_at) if stats.last_tick_at is not None else None
        for name, stats in ctx.daemon.stats.by_account.items()
    }
    known = [age for age in ages.values() if age is not None]
    starting = not known and now - ctx.started < limit
    alive = starting or (bool(known) and min(known) < limit)
    body = {
        "status": "ok" if alive else "stale",
        "last_tick_age_s": {k: None if v is None else round(v, 3) for k, v in ages.items()},
        "limit_s": limit,
    }
    return _json(body, 200 if alive else 503)


async def _database_ready(ctx: HttpContext) -> tuple[bool, str]:
    engine = ctx.service.store.engine
    async with engine.connect() as connection, connection.begin() as transaction:
        # A write that changes nothing: proves the database takes writes (locks, read-only).
        await connection.execute(text("UPDATE ticks SET status = status WHERE id = -1"))
        await transaction.rollback()
    revision = await current_revision(engine)
    head = head_revision()
    if revision != head:
        return False, f"migrations at {revision}, head is {head}"
    return True, f"writable, migrations at {head}"


async def readyz(request: web.Request) -> web.Response:
    """Readiness: every account's exchange reachable, the database writable and migrated."""
    ctx: HttpContext = request.app["ctx"]
    checks: dict[str, Any] = {}
    ready = True
    try:
        ok, detail = await asyncio.wait_for(_database_ready(ctx), CHECK_TIMEOUT_S)
    except Exception as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    checks["database"] = {"ok": ok, "detail": detail}
    ready &= ok
    for account in ctx.service.accounts:
        try:
            await asyncio.wait_for(account.hedger.ping(), CHECK_TIMEOUT_S)
            checks[f"exchange:{account.name}"] = {"ok": True}
        except Exception as exc:
            ready = False
            checks[f"exchange:{account.name}"] = {"ok": False, "detail": type(exc).__name__}
    return _json(
        {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
    )


async def status(request: web.Request) -> web.Response:
    """The same summary as the MQTT state topic, per account."""
    ctx: HttpContext = request.app["ctx"]
    accounts = {}
    for account in ctx.service.accounts:
        stats = ctx.daemon.stats.by_account.get(account.name)
        outcome = account.hedger.last_outcome
        accounts[account.name] = {
            "owner": account.hedger.owner,
            "ticks": None if stats is None else stats.ticks,
            "failures": None if stats is None else stats.failures,
            "last_ok_at": None
            if stats is None or stats.last_ok_at is None
            else stats.last_ok_at.isoformat(),
            "state": None if outcome is None else state_summary(outcome),
        }
    return _json({"accounts": accounts})


async def metrics(request: web.Request) -> web.Response:
    ctx: HttpContext = request.app["ctx"]
    if ctx.outbox_backlog is not None:
        backlog = await ctx.outbox_backlog()
        if backlog is not None:
            ctx.metrics.outbox_backlog.set(backlog)
    return web.Response(body=ctx.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


@web.middleware
async def bearer_auth(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    ctx: HttpContext = request.app["ctx"]
    if ctx.token and request.path not in OPEN_PATHS:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {ctx.token}".encode()):
            return _json({"error": "missing or wrong bearer token"}, 401)
    return await handler(request)


def create_http_app(ctx: HttpContext) -> web.Application:
    app = web.Application(middlewares=[bearer_auth])
    app["ctx"] = ctx
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/status", status)
    app.router.add_get("/metrics", metrics)
    return app


async def start_http(ctx: HttpContext, host: str, port: int) -> web.AppRunner:
    """Serve until the runner is cleaned up; returns the runner (``runner.addresses``)."""
    runner = web.AppRunner(create_http_app(ctx), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("http_listening", addresses=[str(a) for a in runner.addresses])
    return runner
