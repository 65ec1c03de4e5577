"""The broker password and a registered API key never reach a payload, a log line or a row.

A publisher process (DEBUG logging, JSON) talks to our own password-protected Mosquitto and
raises an alert and a state whose texts contain both secrets, as an exchange error might.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import select

from bot.store.db import create_engine, upgrade
from bot.store.models import Base
from tests.alerts.mqtt_helpers import HOST, Mosquitto, Subscriber, unique_prefix
from tests.helpers import REPO

USER = "hedgebot"
PASSWORD_ENV = "HB_TEST_MQTT_PASSWORD"


@pytest.fixture
async def migrated_url(backend: str, _backend_url: str) -> str:
    from tests.store.conftest import _migrated_and_empty

    if backend == "postgresql":
        await _migrated_and_empty(_backend_url)
    else:
        await upgrade(_backend_url)
    return _backend_url


async def database_text(url: str) -> str:
    """Every row of every table, as text."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = [
                repr(row)
                for table in Base.metadata.sorted_tables
                for row in await connection.execute(select(table))
            ]
    finally:
        await engine.dispose()
    assert any("order_rejected" in row for row in rows)  # the alert is there
    return "\n".join(rows)


async def test_no_secret_in_payloads_logs_or_rows(
    tmp_path: Path, migrated_url: str, sqlite_path: Path, backend: str
) -> None:
    password = f"pw-{secrets.token_hex(10)}"
    api_key = f"key-{secrets.token_hex(10)}"
    prefix = unique_prefix()
    with Mosquitto(tmp_path, users={USER: password}) as broker:
        with pytest.raises(aiomqtt.MqttError):  # the broker does check the password
            async with aiomqtt.Client(HOST, broker.port, username=USER, password="wrong"):
                pass
        auth = {"port": broker.port, "username": USER, "password": password}
        async with Subscriber(prefix, **auth) as sub:  # type: ignore[arg-type]
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.alerts.publisher_proc", "run",
                "--db", migrated_url, "--port", str(broker.port), "--prefix", prefix,
                "--username", USER, "--password-env", PASSWORD_ENV, "--api-key", api_key,
                cwd=REPO,
                env={**os.environ, PASSWORD_ENV: password, "PYTHONPATH": str(REPO)},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(process.communicate(), timeout=60)
            assert process.returncode == 0, err.decode()
            await sub.wait_for(lambda s: [m.payload for m in s.on("/status")][-1:] == [b"offline"])

    payloads = b"\n".join(message.payload for message in sub.messages)
    assert b"order_rejected" in payloads
    assert b"exchange said: bad key ***" in payloads  # redacted, not dropped
    assert b'"note":"exchange said: bad key ***' in sub.on("/state")[-1].payload
    assert b'"level": "debug"' in err  # DEBUG logging was on ...
    assert b"mqtt_connected" in err  # ... logged the connection, the alert ...
    assert b"alert_raised" in err
    assert b"Sending CONNECT (u1, p1" in err  # ... and the protocol (password flag set)
    assert b"Received PUBACK" in err
    rows = await database_text(migrated_url)
    files = b""
    if backend == "sqlite":
        files = b"".join(path.read_bytes() for path in sqlite_path.parent.glob("*.sqlite*"))
    for secret in (password, api_key):
        assert secret.encode() not in payloads
        assert secret.encode() not in out + err
        assert secret not in rows
        assert secret.encode() not in files
