"""Private asset endpoints: transfers between the classic account's own wallets.

Account types: ``SPOT`` (the engine's spot wallet) and ``CONTRACT`` (its coin-margined
wallets); any other type is refused (a classic account without UNIFIED/FUND here). The
``transferId`` is a UUID chosen by the client and unique for the account's life: a second
transfer with the same id is refused (131214) and moves nothing. Every transfer completes at
once (status SUCCESS).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from bot.emulator.reply import (
    ApiError,
    Params,
    Reply,
    opt_int,
    opt_str,
    paginate,
    params_error,
    req_decimal,
    req_str,
    time_window,
)
from bot.emulator.spot_rows import WALLETS, transfer_row
from bot.emulator.state import EmulatorState, Route, RouteTable
from bot.sim.errors import DuplicateIdError, InsufficientFundsError
from bot.sim.records import Wallet, datetime_to_ms

AMOUNT_STEP = Decimal("0.00000001")


def _wallet(params: Params, name: str) -> Wallet:
    account_type = req_str(params, name)
    wallet = WALLETS.get(account_type)
    if wallet is None:
        raise ApiError(131204, f"Account info error: {name} {account_type!r} (use SPOT, CONTRACT)")
    return wallet


def _transfer_id(params: Params) -> str:
    text = req_str(params, "transferId")
    try:
        uuid.UUID(text)
    except ValueError:
        raise params_error(f"transferId {text!r} must be a UUID") from None
    return text


def inter_transfer(state: EmulatorState, params: Params) -> Reply:
    """``{transferId, coin, amount, fromAccountType, toAccountType}`` -> ``{transferId,
    status}``."""
    transfer_id = _transfer_id(params)
    coin = req_str(params, "coin")
    amount = req_decimal(params, "amount")
    source, destination = _wallet(params, "fromAccountType"), _wallet(params, "toAccountType")
    if source == destination:
        raise ApiError(131211, "fromAccountType can't be the same as toAccountType")
    if amount <= 0:
        raise ApiError(131215, "Amount error")
    if amount % AMOUNT_STEP:
        raise ApiError(131210, "Amount accuracy error")
    try:
        state.engine.transfer(coin, amount, source, destination, transfer_id=transfer_id)
    except DuplicateIdError:
        raise ApiError(131214, "TransferId exist") from None
    except InsufficientFundsError as exc:
        raise ApiError(131212, f"Insufficient balance ({exc})") from None
    return Reply({"transferId": transfer_id, "status": "SUCCESS"})


def inter_transfer_list(state: EmulatorState, params: Params) -> Reply:
    """Transfers newest first, filtered by ``transferId``, ``coin`` and ``status``; without a
    transferId, within the time window (default the last 7 days)."""
    engine = state.engine
    transfer_id = opt_str(params, "transferId")
    coin = opt_str(params, "coin")
    status = opt_str(params, "status")
    limit = opt_int(params, "limit", 1, 50) or 20
    start, end = (0, 0) if transfer_id else time_window(params, engine.now_ms)
    rows = []
    for entry in reversed(engine.ledger()):
        if entry.kind != "transfer" or coin not in (None, entry.coin):
            continue
        row = transfer_row(entry)
        if transfer_id not in (None, row["transferId"]) or status not in (None, row["status"]):
            continue
        if end and not start <= datetime_to_ms(entry.timestamp) <= end:
            continue
        rows.append(row)
    page, cursor = paginate(rows, limit, opt_str(params, "cursor"))
    return Reply({"list": page, "nextPageCursor": cursor})


ROUTES: RouteTable = {
    ("POST", "/v5/asset/transfer/inter-transfer"): Route(inter_transfer, private=True),
    ("GET", "/v5/asset/transfer/query-inter-transfer-list"): Route(
        inter_transfer_list, private=True
    ),
}
