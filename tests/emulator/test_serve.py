"""``serve_forever`` (what the ``hedgebot emulator`` command runs), in a child process."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap

import aiohttp

from tests.helpers import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_serve_forever_answers_until_terminated() -> None:
    port = free_port()
    code = textwrap.dedent(
        f"""
        from decimal import Decimal
        from bot.config.models import SimConfig
        from bot.emulator import serve_forever
        serve_forever(SimConfig(prices={{"BTC": Decimal(50000)}}), "127.0.0.1", {port})
        """
    )
    process = subprocess.Popen(  # noqa: ASYNC220 (a child we poll, then stop)
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        body = None
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/v5/market/time") as response:
                        body = await response.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        assert body is not None
        assert body["retCode"] == 0
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert process.returncode is not None
