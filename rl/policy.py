"""Trained RL policies as `PolicyStrategy`s for the backtest engine and the live trader, and the
`aml100.strategies` entry point.

`load_strategy(spec, params)` (entry point `rl = rl.policy:load_strategy`) understands:
- a checkpoint directory (one with `aml100_meta.json`) -> `RLPolicyStrategy`;
- an ensemble run directory or `ensemble.json` -> `EnsembleStrategy` (rl/ensemble.py);
- "ppo" / "dqn" / "ensemble" -> the newest such run under the default runs directory (runs/);
and returns None for anything else, so other loaders can try.

Loading reads the module's weights as numpy (`rl.inference.load_net`): neither torch nor RLlib is imported, so a
backtest worker starts in a fraction of a second, and the strategy object (plain arrays) pickles cheaply to Ray
workers. A policy normalises raw features with the statistics stored in its checkpoint (training span only), exactly
as the env did in training, and refuses features whose names differ from the ones it was trained on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from backtest.config import Params
from backtest.strategies.base import PolicyStrategy
from rl import checkpoint as ck
from rl.ensemble import FALLBACKS, EnsembleStrategy
from rl.inference import FastPolicy, load_net
from rl.obs import normalise_features

RUNS_SPECS = ("ppo", "dqn", "ensemble")


class RLPolicyStrategy(PolicyStrategy):
    """One trained recurrent policy, greedy, B segments in lockstep; `act_with_margin` also gives confidence.

    `norm` None means the features given to `prepare` are already normalised (evaluation during training).
    """

    def __init__(self, policy: FastPolicy, norm: Any, feature_names: list[str], name: str = "rl") -> None:
        self.policy = policy
        self.norm = norm
        self.feature_names = list(feature_names)
        self.name = name
        self.kind = policy.kind

    @classmethod
    def from_checkpoint(cls, path: str | Path, params: Params | None = None) -> RLPolicyStrategy:
        from backtest.features import NormStats

        meta = ck.read_metadata(path)
        min_q = params.trading.min_q_diff if params is not None else meta["config"]["trading"]["min_q_diff"]
        policy = FastPolicy(load_net(path), min_q_diff=min_q)
        return cls(policy, NormStats.from_dict(meta["norm"]), meta["feature_names"], name=f"rl-{meta['algo']}")

    @classmethod
    def from_module(
        cls, module: Any, norm: Any, feature_names: list[str], min_q_diff: float = 0.0, name: str | None = None
    ) -> RLPolicyStrategy:
        """A live torch module's current weights (e.g. the trainer's, to validate each training iteration)."""
        policy = FastPolicy(module, min_q_diff=min_q_diff)
        return cls(policy, norm, feature_names, name=name or f"rl-{policy.kind}")

    def prepare_features(self, features: np.ndarray) -> np.ndarray:
        from backtest.features import FEATURE_NAMES

        if self.norm is None:  # features are already prepared
            return features
        if list(FEATURE_NAMES) != self.feature_names:
            raise ValueError(f"{self.name} was trained on features {self.feature_names}, got {list(FEATURE_NAMES)}")
        return normalise_features(features, self.norm)

    def reset(self, batch: int) -> None:
        self.policy.reset(batch)

    def act_with_margin(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(actions int8 [B], confidence margins float32 [B]); see rl/inference.py for the margin definitions."""
        return self.policy.act(obs)

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.policy.act(obs)[0]

    def act_explained(self, obs: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        actions, margins = self.policy.act(obs)
        return actions, {"margin": margins}

    def lockstep(self, market, features, params, segments, warmup, peaks):
        """The compiled loop of rl/lockstep.py: the same actions as `act`, without Python per bar."""
        from rl.lockstep import run_lockstep

        return run_lockstep(self.policy.packed, market, features, params, segments, warmup, peaks)

    def warm(self) -> None:
        from rl.lockstep import warm

        warm(self.policy.packed)


def load_ensemble(path: str | Path, params: Params) -> EnsembleStrategy:
    """An `EnsembleStrategy` from a run directory or its `ensemble.json` (members are checkpoint paths)."""
    from backtest.strategies.rules import RulesStrategy

    path = Path(path)
    manifest_path = path if path.is_file() else path / ck.MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    base = manifest_path.parent
    names = list(manifest["members"])
    members = [RLPolicyStrategy.from_checkpoint(base / manifest["members"][n], params) for n in names]
    fallback = manifest.get("fallback", "rules")
    if fallback not in FALLBACKS:
        raise ValueError(f"{manifest_path}: fallback must be one of {FALLBACKS}, got {fallback!r}")
    return EnsembleStrategy(
        members,
        params.trading.signal_threshold,
        RulesStrategy(params.trading) if fallback == "rules" else None,
        tie_break=manifest.get("tie_break", "hold"),
        feature_names=members[0].feature_names,
        member_names=names,
    )


def resolve(spec: str, runs_dir: str | Path | None = None) -> tuple[str, Path] | None:
    """("policy" | "ensemble", path) for a spec this package understands, else None."""
    runs = Path(runs_dir) if runs_dir is not None else ck.DEFAULT_RUNS_DIR
    if spec in RUNS_SPECS:
        path = ck.latest(runs, spec)
        if path is None:
            raise FileNotFoundError(f"no trained {spec} run under {runs}; train one with python -m rl.train")
        return ("ensemble" if spec == "ensemble" else "policy"), path
    path = Path(spec)
    if ck.is_checkpoint(path):
        return "policy", path
    if ck.is_manifest(path):
        return "ensemble", path
    return None


def load_strategy(spec: str, params: Params) -> PolicyStrategy | None:
    """Entry point `aml100.strategies:rl`: a trained policy or ensemble for `spec`, or None if `spec` is not ours."""
    found = resolve(spec)
    if found is None:
        return None
    kind, path = found
    if kind == "policy":
        return RLPolicyStrategy.from_checkpoint(path, params)
    return load_ensemble(path, params)


__all__ = ["RLPolicyStrategy", "load_ensemble", "load_strategy", "resolve"]
