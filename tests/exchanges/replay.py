"""Recorded venue answers replayed through the REAL async ccxt client, offline.

``replay_client`` builds the ccxt client the way ``CcxtPort.from_config`` does (the profile's
options and ``has`` overrides), loads the recorded markets of tests/exchanges/fixtures, and
replaces its transport: every request ccxt signs and sends is answered from ``answers`` (URL
fragment → JSON body, or ``(HTTP status, JSON body)``) and goes through ccxt's own
``handle_errors``, so an error body turns into exactly the exception ccxt raises for it. URLs
not in ``answers`` fail the test. ``sent`` records every request (method and URL).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ccxt.async_support as ccxt_async

from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.profiles import profile_for
from bot.exchange.retry import RetryPolicy
from tests.exchanges.recorded import offline_exchange

Answer = Any  # a JSON-able body, or (status, body)


@dataclass
class Replay:
    """The client, the port over it, and the requests sent (method, url, body)."""

    client: Any
    port: CcxtPort
    answers: dict[str, Answer]
    sent: list[tuple[str, str, str | None]] = field(default_factory=list)

    def urls(self, fragment: str = "") -> list[str]:
        return [url for _, url, _ in self.sent if fragment in url]


def replay_client(exchange_id: str, answers: Mapping[str, Answer]) -> Replay:
    """An async ccxt ``exchange_id`` client answering from ``answers`` (see the module doc)."""
    profile = profile_for(exchange_id)
    recorded = offline_exchange(exchange_id)
    client = getattr(ccxt_async, exchange_id)(
        {
            "apiKey": "key",
            "secret": "secret",
            "password": "passphrase",
            "enableRateLimit": False,
            "options": copy.deepcopy(profile.ccxt_options),
        }
    )
    client.has.update(profile.has_overrides)
    client.set_markets(list(recorded.markets.values()))

    async def markets(reload: bool = False, params: Any = None) -> Any:
        return client.markets  # recorded: never fetched again

    port = CcxtPort(client, profile, retry=RetryPolicy(attempts=1))
    replay = Replay(client, port, dict(answers))

    async def fetch(
        url: str, method: str = "GET", headers: Any = None, body: str | None = None
    ) -> Any:
        replay.sent.append((method, url, body))
        for fragment, answer in replay.answers.items():
            if fragment in url:
                status, document = answer if isinstance(answer, tuple) else (200, answer)
                text = json.dumps(document)
                response = json.loads(text)
                client.handle_errors(
                    status, "", url, method, {}, text, response, headers or {}, body
                )
                client.handle_http_status_code(status, "", url, method, text)
                return response
        raise AssertionError(f"no recorded answer for {method} {url}")

    client.fetch = fetch
    client.load_markets = markets
    return replay
