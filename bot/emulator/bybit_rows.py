"""Pure conversions of account state to Bybit v5 rows: wallets, positions, orders, executions.

Companion of ``bot.emulator.bybit_format`` (markets); the same unit rules apply: inverse
quantities in contracts, values, fees and PnL in the settle coin, times in epoch ms as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.core.types import TERMINAL_STATES, MarginWallet, Market, OrderState, Position
from bot.emulator.bybit_format import Row, bybit_id, fmt, ms, round_to_tick, to_qty
from bot.sim.records import Execution, OrderRecord

ZERO = Decimal(0)
PROTECTION = Decimal("0.05")  # a market order's protection price: 5% through the last price

_STATUS = {
    OrderState.OPEN: "New",
    OrderState.PARTIALLY_FILLED: "PartiallyFilled",
    OrderState.FILLED: "Filled",
    OrderState.CANCELLED: "Cancelled",
    OrderState.REJECTED: "Rejected",
}
_REJECT_REASONS = {
    "post_only": "EC_PostOnlyWillTakeLiquidity",
    "market_closed": "EC_InvalidSymbolStatus",
}
_EXEC_TYPES = {
    "trade": "Trade",
    "funding": "Funding",
    "liquidation": "BustTrade",
    "delivery": "Delivery",
}
EXEC_KINDS = {value: key for key, value in _EXEC_TYPES.items()}


@dataclass(frozen=True, slots=True)
class OrderMeta:
    """What the emulator remembers about an order beyond the engine's record."""

    time_in_force: str  # GTC, IOC, FOK or PostOnly
    position_idx: int  # 0 one-way; 1/2 hedge-mode buy/sell side
    last_price: Decimal  # the price when the order was placed
    cancel_type: str = "UNKNOWN"


def side_text(side: str) -> str:
    return "Buy" if side == "buy" else "Sell"


def order_status_text(state: OrderState, reject_reason: str | None) -> str:
    """Bybit ``orderStatus``; a post-only order that would take is accepted then cancelled."""
    if state == OrderState.REJECTED and reject_reason == "post_only":
        return "Cancelled"
    return _STATUS.get(state, "Created")


def _reject_reason(state: OrderState, reason: str | None) -> str:
    if reason is None:
        return "EC_PerCancelRequest" if state == OrderState.CANCELLED else "EC_NoError"
    return _REJECT_REASONS.get(reason, "EC_Others")


def value_of(market: Market, contracts: Decimal, price: Decimal) -> Decimal:
    """Settle-currency value: inverse face/price coin, linear coin × price."""
    if price == 0:
        return ZERO
    if market.kind == "inverse":
        return contracts * market.contract_size / price
    return contracts * market.contract_size * price


def order_row(market: Market, record: OrderRecord, meta: OrderMeta | None, tick: Decimal) -> Row:
    """A ``/v5/order/realtime`` and ``/v5/order/history`` row."""
    status = record.status
    qty = to_qty(market, status.contracts)
    filled = to_qty(market, status.filled_contracts)
    terminal = status.state in TERMINAL_STATES
    leaves = ZERO if terminal else qty - filled
    leaves_contracts = ZERO if terminal else status.contracts - status.filled_contracts
    last = meta.last_price if meta else ZERO
    if record.limit_price is not None:
        price = record.limit_price
    elif last:
        through = 1 + PROTECTION if status.side == "buy" else 1 - PROTECTION
        price = round_to_tick(last * through, tick)
    else:
        price = ZERO
    fee_detail: dict[str, str] = {}
    if status.filled_contracts and status.fee_currency:
        fee_detail[status.fee_currency] = fmt(status.fee)
    tif = meta.time_in_force if meta else ("GTC" if record.order_type == "limit" else "IOC")
    cancel_type = meta.cancel_type if meta else "UNKNOWN"
    if (
        status.state == OrderState.CANCELLED
        and cancel_type == "UNKNOWN"
        and not status.reject_reason
    ):
        cancel_type = "CancelByUser"
    updated = ms(status.updated_at) if status.updated_at else ms(record.created_at)
    return {
        "orderId": status.exchange_order_id or "",
        "orderLinkId": status.client_order_id,
        "blockTradeId": "",
        "symbol": bybit_id(market),
        "price": fmt(price),
        "qty": fmt(qty),
        "side": side_text(status.side),
        "isLeverage": "",
        "positionIdx": meta.position_idx if meta else 0,
        "orderStatus": order_status_text(status.state, status.reject_reason),
        "cancelType": cancel_type,
        "rejectReason": _reject_reason(status.state, status.reject_reason),
        "avgPrice": fmt(status.average_price) if status.average_price else "",
        "leavesQty": fmt(leaves),
        "leavesValue": fmt(value_of(market, leaves_contracts, record.limit_price or last)),
        "cumExecQty": fmt(filled),
        "cumExecValue": fmt(record.cum_value),
        "cumExecFee": fmt(status.fee),
        "cumFeeDetail": fee_detail,
        "timeInForce": tif,
        "orderType": "Limit" if record.order_type == "limit" else "Market",
        "stopOrderType": "",
        "orderIv": "",
        "triggerPrice": "",
        "takeProfit": "",
        "stopLoss": "",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": fmt(last),
        "reduceOnly": status.reduce_only,
        "closeOnTrigger": False,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "placeType": "",
        "createType": "CreateByUser",
        "marketUnit": "",
        "createdTime": str(ms(record.created_at)),
        "updatedTime": str(updated),
    }


def execution_row(
    market: Market,
    execution: Execution,
    order: OrderRecord | None,
    fee_rate: Decimal,
) -> Row:
    """An ``/v5/execution/list`` row. Funding: ``execFee`` is what the account PAID (negative
    when it received), ``feeRate`` the funding rate, ``side`` the position's side."""
    e = execution
    if e.kind == "funding":
        exec_fee, rate = -e.funding, e.funding_rate if e.funding_rate is not None else ZERO
    else:
        exec_fee, rate = e.fee, fee_rate
    if order is not None:
        order_type = "Limit" if order.order_type == "limit" else "Market"
        order_qty = fmt(to_qty(market, order.status.contracts))
        order_price = fmt(order.limit_price) if order.limit_price is not None else "0"
    else:
        order_type, order_qty, order_price = "UNKNOWN", "0", "0"
    digits = "".join(ch for ch in e.exec_id if ch.isdigit())
    return {
        "symbol": bybit_id(market),
        "orderType": order_type,
        "underlyingPrice": "",
        "orderLinkId": e.client_order_id or "",
        "side": side_text(e.side),
        "indexPrice": fmt(e.price),
        "orderId": e.exchange_order_id or "",
        "stopOrderType": "UNKNOWN",
        "leavesQty": "0",
        "execTime": str(e.ts_ms),
        "feeCurrency": "",
        "isMaker": e.is_maker,
        "execFee": fmt(exec_fee),
        "feeRate": fmt(rate),
        "execId": e.exec_id,
        "tradeIv": "",
        "blockTradeId": "",
        "markPrice": fmt(e.price),
        "execPrice": fmt(e.price),
        "markIv": "",
        "orderQty": order_qty,
        "orderPrice": order_price,
        "execValue": fmt(e.value),
        "execType": _EXEC_TYPES[e.kind],
        "execQty": fmt(to_qty(market, e.contracts)),
        "closedSize": fmt(to_qty(market, e.closed_contracts)),
        "extraFees": "",
        "createType": "CreateByUser" if e.kind == "trade" else "",
        "marketUnit": "",
        "seq": int(digits or 0),
    }


def position_row(
    market: Market,
    position: Position,
    *,
    position_idx: int,
    initial_margin: Decimal,
    maintenance_margin: Decimal,
    realized: Decimal,
    now_ms: int,
    tick: Decimal,
) -> Row:
    """A ``/v5/position/list`` row; a flat position has side ``""`` and size ``"0"``. The
    liquidation price is given to the price tick, as Bybit does."""
    contracts = position.contracts
    size = abs(contracts)
    entry = position.entry_price
    flat = contracts == 0
    mark = position.mark_price if position.mark_price is not None else entry
    liquidation = position.liquidation_price
    return {
        "positionIdx": position_idx,
        "riskId": 1,
        "riskLimitValue": "150",
        "symbol": bybit_id(market),
        "side": "" if flat else ("Buy" if contracts > 0 else "Sell"),
        "size": fmt(to_qty(market, size)),
        "avgPrice": fmt(entry),
        "positionValue": "" if flat else fmt(value_of(market, size, entry)),
        "tradeMode": 1 if position.margin_mode == "isolated" else 0,
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 0 if flat else 2,
        "leverage": fmt(position.leverage) if position.leverage is not None else "1",
        "positionBalance": "0",
        "markPrice": fmt(mark),
        "liqPrice": fmt(liquidation.quantize(tick) if liquidation is not None else None),
        "bustPrice": "",
        "positionMM": fmt(maintenance_margin),
        "positionIM": fmt(initial_margin),
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": "" if flat else fmt(position.unrealized_pnl),
        "curRealisedPnl": fmt(realized),
        "cumRealisedPnl": fmt(realized),
        "seq": now_ms,
        "isReduceOnly": False,
        "mmrSysUpdateTime": "",
        "leverageSysUpdatedTime": "",
        "sessionAvgPrice": "",
        "createdTime": str(now_ms),
        "updatedTime": str(now_ms),
    }


def contract_wallet_coin(
    wallet: MarginWallet,
    *,
    available: Decimal,
    position_im: Decimal,
    position_mm: Decimal,
    order_im: Decimal,
    usd_price: Decimal | None,
) -> Row:
    """A ``coin`` entry of a CONTRACT wallet (amounts in ``wallet.coin``)."""
    return {
        "coin": wallet.coin,
        "equity": fmt(wallet.equity),
        "usdValue": fmt(wallet.equity * usd_price) if usd_price else "",
        "walletBalance": fmt(wallet.balance),
        "locked": "0",
        "spotHedgingQty": "0",
        "borrowAmount": "",
        "availableToBorrow": "",
        "availableToWithdraw": fmt(max(available, ZERO)),
        "accruedInterest": "",
        "totalOrderIM": fmt(order_im),
        "totalPositionIM": fmt(position_im),
        "totalPositionMM": fmt(position_mm),
        "unrealisedPnl": fmt(wallet.unrealized_pnl),
        "cumRealisedPnl": "0",
        "bonus": "0",
        "collateralSwitch": False,
        "marginCollateral": False,
    }


def spot_wallet_coin(coin: str, amount: Decimal, usd_price: Decimal | None) -> Row:
    """A ``coin`` entry of a classic SPOT wallet (nothing is locked: no spot orders)."""
    return {
        "coin": coin,
        "equity": fmt(amount),
        "usdValue": fmt(amount * usd_price) if usd_price else "",
        "walletBalance": fmt(amount),
        "free": fmt(amount),
        "locked": "0",
        "availableToWithdraw": fmt(amount),
        "borrowAmount": "",
        "accruedInterest": "",
        "unrealisedPnl": "0",
        "cumRealisedPnl": "0",
    }


def wallet_account(account_type: str, coins: list[Row]) -> Row:
    """One ``list`` entry of ``/v5/account/wallet-balance`` (account totals left blank, as
    Bybit does for classic wallets)."""
    blank: dict[str, Any] = dict.fromkeys(
        (
            "accountIMRate",
            "accountMMRate",
            "totalEquity",
            "totalWalletBalance",
            "totalMarginBalance",
            "totalAvailableBalance",
            "totalPerpUPL",
            "totalInitialMargin",
            "totalMaintenanceMargin",
            "accountLTV",
        ),
        "",
    )
    return {"accountType": account_type, **blank, "coin": coins}
