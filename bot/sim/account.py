"""One simulated account: spot and margin wallets, positions, executions and a ledger.

Pure bookkeeping: callers (the engine) decide whether something is allowed; this module applies
it. Every trade realizes the PnL of the part it closes into the settle wallet and charges the
fee there; funding is credited or debited to the same wallet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.core.inverse import MaintenanceBasis
from bot.core.types import Market, Side
from bot.sim import margin
from bot.sim.records import (
    ExecKind,
    Execution,
    LedgerEntry,
    LedgerKind,
    SimOrder,
    SimPosition,
    Wallet,
    ms_to_datetime,
)

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class _LiquidationMemo:
    """One symbol's last liquidation price and the objects it was computed from."""

    market: Market
    contracts: Decimal
    entry: Decimal
    leverage: Decimal
    wallet: Decimal
    maintenance_rate: Decimal
    maintenance_basis: MaintenanceBasis
    isolated: bool
    price: Decimal | None


class Account:
    """Wallet balances by coin, positions by symbol, and append-only history lists."""

    def __init__(
        self,
        spot: Mapping[str, Decimal],
        margin_balances: Mapping[str, Decimal],
        maintenance_rate: Decimal,
        maintenance_basis: MaintenanceBasis,
    ) -> None:
        self.spot: dict[str, Decimal] = dict(spot)
        self.margin: dict[str, Decimal] = dict(margin_balances)
        self.positions: dict[str, SimPosition] = {}
        self.executions: list[Execution] = []  # chronological: trades, funding, liquidations
        self.ledger: list[LedgerEntry] = []
        self.transfers_by_id: dict[str, LedgerEntry] = {}
        self.maintenance_rate = maintenance_rate
        self.maintenance_basis: MaintenanceBasis = maintenance_basis
        self._exec_seq = 0
        # Liquidation prices change only with the position or its collateral, not with the
        # price: per symbol, the last answer with the very objects it came from. Decimals are
        # immutable and every change replaces them, so the same objects give the same answer
        # (the replay asks for every position at every step).
        self._liquidation_last: dict[str, _LiquidationMemo] = {}
        self._ledger_seq = 0
        self._stamp = (-1, ms_to_datetime(0))  # the last instant recorded, as a datetime

    def position(self, symbol: str) -> SimPosition:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = SimPosition(symbol)
        return pos

    def position_margin(self, market: Market, pos: SimPosition) -> Decimal:
        """Initial margin held by a position: value at entry / leverage (settle currency)."""
        if pos.contracts == 0:
            return ZERO
        return margin.value(market, abs(pos.contracts), pos.entry) / pos.leverage

    def liquidation_price(self, market: Market, pos: SimPosition) -> Decimal | None:
        """Isolated: collateral = the position's initial margin. Cross: the whole settle-wallet
        balance (other positions in the same coin are ignored). Fees are ignored."""
        if pos.contracts == 0:
            return None
        isolated = pos.margin_mode == "isolated"
        wallet = ZERO if isolated else self.margin.get(market.settle, ZERO)
        last = self._liquidation_last.get(market.symbol)
        if (
            last is not None
            and last.market is market
            and last.contracts is pos.contracts
            and last.entry is pos.entry
            and last.leverage is pos.leverage
            and last.wallet is wallet
            and last.maintenance_rate is self.maintenance_rate
            and last.maintenance_basis is self.maintenance_basis
            and last.isolated is isolated
        ):
            return last.price
        collateral = self.position_margin(market, pos) if isolated else wallet
        price = margin.liquidation_price(
            market,
            pos.contracts,
            pos.entry,
            collateral,
            self.maintenance_rate,
            self.maintenance_basis,
        )
        self._liquidation_last[market.symbol] = _LiquidationMemo(
            market,
            pos.contracts,
            pos.entry,
            pos.leverage,
            wallet,
            self.maintenance_rate,
            self.maintenance_basis,
            isolated,
            price,
        )
        return price

    def _timestamp(self, ts_ms: int) -> datetime:
        """``ms_to_datetime(ts_ms)``, built once for the records of one instant (a funding
        settlement writes one per position)."""
        if ts_ms != self._stamp[0]:
            self._stamp = (ts_ms, ms_to_datetime(ts_ms))
        return self._stamp[1]

    def _next_exec_id(self, kind: ExecKind) -> str:
        self._exec_seq += 1
        return f"{kind[0].upper()}{self._exec_seq:09d}"

    def trade(
        self,
        market: Market,
        side: Side,
        contracts: Decimal,
        price: Decimal,
        fee_rate: Decimal,
        ts_ms: int,
        *,
        kind: ExecKind = "trade",
        is_maker: bool = False,
        order: SimOrder | None = None,
    ) -> Execution:
        """Apply one fill: close what is opposite, open the rest, realize PnL, charge the fee."""
        pos = self.position(market.symbol)
        held = pos.contracts
        buying = side == "buy"
        closing = min(contracts, abs(held)) if held and (held > 0) != buying else ZERO
        opening = contracts - closing
        realized = ZERO
        if closing:
            realized = margin.pnl(market, closing if held > 0 else -closing, pos.entry, price)
            pos.contracts += closing if buying else -closing
            if pos.contracts == 0:
                pos.entry = ZERO
        if opening:
            pos.entry = margin.add_to_entry(market, abs(pos.contracts), pos.entry, opening, price)
            pos.contracts += opening if buying else -opening
        trade_value = margin.value(market, contracts, price)
        fee = trade_value * fee_rate
        pos.realized_pnl += realized
        self.margin[market.settle] = self.margin.get(market.settle, ZERO) + realized - fee
        execution = Execution(
            exec_id=self._next_exec_id(kind),
            kind=kind,
            symbol=market.symbol,
            ts_ms=ts_ms,
            timestamp=self._timestamp(ts_ms),
            side=side,
            contracts=contracts,
            price=price,
            value=trade_value,
            fee=fee,
            funding=ZERO,
            realized_pnl=realized,
            closed_contracts=closing,
            position_contracts=pos.contracts,
            currency=market.settle,
            is_maker=is_maker,
            exchange_order_id=order.exchange_id if order else None,
            client_order_id=(order.client_id or None) if order else None,
        )
        self.executions.append(execution)
        return execution

    def settle_funding(
        self, market: Market, pos: SimPosition, price: Decimal, rate: Decimal, ts_ms: int
    ) -> Execution:
        """Credit (or debit) one funding payment on a non-flat perpetual position."""
        amount = margin.funding(market, pos.contracts, price, rate)
        self.margin[market.settle] = self.margin.get(market.settle, ZERO) + amount
        execution = Execution(
            exec_id=self._next_exec_id("funding"),
            kind="funding",
            symbol=market.symbol,
            ts_ms=ts_ms,
            timestamp=self._timestamp(ts_ms),
            side="sell" if pos.contracts < 0 else "buy",
            contracts=abs(pos.contracts),
            price=price,
            value=margin.value(market, abs(pos.contracts), price),
            fee=ZERO,
            funding=amount,
            realized_pnl=ZERO,
            closed_contracts=ZERO,
            position_contracts=pos.contracts,
            currency=market.settle,
            funding_rate=rate,
        )
        self.executions.append(execution)
        return execution

    def wallet(self, name: Wallet) -> dict[str, Decimal]:
        return self.spot if name == "spot" else self.margin

    def move(
        self,
        kind: LedgerKind,
        coin: str,
        amount: Decimal,
        source: Wallet | None,
        destination: Wallet | None,
        ts_ms: int,
        reference: str | None = None,
    ) -> LedgerEntry:
        """Apply a deposit (no source), withdrawal (no destination) or transfer; no checks.
        ``reference``: a transfer's own id, indexed in ``transfers_by_id``."""
        if source is not None:
            self.wallet(source)[coin] = self.wallet(source).get(coin, ZERO) - amount
        if destination is not None:
            self.wallet(destination)[coin] = self.wallet(destination).get(coin, ZERO) + amount
        self._ledger_seq += 1
        entry = LedgerEntry(
            entry_id=f"L{self._ledger_seq:09d}",
            kind=kind,
            coin=coin,
            amount=amount,
            timestamp=self._timestamp(ts_ms),
            source=source,
            destination=destination,
            reference=reference,
        )
        self.ledger.append(entry)
        if reference is not None:
            self.transfers_by_id[reference] = entry
        return entry
