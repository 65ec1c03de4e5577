"""``kind: beta``: a beta-adjusted hedge, on the asset's own contract or on a proxy.

Reference: hedging-math.md §3. Target short USD on instrument B = ratio × exposure_USD(A) ×
β(A, B): MULTIPLY by beta (Example 3.1: 10,000 USD × 0.7 × 1.8 = 12,600 USD).

Choosing B (``hedge_with``):
- ``auto``: the asset's own contract when the markets list it (β = 1, ρ not applicable, not a
  proxy: Example 3.2); else the ``candidates`` coin whose contract is listed and whose β estimate
  is usable (state ok and fresh) with the highest ρ. The proxy in use keeps its place unless
  another leads it by more than ``switch_margin`` in ρ (no churn between near-equal proxies);
- a coin, e.g. ``BTC``: that coin's contract; a symbol, e.g. ``BTC/USD:BTC``: that market.
"Contract" is ``contract``: the inverse perp, the USDT linear perp, or the dated inverse future
chosen by ``strategies.roll`` (rolled before expiry as one decision).

Never a silent β of 1: a proxy with no usable estimate, or with ρ below ``rho_floor`` under
``on_low_rho: skip``, gets target 0 (the hedge is lifted, reduce-only) and an event. Then the
funding modifier (``strategies.modifiers``) may lower the ratio, and the windows / volatility
trigger (``strategies.windows``) may set the target to 0. The rule's state (incumbent proxy,
modifier and trigger clocks) goes out in ``RuleResult.state`` and comes back in
``RuleInputs.states[asset]``. The gates between the configured ratio and the hedged one (funding
modifier, windows / volatility trigger, ρ taper) are in ``strategies.beta_gating``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from bot.config.models import CollateralMode
from bot.core.no_trade import tracking_ratio
from bot.core.types import HedgeTarget, Market
from bot.stats.beta import BetaEstimate
from strategies.base import RuleInputs, own_inverse_perp, own_linear_perp
from strategies.beta_choice import HedgeChoice, estimate_rho, own_contract_choice, stat_decimal
from strategies.beta_gating import Gating, choice_event, modified_ratio, rho_gated_ratio
from strategies.events import RuleEvent, RuleResult
from strategies.modifiers import FundingModifierParams
from strategies.requests import BetaParams, BetaRequest, VolRequest
from strategies.roll import choose_contract, dated_futures, roll_plan
from strategies.state import RuleState

ContractChoice = Literal["inverse_perp", "linear_perp", "inverse_future"]
ZERO = Decimal(0)
_NO_STATE = RuleState()


@dataclass(frozen=True, slots=True)
class BetaRule:
    """See the module docstring. Fractions (ratio, rho_floor, switch_margin) are Decimal."""

    asset: str
    ratio: Decimal
    estimator: BetaParams
    hedge_with: str = "auto"
    candidates: tuple[str, ...] = ("BTC", "ETH")
    contract: ContractChoice = "inverse_perp"
    roll_hours_before_expiry: float = 24.0
    rho_floor: Decimal = Decimal("0.4")
    rho_taper: Decimal = Decimal("0.2")  # below the floor the hedge shrinks to 0 over this
    rho_breakdown: timedelta = timedelta(hours=24)  # at the taper's bottom this long: lifted
    on_low_rho: Literal["skip", "hedge_anyway"] = "skip"
    switch_margin: Decimal = Decimal("0.02")
    funding: FundingModifierParams | None = None
    gating: Gating = field(default_factory=Gating)
    collateral: CollateralMode = "neutral"
    # The last ``_check_rho`` answer per proxy coin: (estimate, symbol, choice). The answer is a
    # pure function of those and the rule's fields; estimates change once per refresh while the
    # rule is evaluated every tick, so this spares rebuilding the same choice (and its Decimal
    # β and ρ) on every tick. Matched by the estimate's identity: estimates are immutable.
    _checked: dict[str, tuple[BetaEstimate, str, HedgeChoice]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    # The coins it may hedge with and their perp symbols, derived once from the fields above.
    _coin_list: tuple[str, ...] = field(init=False, repr=False, compare=False, hash=False)
    _perps: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if "/" in self.hedge_with:
            coins: tuple[str, ...] = (self.hedge_with.split("/")[0],)
        elif self.hedge_with != "auto":
            coins = (self.hedge_with,)
        else:
            coins = tuple(dict.fromkeys((self.asset, *self.candidates)))
        object.__setattr__(self, "_coin_list", coins)
        object.__setattr__(self, "_perps", {coin: self._perp_name(coin) for coin in coins})

    # --- what the daemon asks a rule -------------------------------------------------------

    @property
    def instrument(self) -> str:
        """The nominal instrument: the fixed symbol, else the first coin's perp symbol. Under
        ``auto`` or ``inverse_future`` the real choice depends on the markets: see
        ``instruments``."""
        if "/" in self.hedge_with:
            return self.hedge_with
        return self._perp_symbol(self._coin_list[0])

    def instruments(
        self, markets: Mapping[str, Market], now: datetime | None = None
    ) -> tuple[str, ...]:
        """Every listed symbol this rule may target (fetch positions on all of them)."""
        if "/" in self.hedge_with:
            return (self.hedge_with,)
        symbols: list[str] = []
        for coin in self._coin_list:
            if self.contract == "inverse_future" and now is not None:
                symbols.extend(m.symbol for m in dated_futures(markets, coin, now))
            else:
                symbol = self._perp_symbol(coin)
                if symbol in markets:
                    symbols.append(symbol)
        return tuple(dict.fromkeys(symbols))

    def beta_requests(self) -> tuple[BetaRequest, ...]:
        """β(asset, coin) for every proxy coin it may use (none for the asset itself)."""
        coins = [coin for coin in self._coin_list if coin != self.asset]
        return tuple(BetaRequest(self.asset, coin, self.estimator) for coin in coins)

    def vol_requests(self) -> tuple[VolRequest, ...]:
        """The asset's hourly realized volatility, when a volatility trigger is configured."""
        trigger = self.gating.vol_trigger
        if trigger is None:
            return ()
        hours = self.gating.vol_window_hours
        return (VolRequest(self.asset, "1h", 3600, hours, timedelta(hours=3)),)

    # --- the decision ----------------------------------------------------------------------

    def targets(self, inputs: RuleInputs) -> Sequence[HedgeTarget]:
        return self.evaluate(inputs).targets

    def evaluate(self, inputs: RuleInputs) -> RuleResult:
        """Targets, events and the next state for one tick. Needs ``inputs.now``."""
        now = inputs.now
        if now is None:
            raise ValueError(f"kind: beta rule for {self.asset} needs RuleInputs.now")
        state = inputs.states.get(self.asset, _NO_STATE)
        exposure = inputs.exposures.get(self.asset)
        exposure_usd = max(exposure.exposure_usd, ZERO) if exposure is not None else ZERO
        choice = self._choose(inputs, now, state)
        events = list(choice.events)
        if choice.symbol is None or choice.beta is None:
            lifted = self._lift(inputs.markets, (choice.lifted, state.instrument), choice.reason)
            return RuleResult(lifted, tuple(events), state)
        symbol = choice.symbol
        ratio, reasons, state = modified_ratio(
            inputs,
            now,
            state,
            symbol,
            events,
            asset=self.asset,
            ratio=self.ratio,
            funding=self.funding,
            gating=self.gating,
        )
        ratio, state = rho_gated_ratio(
            choice,
            now,
            state,
            ratio,
            reasons,
            events,
            exposure_usd,
            asset=self.asset,
            on_low_rho=self.on_low_rho,
            rho_floor=self.rho_floor,
            rho_taper=self.rho_taper,
            rho_breakdown=self.rho_breakdown,
        )
        beta = choice.beta
        if beta <= 0:
            events.append(self._event("negative_beta", "warning", symbol, choice, exposure_usd))
            reasons.append(f"beta {beta} <= 0: no hedge (a short would add risk)")
            ratio = ZERO
        usd = ratio * exposure_usd * beta if ratio > 0 else ZERO
        target = HedgeTarget(
            asset=self.asset,
            instrument=symbol,
            ratio=ratio,
            target_short_usd=usd,
            beta=beta,
            rho=choice.rho,
            proxy=choice.coin != self.asset,
            tracking=choice.tracking,
            beta_se=choice.beta_se,
            reason="; ".join(part for part in (choice.reason, *reasons) if part)
            if reasons
            else choice.reason,
        )
        targets: tuple[HedgeTarget, ...] = (target,)
        if self.contract == "inverse_future":
            plan = roll_plan(
                inputs.markets, choice.coin, now, self.roll_hours_before_expiry, inputs.positions
            )
            targets = plan.apply(target)
            roll_event = plan.event(self.asset)
            if roll_event is not None:
                events.append(roll_event)
        previous = state.instrument or symbol
        # Without a roll plan the one target is on ``symbol``: only a change of it can move.
        moved = previous != symbol or self.contract == "inverse_future"
        if moved and previous in inputs.markets and previous not in {t.instrument for t in targets}:
            why = f"hedge moved from {previous} to {symbol}"
            targets = (
                *targets,
                replace(target, instrument=previous, target_short_usd=ZERO, ratio=ZERO, reason=why),
            )
        if state.instrument != symbol:
            state = replace(state, instrument=symbol)
        return RuleResult(targets, tuple(events), state)

    def _choose(self, inputs: RuleInputs, now: datetime, state: RuleState) -> HedgeChoice:
        if "/" in self.hedge_with:
            market = inputs.markets.get(self.hedge_with)
            if market is None or not market.active:
                return self._missing(self.hedge_with)
            return self._with_coin(inputs, now, market.base, self.hedge_with)
        if self.hedge_with != "auto":
            symbol = self._symbol(self.hedge_with, inputs.markets, now)
            if symbol is None:
                return self._missing(self._perp_symbol(self.hedge_with))
            return self._with_coin(inputs, now, self.hedge_with, symbol)
        own = self._symbol(self.asset, inputs.markets, now)
        if own is not None:
            return own_contract_choice(own, self.asset)
        return self._auto_proxy(inputs, now, state)

    def _auto_proxy(self, inputs: RuleInputs, now: datetime, state: RuleState) -> HedgeChoice:
        usable: list[tuple[str, str, BetaEstimate]] = []
        problems: list[str] = []
        for coin in self.candidates:
            symbol = self._symbol(coin, inputs.markets, now)
            if coin == self.asset or symbol is None:
                continue
            estimate, problem = self._usable(inputs, now, coin)
            if estimate is None:
                problems.append(f"{coin}: {problem}")
            else:
                usable.append((coin, symbol, estimate))
        if not usable:
            why = "no own contract and no proxy with a usable beta"
            why += f" ({'; '.join(problems) or 'no candidate contract listed'}): no hedge"
            return HedgeChoice(None, events=(self._unavailable(why, None),), reason=why)
        rhos = [estimate_rho(u[2]) for u in usable]  # each once: this runs every tick
        best = max(range(len(usable)), key=rhos.__getitem__)  # first of equals: candidate order
        # The proxy in use (matched by coin, so a futures roll does not count as a switch) keeps
        # its place while it clears the floor and trails the best by at most switch_margin.
        held = inputs.markets.get(state.instrument or "")
        if held is not None:
            current = next((i for i, u in enumerate(usable) if u[0] == held.base), None)
            if (
                current is not None
                and rhos[current] >= self.rho_floor
                and rhos[best] - rhos[current] <= self.switch_margin
            ):
                best = current
        coin, symbol, estimate = usable[best]
        return self._check_rho(coin, symbol, estimate)

    def _with_coin(self, inputs: RuleInputs, now: datetime, coin: str, symbol: str) -> HedgeChoice:
        if coin == self.asset:
            return own_contract_choice(symbol, coin)
        estimate, problem = self._usable(inputs, now, coin)
        if estimate is None:
            why = f"beta({self.asset}, {coin}) unusable: {problem}: no hedge (target 0)"
            event = self._unavailable(why, symbol)
            return HedgeChoice(None, events=(event,), reason=why, lifted=symbol)
        return self._check_rho(coin, symbol, estimate)

    def _check_rho(self, coin: str, symbol: str, estimate: BetaEstimate) -> HedgeChoice:
        last = self._checked.get(coin)
        if last is not None and last[0] is estimate and last[1] == symbol:
            return last[2]
        choice = self._checked_choice(coin, symbol, estimate)
        self._checked[coin] = (estimate, symbol, choice)
        return choice

    def _checked_choice(self, coin: str, symbol: str, estimate: BetaEstimate) -> HedgeChoice:
        """The choice of ``coin``'s ``symbol`` with ``estimate``, with an event when ρ is below
        the floor (the hedge then tapers: ``_gate``; ``on_low_rho: hedge_anyway``: it stays)."""
        beta, rho = stat_decimal(estimate.beta), stat_decimal(estimate.rho)
        tracking = None
        if estimate.sd_asset is not None and estimate.sd_hedge is not None:
            tracking = tracking_ratio(estimate.sd_asset, estimate.sd_hedge, float(rho))
        se = estimate.beta_se
        beta_se = stat_decimal(se) if se is not None and math.isfinite(se) else None
        reason = f"beta {beta} rho {rho} vs {coin}"
        choice = HedgeChoice(
            symbol, coin, beta, rho, reason=reason, tracking=tracking, beta_se=beta_se
        )
        if rho >= self.rho_floor:
            return choice
        skip = self.on_low_rho == "skip"
        why = f"rho({self.asset}, {coin}) {rho} below floor {self.rho_floor}"
        why += ": proxy hedge tapered" if skip else ": hedged anyway"
        event = self._event("low_rho", "warning", symbol, choice, None)
        event = replace(event, message=why)
        return replace(choice, events=(event,), reason=f"{choice.reason}; {why}")

    def _usable(
        self, inputs: RuleInputs, now: datetime, coin: str
    ) -> tuple[BetaEstimate | None, str]:
        estimate = inputs.betas.get((self.asset, coin))
        if estimate is None:
            return None, "no estimate"
        if not estimate.ok or estimate.beta is None or estimate.rho is None:
            return None, f"{estimate.state} ({estimate.reason})"
        age = estimate.age(now)
        if age is None or age > self.estimator.max_age:
            return None, f"stale (newest return {age} old > {self.estimator.max_age})"
        return estimate, ""

    # --- helpers ---------------------------------------------------------------------------

    def _perp_symbol(self, coin: str) -> str:
        known = self._perps.get(coin)
        return known if known is not None else self._perp_name(coin)

    def _perp_name(self, coin: str) -> str:
        return own_linear_perp(coin) if self.contract == "linear_perp" else own_inverse_perp(coin)

    def _symbol(self, coin: str, markets: Mapping[str, Market], now: datetime) -> str | None:
        """``coin``'s listed, active contract of type ``contract``; None when there is none."""
        if self.contract == "inverse_future":
            return choose_contract(markets, coin, now, self.roll_hours_before_expiry)
        market = markets.get(self._perp_symbol(coin))
        return market.symbol if market is not None and market.active else None

    def _lift(
        self, markets: Mapping[str, Market], symbols: Sequence[str | None], why: str
    ) -> tuple[HedgeTarget, ...]:
        """0 targets (hedge lifted, reduce-only) on the listed ones of ``symbols``."""
        listed = [s for s in dict.fromkeys(symbols) if s is not None and s in markets]
        return tuple(HedgeTarget(self.asset, s, ZERO, ZERO, reason=why) for s in listed)

    def _missing(self, symbol: str) -> HedgeChoice:
        why = f"instrument {symbol} is not listed or not active: no hedge"
        event = RuleEvent("instrument_missing", "critical", self.asset, symbol, why)
        return HedgeChoice(None, events=(event,), reason=why)

    def _unavailable(self, why: str, symbol: str | None) -> RuleEvent:
        return RuleEvent("beta_unavailable", "critical", self.asset, symbol, why)

    def _event(
        self,
        kind: Literal["low_rho", "negative_beta"],
        severity: Literal["warning", "critical"],
        symbol: str,
        choice: HedgeChoice,
        exposure_usd: Decimal | None,
    ) -> RuleEvent:
        return choice_event(
            kind, severity, self.asset, symbol, choice, self.rho_floor, exposure_usd
        )
