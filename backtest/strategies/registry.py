"""Turn a `--strategy` argument into a strategy object.

Built in: `rules`, `buyhold`, and `oracle` (synthetic data with the planted edge only: `backtest.strategies.oracle`).
`package.module:Class` loads your own strategy class (constructed with the params).
Anything else is offered to loaders registered under the `aml100.strategies` entry-point group (the rl package
registers trained policies and ensembles there), so backtest never imports rl.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path

from backtest.config import Params
from backtest.strategies.base import PolicyStrategy, SignalStrategy, Strategy
from backtest.strategies.buyhold import BuyHoldStrategy
from backtest.strategies.rules import RulesStrategy

BUILTIN = ("rules", "buyhold", "oracle")
ENTRY_POINT_GROUP = "aml100.strategies"


class StrategyError(ValueError):
    """The strategy argument names nothing that can be loaded."""


def resolve_strategy(spec: str, params: Params) -> Strategy:
    """A strategy for `spec`: a built-in name, or whatever a registered loader accepts (checkpoint path, ...)."""
    if spec == "rules":
        return RulesStrategy(params.trading)
    if spec == "buyhold":
        return BuyHoldStrategy()
    if spec == "oracle":
        from backtest.strategies.oracle import OracleError, OracleStrategy

        try:
            return OracleStrategy.for_params(params)
        except OracleError as exc:
            raise StrategyError(f"strategy 'oracle': {exc}") from None
    if ":" in spec and not Path(spec).exists():
        return _import_strategy(spec, params)
    tried = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        tried.append(ep.name)
        strategy = ep.load()(spec, params)
        if strategy is not None:
            return strategy
    plugins = f" or what the plugins ({', '.join(tried)}) accept" if tried else ""
    raise StrategyError(
        f"unknown strategy {spec!r}: use one of {BUILTIN}, a trained checkpoint directory, 'ppo', 'dqn' or "
        f"'ensemble'{plugins}"
    )


def _import_strategy(spec: str, params: Params) -> Strategy:
    module_name, _, attr = spec.partition(":")
    try:
        cls = getattr(import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise StrategyError(f"strategy {spec!r}: cannot import {attr!r} from {module_name!r} ({exc})") from None
    strategy = cls(params)
    if not isinstance(strategy, SignalStrategy | PolicyStrategy):
        raise StrategyError(f"strategy {spec!r} is neither a SignalStrategy nor a PolicyStrategy")
    return strategy


def strategy_overrides(strategy: Strategy) -> list[str]:
    """Execution overrides a strategy asks for (e.g. buy-and-hold has no stops)."""
    return list(strategy.param_overrides)
