"""Pure conversions for the classic account's spot side and its wallet transfers: spot order
rows (``/v5/order/realtime`` and ``/history`` with ``category=spot``) and inter-transfer rows
(``/v5/asset/transfer/query-inter-transfer-list``).

Units, as Bybit reports them: ``qty`` is in the unit the order was sent in (``marketUnit``
``baseCoin`` or ``quoteCoin``; when absent, a market Buy's qty is quote coin and a Sell's base
coin), ``cumExecQty`` in base coin, ``cumExecValue`` in quote coin, the fee in the currency
received (``cumFeeDetail``). Spot rows carry no ``tpslMode``: ccxt reads its presence as "a
contract order".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from bot.core.types import OrderState
from bot.emulator.bybit_format import Row, fmt, spot_id
from bot.emulator.bybit_rows import order_status_text, side_text
from bot.sim.records import LedgerEntry, SpotOrderRecord, Wallet, datetime_to_ms

ZERO = Decimal(0)
MarketUnit = Literal["baseCoin", "quoteCoin"]
ACCOUNT_TYPES: dict[Wallet, str] = {"spot": "SPOT", "margin": "CONTRACT"}
WALLETS: dict[str, Wallet] = {name: wallet for wallet, name in ACCOUNT_TYPES.items()}
_REJECT_REASONS = {"insufficient_balance": "EC_InsufficientBalance"}


@dataclass(frozen=True, slots=True)
class SpotMeta:
    """What the emulator remembers about a spot order beyond the engine's record: the qty as
    sent, its unit as sent (None: not sent, the side's default) and the price at placement."""

    qty: Decimal
    market_unit: MarketUnit | None
    last_price: Decimal


def spot_order_row(record: SpotOrderRecord, meta: SpotMeta | None) -> Row:
    status = record.status
    filled = status.state == OrderState.FILLED
    fee_detail = {status.fee_currency: fmt(status.fee)} if filled and status.fee_currency else {}
    created = datetime_to_ms(record.created_at)
    reason = "EC_NoError"
    if status.state == OrderState.REJECTED:
        reason = _REJECT_REASONS.get(status.reject_reason or "", "EC_Others")
    return {
        "orderId": status.exchange_order_id or "",
        "orderLinkId": status.client_order_id,
        "blockTradeId": "",
        "symbol": spot_id(record.base),
        "price": "0",
        "qty": fmt(meta.qty if meta else status.contracts),
        "side": side_text(status.side),
        "isLeverage": "0",
        "positionIdx": 0,
        "orderStatus": order_status_text(status.state, status.reject_reason),
        "cancelType": "UNKNOWN",
        "rejectReason": reason,
        "avgPrice": fmt(status.average_price) if status.average_price else "",
        "leavesQty": "0",
        "leavesValue": "0",
        "cumExecQty": fmt(status.filled_contracts),
        "cumExecValue": fmt(record.value),
        "cumExecFee": fmt(status.fee),
        "cumFeeDetail": fee_detail,
        "timeInForce": "IOC",
        "orderType": "Market",
        "stopOrderType": "",
        "orderIv": "",
        "triggerPrice": "0",
        "takeProfit": "0",
        "stopLoss": "0",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": fmt(meta.last_price) if meta else "",
        "reduceOnly": False,
        "closeOnTrigger": False,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "placeType": "",
        "createType": "CreateByUser",
        "marketUnit": (meta.market_unit or "") if meta else "",
        "createdTime": str(created),
        "updatedTime": str(datetime_to_ms(status.updated_at) if status.updated_at else created),
    }


def transfer_row(entry: LedgerEntry) -> Row:
    """An inter-transfer row; transfers made without an id show their ledger id."""
    return {
        "transferId": entry.reference or entry.entry_id,
        "coin": entry.coin,
        "amount": fmt(entry.amount),
        "fromAccountType": ACCOUNT_TYPES[entry.source] if entry.source else "",
        "toAccountType": ACCOUNT_TYPES[entry.destination] if entry.destination else "",
        "timestamp": str(datetime_to_ms(entry.timestamp)),
        "status": "SUCCESS",
    }
