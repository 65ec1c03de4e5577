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
    MarginWallet,
    Market,
    OrderState,
    OrderStatus,
    Position,
    Side,
)
from bot.exchange.profile_model import AmountUnit, InfoRows, WalletTotal

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
    raw: Mapping[str, Any],
    precision_mode: int,
    min_amount_is_contract_size: bool = False,
    amount_unit: AmountUnit = "contracts",
) -> Market | None:
    """A ccxt derivatives market → Market; spot and option markets → None.

    ``min_amount_is_contract_size``: ccxt's Bybit parser copies minOrderQty into both
    contractSize and limits.amount.min, so the minimum is not a real minimum there.
    ``amount_unit``: where ccxt's amounts are in the contract's face unit (Deribit: USD for
    inverse, coin for linear), its amount step and minimum are converted to contracts.
    """
    if not raw.get("contract") or raw.get("option"):
        return None
    contract_size = dec(raw.get("contractSize"))
    if contract_size is None or contract_size <= 0:
        return None
    step = dec((raw.get("precision") or {}).get("amount")) or Decimal(1)
    if precision_mode == _DECIMAL_PLACES:
        step = Decimal(1).scaleb(-int(step))
    minimum = dec(((raw.get("limits") or {}).get("amount") or {}).get("min")) or step
    if min_amount_is_contract_size:
        minimum = step
    if amount_unit in ("usd", "coin"):
        step, minimum = step / contract_size, minimum / contract_size
    # ccxt gives some perpetuals an expiry (Deribit: year 3000): only a dated future has one.
    expiry = raw.get("expiry") if raw.get("future") or raw.get("type") == "future" else None
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


def amount_from_contracts(market: Market, contracts: Decimal, unit: AmountUnit) -> Decimal:
    """Contracts → the amount ccxt's ``create_order`` takes for this exchange.

    ``contracts`` for most; the contract's face unit for ``usd``/``coin`` exchanges (Deribit: 1,000
    contracts of BTC-PERPETUAL, 10 USD each, are sent as 10,000).
    """
    if unit in ("usd", "coin"):
        return contracts * market.contract_size
    return contracts


# Raw size fields, in ccxt's own unit, for parsers that leave ``contracts`` None (BingX reads
# ``positionAmt`` into ``notional`` instead: ccxt/ccxt#18840).
RAW_SIZE_KEYS = ("positionAmt", "size", "pos", "holdVol", "vol", "qty")


class UnreadablePositionError(ValueError):
    """A position row whose size cannot be read: unknown, never to be taken as flat."""


def _position_size(raw: Mapping[str, Any]) -> Decimal:
    """ccxt's ``contracts``, else the raw size; a size nowhere to be read is an error, because
    reading it as 0 makes the bot short again every tick (hummingbot#6470)."""
    contracts = dec(raw.get("contracts"))
    if contracts is not None:
        return contracts
    info = raw.get("info") or {}
    for key in RAW_SIZE_KEYS:
        value = dec(info.get(key)) if isinstance(info, Mapping) else None
        if value is not None:
            return value
    raise UnreadablePositionError(f"{raw.get('symbol')}: position without a readable size")


def parse_position(raw: Mapping[str, Any], market: Market, unit: AmountUnit) -> Position:
    """ccxt position → Position; ``side`` gives the sign (Deribit's ``size`` is already signed,
    as is a raw fallback size when ccxt gives no side). Raises ``UnreadablePositionError``."""
    amount = _position_size(raw)
    size = abs(contracts_from_amount(market, amount, unit))
    side = raw.get("side")
    short = side == "short" or (side not in ("long", "short") and amount < 0)
    signed = -size if short else size
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


def client_id_of(raw: Mapping[str, Any], info_key: str | None = None) -> str | None:
    """Our client order id in a ccxt order or trade: ccxt's ``clientOrderId``, else the raw
    field the exchange echoes it in (Bybit ``orderLinkId``, Deribit ``label``)."""
    value = raw.get("clientOrderId")
    if not value and info_key is not None:
        value = (raw.get("info") or {}).get(info_key)
    return str(value) if value else None


def parse_order(
    raw: Mapping[str, Any], market: Market, unit: AmountUnit, client_id_info_key: str | None = None
) -> OrderStatus:
    amount = contracts_from_amount(market, dec(raw.get("amount")) or ZERO, unit)
    filled = contracts_from_amount(market, dec(raw.get("filled")) or ZERO, unit)
    return order_status(raw, market.symbol, amount, filled, client_id_info_key)


def order_status(
    raw: Mapping[str, Any],
    symbol: str,
    amount: Decimal,
    filled: Decimal,
    client_id_info_key: str | None,
) -> OrderStatus:
    """A ccxt order -> OrderStatus, with ``amount`` and ``filled`` already in the port's unit
    (contracts for derivatives, base coins for spot)."""
    status = raw.get("status")
    if status == "open":
        state = OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.OPEN
    else:
        state = _STATES.get(str(status), OrderState.UNKNOWN)
    fee = raw.get("fee") or {}
    side: Side = "sell" if raw.get("side") == "sell" else "buy"
    updated = raw.get("lastUpdateTimestamp") or raw.get("timestamp")
    return OrderStatus(
        client_order_id=client_id_of(raw, client_id_info_key) or "",
        exchange_order_id=str(raw["id"]) if raw.get("id") else None,
        symbol=symbol,
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


def parse_fill(
    raw: Mapping[str, Any], market: Market, unit: AmountUnit, client_id_info_key: str | None = None
) -> Fill:
    fee = raw.get("fee") or {}
    side: Side = "sell" if raw.get("side") == "sell" else "buy"
    return Fill(
        trade_id=str(raw.get("id")),
        client_order_id=client_id_of(raw, client_id_info_key),
        exchange_order_id=str(raw["order"]) if raw.get("order") else None,
        symbol=market.symbol,
        side=side,
        contracts=contracts_from_amount(market, dec(raw.get("amount")) or ZERO, unit),
        price=dec(raw.get("price")) or ZERO,
        fee=dec(fee.get("cost")) or ZERO,
        fee_currency=fee.get("currency") or market.settle,
        timestamp=from_ms(raw["timestamp"]),
    )


HOUR_MS = Decimal(3_600_000)


def funding_interval_hours(item: Mapping[str, Any]) -> Decimal | None:
    """Hours between fundings of a ccxt funding rate, or None when it cannot be known.

    Derived from consecutive funding times first (``nextFundingTimestamp`` − ``fundingTimestamp``,
    OKX's documented way: the interval may move from 8 h to 4, 2 or 1 h), then ccxt's
    ``interval`` ("8h", or raw milliseconds where ccxt has no name for the gap, e.g. OKX 3 h).
    Never a default 8 h.
    """
    current = dec(item.get("fundingTimestamp"))
    following = dec(item.get("nextFundingTimestamp"))
    if current is not None and following is not None and following > current:
        return (following - current) / HOUR_MS
    text = str(item.get("interval") or "").strip().lower()
    if text.endswith("h"):
        hours = dec(text[:-1])
    elif text.endswith("m"):
        minutes = dec(text[:-1])
        hours = None if minutes is None else minutes / 60
    else:
        millis = dec(text)
        hours = None if millis is None else millis / HOUR_MS
    return hours if hours is not None and hours > 0 else None


def parse_funding_payment(
    raw: Mapping[str, Any], market: Market, unit: AmountUnit, paid_positive: bool = True
) -> FundingPayment:
    """ccxt funding history entry → FundingPayment (positive = received).

    ccxt passes Bybit's ``execFee`` through as ``amount``: positive when the account paid
    (``paid_positive``); other exchanges' income rows are positive when received. The
    currency is the market's settle coin (ccxt labels inverse funding "USD", which is wrong).
    """
    info = raw.get("info") or {}
    amount = dec(raw.get("amount")) or ZERO
    paid = amount if paid_positive else -amount
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


def balance_totals(
    balance: Mapping[str, Any], from_info: InfoRows | None = None
) -> dict[str, Decimal]:
    """coin → total of a ccxt balance (numbers only; empty totals dropped).

    ``from_info``: read each coin's total from the raw rows instead, for exchanges whose unified
    total is empty or means something else (BingX coin-M, MEXC futures).
    """
    if from_info is not None:
        rows = (balance.get("info") or {}).get(from_info.rows_key) or []
        result: dict[str, Decimal] = {}
        for row in rows:
            coin = row.get(from_info.coin_key) if isinstance(row, Mapping) else None
            amount = dec(row.get(from_info.amount_key)) if coin else None
            if coin and amount is not None:
                result[str(coin)] = result.get(str(coin), ZERO) + amount
        return result
    totals = balance.get("total") or {}
    return {coin: amount for coin, value in totals.items() if (amount := dec(value)) is not None}


def parse_margin_wallets(
    balance: Mapping[str, Any],
    positions: Sequence[Mapping[str, Any]],
    markets: Mapping[str, Market],
    total: WalletTotal = "wallet",
    from_info: InfoRows | None = None,
) -> dict[str, MarginWallet]:
    """Coin-margined wallets from a ccxt balance and ccxt positions (coin → wallet, in coin).

    The unrealized PnL of the inverse positions is summed per settle coin. Where the exchange's
    total already is equity (``total="equity"``: Binance COIN-M, OKX, Deribit, BingX, MEXC), the
    realized balance is total − PnL, so that equity is not counted twice.
    """
    totals = balance_totals(balance, from_info)
    upnl: dict[str, Decimal] = {}
    for raw in positions:
        market = markets.get(str(raw.get("symbol", "")))
        if market is not None and market.is_inverse:
            upnl[market.settle] = upnl.get(market.settle, ZERO) + (
                dec(raw.get("unrealizedPnl")) or ZERO
            )
    wallets: dict[str, MarginWallet] = {}
    for coin in sorted(set(totals) | set(upnl)):
        pnl = upnl.get(coin, ZERO)
        amount = totals.get(coin, ZERO)
        realized = amount - pnl if total == "equity" and coin in totals else amount
        if realized != 0 or pnl != 0:
            wallets[coin] = MarginWallet(coin, realized, pnl)
    return wallets
