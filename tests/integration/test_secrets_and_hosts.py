"""The API key and secret never reach a log line (DEBUG, ccxt verbose) or the database; the same
ccxt adapter resolves Bybit's testnet hosts by default and mainnet's only when asked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from pydantic import SecretStr

from bot.config.models import ExchangeConfig
from bot.config.secrets import Credentials
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.factory import build_port
from bot.logs import configure_logging
from tests.integration.conftest import KEY, SECRET, Bot, Venue, sqlite_dump


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo ``configure_logging``: structlog's defaults and the stdlib root logger's state."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level
    for name in ("apscheduler", "alembic"):
        logging.getLogger(name).setLevel(logging.NOTSET)


@pytest.mark.usefixtures("restore_logging")
async def test_secrets_in_no_log_line_and_no_database_row(
    bot: Bot, venue: Venue, capsys: pytest.CaptureFixture[str]
) -> None:
    config = bot.config(logging={"level": "DEBUG", "format": "json"})
    configure_logging(config.logging.level, config.logging.format)  # as `hedgebot run` does
    runtime = await bot.open(config)
    assert isinstance(runtime.port, CcxtPort)
    runtime.port.client.verbose = True  # raw requests and responses, headers included
    outcome = await runtime.hedger.tick()
    await bot.close(runtime)

    captured = capsys.readouterr()
    logged = captured.out + captured.err
    assert outcome.orders  # a signed order request went out
    assert '"event": "ccxt_verbose"' in logged
    assert "X-BAPI-API-KEY" in logged  # the header is logged, its value redacted
    assert '"level": "debug"' in logged
    assert KEY not in logged
    assert SECRET not in logged

    dump = sqlite_dump(bot.db)
    assert outcome.orders[0].client_order_id in dump  # the dump holds the orders
    assert KEY not in dump
    assert SECRET not in dump


CREDENTIALS = Credentials(SecretStr(KEY), SecretStr(SECRET))


@pytest.mark.parametrize(
    ("exchange", "host"),
    [
        (ExchangeConfig(id="bybit"), "https://api-testnet.bybit.com"),
        (ExchangeConfig(id="bybit", testnet=True), "https://api-testnet.bybit.com"),
        (ExchangeConfig(id="bybit", testnet=False), "https://api.bybit.com"),
        (ExchangeConfig(id="bybit", url="http://127.0.0.1:9/"), "http://127.0.0.1:9"),
    ],
)
async def test_bybit_hosts_without_network(exchange: ExchangeConfig, host: str) -> None:
    port = build_port(exchange, CREDENTIALS)
    try:
        assert isinstance(port, CcxtPort)
        assert set(port.resolved_api_urls().values()) == {host}
        assert port.client.session is None  # nothing was ever opened, let alone sent
    finally:
        await port.close()
