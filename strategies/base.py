"""The rule interface: a pure function of exposures and markets returning hedge targets.

Every rule has ``asset``, ``instrument`` and a pure ``targets(inputs)``. A rule may also
implement ``evaluate(inputs) -> RuleResult`` (targets + events + its next state),
``instruments(markets, now)`` (every symbol it may target or must see positions on) and
``beta_requests()``/``vol_requests()`` (estimates it needs); the helpers below fall back to the
plain interface for rules that do not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

from bot.config.models import RuleConfig
from bot.core.types import Exposure, FundingRate, HedgeTarget, Market, Position, Snapshot
from bot.stats.beta import BetaEstimate
from strategies.events import RuleResult
from strategies.requests import BetaRequest, VolRequest

if TYPE_CHECKING:
    from strategies.state import RuleState


@dataclass(frozen=True, slots=True)
class RuleInputs:
    """What a rule may look at. Built by the daemon from one snapshot.

    The fields after ``markets`` are optional; a rule that needs one and finds it empty says so
    in an event rather than guessing. ``now``: the snapshot time (aware UTC). ``betas``: the
    latest estimate per ``(asset, hedge coin)`` (see ``BetaRequest``). ``funding``: by instrument
    symbol. ``realized_vol``: annualized, by coin (see ``VolRequest``). ``positions``: by symbol,
    as in the snapshot (a roll needs the held futures). ``states``: each rule's state from its
    previous ``RuleResult``, by rule asset.
    """

    exposures: Mapping[str, Exposure]  # coin -> exposure
    markets: Mapping[str, Market]  # symbol -> market
    now: datetime | None = None
    betas: Mapping[tuple[str, str], BetaEstimate] = field(default_factory=dict)
    funding: Mapping[str, FundingRate] = field(default_factory=dict)
    realized_vol: Mapping[str, float] = field(default_factory=dict)
    positions: Mapping[str, Position] = field(default_factory=dict)
    states: Mapping[str, RuleState] = field(default_factory=dict)

    @classmethod
    def from_snapshot(
        cls,
        snapshot: Snapshot,
        exposures: Mapping[str, Exposure],
        *,
        betas: Mapping[tuple[str, str], BetaEstimate] | None = None,
        realized_vol: Mapping[str, float] | None = None,
        states: Mapping[str, RuleState] | None = None,
    ) -> RuleInputs:
        """Inputs for one tick: ``now``, markets, funding and positions from ``snapshot``.

        The mappings are used as given, not copied: a decision reads them while the caller
        leaves them alone (a copy would also read every entry of a lazily computed one, such as
        the backtest's β estimates)."""
        return cls(
            exposures=exposures,
            markets=snapshot.markets,
            now=snapshot.taken_at,
            betas={} if betas is None else betas,
            funding=snapshot.funding,
            realized_vol={} if realized_vol is None else realized_vol,
            positions=snapshot.positions,
            states={} if states is None else states,
        )


class HedgeRule(Protocol):
    """A pluggable hedge rule. ``targets`` must be pure and deterministic."""

    @property
    def asset(self) -> str: ...

    @property
    def instrument(self) -> str: ...

    def targets(self, inputs: RuleInputs) -> Sequence[HedgeTarget]: ...


@runtime_checkable
class EvaluatingRule(Protocol):
    """A rule that reports events and carries state (see ``RuleResult``)."""

    def evaluate(self, inputs: RuleInputs) -> RuleResult: ...


@runtime_checkable
class InstrumentListing(Protocol):
    """A rule whose instruments depend on the markets (e.g. ``hedge_with: auto``)."""

    def instruments(
        self, markets: Mapping[str, Market], now: datetime | None = None
    ) -> tuple[str, ...]: ...


@runtime_checkable
class EstimateRequesting(Protocol):
    """A rule that needs β estimates and realized volatilities computed for it."""

    def beta_requests(self) -> tuple[BetaRequest, ...]: ...

    def vol_requests(self) -> tuple[VolRequest, ...]: ...


_IMPLEMENTS: dict[tuple[type, type], bool] = {}


def implements(rule: object, protocol: type) -> bool:
    """``isinstance(rule, protocol)`` for a ``runtime_checkable`` protocol, remembered per class
    of ``rule`` when its instances have no ``__dict__`` (slotted rules: their attributes are the
    class's and its fields, the same for every instance). Such a check costs tens of
    microseconds on Python 3.11."""
    key = (type(rule), protocol)
    known = _IMPLEMENTS.get(key)
    if known is None:
        known = isinstance(rule, protocol)
        if not hasattr(rule, "__dict__"):
            _IMPLEMENTS[key] = known
    return known


def evaluate_rule(rule: HedgeRule, inputs: RuleInputs) -> RuleResult:
    """``rule.evaluate(inputs)`` when it has one, else its targets with no events or state."""
    if implements(rule, EvaluatingRule):
        return cast(EvaluatingRule, rule).evaluate(inputs)
    return RuleResult(tuple(rule.targets(inputs)))


def rule_instruments(
    rule: HedgeRule, markets: Mapping[str, Market], now: datetime | None = None
) -> tuple[str, ...]:
    """Every symbol ``rule`` may target (positions must be fetched for all of them)."""
    if isinstance(rule, InstrumentListing):
        return rule.instruments(markets, now)
    return (rule.instrument,)


def collect_requests(
    rules: Sequence[HedgeRule],
) -> tuple[tuple[BetaRequest, ...], tuple[VolRequest, ...]]:
    """Every rule's β and volatility requests, de-duplicated (by key / coin), in rule order.

    Rules without them (e.g. ``kind: ratio``) contribute none.
    """
    betas: dict[tuple[str, str], BetaRequest] = {}
    vols: dict[str, VolRequest] = {}
    for rule in rules:
        if isinstance(rule, EstimateRequesting):
            for request in rule.beta_requests():
                betas.setdefault(request.key, request)
            for vol in rule.vol_requests():
                vols.setdefault(vol.coin, vol)
    return tuple(betas.values()), tuple(vols.values())


RuleFactory = Callable[[Any], HedgeRule]
_REGISTRY: dict[str, RuleFactory] = {}
F = TypeVar("F", bound=RuleFactory)


def register(kind: str) -> Callable[[F], F]:
    """Class/function decorator: make a rule selectable in YAML by ``kind``.

    The factory receives the validated config model of that kind (e.g. ``RatioRuleConfig``).
    """

    def wrap(factory: F) -> F:
        _REGISTRY[kind] = factory
        return factory

    return wrap


def build_rule(config: RuleConfig) -> HedgeRule:
    """Instantiate the rule ``config.kind`` names."""
    try:
        factory = _REGISTRY[config.kind]
    except KeyError:
        raise ValueError(f"unknown rule kind {config.kind!r}") from None
    return factory(config)


def own_inverse_perp(asset: str) -> str:
    """The ccxt symbol of an asset's own inverse perpetual, e.g. ``BTC/USD:BTC``."""
    return f"{asset}/USD:{asset}"


def own_linear_perp(asset: str) -> str:
    """The ccxt symbol of an asset's USDT-margined linear perpetual, e.g. ``BTC/USDT:USDT``."""
    return f"{asset}/USDT:USDT"
