"""Private account endpoints: API-key info, account info, wallets, positions, leverage and
margin/position modes. The account is a CLASSIC one (``uta`` 0, ``unifiedMarginStatus`` 1):
coin-margined wallets under accountType CONTRACT, spot balances under SPOT."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.core.types import MarginMode, Market, Position
from bot.emulator.bybit_format import Row
from bot.emulator.bybit_rows import (
    contract_wallet_coin,
    position_row,
    spot_wallet_coin,
    value_of,
    wallet_account,
)
from bot.emulator.reply import (
    ApiError,
    Params,
    Reply,
    opt_int,
    opt_str,
    paginate,
    params_error,
    req_category,
    req_decimal,
    req_str,
)
from bot.emulator.routes_market import CONTRACT_CATEGORIES, contract_market
from bot.emulator.state import EmulatorState, Route, RouteTable
from bot.sim.errors import InsufficientFundsError, InvalidRequestError
from bot.sim.params import STABLECOINS

ZERO = Decimal(0)
# Bybit v5 switch-mode docs: inverse perpetuals are one-way only; the error-code list names
# 110029 "Hedge mode is not available for this symbol".
HEDGE_MODE_NOT_AVAILABLE = "Hedge mode is not available for this symbol"
MARGIN_MODES: dict[str, MarginMode] = {"REGULAR_MARGIN": "cross", "ISOLATED_MARGIN": "isolated"}


def query_api(state: EmulatorState, params: Params) -> Reply:
    info = state.key_info
    created = datetime.fromtimestamp(state.launch_ms / 1000, tz=UTC)
    return Reply(
        {
            "id": "1",
            "note": info.note,
            "apiKey": state.api_key,
            "readOnly": 1 if info.read_only else 0,
            "secret": "",
            "permissions": info.permissions(),
            "ips": list(info.ips),
            "type": 1,
            "deadlineDay": -1,
            "expiredAt": "",
            "createdAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "unified": 0,
            "uta": 0,
            "userID": 1,
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
            "rsaPublicKey": "",
            "isMaster": True,
            "parentUid": "0",
            "kycLevel": "LEVEL_DEFAULT",
            "kycRegion": "",
        }
    )


def account_info(state: EmulatorState, params: Params) -> Reply:
    return Reply(
        {
            "unifiedMarginStatus": 1,
            "marginMode": "REGULAR_MARGIN",
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
            "updatedTime": str(state.launch_ms),
            "dcpStatus": "OFF",
            "timeWindow": 10,
            "smpGroup": 0,
        }
    )


def _usd_price(state: EmulatorState, coin: str) -> Decimal | None:
    if coin in STABLECOINS:
        return Decimal(1)
    return state.engine.price(coin) if coin in state.engine.feed.coins else None


def _margins(state: EmulatorState, market: Market, position: Position) -> tuple[Decimal, Decimal]:
    """(initial, maintenance) margin of a position: value at entry / leverage, and the
    maintenance rate × value at entry (settle currency)."""
    if position.contracts == 0:
        return ZERO, ZERO
    value = value_of(market, abs(position.contracts), position.entry_price)
    leverage = position.leverage or Decimal(1)
    return value / leverage, value * state.engine.params.maintenance_margin_rate


def _contract_coins(state: EmulatorState, wanted: set[str] | None) -> list[Row]:
    engine = state.engine
    markets = engine.markets()
    positions = engine.positions()
    rows: list[Row] = []
    for coin, wallet in engine.margin_wallets().items():
        if wanted is not None and coin not in wanted:
            continue
        position_im = position_mm = cross_pnl = ZERO
        for symbol, position in positions.items():
            market = markets[symbol]
            if market.settle != coin:
                continue
            im, mm = _margins(state, market, position)
            position_im += im
            position_mm += mm
            if position.margin_mode == "cross":
                cross_pnl += position.unrealized_pnl
        available = engine.available_balance(coin)
        # available = balance - position IM - order IM + unrealized cross loss (engine rule)
        order_im = max(wallet.balance - position_im + min(cross_pnl, ZERO) - available, ZERO)
        rows.append(
            contract_wallet_coin(
                wallet,
                available=available,
                position_im=position_im,
                position_mm=position_mm,
                order_im=order_im,
                usd_price=_usd_price(state, coin),
            )
        )
    return rows


def wallet_balance(state: EmulatorState, params: Params) -> Reply:
    """accountType CONTRACT (coin-margined wallets) or SPOT; ``coin`` filters (a, b, ...)."""
    account_type = req_str(params, "accountType")
    coin_text = opt_str(params, "coin")
    wanted = None if coin_text is None else {c.strip() for c in coin_text.split(",")}
    if account_type == "CONTRACT":
        coins = _contract_coins(state, wanted)
    elif account_type == "SPOT":
        coins = [
            spot_wallet_coin(coin, amount, _usd_price(state, coin))
            for coin, amount in sorted(state.engine.spot_balances().items())
            if wanted is None or coin in wanted
        ]
    else:
        raise params_error(f"accountType {account_type!r}: a classic account has CONTRACT, SPOT")
    return Reply({"list": [wallet_account(account_type, coins)]})


def _position_rows(
    state: EmulatorState, market: Market, position: Position, flat: bool
) -> list[Row]:
    """One row (one-way), or the hedge-mode pair (buy side idx 1, sell side idx 2) with the side
    holding the position first; ``flat`` False drops empty rows."""
    engine = state.engine
    realized = engine.realized_pnl(market.symbol)
    now = engine.now_ms

    def row(pos: Position, idx: int) -> Row:
        im, mm = _margins(state, market, pos)
        return position_row(
            market,
            pos,
            position_idx=idx,
            initial_margin=im,
            maintenance_margin=mm,
            realized=realized,
            now_ms=now,
            tick=state.tick(market.base),
        )

    if not engine.hedge_mode:
        return [row(position, 0)] if flat or position.contracts else []
    empty = Position(
        market.symbol,
        ZERO,
        ZERO,
        position.mark_price,
        leverage=position.leverage,
        margin_mode=position.margin_mode,
    )
    held_idx = 2 if position.contracts < 0 else 1
    rows = [row(position, held_idx)] if flat or position.contracts else []
    if flat:
        rows.append(row(empty, 3 - held_idx))
    return rows


def position_list(state: EmulatorState, params: Params) -> Reply:
    """With ``symbol``: always that symbol (flat: side "" size "0"); without: non-zero only."""
    category = req_category(params, CONTRACT_CATEGORIES)
    symbol = opt_str(params, "symbol")
    settle = opt_str(params, "settleCoin")
    base = opt_str(params, "baseCoin")
    if category == "linear" and not (symbol or settle or base):
        raise params_error("symbol or settleCoin is required")
    limit = opt_int(params, "limit", 1, 200) or 20
    engine = state.engine
    rows: list[Row] = []
    if symbol is not None:
        market = contract_market(state, category, symbol)
        position = engine.positions([market.symbol])[market.symbol]
        rows = _position_rows(state, market, position, flat=True)
    else:
        markets = engine.markets()
        for sym, position in engine.positions().items():
            market = markets[sym]
            if market.kind != category or settle not in (None, market.settle):
                continue
            if base not in (None, market.base):
                continue
            rows.extend(_position_rows(state, market, position, flat=False))
    page, cursor = paginate(rows, limit, opt_str(params, "cursor"))
    return Reply({"list": page, "nextPageCursor": cursor, "category": category})


def _leverage(state: EmulatorState, params: Params) -> tuple[Market, Decimal]:
    category = req_category(params, CONTRACT_CATEGORIES)
    market = contract_market(state, category, req_str(params, "symbol"))
    buy = req_decimal(params, "buyLeverage")
    sell = req_decimal(params, "sellLeverage")
    if buy != sell and not state.engine.hedge_mode:
        raise params_error("buyLeverage must equal sellLeverage in one-way mode")
    return market, buy


def _apply_leverage(state: EmulatorState, market: Market, leverage: Decimal) -> None:
    try:
        state.engine.set_leverage(market.symbol, leverage)
    except InsufficientFundsError as exc:
        raise ApiError(110044, f"Insufficient available margin: {exc}") from None
    except InvalidRequestError as exc:
        raise params_error(str(exc)) from None


def set_leverage(state: EmulatorState, params: Params) -> Reply:
    """110043 "leverage not modified" when it is already set."""
    market, leverage = _leverage(state, params)
    current = state.engine.positions([market.symbol])[market.symbol].leverage
    if current == leverage:
        raise ApiError(110043, "leverage not modified")
    _apply_leverage(state, market, leverage)
    return Reply({})


def switch_isolated(state: EmulatorState, params: Params) -> Reply:
    """tradeMode 0 cross / 1 isolated, with the leverage; 110026 when the mode is unchanged."""
    trade_mode = opt_int(params, "tradeMode", 0, 1)
    if trade_mode is None:
        raise params_error("tradeMode is required")
    market, leverage = _leverage(state, params)
    mode: MarginMode = "isolated" if trade_mode == 1 else "cross"
    position = state.engine.positions([market.symbol])[market.symbol]
    if position.margin_mode == mode:
        raise ApiError(110026, "Cross/isolated margin mode is not modified")
    try:
        state.engine.set_margin_mode(market.symbol, mode)
    except InvalidRequestError as exc:
        raise params_error(str(exc)) from None
    if position.leverage != leverage:
        _apply_leverage(state, market, leverage)
    return Reply({})


def set_margin_mode(state: EmulatorState, params: Params) -> Reply:
    """Account-wide: every active market. 110026 when nothing would change; 3400045 with
    ``reasons`` when a market has a position or resting orders (nothing is changed then)."""
    text = req_str(params, "setMarginMode")
    engine = state.engine
    mode = MARGIN_MODES.get(text)
    if mode is None:
        reasons = [{"reasonCode": "3400046", "reasonMsg": f"{text} is not supported"}]
        raise ApiError(3400045, "Set margin mode failed", result={"reasons": reasons})
    symbols = [m.symbol for m in engine.markets().values() if m.active]
    positions = engine.positions(symbols)
    todo = [s for s in symbols if positions[s].margin_mode != mode]
    if not todo:
        raise ApiError(110026, "Cross/isolated margin mode is not modified")
    busy = {o.symbol for o in engine.open_orders(todo)}
    busy |= {s for s in todo if positions[s].contracts}
    if busy:
        reasons = [
            {"reasonCode": "3400047", "reasonMsg": f"{s} has a position or open orders"}
            for s in sorted(busy)
        ]
        raise ApiError(3400045, "Set margin mode failed", result={"reasons": reasons})
    for symbol in todo:
        engine.set_margin_mode(symbol, mode)
    return Reply({"reasons": []})


def switch_mode(state: EmulatorState, params: Params) -> Reply:
    """Position mode, account-wide here: 0 one-way, 3 hedge (sets the engine's hedge_mode
    flag); 110029 hedge asked for an inverse perpetual (one-way only on Bybit, classic and
    unified accounts alike), 110025 unchanged, 110024 with a position, 110028 with open
    orders. The hedge-mode account of a test is ``POST /admin/hedge-mode``."""
    category = req_category(params, CONTRACT_CATEGORIES)
    mode = opt_int(params, "mode")
    if mode not in (0, 3):
        raise params_error("mode must be 0 (one-way) or 3 (hedge)")
    symbol = opt_str(params, "symbol")
    coin = opt_str(params, "coin")
    if symbol is None and coin is None:
        raise params_error("symbol or coin is required")
    engine = state.engine
    hedge = mode == 3
    if hedge and category == "inverse" and _names_inverse_perpetual(state, symbol, coin):
        raise ApiError(110029, HEDGE_MODE_NOT_AVAILABLE)
    if engine.hedge_mode == hedge:
        raise ApiError(110025, "Position mode is not modified")
    if engine.positions():
        raise ApiError(110024, "You have an existing position, so position mode cannot be switched")
    if engine.open_orders():
        raise ApiError(110028, "Open orders exist, so you cannot change position mode")
    engine.hedge_mode = hedge
    return Reply({})


def _names_inverse_perpetual(state: EmulatorState, symbol: str | None, coin: str | None) -> bool:
    """Whether a switch-mode request reaches an inverse perpetual: the ``symbol`` (priority,
    as on Bybit) or any perpetual settled in ``coin``."""
    if symbol is not None:
        return contract_market(state, "inverse", symbol).expiry is None
    return any(
        m.kind == "inverse" and m.expiry is None and m.settle == coin
        for m in state.engine.markets().values()
    )


ROUTES: RouteTable = {
    ("GET", "/v5/user/query-api"): Route(query_api, private=True),
    ("GET", "/v5/account/info"): Route(account_info, private=True),
    ("GET", "/v5/account/wallet-balance"): Route(wallet_balance, private=True),
    ("GET", "/v5/position/list"): Route(position_list, private=True),
    ("POST", "/v5/position/set-leverage"): Route(set_leverage, private=True),
    ("POST", "/v5/position/switch-isolated"): Route(switch_isolated, private=True),
    ("POST", "/v5/position/switch-mode"): Route(switch_mode, private=True),
    ("POST", "/v5/account/set-margin-mode"): Route(set_margin_mode, private=True),
}
