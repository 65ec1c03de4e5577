"""Pure conversions from ccxt's unified structures to the core types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.core.types import (
    Fill,
    FundingPayment,
    KeyInfo,
    MarginMode,
    Market,
    OrderState,
    OrderStatus,
    Position,
    Side,
)
from bot.exchange.profiles import AmountUnit

ZERO = Decimal(0)
_DECIMAL_PLACES = 2  # ccxt.base.decimal_to_precision.DECIMAL_PLACES


def dec(value: Any) -> Decimal | None:
    """ccxt number (float, int or str) → Decimal; None or '' stays None."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def from_ms(millis: Any) -> datetime:
    return datetime.fromtimestamp(int(millis) / 1000, tz=UTC)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse_market(
    raw: Mapping[str, Any], precision_mode: int, min_amount_is_contract_size: bool = False
) -> Market | None:
    """A ccxt derivatives market → Market; spot and option markets → None.

    ``min_amount_is_contract_size``: ccxt's Bybit parser copies minOrderQty into both
    contractSize and limits.amount.min, so the minimum is not a real minimum there.
    """
    if not raw.get("contract") or raw.get("option"):
        return None
    contract_size = dec(raw.get("contractSize"))
    if contract_size is None:
        return None
    step = dec((raw.get("precision") or {}).get("amount")) or Decimal(1)
    if precision_mode == _DECIMAL_PLACES:
        step = Decimal(1).scaleb(-int(step))
    minimum = dec(((raw.get("limits") or {}).get("amount") or {}).get("min")) or step
    if min_amount_is_contract_size:
        minimum = step
    expiry = raw.get("expiry")
    return Market(
        symbol=raw["symbol"],
        base=raw["base"],
        quote=raw["quote"],
        settle=raw.get("settle") or raw["base"],
        kind="inverse" if raw.get("inverse") else "linear",
        contract_size=contract_size,
        amount_step=step,
        min_contracts=max(minimum, step),
        expiry=from_ms(expiry) if expiry else None,
        active=raw.get("active") is not False,
    )


def contracts_from_amount(market: Market, amount: Decimal, unit: AmountUnit) -> Decimal:
    """An exchange amount → contracts (Deribit's USD amounts, coin amounts)."""
    if unit in ("usd", "coin"):
        return amount / market.contract_size
    return amount


def parse_position(raw: Mapping[str, Any], market: Market, unit: AmountUnit) -> Position:
    size = contracts_from_amount(market, dec(raw.get("contracts")) or ZERO, unit)
    signed = -size if raw.get("side") == "short" else size
    entry = dec(raw.get("entryPrice")) or ZERO
    return Position(
        symbol=market.symbol,
        contracts=signed,
        entry_price=entry,
        mark_price=dec(raw.get("markPrice")),
        unrealized_pnl=dec(raw.get("unrealizedPnl")) or ZERO,
        leverage=dec(raw.get("leverage")),
        margin_mode=raw.get("marginMode")
        if raw.get("marginMode") in ("isolated", "cross")
        else None,
        liquidation_price=dec(raw.get("liquidationPrice")),
        hedge_mode=bool(raw.get("hedged")),
    )


def _margin_mode(raw: Mapping[str, Any]) -> MarginMode | None:
    mode = raw.get("marginMode")
    if mode in ("isolated", "cross"):
        return "isolated" if mode == "isolated" else "cross"
    # ccxt's Bybit parser leaves marginMode unset; Bybit's tradeMode says it (0 cross, 1 isolated)
    trade_mode = str((raw.get("info") or {}).get("tradeMode", ""))
    return {"0": "cross", "1": "isolated"}.get(trade_mode)  # type: ignore[return-value]


_STATES = {
    "closed": OrderState.FILLED,
    "canceled": OrderState.CANCELLED,
    "cancelled": OrderState.CANCELLED,
    "expired": OrderState.CANCELLED,
    "rejected": OrderState.REJECTED,
}


def parse_order(raw: Mapping[str, Any], market: Market, unit: AmountUnit) -> OrderStatus:
    amount = contracts_from_amount(market, dec(raw.get("amount")) or ZERO, unit)
    filled = contracts_from_amount(market, dec(raw.get("filled")) or ZERO, unit)
    status = raw.get("status")
    if status == "open":
        state = OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.OPEN
    else:
        state = _STATES.get(str(status), OrderState.UNKNOWN)
    fee = raw.get("fee") or {}
    side: Side = "sell" if raw.get("side") == "sell" else "buy"
    updated = raw.get("lastUpdateTimestamp") or raw.get("timestamp")
    return OrderStatus(
        client_order_id=str(raw.get("clientOrderId") or ""),
        exchange_order_id=str(raw["id"]) if raw.get("id") else None,
        symbol=market.symbol,
        side=side,
        state=state,
        contracts=amount,
        filled_contracts=filled,
        average_price=dec(raw.get("average")),
        fee=dec(fee.get("cost")) or ZERO,
        fee_currency=fee.get("currency"),
        reduce_only=bool(raw.get("reduceOnly")),
        updated_at=from_ms(updated) if updated else None,
    )


def parse_fill(raw: Mapping[str, Any], market: Market, unit: AmountUnit) -> Fill:
    info = raw.get("info") or {}
    fee = raw.get("fee") or {}
    side: Side = "sell" if raw.get("side") == "sell" else "buy"
    return Fill(
        trade_id=str(raw.get("id")),
        client_order_id=raw.get("clientOrderId") or info.get("orderLinkId") or None,
        exchange_order_id=str(raw["order"]) if raw.get("order") else None,
        symbol=market.symbol,
        side=side,
        contracts=contracts_from_amount(market, dec(raw.get("amount")) or ZERO, unit),
        price=dec(raw.get("price")) or ZERO,
        fee=dec(fee.get("cost")) or ZERO,
        fee_currency=fee.get("currency") or market.settle,
        timestamp=from_ms(raw["timestamp"]),
    )


def parse_funding_payment(
    raw: Mapping[str, Any], market: Market, unit: AmountUnit
) -> FundingPayment:
    """ccxt funding history entry → FundingPayment (positive = received).

    ccxt passes Bybit's ``execFee`` through as ``amount``: positive when the account paid. The
    currency is the market's settle coin (ccxt labels inverse funding "USD", which is wrong).
    """
    info = raw.get("info") or {}
    paid = dec(raw.get("amount")) or ZERO
    quantity = contracts_from_amount(market, dec(info.get("execQty")) or ZERO, unit)
    # Bybit reports the side of the funding execution; a short position shows as "Sell".
    signed = -quantity if str(info.get("side", "")).lower() == "sell" else quantity
    return FundingPayment(
        payment_id=str(raw.get("id")),
        symbol=market.symbol,
        timestamp=from_ms(raw["timestamp"]),
        rate=dec(raw.get("rate")) or dec(info.get("feeRate")) or ZERO,
        position_contracts=signed,
        amount=-paid,
        currency=market.settle,
    )


def status_from_fills(
    client_order_id: str, symbol: str, fills: Sequence[Fill]
) -> OrderStatus | None:
    """An order known only by its executions (it aged out of the order lists)."""
    mine = [f for f in fills if f.client_order_id == client_order_id]
    if not mine:
        return None
    filled = sum((f.contracts for f in mine), ZERO)
    face = sum((f.contracts / f.price for f in mine if f.price), ZERO)
    return OrderStatus(
        client_order_id=client_order_id,
        exchange_order_id=mine[0].exchange_order_id,
        symbol=symbol,
        side=mine[0].side,
        state=OrderState.FILLED,
        contracts=filled,
        filled_contracts=filled,
        average_price=filled / face if face else None,
        fee=sum((f.fee for f in mine), ZERO),
        fee_currency=mine[0].fee_currency,
    )


def parse_key_info(result: Mapping[str, Any]) -> KeyInfo:
    """Bybit ``/v5/user/query-api`` result → KeyInfo.

    ``permissions`` maps a product to granted actions (``{"Wallet": ["AccountTransfer",
    "Withdraw"], ...}``); ``ips`` is ``["*"]`` when the key is bound to no IP; ``readOnly`` 1
    means the key cannot trade.
    """
    permissions = {
        str(product): tuple(str(a) for a in actions or ())
        for product, actions in (result.get("permissions") or {}).items()
    }
    can_withdraw = any(
        "withdraw" in action.lower() for acts in permissions.values() for action in acts
    )
    ips = [str(ip) for ip in result.get("ips") or ()]
    return KeyInfo(
        can_trade=str(result.get("readOnly", "0")) == "0",
        can_withdraw=can_withdraw,
        ip_whitelisted=bool(ips) and ips != ["*"],
        permissions=permissions,
    )
