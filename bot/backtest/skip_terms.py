"""What a skip-ahead window (``bot.backtest.skip``) knows of the rules: their targets as factors
of their exposures, until when, and with which events.

A rule's answer at a later tick, asked with the same state, β estimates and funding rates, is
its answer now with the new exposure, until an instant known in advance: a β it reads falls due
or grows too old, a clock of its state runs out (a correlation breakdown, a funding breach or
calm), the funding rates change (a funding modifier reads them). ``steady_terms`` takes a tick
the general path judged quiet, whose rules answered with the states they were given (so they
give the same answer again), and describes each target as ``factor × exposure`` with that
bound. A proxy whose β is re-estimated at every tick (the default: hourly) is described per
tick instead (``bot.backtest.beta_paths``): its factor follows the β the estimator will give,
for as long as it certainly keeps its proxy. ``plain_terms`` does the same for a book of plain
ratio rules (no state, no events).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.backtest.beta_paths import ProxyFactors
from bot.core.no_trade import band_fraction
from bot.core.types import Exposure, HedgeTarget, Snapshot
from bot.sim.series import to_epoch
from strategies.base import HedgeRule, RuleInputs, own_inverse_perp
from strategies.beta import BetaRule
from strategies.book import BookResult
from strategies.modifiers import annualized_cost, step_funding_modifier
from strategies.ratio import RatioRule
from strategies.rho_gate import RhoGateState
from strategies.state import RuleState

if TYPE_CHECKING:
    from bot.backtest.runner import Replay

SECOND = timedelta(seconds=1)
NO_STATE = RuleState()
OPEN_GATE = RhoGateState()


@dataclass(frozen=True, slots=True)
class Owner:
    """One target: ``factor`` × its asset's exposure USD on ``symbol``; with ``varying``, the
    factor's bounds per tick instead (a proxy re-estimated at every tick), and its band's
    floor per tick when the band is fee-aware."""

    asset: str
    symbol: str
    factor: float
    band: float  # its own band (a fraction of its target; 0: a collateral target adds none)
    varying: ProxyFactors | None = None
    collateral: bool = False  # a margin coin held USD-neutral: its exposure is the wallet's


@dataclass(frozen=True, slots=True)
class Terms:
    """``owners``; ``until``: the first tick they no longer describe; ``events``:
    the kinds the rules report at every tick they describe. Without ``funded`` rules they hold
    across funding settlements as they are."""

    owners: tuple[Owner, ...]
    until: int
    events: frozenset[str]
    # the rules with a funding modifier and their instruments, and ``until`` but for the
    # funding rates (``refunded`` renews the window past a settlement that moves no modifier)
    funded: tuple[tuple[BetaRule, str], ...] = ()
    static_until: int = 0


def steady_kind(rule: HedgeRule) -> bool:
    """Whether ``rule``'s answer, given the same state, β estimates and funding rates, is the
    same at a later tick but for the exposure it multiplies, until an instant known in
    advance: a plain ratio rule; a ``kind: beta`` rule on perpetuals without activation
    windows or a volatility trigger (``steady_terms`` bounds its β's age and its clocks)."""
    if type(rule) is RatioRule:
        return True
    if type(rule) is not BetaRule:
        return False
    gating = rule.gating
    return rule.contract == "inverse_perp" and not gating.windows and gating.vol_trigger is None


def plain_terms(replay: Replay) -> Terms | None:
    """The terms of a book of plain ratio rules (``RuleBook.plain_totals``): each rule's
    ratio on its instrument, the planner's one band, every tick of the run."""
    plain = replay.book._plain
    if plain is None:
        return None
    settings = replay.settings
    band = float(settings.band if settings.band is not None else settings.no_trade.min_band)
    owners = tuple(Owner(asset, symbol, float(ratio), band) for asset, ratio, symbol in plain)
    return Terms(owners, replay.ticks_total, frozenset())


def window_terms(
    replay: Replay, book: BookResult, exposures: Mapping[str, Exposure], inputs: RuleInputs
) -> Terms | None:
    """``steady_terms`` of a quiet tick the general path judged (its book's answer, exposures
    and inputs; ``replay.states`` still the states the rules were given). Rules that moved
    their state this tick (a clock started, a modifier engaged, a gate reset) are asked again
    with the new states: when they want the same targets (``same_targets``) the terms come
    from that answer, with the new states as the ones they keep."""
    previous: Mapping[str, RuleState] = replay.states
    if book.states != previous:
        previous = book.states
        again = replay.book.evaluate(replace(inputs, states=previous))
        if not same_targets(again, book):
            return None
        book = again
    return steady_terms(replay, book, exposures, previous)


def same_targets(one: BookResult, other: BookResult) -> bool:
    """Whether two answers of a book want the same: the same instruments, USD, bands' inputs
    and collateral flags, target by target (their reasons may word a clock differently)."""
    return len(one.targets) == len(other.targets) and all(
        (a.asset, a.instrument, a.target_short_usd, a.collateral, a.tracking)
        == (b.asset, b.instrument, b.target_short_usd, b.collateral, b.tracking)
        for a, b in zip(one.targets, other.targets, strict=True)
    )


def steady_terms(
    replay: Replay,
    book: BookResult,
    exposures: Mapping[str, Exposure],
    previous: Mapping[str, RuleState],
) -> Terms | None:
    """The terms of a tick the general path judged quiet, when its rules are steady: every
    rule of a ``steady_kind``, every state as it came in (so the next tick's inputs give the
    same answer, the exposures aside), one target per rule and then only margin coins held
    USD-neutral, none negative, each on a positive exposure. Each target's factor is its USD
    over its exposure's (ratio × β after the gate); its band its own (``instrument_bands``:
    the instrument's band is the owners' widths over its whole target; a collateral target
    adds no width). The window ends where ``beta_rule_bound`` says, or where the funding
    rates change when a funding modifier reads them."""
    rules = replay.rules
    if len(book.targets) < len(rules) or book.states != previous:
        return None
    settings = replay.settings
    fixed, no_trade = settings.band, settings.no_trade
    owners: list[Owner] = []
    until = replay.ticks_total
    funded: list[tuple[BetaRule, str]] = []
    for index, target in enumerate(book.targets):
        rule = rules[index] if index < len(rules) else None
        exposure = exposures.get(target.asset)
        usd = target.target_short_usd
        if exposure is None or usd < 0 or target.collateral != (rule is None):
            return None
        if rule is not None and target.asset != rule.asset:  # a rule with none, one with two
            return None
        value = exposure.collateral * exposure.price if rule is None else exposure.exposure_usd
        if not value > 0:  # a target of max(exposure, 0): not a factor of the exposure
            return None
        varying = None
        if type(rule) is BetaRule:
            state = previous.get(rule.asset, NO_STATE)
            bound = beta_rule_bound(replay, rule, target, state, not book.events)
            if bound is None:
                return None
            until, varying = min(until, bound[0]), bound[1]
            if rule.funding is not None:
                funded.append((rule, target.instrument))
        if rule is None:
            band = 0.0
        else:
            band = float(fixed if fixed is not None else band_fraction(target.tracking, no_trade))
        factor = float(usd) / float(value)
        owners.append(Owner(target.asset, target.instrument, factor, band, varying, rule is None))
    events = frozenset(event.kind for event in book.events)
    static_until = until
    if funded:  # their ratios follow the funding rates the reader shows
        until = min(until, replay.ticks_before(replay.reader.funding_until))
    return Terms(tuple(owners), until, events, tuple(funded), static_until)


def refunded(
    replay: Replay, terms: Terms, snapshot: Snapshot
) -> tuple[Terms, dict[str, RuleState]] | None:
    """``terms`` renewed past a funding settlement (``snapshot``: read after it), with the
    rules' states after it, when every funding modifier, stepped with the new rates, stays
    engaged or not as it was (so its ratio: the floor while engaged, the rule's otherwise)
    and reports nothing; a clock it starts bounds the window. None when one would move."""
    now = snapshot.taken_at
    states = dict(replay.states)
    until = terms.static_until
    for rule, symbol in terms.funded:
        params = rule.funding
        if params is None:
            return None
        whole = states.get(rule.asset, NO_STATE)
        funding = snapshot.funding.get(symbol)
        cost = None if funding is None else annualized_cost(funding)
        step = step_funding_modifier(params, whole.funding, rule.ratio, cost, now)
        if step.event is not None or step.state.engaged != whole.funding.engaged:
            return None
        if step.state != whole.funding:  # a breach or calm started or ended: its clock
            whole = states[rule.asset] = replace(whole, funding=step.state)
            for instant in clocks(rule, whole):
                until = min(until, replay.ticks_before(instant))
    funded_until = min(until, replay.ticks_before(replay.reader.funding_until))
    return replace(terms, until=funded_until, static_until=until), states


def beta_rule_bound(
    replay: Replay, rule: BetaRule, target: HedgeTarget, state: RuleState, quiet: bool
) -> tuple[int, ProxyFactors | None] | None:
    """The first tick at which ``rule`` (whose answer this tick was ``target``, from
    ``state``) may answer otherwise, but for the funding rates (``steady_terms`` bounds
    those): a β it reads falls due or grows too old, a clock of its state runs out; None:
    unknown.
    With it, the proxy's factors per tick when its β is re-estimated at every tick
    (``per_tick_factors``; ``quiet``: no rule reported an event)."""
    until = replay.ticks_total
    for instant in clocks(rule, state):
        until = min(until, replay.ticks_before(instant))
    if rule.hedge_with == "auto" and not target.proxy:
        return until, None  # its own contract (listed throughout: no dated market): no β read
    if quiet:
        varying = per_tick_factors(replay, rule, target, state)
        if varying is not None:
            return until, varying
    betas = replay.estimates.betas
    for request in rule.beta_requests():
        at = betas.due_at(request.key)
        if at is None:
            return None
        until = min(until, replay.ticks_before(to_epoch(at + request.params.refresh)))
        estimate = betas.known(request.key)
        if estimate is None or estimate.data_end is None:
            continue  # not read, or never usable: the same answer at every tick
        limit = to_epoch(estimate.data_end) + rule.estimator.max_age // SECOND
        until = min(until, replay.ticks_before(limit + 1))  # ticks with age <= max_age
    return until, None


def per_tick_factors(
    replay: Replay, rule: BetaRule, target: HedgeTarget, state: RuleState
) -> ProxyFactors | None:
    """The factors of a proxy target per tick (``bot.backtest.beta_paths.proxy_factors``),
    when every β the rule reads is an OLS estimate re-estimated at every tick (so skipping a
    refresh changes no schedule), its correlation gate is open (scale 1, no clock) and no
    funding modifier acts; else None."""
    window = replay._window
    step = timedelta(seconds=replay.step_s)
    if window is None or not target.proxy or rule.funding is not None:
        return None
    if state.rho_gate != OPEN_GATE:
        return None
    requests = rule.beta_requests()
    if any(r.params.method != "ols" or r.params.refresh > step for r in requests):
        return None
    markets = replay.reader.markets
    held = markets.get(target.instrument)
    if held is None:
        return None
    listed = []
    for request in requests:
        market = markets.get(own_inverse_perp(request.hedge))
        if market is not None and market.active:
            listed.append(request)
    no_trade = replay.settings.no_trade if replay.settings.band is None else None
    return window.proxy_factors(rule, held.base, listed, no_trade)


def clocks(rule: BetaRule, state: RuleState) -> list[int]:
    """Epoch s at which ``rule``'s answer may change with the time alone, given ``state``
    (``strategies.rho_gate``, ``strategies.modifiers``): a low correlation declared a
    breakdown, a funding breach or calm that lasted long enough."""
    found: list[int] = []
    gate = state.rho_gate
    if gate.low_since is not None and not gate.broken:
        found.append(to_epoch(gate.low_since + rule.rho_breakdown))
    funding, params = state.funding, rule.funding
    if params is not None:
        if not funding.engaged and funding.breach_since is not None:
            found.append(to_epoch(funding.breach_since + params.after))
        if funding.engaged and funding.calm_since is not None:
            found.append(to_epoch(funding.calm_since + params.restore_after))
    return found
