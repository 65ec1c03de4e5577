"""Plain, frozen value types shared by the pure core, the exchange port and the store.

Units are part of every name or docstring: USD, coin (the base asset, e.g. BTC) or contracts.
Money and contract counts are ``Decimal``; floats appear only in statistics code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

ZERO = Decimal(0)

ContractKind = Literal["inverse", "linear"]
Side = Literal["buy", "sell"]
MarginMode = Literal["isolated", "cross"]
WalletKind = Literal["spot", "margin"]  # the spot (funding) wallet, the contract (margin) wallet
TransferState = Literal["SUCCESS", "PENDING", "FAILED"]


@dataclass(frozen=True, slots=True)
class Market:
    """A derivatives market as the core needs it.

    For an inverse market ``contract_size`` is the USD face of one contract and the market is
    margined and settled in ``settle`` (the coin). For a linear market ``contract_size`` is in
    coin (e.g. 0.001 BTC) and ``settle`` is the quote (USDT).
    """

    symbol: str  # ccxt unified symbol, e.g. "BTC/USD:BTC"
    base: str  # "BTC"
    quote: str  # "USD"
    settle: str  # "BTC" for inverse, "USDT" for linear
    kind: ContractKind
    contract_size: Decimal  # USD per contract (inverse) or coin per contract (linear)
    amount_step: Decimal = Decimal(1)  # order size granularity, in contracts
    min_contracts: Decimal = Decimal(1)  # smallest order, in contracts
    expiry: datetime | None = None  # None for perpetuals
    active: bool = True

    @property
    def is_inverse(self) -> bool:
        return self.kind == "inverse"


@dataclass(frozen=True, slots=True)
class MarginWallet:
    """A coin-margined wallet: realized balance and unrealized PnL, both in coin."""

    coin: str
    balance: Decimal
    unrealized_pnl: Decimal = ZERO

    @property
    def equity(self) -> Decimal:
        """Wallet equity in coin (balance + unrealized PnL)."""
        return self.balance + self.unrealized_pnl


@dataclass(frozen=True, slots=True)
class Position:
    """A derivatives position. ``contracts`` is signed: negative is short."""

    symbol: str
    contracts: Decimal
    entry_price: Decimal  # USD per coin (harmonic mean of fills for inverse)
    mark_price: Decimal | None = None
    unrealized_pnl: Decimal = ZERO  # in the settle currency (coin for inverse)
    leverage: Decimal | None = None
    margin_mode: MarginMode | None = None
    liquidation_price: Decimal | None = None  # as reported by the exchange
    hedge_mode: bool = False  # True when the account is in two-sided (hedge) position mode

    @property
    def is_short(self) -> bool:
        return self.contracts < 0


@dataclass(frozen=True, slots=True)
class Ticker:
    """Prices for one symbol, USD per coin."""

    symbol: str
    last: Decimal
    mark: Decimal | None = None
    index: Decimal | None = None
    timestamp: datetime | None = None

    @property
    def reference(self) -> Decimal:
        """The price used for valuation: mark when known, else last trade."""
        return self.mark if self.mark is not None else self.last


@dataclass(frozen=True, slots=True)
class FundingRate:
    """Funding for one perpetual. Positive ``rate``: longs pay shorts (a short hedge earns)."""

    symbol: str
    rate: Decimal  # fraction of position value per interval
    interval_hours: Decimal
    next_funding_time: datetime | None = None
    predicted_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one tick reads from the outside world, at one instant."""

    taken_at: datetime
    spot: Mapping[str, Decimal]  # coin -> coins held on the exchange's spot wallet
    static: Mapping[str, Decimal]  # coin -> coins held elsewhere (config holdings.static)
    margin: Mapping[str, MarginWallet]  # coin -> coin-margined wallet
    positions: Mapping[str, Position]  # symbol -> position (only symbols the exchange reported)
    prices: Mapping[str, Decimal]  # coin -> USD per coin used for valuation
    markets: Mapping[str, Market]  # symbol -> market
    funding: Mapping[str, FundingRate] = field(default_factory=dict)
    unknown_positions: frozenset[str] = frozenset()  # symbols the listing omitted: not flat!
    tickers: Mapping[str, Ticker] = field(default_factory=dict)  # instrument symbol -> prices


@dataclass(frozen=True, slots=True)
class Exposure:
    """Long exposure to one coin, in coin and USD."""

    asset: str
    spot: Decimal  # coins on exchange spot + static holdings
    collateral: Decimal  # coin-margined wallet equity, in coin
    price: Decimal  # USD per coin

    @property
    def coins(self) -> Decimal:
        return self.spot + self.collateral

    @property
    def exposure_usd(self) -> Decimal:
        return self.coins * self.price


@dataclass(frozen=True, slots=True)
class HedgeTarget:
    """What one rule wants short on one instrument, before rounding to contracts."""

    asset: str
    instrument: str  # market symbol
    ratio: Decimal  # effective ratio after modifiers, 0..1
    target_short_usd: Decimal  # USD notional to hold short
    beta: Decimal = Decimal(1)
    rho: Decimal | None = None
    proxy: bool = False
    reason: str = ""  # why ratio or size differs from the rule's plain ratio, if it does
    collateral: bool = False  # holds a margin coin USD-neutral (no rule of its own)
    # var(r_asset − r_hedge) / var(r_hedge) of a proxy hedge (bot.core.no_trade): how fast its
    # target wanders against the hedge's own risk. None: the target does not wander with prices.
    tracking: float | None = None
    beta_se: Decimal | None = None  # standard error of beta, when estimated


@dataclass(frozen=True, slots=True)
class InstrumentHedge:
    """Target and current short on one instrument (several assets may sum into one)."""

    instrument: str
    target_short_usd: Decimal
    current_short_usd: Decimal
    target_contracts: Decimal  # short contracts wanted (>= 0)
    current_contracts: Decimal  # short contracts held (>= 0; a long shows as negative)
    notes: tuple[str, ...] = ()
    band: Decimal | None = None  # fraction of the target it may be off (bot.core.no_trade)


class OrderState(StrEnum):
    PENDING = "PENDING"  # persisted, not yet sent (or send outcome not yet known)
    DRY_RUN = "DRY_RUN"  # planned under --dry-run, never sent
    OPEN = "OPEN"  # acknowledged, resting
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"  # the send's outcome is not known: must be looked up, never resent


TERMINAL_STATES = frozenset(
    {OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED, OrderState.DRY_RUN}
)


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    """One order the planner wants sent."""

    symbol: str
    side: Side
    contracts: Decimal
    reduce_only: bool
    client_order_id: str
    reason: str = ""
    order_type: Literal["market", "limit"] = "market"
    limit_price: Decimal | None = None  # USD per coin, for limit orders
    post_only: bool = False


@dataclass(frozen=True, slots=True)
class MarginShortfall:
    """A hedge the margin wallet cannot carry in full this tick.

    ``target_usd``: what the rules (and collateral) want short; ``carried_usd``: what the plan
    steers to instead; ``coins_missing``: coin the wallet of ``coin`` lacks to carry every
    target on that coin at the configured liquidation distance.
    """

    instrument: str
    coin: str
    target_usd: Decimal
    carried_usd: Decimal
    coins_missing: Decimal

    @property
    def short_usd(self) -> Decimal:
        """USD of hedge missing from the target."""
        return self.target_usd - self.carried_usd


Ownership = Mapping[str, Mapping[str, Decimal]]  # instrument -> owner (asset) -> short contracts


@dataclass(frozen=True, slots=True)
class Plan:
    """The planner's output for one tick.

    ``owned``: the part of each instrument's short each target's owner (a rule's asset, or a
    margin coin held USD-neutral) is meant to hold once the plan fills; the next plan judges
    every owner's band on its own part (``bot.core.planner``).
    """

    hedges: tuple[InstrumentHedge, ...]
    orders: tuple[PlannedOrder, ...]
    notes: tuple[str, ...] = ()
    shortfalls: tuple[MarginShortfall, ...] = ()
    owned: Ownership = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the exchange port is asked to send."""

    symbol: str
    side: Side
    contracts: Decimal
    reduce_only: bool
    client_order_id: str
    order_type: Literal["market", "limit"] = "market"
    limit_price: Decimal | None = None
    post_only: bool = False


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """What the exchange says about an order."""

    client_order_id: str
    exchange_order_id: str | None
    symbol: str
    side: Side
    state: OrderState
    contracts: Decimal
    filled_contracts: Decimal = ZERO
    average_price: Decimal | None = None
    fee: Decimal = ZERO  # in fee_currency
    fee_currency: str | None = None
    reduce_only: bool = False
    updated_at: datetime | None = None
    reject_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution."""

    trade_id: str
    client_order_id: str | None
    exchange_order_id: str | None
    symbol: str
    side: Side
    contracts: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """A funding settlement. ``amount`` is signed in coin: positive received, negative paid."""

    payment_id: str
    symbol: str
    timestamp: datetime
    rate: Decimal
    position_contracts: Decimal  # signed, at settlement
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Candle:
    """An OHLCV bar; ``opened_at`` is the candle's open time (UTC)."""

    opened_at: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What an API key may do, as the exchange reports it."""

    can_trade: bool
    can_withdraw: bool
    ip_whitelisted: bool
    permissions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """Move ``amount`` coins of ``coin`` between the account's own wallets.

    ``transfer_id`` is the idempotency key (a UUID string, deterministic per planned action):
    the exchange refuses a second transfer with the same id, and a lost response is looked up
    by it before anything is sent again.
    """

    transfer_id: str
    coin: str
    amount: Decimal  # coins, > 0
    source: WalletKind
    destination: WalletKind


@dataclass(frozen=True, slots=True)
class TransferStatus:
    """What the exchange says about a transfer."""

    transfer_id: str
    coin: str
    amount: Decimal  # coins
    source: WalletKind
    destination: WalletKind
    state: TransferState
    timestamp: datetime | None = None


CollateralActionKind = Literal["transfer", "spot_sell", "spot_buy"]


@dataclass(frozen=True, slots=True)
class CollateralAction:
    """One planned move of collateral: a wallet transfer, or one leg of a conversion.

    A conversion (sell part of asset A's spot for coin B, the margin coin of A's proxy hedge) is
    two spot market orders through the quote: ``spot_sell`` of A on ``A/USDT``, then
    ``spot_buy`` of B on ``B/USDT``, then a ``transfer`` of B spot -> margin. ``action_id`` is
    deterministic per tick and action (a UUID string for transfers, an ``hb-`` client order id
    for spot legs), so a restarted daemon finds it on the exchange instead of repeating it.
    """

    action_id: str
    kind: CollateralActionKind
    coin: str  # the coin moved (transfer) or the base coin traded (spot legs)
    amount: Decimal  # coins, > 0
    usd_value: Decimal  # at the planning price, USD
    source: WalletKind | None = None  # transfers only
    destination: WalletKind | None = None  # transfers only
    symbol: str | None = None  # spot legs only, e.g. "SOL/USDT"
    side: Side | None = None  # spot legs only
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CollateralUsage:
    """What the collateral policy already moved in the rolling day (caps are per 24 h)."""

    transferred_usd: Decimal = ZERO
    transferred_coins: Mapping[str, Decimal] = field(default_factory=dict)
    converted_usd: Decimal = ZERO
