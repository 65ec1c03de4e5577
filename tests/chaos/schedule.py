"""The seeded fault schedule: what each chaos cycle injects, and how, through the admin API.

A cycle's plan is drawn from ``random.Random(f"{seed}:{cycle}")`` alone, so a seed and a cycle
number name the same faults, kills and broker restarts on every run (the daemon's timing still
varies). Fault kinds, in schedule order (``KINDS``; ``--exclude`` drops some):

timeouts before the order is accepted (``timeout``) and after (``lost_response``, delayed past the
client's timeout), lost responses (connection dropped, on the order or on a read), HTTP 429 with
Retry-After, 418, 5xx, maintenance pages, partial fills, rejects (110017), cancel races (a
partial fill under the limit style, then the cancel's answer lost or timed out), stale and
outlier ticker prints, holdings changes (spot deposit or withdrawal: the target moves), funding
spikes (settled by a jump to the next funding time), a position list that reads empty for one
call, clock skew (10002), a jump of the exchange clock; then the two kinds that breached the cap
before the fix of issue 15: a venue change of the contract size, and an absurd print (1e40);
then collateral transfers that time out (before or after the venue applied them) and the
database held by another writer for 1 to 8 s. A fault that only acts on an order
(``ORDER_KINDS``) comes with a move of the holdings after it is booked, so that an order meets it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.emulator.bybit_format import tick_size
from bot.emulator.faults import Fault, FaultKind
from tests.chaos.world import COINS, PRICES, SPOT_RANGE, SYMBOLS
from tests.integration.conftest import Venue

D = Decimal
CREATE = "/v5/order/create"
CANCEL = "/v5/order/cancel"
READS = ("/v5/position/list", "/v5/account/wallet-balance", "/v5/order/realtime")
TRANSFER = "/v5/asset/transfer/inter-transfer"
KINDS: tuple[tuple[str, float], ...] = (
    ("timeout_before", 1.0),
    ("timeout_after", 1.0),
    ("lost_response", 1.0),
    ("http_429", 1.0),
    ("http_418", 0.5),
    ("server_error", 1.0),
    ("maintenance", 1.0),
    ("partial_fill", 1.0),
    ("reject", 1.0),
    ("cancel_race", 1.0),
    ("stale_price", 1.0),
    ("outlier_price", 1.0),
    ("holdings", 2.0),
    ("funding_spike", 0.7),
    ("empty_position", 1.0),
    ("clock_skew", 0.7),
    ("clock_jump", 0.5),
    # Behind the list: the two cap breaches of issue 15 (defects 1 and 2). The absurd price is
    # a print: at 1e40 the engine itself would liquidate the short, which the daemon then
    # leaves to a person (no automatic re-hedge), and every later cycle would fail to converge.
    ("contract_size", 0.5),
    ("absurd_price", 0.5),
    # Collateral transfers that time out (before or after the venue applied them), and the
    # database held by another writer (a backup, a person's sqlite3 shell) for 1 to 8 s: past
    # the daemon's 5 s busy timeout, its writes fail ("database is locked").
    ("transfer_timeout", 1.0),
    ("database_lock", 0.7),
)
Revert = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Drawn:
    kind: str
    at_s: float  # when, into the fault phase
    params: dict[str, Any]


@dataclass
class Plan:
    """One cycle: the faults, the fault phase's length, the price walk, a daemon kill (at
    ``kill_at`` s, back after ``restart_after`` s, with ``style``) and a broker outage."""

    faults: list[Drawn]
    phase_s: float
    walk: dict[str, Decimal]
    kill_at: float | None = None
    restart_after: float = 0.0
    style: str = "market"
    broker_down: tuple[float, float] | None = None  # (at, for) seconds
    extra: dict[str, Any] = field(default_factory=dict)


def draw(rng: random.Random, kinds: tuple[str, ...], *, kills: bool = True) -> Plan:
    weights = [w for k, w in KINDS if k in kinds]
    names = [k for k, _ in KINDS if k in kinds]
    phase = rng.uniform(1.5, 3.0)
    count = rng.choice((1, 1, 2, 2, 3))
    chosen = rng.choices(names, weights, k=count) if names else []
    faults = [Drawn(k, rng.uniform(0, phase * 0.6), _params(rng, k)) for k in chosen]
    walk = {c: D(str(round(rng.uniform(-0.06, 0.06), 4))) for c in COINS}
    plan = Plan(faults, phase, walk, style=rng.choice(("market", "market", "limit")))
    if kills and rng.random() < 0.35:
        plan.kill_at = rng.uniform(0, phase)
        plan.restart_after = rng.choice((0.0, rng.uniform(0.1, 1.5)))
    if rng.random() < 0.12:
        plan.broker_down = (rng.uniform(0, phase), rng.uniform(0.3, 2.0))
    return plan


# Kinds that only act on an order: each comes with a move of the holdings (``nudge``), so that
# the target moves and an order meets the fault. Without it the shorts sat at the total cap
# (the targets above it) and most such faults met no order (1,000 cycles of seed 1: 85 of 101
# timeouts before acceptance, 71 of 80 rejects, 80 of 98 cancel races).
ORDER_KINDS = frozenset(
    {"timeout_before", "timeout_after", "partial_fill", "reject", "cancel_race"}
)


def _params(rng: random.Random, kind: str) -> dict[str, Any]:
    params = _fault_params(rng, kind)
    if kind in ORDER_KINDS:
        coin = rng.choice(COINS)
        low, high = SPOT_RANGE[coin]
        to = round(rng.uniform(float(low), float(high)), 3)
        params = params | {"nudge": {"coin": coin, "to": str(to)}}
    return params


def _fault_params(rng: random.Random, kind: str) -> dict[str, Any]:
    coin = rng.choice(COINS)
    if kind == "timeout_before":
        return {"kind": "timeout", "path": CREATE, "delay_s": 2.5}
    if kind == "timeout_after":
        return {"kind": "lost_response", "path": CREATE, "delay_s": 2.5}
    if kind == "lost_response":
        return {"kind": "lost_response", "path": rng.choice((CREATE, *READS)), "drop": True}
    if kind == "http_429":
        path = rng.choice(("*", CREATE))
        return {"kind": "http_429", "path": path, "count": rng.randint(1, 5), "retry_after_s": 1}
    if kind == "http_418":
        return {"kind": "http_429", "status": 418, "count": rng.randint(1, 3), "retry_after_s": 1}
    if kind == "server_error":
        path = rng.choice(("*", CREATE, READS[0]))
        status = rng.choice((500, 502, 504))
        return {"kind": "server_error", "path": path, "status": status, "count": rng.randint(1, 4)}
    if kind == "maintenance":
        return {"kind": "maintenance", "count": rng.randint(3, 20)}
    if kind == "partial_fill":
        fraction = str(round(rng.uniform(0.2, 0.8), 2))
        return {"kind": "partial_fill", "fraction": fraction, "count": rng.randint(1, 3)}
    if kind == "reject":
        return {"kind": "reduce_only", "count": rng.randint(1, 2)}
    if kind == "cancel_race":
        race = {"kind": "lost_response", "path": CANCEL, "drop": rng.random() < 0.5, "delay_s": 2.5}
        if rng.random() < 0.3:
            race = {"kind": "timeout", "path": CANCEL, "delay_s": 2.5}
        return {"partial": {"kind": "partial_fill", "fraction": "0.3"}, "race": race}
    if kind in ("stale_price", "outlier_price"):
        if kind == "stale_price":
            factor = D(1) + D(str(round(rng.choice((-1, 1)) * rng.uniform(0.05, 0.25), 3)))
        else:
            factor = D(rng.choice(("1e-12", "0.001", "1000", "1e6")))
        price = PRICES[coin] * factor
        return {
            "kind": "ticker_price",
            "coin": coin,
            "price": str(price),
            "count": rng.randint(1, 4),
        }
    if kind == "holdings":
        low, high = SPOT_RANGE[coin]
        return {"coin": coin, "to": str(round(rng.uniform(float(low), float(high)), 3))}
    if kind == "funding_spike":
        rate = round(rng.choice((-1, 1)) * rng.uniform(0.005, 0.03), 4)
        return {"coin": coin, "rate": str(rate)}
    if kind == "empty_position":
        return {"kind": "empty_positions", "count": rng.choice((1, 1, 2))}
    if kind == "clock_skew":
        return {"kind": "clock_skew", "path": "*", "count": rng.randint(1, 6)}
    if kind == "clock_jump":
        return {"seconds": rng.randint(60, 20_000)}
    if kind == "contract_size":
        return {"symbol": SYMBOLS[coin], "contract_size": rng.choice(("2", "3", "0.5"))}
    if kind == "absurd_price":
        return {"coin": coin, "price": "1e40"}
    if kind == "transfer_timeout":
        lost = rng.random() < 0.5
        fault: dict[str, Any] = {
            "kind": "lost_response" if lost else "timeout",
            "path": TRANSFER,
            "count": rng.randint(1, 2),
        }
        if lost and rng.random() < 0.5:
            return fault | {"drop": True}
        return fault | {"delay_s": 2.5}
    if kind == "database_lock":
        return {"hold_s": round(rng.uniform(1.0, 8.0), 2)}
    raise ValueError(f"unknown fault kind {kind!r}")


async def apply(venue: Venue, drawn: Drawn, booked: dict[int, int]) -> Revert | None:
    """Inject one drawn fault; the coroutine that undoes it when the faults stop, if any.
    Faults put in the emulator's book are added to ``booked`` (id -> count)."""
    kind, params = drawn.kind, drawn.params
    engine = venue.running.engine

    async def book(fault: dict[str, Any]) -> None:
        stored = (await venue.post("/admin/faults", fault))["fault"]
        booked[int(stored["id"])] = int(stored["count"])

    nudge = params.get("nudge")
    params = {k: v for k, v in params.items() if k != "nudge"}
    if kind == "cancel_race":
        await book(params["partial"])
        await book(params["race"])
    elif kind == "database_lock":  # the harness holds the daemon's database (``ChaosRun``)
        pass
    elif kind == "absurd_price":  # a print, not the engine's price: no liquidation follows
        await book({"kind": "ticker_price", "coin": params["coin"], "price": params["price"]})
    elif "kind" in params:
        await book(params)
    elif kind == "holdings":
        await set_holdings(venue, params["coin"], D(params["to"]))
    elif kind == "funding_spike":
        coin = params["coin"]
        await venue.post("/admin/funding-rate", {"coin": coin, "rate": params["rate"]})
        await venue.post("/admin/clock/advance", {"seconds": 8 * 3600})

        async def calm() -> None:
            await venue.post("/admin/funding-rate", {"coin": coin, "rate": "0.0001"})

        return calm
    elif kind == "clock_jump":
        await venue.post("/admin/clock/advance", params)
    elif kind == "contract_size":
        symbol = params["symbol"]
        # Venues re-specify a contract during a trading halt, so no order is matched against a
        # size it was not planned with: the halt (the next order requests meet a maintenance
        # page) and the new size are one step of the venue's, with no await between them.
        # Applied at an arbitrary instant instead, a sell sized after the daemon's pre-send spec
        # read but matched after the change broke the cap (seed 1, cycle 42, before this).
        halt = venue.running.state.faults.add(Fault(FaultKind.MAINTENANCE, path=CREATE, count=2))
        engine.set_contract_size(symbol, D(params["contract_size"]))
        booked[halt.fault_id] = halt.count

        async def back() -> None:
            # Back to 1 USD in a halt too: set without one, a sell the daemon sized at 0.5 USD
            # a contract just before the change was matched at 1 USD, 43,429 USD against
            # max_order_usd 25,000 (seed 1, cycle 189).
            halt = venue.running.state.faults.add(
                Fault(FaultKind.MAINTENANCE, path=CREATE, count=2)
            )
            engine.set_contract_size(symbol, D(1))
            booked[halt.fault_id] = halt.count

        return back
    if nudge is not None:  # after the fault is booked: the target moves, an order meets it
        await set_holdings(venue, nudge["coin"], D(nudge["to"]))
    return None


async def set_holdings(venue: Venue, coin: str, to: Decimal) -> None:
    """Deposit or withdraw spot ``coin`` so that the spot wallet holds ``to``."""
    held = venue.running.engine.spot_balances().get(coin, D(0))
    if to != held:
        await venue.move("deposit" if to > held else "withdraw", coin, str(abs(to - held)))


async def walk_prices(venue: Venue, walk: dict[str, Decimal]) -> None:
    """The market moves a little every cycle (within ±25 % of the start), so targets move.
    Prices stay on the emulator's tick grid: a limit at the mark is then marketable."""
    engine = venue.running.engine
    for coin, step in walk.items():
        price = engine.price(coin) * (1 + step)
        low, high = PRICES[coin] * D("0.75"), PRICES[coin] * D("1.25")
        price = min(max(price, low), high).quantize(tick_size(PRICES[coin]))
        await venue.post("/admin/price", {"coin": coin, "price": str(price)})
