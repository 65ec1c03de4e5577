"""A Bybit-v5-compatible HTTP emulator over the simulated exchange, with test controls.

Entry points: ``create_app`` (an aiohttp app over an engine), ``start_emulator`` (serve a
``SimConfig`` on 127.0.0.1, for tests) and ``serve_forever`` (the CLI command).
"""

from bot.emulator.app import RunningEmulator, create_app, serve_forever, start_emulator
from bot.emulator.faults import Fault, FaultBook, FaultKind
from bot.emulator.state import ApiKeyInfo

__all__ = [
    "ApiKeyInfo",
    "Fault",
    "FaultBook",
    "FaultKind",
    "RunningEmulator",
    "create_app",
    "serve_forever",
    "start_emulator",
]
