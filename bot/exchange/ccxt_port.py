"""The exchange port over ccxt (``ccxt.async_support``), driven by an ExchangeProfile.

ccxt errors are translated here, where they enter, into ``bot.exchange.errors``. Numbers leave
as Decimal (ccxt hands out floats; ``Decimal(str(x))`` keeps their shortest exact repr).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.async_support as ccxt_async
import structlog
from ccxt.base import errors as ccxt_errors

from bot.config.models import ExchangeConfig
from bot.config.secrets import Credentials
from bot.core.types import (
    KeyInfo,
    MarginMode,
    MarginWallet,
    Market,
    Position,
)
from bot.exchange.ccxt_errors import exchange_code, retry_after_seconds, translate_ccxt_error
from bot.exchange.ccxt_market_data import CcxtMarketData
from bot.exchange.ccxt_parse import (
    UnreadablePositionError,
    dec,
    from_ms,
    parse_key_info,
    parse_margin_wallets,
    parse_market,
    parse_position,
)
from bot.exchange.errors import (
    ExchangeError,
)
from bot.exchange.profile_model import ExchangeProfile
from bot.exchange.profiles import profile_for
from bot.exchange.retry import RetryPolicy, with_retries
from bot.exchange.venue import venue_refusal
from bot.logs import scrub_text

T = TypeVar("T")
ZERO = Decimal(0)
log = structlog.get_logger(__name__)


class CcxtPort(CcxtMarketData):
    """ExchangePort implementation for any ccxt exchange with a profile."""

    def __init__(
        self,
        client: Any,
        profile: ExchangeProfile,
        retry: RetryPolicy | None = None,
        read_only_reason: str | None = None,
    ) -> None:
        self.client = client
        self.profile = profile
        self.retry = retry or RetryPolicy()
        # Set when the venue may be read but never traded (see venue.venue_refusal).
        self.read_only_reason = read_only_reason
        self._markets: dict[str, Market] | None = None
        self._exchange_now: datetime | None = None

    @classmethod
    def from_config(
        cls,
        config: ExchangeConfig,
        credentials: Credentials,
        rate_limit_ms: int | None = None,
        *,
        profile: ExchangeProfile | None = None,
    ) -> CcxtPort:
        """Build the ccxt client: testnet/demo unless mainnet was opted into, URL override last.

        ``rate_limit_ms`` overrides ccxt's per-exchange pacing (only for a local emulator).
        ``profile`` defaults to the exchange's own (``profiles.spot_source_profile`` for a
        read-only spot source). An exchange without a sandbox asked for ``testnet`` gets a
        read-only port: reads work (plan-only, --dry-run), every trading call raises
        ``NoSandboxError``.
        """
        profile = profile or profile_for(config.id)
        client_class = getattr(ccxt_async, profile.ccxt_id)
        overrides: dict[str, Any] = {} if rate_limit_ms is None else {"rateLimit": rate_limit_ms}
        client = client_class(
            {
                **overrides,
                "apiKey": credentials.api_key.get_secret_value(),
                "secret": credentials.secret.get_secret_value(),
                "enableRateLimit": True,
                "timeout": config.timeout_ms,
                "options": copy.deepcopy(profile.ccxt_options),
            }
        )
        # ccxt's verbose mode prints raw requests (signed headers included) through .log:
        # route it through the scrubbing logger instead of print().
        client.log = _scrubbed_log
        client.has.update(profile.has_overrides)
        if config.testnet:
            if profile.sandbox == "testnet":
                client.set_sandbox_mode(True)
            elif profile.sandbox == "demo":
                client.enable_demo_trading(True)
        if config.url:
            # Sandbox mode replaces urls["api"]; the override must come after it.
            client.urls["api"] = {key: config.url.rstrip("/") for key in client.urls["api"]}
        read_only = venue_refusal(profile, testnet=config.testnet, url=config.url)
        return cls(client, profile, read_only_reason=read_only)

    @property
    def name(self) -> str:
        return self.profile.ccxt_id

    def resolved_api_urls(self) -> dict[str, str]:
        """The base URLs ccxt will call (for tests and start-up logs), with ccxt's
        ``{hostname}`` placeholder filled in as ccxt does when it sends a request."""
        return {
            key: self.client.implode_hostname(url) for key, url in self.client.urls["api"].items()
        }

    # -- error translation --------------------------------------------------------------------

    def _retry_after(self) -> float | None:
        return retry_after_seconds(getattr(self.client, "last_response_headers", None))

    def _translate(self, exc: Exception, *, sending_order: bool) -> ExchangeError:
        return translate_ccxt_error(
            exc,
            self.name,
            sending_order=sending_order,
            retry_after_s=self._retry_after(),
            refusal_codes=self.profile.refusal_codes,
        )

    async def _call(
        self, operation: str, call: Callable[[], Awaitable[T]], *, retry: bool = True
    ) -> T:
        async def translated() -> T:
            try:
                return await call()
            except ccxt_errors.BaseError as exc:
                raise self._translate(exc, sending_order=False) from exc

        if not retry:
            return await translated()
        return await with_retries(operation, translated, self.retry)

    def _is_not_modified(self, exc: Exception) -> bool:
        """Whether the venue only said "already set to that value" (Bybit 110043/110025/110026,
        Binance -4046/-4059): success. Matched on the venue's code field, never on a substring
        of the body: a ``"time":1717011004312`` contains 110043 too, and a refusal stays one."""
        code = exchange_code(exc)
        return code in self.profile.not_modified_codes or isinstance(exc, ccxt_errors.NoChange)

    # -- reads --------------------------------------------------------------------------------

    async def fetch_time(self) -> datetime:
        now = datetime.now(UTC)
        if self.client.has.get("fetchTime"):
            millis = await self._call("fetch_time", self.client.fetch_time)
            if millis is not None:
                now = from_ms(millis)
        self._exchange_now = now
        return now

    async def load_markets(self) -> Mapping[str, Market]:
        if self._markets is None:
            return await self.refresh_markets()
        return self._markets

    async def refresh_markets(self) -> Mapping[str, Market]:
        # reload=True: ccxt otherwise answers from the markets it loaded first.
        raw = await self._call("load_markets", lambda: self.client.load_markets(True))
        markets = (
            parse_market(
                m,
                self.client.precisionMode,
                self.profile.min_amount_is_contract_size,
                self.profile.amount_unit,
            )
            for m in raw.values()
        )
        self._markets = {m.symbol: m for m in markets if m is not None}
        return self._markets

    async def fetch_spot_balances(self) -> Mapping[str, Decimal]:
        if self.profile.spot_balance_params is None:
            return {}  # no spot wallet behind this ccxt id (holdings.sources reads it)
        if await self._is_unified():
            return {}  # one wallet: its coins are margin (see fetch_margin_wallets)
        return await self.fetch_balance_totals(self.profile.spot_balance_params)

    async def fetch_balance_totals(self, params: Mapping[str, Any]) -> Mapping[str, Decimal]:
        """Nonzero coin totals of one ccxt ``fetch_balance(params)`` (a spot source's wallet)."""
        query = dict(params)
        balance = await self._call("fetch_balance", lambda: self.client.fetch_balance(query))
        return {c: v for c, v in _totals(balance).items() if v != 0}

    async def fetch_margin_wallets(self) -> Mapping[str, MarginWallet]:
        params = dict(self.profile.margin_balance_params)
        balance = await self._call("fetch_balance", lambda: self.client.fetch_balance(params))
        markets = await self.load_markets()
        raw_positions: list[dict[str, Any]] = []
        if self.client.has.get("fetchPositions"):
            params = dict(self.profile.positions_params)
            raw_positions = await self._call(
                "fetch_positions", lambda: self.client.fetch_positions(None, params)
            )
        return parse_margin_wallets(
            balance,
            raw_positions,
            markets,
            self.profile.margin_total,
            self.profile.margin_total_from_info,
        )

    async def _is_unified(self) -> bool:
        """One wallet for spot and derivatives (Bybit UTA): ask ccxt, which asks once."""
        check = getattr(self.client, "is_unified_enabled", None)
        if check is None:
            return False
        enabled = await self._call("is_unified_enabled", check)
        # UTA 2.0 (status 5/6) keeps inverse margin in the one UNIFIED wallet; UTA 1.0 and
        # classic accounts keep a separate CONTRACT wallet, so nothing is counted twice there.
        status = int(self.client.options.get("unifiedMarginStatus") or 0)
        return bool(enabled and enabled[1]) and status >= 5

    async def fetch_positions(self, symbols: Sequence[str]) -> Mapping[str, Position]:
        markets = await self.load_markets()
        wanted = [s for s in symbols if s in markets]
        rows = await self._position_rows(wanted)
        positions: dict[str, Position] = {}
        for symbol in wanted:
            mine = [r for r in rows if r.get("symbol") == symbol]
            if not mine:
                continue  # omitted by the exchange: the caller treats it as unknown, not flat
            try:
                parsed = [
                    parse_position(r, markets[symbol], self.profile.amount_unit) for r in mine
                ]
            except UnreadablePositionError as exc:
                log.warning("position_unreadable", symbol=symbol, error=str(exc))
                continue  # unknown, like an omission: never read as flat
            positions[symbol] = _net(parsed)
        if positions and self.profile.position_mode_check == "fetch_position_mode":
            # ccxt leaves ``hedged`` unset on these exchanges' positions: ask the account.
            first = next(iter(positions))
            mode = await self._call(
                "fetch_position_mode", lambda: self.client.fetch_position_mode(first)
            )
            hedged = bool((mode or {}).get("hedged"))
            positions = {s: dataclasses.replace(p, hedge_mode=hedged) for s, p in positions.items()}
        return positions

    async def _position_rows(self, symbols: Sequence[str]) -> list[Mapping[str, Any]]:
        """ccxt position rows of ``symbols``: one read per symbol (a flat one still answers a
        row there), or one list read where ccxt reads single positions elsewhere (Binance)."""
        if not symbols:
            return []
        if self.profile.position_query == "list":
            params = dict(self.profile.positions_params)
            listed = await self._call(
                "fetch_positions", lambda: self.client.fetch_positions(list(symbols), params)
            )
            return [r for r in listed or () if isinstance(r, Mapping)]
        rows: list[Mapping[str, Any]] = []
        for symbol in symbols:
            raw = await self._call(
                "fetch_position",
                lambda s=symbol: self.client.fetch_position(s),  # type: ignore[misc]
            )
            if raw is not None:
                rows.append(raw)
        return rows

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        self._refuse_if_read_only()
        if not self.profile.supports_set_leverage:
            return
        try:
            await self.client.set_leverage(float(leverage), symbol)
        except ccxt_errors.BaseError as exc:
            if self._is_not_modified(exc):
                return
            raise self._translate(exc, sending_order=False) from exc

    async def set_margin_mode(self, symbol: str, mode: MarginMode, leverage: Decimal) -> None:
        self._refuse_if_read_only()
        if not self.profile.supports_set_margin_mode:
            return
        try:
            await self.client.set_margin_mode(mode, symbol, {"leverage": float(leverage)})
        except ccxt_errors.BaseError as exc:
            if self._is_not_modified(exc):
                return
            raise self._translate(exc, sending_order=False) from exc

    async def fetch_key_info(self) -> KeyInfo | None:
        method = self.profile.key_info_method
        if method is None:
            return None
        raw = await self._call("fetch_key_info", getattr(self.client, method))
        return parse_key_info(raw.get("result") or {})

    async def close(self) -> None:
        await self.client.close()


def _scrubbed_log(*parts: Any) -> None:
    structlog.get_logger("ccxt").debug("ccxt_verbose", text=scrub_text(" ".join(map(str, parts))))


def _totals(balance: Mapping[str, Any]) -> dict[str, Decimal]:
    totals = balance.get("total") or {}
    result: dict[str, Decimal] = {}
    for coin, value in totals.items():
        amount = dec(value)
        if amount is not None:
            result[coin] = amount
    return result


def _net(parsed: Sequence[Position]) -> Position:
    """One instrument's rows as one position: one-way mode has one row; hedge mode lists a
    long and a short side (Binance LONG/SHORT): netted, and flagged so that start refuses it."""
    if len(parsed) == 1:
        return parsed[0]
    held = [p for p in parsed if p.contracts != 0] or list(parsed)
    return dataclasses.replace(
        held[0],
        contracts=sum((p.contracts for p in parsed), ZERO),
        hedge_mode=True,
    )
