"""A Bybit-v5-compatible HTTP emulator over the one simulated exchange (``bot.sim``).

Point an unmodified ccxt ``bybit`` client at it (``urls['api']`` = the emulator's URL after any
sandbox switch, as ``CcxtPort.from_config`` does with ``exchange.url``). Venue requests get
Bybit's envelope ``{retCode, retMsg, result, retExtInfo, time}`` (HTTP 200 for business
errors); unknown routes get retCode 10017 with HTTP 404. Test controls live under ``/admin``
(``bot.emulator.admin``). Serve on 127.0.0.1 only: there is no real security here.

Per venue request, in order: BEFORE faults (answered without processing) -> market clock
(``bot.emulator.clock``) -> authentication of private routes (wall clock) -> the route ->
REWRITE faults (``empty_positions``, ``ticker_price``) -> ``lost_response`` faults -> request
log.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qsl

import structlog
from aiohttp import web

from bot.config.models import SimConfig
from bot.emulator import routes_account, routes_asset, routes_market, routes_order
from bot.emulator.admin import add_admin_routes
from bot.emulator.auth import check_request
from bot.emulator.bybit_format import envelope
from bot.emulator.clock import MarketClock, default_mode, wall_clock_ms
from bot.emulator.faults import (
    BEFORE_KINDS,
    REWRITE_KINDS,
    FaultBook,
    FaultKind,
    fault_response,
    rewrite_result,
)
from bot.emulator.reply import ApiError, Params, Reply, params_error
from bot.emulator.state import STATE_KEY, ApiKeyInfo, EmulatorState, RouteTable
from bot.sim.engine import SimExchange
from bot.sim.errors import InvalidRequestError, ReplayExhaustedError, SimError

log = structlog.get_logger(__name__)

ROUTES: RouteTable = {
    **routes_market.ROUTES,
    **routes_account.ROUTES,
    **routes_order.ROUTES,
    **routes_asset.ROUTES,
}
LOST_KINDS = frozenset({FaultKind.LOST_RESPONSE})
MAX_BODY_BYTES = 1 << 20
SHUTDOWN_TIMEOUT_S = 1.0


def create_app(
    engine: SimExchange,
    *,
    api_key: str,
    secret: str,
    step_per_tick: bool,
    follow_wall_clock: bool = True,
    key_info: ApiKeyInfo | None = None,
    wall: Callable[[], int] = wall_clock_ms,
) -> web.Application:
    """The emulator app over ``engine`` (see ``bot.emulator.clock`` for ``step_per_tick`` and
    ``follow_wall_clock``). Installs the fault book's partial-fill hook on the engine."""
    clock = MarketClock(
        engine, default_mode(engine.is_replay, step_per_tick, follow_wall_clock), wall
    )
    faults = FaultBook()
    engine.fill_fraction_hook = faults.fill_fraction
    state = EmulatorState(
        engine, api_key=api_key, secret=secret, clock=clock, faults=faults, key_info=key_info
    )
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = state
    add_admin_routes(app.router)
    app.router.add_route("*", "/{tail:.*}", handle_venue)
    return app


def _params(method: str, query: str, body: bytes) -> Params:
    if method == "GET":
        return dict(parse_qsl(query, keep_blank_values=True))
    if not body.strip():
        return {}
    try:
        data = json.loads(body, parse_float=Decimal)
    except ValueError:
        raise params_error("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise params_error("the request body must be a JSON object")
    return data


def process(
    state: EmulatorState,
    headers: Mapping[str, str],
    method: str,
    path: str,
    query: str,
    body: bytes,
) -> Reply:
    """Handle one venue request synchronously (clock, auth, route); never raises."""
    route = ROUTES.get((method, path))
    if route is None:
        return Reply({}, 10017, "Route not found", 404)
    try:
        state.clock.before_request(method, path)
        if route.private:
            payload = query.encode() if method == "GET" else body
            failure = check_request(headers, payload, state.secrets, state.clock.server_ms())
            if failure is not None:
                return Reply({}, failure.code, failure.message, failure.http_status)
            if method == "POST" and state.key_info.read_only:
                return Reply({}, 10005, "Permission denied, please check your API key permissions.")
        return route.handler(state, _params(method, query, body))
    except ApiError as exc:
        return exc.reply()
    except ReplayExhaustedError as exc:
        return Reply({}, 10016, f"Server error: the replay has ended ({exc})")
    except InvalidRequestError as exc:
        return params_error(str(exc)).reply()
    except SimError as exc:
        return Reply({}, 10016, f"Server error: {exc}")


async def handle_venue(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    method, path = request.method, request.path
    query = request.rel_url.raw_query_string
    body = await request.read()
    fault = state.faults.take(BEFORE_KINDS, method, path)
    if fault is not None:
        raw = fault_response(fault, state.engine.now_ms)
        state.log_request(method, path, query, raw.status, raw.ret_code, fault.kind.value)
        if fault.kind == FaultKind.TIMEOUT:
            await asyncio.sleep(fault.delay_s)  # cancelled when the client gives up
        return web.Response(
            status=raw.status, text=raw.body, content_type=raw.content_type, headers=raw.headers
        )
    reply = process(state, request.headers, method, path, query, body)
    rewrite = state.faults.take(REWRITE_KINDS, method, path) if reply.ret_code == 0 else None
    if rewrite is not None:
        reply = replace(reply, result=rewrite_result(rewrite, reply.result))
    lost = None
    if reply.ret_code != 10017:
        lost = state.faults.take(LOST_KINDS, method, path)
    applied = lost or rewrite
    kind = applied.kind.value if applied else None
    state.log_request(method, path, query, reply.http_status, reply.ret_code, kind)
    document = envelope(
        reply.ret_code, reply.ret_msg, reply.result, reply.ret_ext_info, state.engine.now_ms
    )
    text = json.dumps(document, separators=(",", ":"))
    if lost is not None:
        if lost.drop and request.transport is not None:
            request.transport.abort()  # aiohttp then fails to write the reply, quietly
        elif not lost.drop:
            await asyncio.sleep(lost.delay_s)
    return web.Response(status=reply.http_status, text=text, content_type="application/json")


@dataclass
class RunningEmulator:
    """An emulator serving on ``url`` (``http://127.0.0.1:<port>``); ``stop()`` shuts it down."""

    url: str
    port: int
    engine: SimExchange
    faults: FaultBook
    state: EmulatorState
    runner: web.AppRunner

    async def stop(self) -> None:
        await self.runner.cleanup()


def _engine_and_app(
    sim_config: SimConfig, start: datetime | None, follow_wall_clock: bool
) -> tuple[SimExchange, web.Application]:
    engine = SimExchange.from_config(sim_config, start)
    step_per_tick = sim_config.replay is not None and sim_config.replay.step_per_tick
    app = create_app(
        engine,
        api_key=sim_config.api_key,
        secret=sim_config.secret,
        step_per_tick=step_per_tick,
        follow_wall_clock=follow_wall_clock,
    )
    return engine, app


async def start_emulator(
    sim_config: SimConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    start: datetime | None = None,
    follow_wall_clock: bool = True,
) -> RunningEmulator:
    """Build the engine from ``exchange.sim`` and serve it (port 0: a free port)."""
    engine, app = _engine_and_app(sim_config, start, follow_wall_clock)
    runner = web.AppRunner(
        app, access_log=None, handler_cancellation=True, shutdown_timeout=SHUTDOWN_TIMEOUT_S
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    url = f"http://{host}:{bound}"
    return RunningEmulator(url, bound, engine, app[STATE_KEY].faults, app[STATE_KEY], runner)


def serve_forever(sim_config: SimConfig, host: str = "127.0.0.1", port: int = 8123) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM): the ``hedgebot emulator`` command."""
    _, app = _engine_and_app(sim_config, None, True)
    log.info("emulator_listening", url=f"http://{host}:{port}", admin=f"http://{host}:{port}/admin")
    web.run_app(
        app,
        host=host,
        port=port,
        access_log=None,
        print=None,
        handler_cancellation=True,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
