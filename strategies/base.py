"""The rule interface: a pure function of exposures and markets returning hedge targets."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.config.models import RuleConfig
from bot.core.types import Exposure, HedgeTarget, Market


@dataclass(frozen=True, slots=True)
class RuleInputs:
    """What a rule may look at. Built by the daemon from one snapshot."""

    exposures: Mapping[str, Exposure]  # coin -> exposure
    markets: Mapping[str, Market]  # symbol -> market


class HedgeRule(Protocol):
    """A pluggable hedge rule. ``targets`` must be pure and deterministic."""

    @property
    def asset(self) -> str: ...

    @property
    def instrument(self) -> str: ...

    def targets(self, inputs: RuleInputs) -> Sequence[HedgeTarget]: ...


RuleFactory = Callable[[RuleConfig], HedgeRule]
_REGISTRY: dict[str, RuleFactory] = {}


def register(kind: str) -> Callable[[RuleFactory], RuleFactory]:
    """Class/function decorator: make a rule selectable in YAML by ``kind``."""

    def wrap(factory: RuleFactory) -> RuleFactory:
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
