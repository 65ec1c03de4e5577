"""The emulator's two clocks: the WALL clock for authentication, and the engine's MARKET clock.

ccxt signs requests with wall time, so the recv-window check always uses the wall clock. The
market clock (``SimExchange.now``, reported in every envelope's ``time``) moves by mode:

* ``wall`` (fixed prices, the default): before each request the engine is advanced to the wall
  clock if it is behind, so funding settles in real time. The admin may move it further ahead;
  it then waits for the wall clock to catch up (it never goes back).
* ``step_per_tick`` (replay with ``step_per_tick: true``): each ``GET /v5/market/time`` steps the
  replay one candle, as ``bot.exchange.sim_port``'s ``auto_step`` does; the daemon asks the time
  once per tick.
* ``manual`` (replay otherwise, or a frozen fixed-price clock): moved only by the admin API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from bot.sim.engine import SimExchange
from bot.sim.records import ms_to_datetime

ClockMode = Literal["wall", "step_per_tick", "manual"]
CLOCK_MODES: tuple[ClockMode, ...] = ("wall", "step_per_tick", "manual")
TIME_PATH = "/v5/market/time"


def wall_clock_ms() -> int:
    """Epoch milliseconds of the wall clock."""
    return time.time_ns() // 1_000_000


def default_mode(is_replay: bool, step_per_tick: bool, follow_wall_clock: bool = True) -> ClockMode:
    """The mode for an engine: replay -> step_per_tick or manual; fixed prices -> wall (or
    manual when ``follow_wall_clock`` is False). ValueError for step_per_tick on fixed prices."""
    if is_replay:
        return "step_per_tick" if step_per_tick else "manual"
    if step_per_tick:
        raise ValueError("step_per_tick needs a replay feed (fixed prices have no candles)")
    return "wall" if follow_wall_clock else "manual"


class MarketClock:
    """Moves ``engine``'s clock per ``mode``; see the module docstring."""

    def __init__(
        self, engine: SimExchange, mode: ClockMode, wall: Callable[[], int] = wall_clock_ms
    ) -> None:
        self.engine = engine
        self.wall = wall
        self._mode: ClockMode = "manual"
        self.mode = mode

    @property
    def mode(self) -> ClockMode:
        return self._mode

    @mode.setter
    def mode(self, mode: ClockMode) -> None:
        if mode not in CLOCK_MODES:
            raise ValueError(f"unknown clock mode {mode!r} (use {', '.join(CLOCK_MODES)})")
        if mode == "wall" and self.engine.is_replay:
            raise ValueError("a replay cannot follow the wall clock")
        if mode == "step_per_tick" and not self.engine.is_replay:
            raise ValueError("step_per_tick needs a replay feed")
        self._mode = mode

    def server_ms(self) -> int:
        """The time the recv-window check uses (the wall clock, whatever the mode)."""
        return self.wall()

    def catch_up(self) -> None:
        """In ``wall`` mode, advance the engine to the wall clock if it is behind."""
        if self._mode != "wall":
            return
        now = self.wall()
        if now > self.engine.now_ms:
            self.engine.set_time(ms_to_datetime(now))

    def before_request(self, method: str, path: str) -> None:
        """Called once per venue request, before it is handled (may raise the engine's
        ``ReplayExhaustedError`` when a step would pass the end of the data)."""
        if self._mode == "wall":
            self.catch_up()
        elif self._mode == "step_per_tick" and method == "GET" and path == TIME_PATH:
            self.engine.step()
