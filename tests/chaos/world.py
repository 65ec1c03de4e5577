"""The chaos world: two coins hedged on the emulator, and the exchange-side watch on the daemon.

BTC at 50,000 and ETH at 3,000 USD on Bybit's 1-USD inverse perpetuals; spot and margin wallets
hedged in full (rule ratio 1 each), so the target short of a coin is its spot + margin equity
valued at the price, in USD. ``max_order_usd`` 25,000 splits most orders; ``max_total_short_usd``
110,000 binds from the start (the two hedges want 120,000), so every cycle exercises the cap: at
160,000 it bound so rarely that a cap broken on purpose (counted three times over) passed the
CI schedule; at 110,000 the same break fails it in its third cycle.

:class:`Watch` wraps the emulator's engine (in this process) so that every order the daemon gets
to the matching engine, and every fill, is checked the moment it happens, from the exchange's
own state: a client id reaching the engine twice, an order above ``max_order_usd`` at the
contract size in force, and a short that grew past ``max_total_short_usd`` or past the highest
target of the cycle by more than one order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.sim.engine import SimExchange
from tests.integration.conftest import SIM, db_rows, merged

D = Decimal
COINS = ("BTC", "ETH")
SYMBOLS = {"BTC": "BTC/USD:BTC", "ETH": "ETH/USD:ETH"}
PRICES = {"BTC": D(50_000), "ETH": D(3_000)}
SPOT = {"BTC": D("0.5"), "ETH": D(5)}
SPOT_RANGE = {"BTC": (D("0.1"), D("1.0")), "ETH": (D(1), D(9))}
MARGIN = {"BTC": D(1), "ETH": D(10)}
MAX_ORDER_USD = D(25_000)
MAX_TOTAL_SHORT_USD = D(110_000)
BAND = D("0.02")
# Margin moves between wallets (issue 12's collateral work), so transfers meet faults too: the
# wallets start with liquidation about 200 % away and are released down to 60 %; from there a
# cycle's walk (±6 %) or a deposit in spot takes the distance under 50 % (a top-up from spot)
# or over 75 % (a release back to spot) in many cycles.
COLLATERAL = {
    "min_liquidation_distance": "0.5",
    "target_liquidation_distance": "0.6",
    "release_above_distance": "0.75",
    "fund_from": "spot",
    "max_transfer_per_day_usd": 1_000_000,
}
# The convergence check's slack on top of the band: a tick's fees and rounding (0.5 %).
SLACK = D("0.005")

CHAOS_SIM: dict[str, Any] = merged(
    SIM,
    {
        "prices": {c: str(p) for c, p in PRICES.items()},
        "contract_size_usd": dict.fromkeys(COINS, "1"),
        "balances": {
            "spot": {c: str(v) for c, v in SPOT.items()},
            "margin": {c: str(v) for c, v in MARGIN.items()},
        },
        "funding_rate": dict.fromkeys(COINS, "0.0001"),
    },
)


def daemon_config(url: str, db: Path, broker_port: int, prefix: str, style: str) -> dict[str, Any]:
    """The daemon's config document. No ``sim`` section: the file holds no credential."""
    execution: dict[str, Any] = {"style": style}
    if style == "limit":  # at the mark, so it takes at once; stale after 0.4 s (cancel paths)
        execution |= {"limit_offset": 0, "post_only": False, "reprice_after_seconds": 0.4}
    return {
        "exchange": {
            "id": "bybit",
            "url": url,
            "timeout_ms": 1500,
            "pause_on_unavailable_seconds": 0.3,
            "order_lookup_grace_seconds": 1,
        },
        "rules": [{"asset": coin, "ratio": 1} for coin in COINS],
        "hedge": {"band": str(BAND), "min_order_usd": 10, "leverage": 5, "margin_mode": "cross"},
        "limits": {"max_order_usd": MAX_ORDER_USD, "max_total_short_usd": MAX_TOTAL_SHORT_USD},
        "collateral": COLLATERAL,
        "execution": execution,
        "schedule": {"interval_seconds": 0.3, "misfire_grace_seconds": 5},
        "database": {"url": f"sqlite+aiosqlite:///{db}"},
        "logging": {"level": "INFO", "format": "json"},
        "alerts": {
            "enabled": True,
            "port": broker_port,
            "prefix": prefix,
            "instance": "chaos",
            "reconnect_min_seconds": 0.2,
            "reconnect_max_seconds": 1,
            "poll_seconds": 0.5,
        },
    }


def short_usd(engine: SimExchange) -> dict[str, Decimal]:
    """Each coin's short in USD (contracts × the contract size in force; 0 when long or flat)."""
    positions = engine.positions(SYMBOLS.values())
    shorts = {}
    for coin, symbol in SYMBOLS.items():
        contracts = positions[symbol].contracts
        shorts[coin] = max(-contracts, D(0)) * engine.market(symbol).contract_size
    return shorts


def target_usd(engine: SimExchange) -> dict[str, Decimal]:
    """What the rules call for now, from the exchange's own wallets: (spot + margin equity) ×
    price, per coin."""
    spot = engine.spot_balances()
    wallets = engine.margin_wallets()
    return {c: (spot.get(c, D(0)) + wallets[c].equity) * engine.price(c) for c in COINS}


def convergence_gaps(engine: SimExchange) -> list[str]:
    """Why the hedge is not at target within the band ([] once it is). With the targets above
    the cap, the total must sit within one order below the cap."""
    shorts, targets = short_usd(engine), target_usd(engine)
    if sum(targets.values()) > MAX_TOTAL_SHORT_USD:
        total = sum(shorts.values())
        if MAX_TOTAL_SHORT_USD - MAX_ORDER_USD <= total <= MAX_TOTAL_SHORT_USD:
            return []
        return [f"total short {total:.0f} USD, targets above the cap {MAX_TOTAL_SHORT_USD}"]
    gaps = []
    for coin in COINS:
        allowed = targets[coin] * (BAND + SLACK) + 2
        if abs(shorts[coin] - targets[coin]) > allowed:
            gaps.append(f"{coin} short {shorts[coin]:.0f} USD vs target {targets[coin]:.0f}")
    return gaps


@dataclass
class Violation:
    cycle: int
    kind: str  # duplicate_client_id, oversize_order, cap_violation, above_target
    detail: str


@dataclass
class Watch:
    """Checks on the engine, as each order and fill happens (see the module docstring)."""

    engine: SimExchange
    db: Path | None = None  # the daemon's SQLite file: its collateral actions (transfers)
    cycle: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    orders: int = 0
    transfers: int = 0
    transfer_ids: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    target_hi: dict[str, Decimal] = field(default_factory=dict)

    def install(self) -> None:
        engine = self.engine
        create = engine.create_order
        movers: dict[str, Callable[..., Any]] = {
            name: getattr(engine, name) for name in ("advance", "set_time", "set_price")
        }

        def create_order(request: Any, **kwargs: Any) -> Any:
            self._on_order(request)
            before = short_usd(engine)
            try:
                return create(request, **kwargs)
            finally:
                self._after(before, f"order {request.client_order_id}")

        def mover(name: str) -> Callable[..., Any]:
            def moved(*args: Any, **kwargs: Any) -> Any:
                before = short_usd(engine)
                try:
                    return movers[name](*args, **kwargs)
                finally:
                    self._after(before, name)

            return moved

        transfer = engine.transfer

        def transfer_checked(*args: Any, **kwargs: Any) -> Any:
            self._on_transfer(kwargs.get("transfer_id"))
            return transfer(*args, **kwargs)

        engine.create_order = create_order  # type: ignore[method-assign]
        engine.transfer = transfer_checked  # type: ignore[method-assign]
        for name in movers:
            setattr(engine, name, mover(name))

    def new_cycle(self, cycle: int) -> None:
        self.cycle = cycle
        self.target_hi = target_usd(self.engine)

    def note_target(self) -> None:
        """Raise the cycle's highest target to the current one (after a deposit, a price)."""
        for coin, value in target_usd(self.engine).items():
            self.target_hi[coin] = max(self.target_hi.get(coin, value), value)

    def _flag(self, kind: str, detail: str) -> None:
        self.violations.append(Violation(self.cycle, kind, detail))

    def _on_order(self, request: Any) -> None:
        self.orders += 1
        cid = request.client_order_id
        if cid:
            self.sent[cid] += 1
            if self.sent[cid] == 2:
                self._flag("duplicate_client_id", f"{cid} reached the exchange twice")
        market = self.engine.markets().get(request.symbol)
        size = market.contract_size if market is not None else D(1)
        value = request.contracts * size
        if value > MAX_ORDER_USD:
            self._flag(
                "oversize_order",
                f"{cid} {request.side} {request.contracts} c × {size} USD = {value} USD "
                f"> max_order_usd {MAX_ORDER_USD}",
            )

    def _on_transfer(self, transfer_id: str | None) -> None:
        """A transfer reaching the venue: never an id sent before (an unknown outcome is looked
        up, not re-sent), never while another action's outcome is unknown (it could move the
        same coins twice), and always one the database recorded before sending."""
        self.transfers += 1
        if transfer_id is None:
            self._flag("duplicate_transfer", "a transfer without an id reached the venue")
            return
        self.transfer_ids[transfer_id] += 1
        if self.transfer_ids[transfer_id] == 2:
            self._flag("duplicate_transfer", f"transfer {transfer_id} reached the venue twice")
        if self.db is None:
            return
        rows = db_rows(self.db, "select action_id, state from collateral_actions")
        states = dict(rows)
        if transfer_id not in states:
            self._flag("duplicate_transfer", f"transfer {transfer_id} is not in the database")
        unknown = [a for a, state in states.items() if state == "UNKNOWN" and a != transfer_id]
        if unknown:
            self._flag(
                "duplicate_transfer",
                f"transfer {transfer_id} sent while {', '.join(unknown)} is unresolved",
            )

    def _after(self, before: dict[str, Decimal], what: str) -> None:
        after = short_usd(self.engine)
        grew = [coin for coin in COINS if after[coin] > before[coin]]
        if not grew:
            return
        self.note_target()
        total = sum(after.values())
        if total > MAX_TOTAL_SHORT_USD:
            self._flag(
                "cap_violation",
                f"{what}: total short {total} USD > max_total_short_usd {MAX_TOTAL_SHORT_USD} "
                f"({', '.join(f'{c} {after[c]}' for c in COINS)})",
            )
        for coin in grew:
            limit = self.target_hi[coin] + MAX_ORDER_USD
            if after[coin] > limit:
                self._flag(
                    "above_target",
                    f"{what}: {coin} short {after[coin]} USD > highest target "
                    f"{self.target_hi[coin]:.0f} + one order",
                )
