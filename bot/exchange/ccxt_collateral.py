"""The collateral half of ``CcxtPort``: transfers between the account's spot and contract
wallets, and spot market orders (the legs of a conversion), all by our own ids.

A mixin over ``CcxtOrders``: ``CcxtPort`` supplies the client, the profile, market loading,
the unified-account check and the translating call. What each exchange needs (its ccxt account
names, the param carrying our transfer id, the params making a spot market amount base coins)
is data in its profile; an exchange without it gets a clear ``PermanentExchangeError``.

Errors as for orders: a definite refusal is ``OrderRejectedError`` (a PermanentExchangeError,
with the venue's code); anything else while sending (timeout, lost response, 5xx) may have
taken effect and is ``OutcomeUnknownError``: look the transfer or order up by its id.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ccxt.base import errors as ccxt_errors
from ccxt.base.decimal_to_precision import TRUNCATE

from bot.core.types import (
    OrderRequest,
    OrderState,
    OrderStatus,
    TransferRequest,
    TransferState,
    TransferStatus,
    WalletKind,
)
from bot.exchange.ccxt_orders import CcxtOrders
from bot.exchange.ccxt_parse import dec, from_ms, order_status
from bot.exchange.errors import (
    OrderRejectedError,
    PermanentExchangeError,
    TemporaryExchangeError,
)

ZERO = Decimal(0)
_TRANSFER_STATES: dict[str, TransferState] = {
    "ok": "SUCCESS",
    "success": "SUCCESS",
    "pending": "PENDING",
    "failed": "FAILED",
    "canceled": "FAILED",
    "cancelled": "FAILED",
}


class CcxtCollateral(CcxtOrders):
    """Transfers and spot market orders over a ccxt client (see the module docstring)."""

    @property
    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    async def _is_unified(self) -> bool: ...

    # -- transfers ----------------------------------------------------------------------------

    def _transfer_accounts(self) -> dict[WalletKind, str]:
        accounts = self.profile.transfer_accounts
        if accounts is None:
            raise PermanentExchangeError(f"transfers are not supported on {self.profile.title}")
        return {"spot": accounts[0], "margin": accounts[1]}

    async def transfer(self, request: TransferRequest) -> TransferStatus:
        self._refuse_if_read_only()
        accounts = self._transfer_accounts()
        if request.source == request.destination:
            raise PermanentExchangeError(f"transfer {request.transfer_id}: same wallet both ends")
        await self.load_markets()
        if await self._is_unified():
            raise PermanentExchangeError(
                f"{self.name}: a unified account keeps spot and margin in one wallet; "
                "there is nothing to transfer"
            )
        amount = self._transfer_amount(request.coin, request.amount)
        params: dict[str, Any] = {}
        if self.profile.transfer_id_param is not None:
            wanted = self.profile.exchange_client_id(request.transfer_id)
            params[self.profile.transfer_id_param] = wanted
        try:
            raw = await self.client.transfer(
                request.coin,
                float(amount),
                accounts[request.source],
                accounts[request.destination],
                params,
            )
        except ccxt_errors.BaseError as exc:
            error = self._translate(exc, sending_order=True)
            if (
                isinstance(error, OrderRejectedError)
                and error.code in self.profile.transfer_duplicate_codes
            ):
                # The id was used already: by this very transfer, sent before (lost response).
                return await self._already_done(request, error)
            raise error from exc
        state = _transfer_state(raw.get("status")) or "SUCCESS"
        timestamp = raw.get("timestamp")
        return TransferStatus(
            transfer_id=request.transfer_id,
            coin=request.coin,
            amount=amount,
            source=request.source,
            destination=request.destination,
            state=state,
            timestamp=from_ms(timestamp) if timestamp else None,
        )

    def _transfer_amount(self, coin: str, amount: Decimal) -> Decimal:
        """``amount`` truncated to the coin's precision (ccxt would round it, perhaps up past
        what the wallet holds); a refusal when nothing is left."""
        if not amount.is_finite() or amount <= 0:
            raise PermanentExchangeError(f"transfer amount must be > 0, got {amount}")
        currency = (self.client.currencies or {}).get(coin) or {}
        precision = currency.get("precision")
        if precision is None:
            return amount
        text = self.client.decimal_to_precision(
            str(amount), TRUNCATE, precision, self.client.precisionMode
        )
        truncated = Decimal(text)
        if truncated <= 0:
            raise PermanentExchangeError(
                f"transfer of {amount} {coin} is below {self.name}'s precision for {coin}"
            )
        return truncated

    async def _already_done(
        self, request: TransferRequest, error: OrderRejectedError
    ) -> TransferStatus:
        try:
            existing = await self.fetch_transfer(request.transfer_id, request.coin)
        except PermanentExchangeError:
            existing = None
        same = existing is not None and (existing.source, existing.destination) == (
            request.source,
            request.destination,
        )
        if existing is None or not same:
            raise error
        return existing

    async def fetch_transfer(self, transfer_id: str, coin: str) -> TransferStatus | None:
        self._transfer_accounts()
        param = self.profile.transfer_id_param
        if not self.profile.transfer_lookup_by_id or param is None:
            raise PermanentExchangeError(
                f"{self.profile.title}: transfers cannot be looked up by id; check the wallets"
            )
        await self.load_markets()
        wanted = self.profile.exchange_client_id(transfer_id)
        rows = await self._call(
            "fetch_transfers",
            lambda: self.client.fetch_transfers(coin, None, None, {param: wanted}),
        )
        for row in rows:
            if str(row.get("id")) == wanted:
                return self._transfer_status(row, transfer_id, coin)
        return None

    def _transfer_status(
        self, row: Mapping[str, Any], transfer_id: str, coin: str
    ) -> TransferStatus:
        accounts = self._transfer_accounts()
        wallets = {name: kind for kind, name in accounts.items()}
        source = wallets.get(str(row.get("fromAccount")))
        destination = wallets.get(str(row.get("toAccount")))
        if source is None or destination is None:
            raise PermanentExchangeError(
                f"transfer {transfer_id} moved {row.get('fromAccount')} -> {row.get('toAccount')},"
                " not between the spot and contract wallets"
            )
        timestamp = row.get("timestamp")
        return TransferStatus(
            transfer_id=transfer_id,
            coin=str(row.get("currency") or coin),
            amount=dec(row.get("amount")) or ZERO,
            source=source,
            destination=destination,
            state=_transfer_state(row.get("status")) or "PENDING",
            timestamp=from_ms(timestamp) if timestamp else None,
        )

    # -- spot market orders -------------------------------------------------------------------

    def _spot_params(self) -> dict[str, Any]:
        if self.profile.spot_order_params is None:
            raise PermanentExchangeError(f"spot orders are not supported on {self.profile.title}")
        return dict(self.profile.spot_order_params)

    async def _spot_market(self, symbol: str) -> None:
        """Refuse a symbol that is not a spot market of the ccxt client (the port's own
        ``load_markets`` keeps derivatives only; ccxt's markets hold the spot pairs too)."""
        self._spot_params()
        await self.load_markets()
        market = (self.client.markets or {}).get(symbol)
        if market is None or not market.get("spot"):
            raise PermanentExchangeError(f"{symbol} is not a spot market on {self.name}")

    async def create_spot_order(self, request: OrderRequest) -> OrderStatus:
        self._refuse_if_read_only()
        await self._spot_market(request.symbol)
        if request.order_type != "market" or request.reduce_only or request.post_only:
            raise PermanentExchangeError("spot orders are plain market orders here")
        params = self._spot_params()
        params[self.profile.client_id_param] = self.profile.exchange_client_id(
            request.client_order_id
        )
        try:
            raw = await self.client.create_order(
                request.symbol, "market", request.side, float(request.contracts), None, params
            )
        except ccxt_errors.BaseError as exc:
            raise self._translate(exc, sending_order=True) from exc
        try:
            status = await self.fetch_spot_order(request.symbol, request.client_order_id)
        except TemporaryExchangeError:
            status = None
        if status is not None:
            return status
        return OrderStatus(
            client_order_id=request.client_order_id,
            exchange_order_id=str(raw.get("id")) if raw.get("id") else None,
            symbol=request.symbol,
            side=request.side,
            state=OrderState.OPEN,
            contracts=request.contracts,
        )

    async def fetch_spot_order(self, symbol: str, client_order_id: str) -> OrderStatus | None:
        await self._spot_market(symbol)
        row = await self._find_order_row(symbol, client_order_id)
        if row is None:
            return None
        status = parse_spot_order(row, symbol, self.profile.client_id_info_key)
        own = self.profile.own_client_id(status.client_order_id) or client_order_id
        return dataclasses.replace(status, client_order_id=own)


def _transfer_state(value: Any) -> TransferState | None:
    return _TRANSFER_STATES.get(str(value).lower()) if value is not None else None


def parse_spot_order(raw: Mapping[str, Any], symbol: str, info_key: str | None) -> OrderStatus:
    """A ccxt spot order -> OrderStatus: ``contracts`` and ``filled_contracts`` in base coins
    (ccxt's ``amount``/``filled``), the fee as ccxt reports it (the currency received)."""
    filled = dec(raw.get("filled")) or ZERO
    amount = dec(raw.get("amount"))
    if amount is None:  # a quote-denominated order: ccxt leaves amount to filled + remaining
        amount = filled + (dec(raw.get("remaining")) or ZERO)
    return order_status(raw, symbol, amount, filled, info_key)
