"""Trained RL policies as `PolicyStrategy`s for the backtest engine and the live trader, and the
`aml100.strategies` entry point.

`load_strategy(spec, params)` (entry point `rl = rl.policy:load_strategy`) understands:
- a checkpoint directory (one with `aml100_meta.json`) -> `RLPolicyStrategy`;
- an ensemble run directory or `ensemble.json` -> `EnsembleStrategy` (rl/ensemble.py);
- either of them as a storage URI (`s3://bucket/aml100/runs/ppo/<run>/best`): copied once into a local cache;
- "ppo" / "dqn" / "ensemble" -> the newest such run under `<cluster.storage>/runs` (default runs/);
and returns None for anything else, so other loaders can try. `load_spec(spec)` reads the files once into a
`LoadedSpec` whose `build(params)` needs no disk: that is what travels to Ray workers on other nodes.

Loading reads the module's weights as numpy (`rl.inference.load_net`): neither torch nor RLlib is imported, so a
backtest worker starts in a fraction of a second, and the strategy object (plain arrays) pickles cheaply to Ray
workers. A policy normalises raw features with the statistics stored in its checkpoint (training span only), exactly
as the env did in training. It reads the features it was trained on by name, in its order (`feature_names` in the
checkpoint): a checkpoint from before a feature was added still loads; one naming a feature this version does not
compute is refused with a clear message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backtest.config import Params
from backtest.strategies.base import PolicyStrategy
from rl import checkpoint as ck
from rl.ensemble import FALLBACKS, EnsembleStrategy
from rl.inference import FastPolicy, PolicyNet, load_net
from rl.obs import normalise_features

RUNS_SPECS = ("ppo", "dqn", "ensemble")


class RLPolicyStrategy(PolicyStrategy):
    """One trained recurrent policy, greedy, B segments in lockstep; `act_with_margin` also gives confidence.

    `norm` None means the features given to `prepare` are already normalised (evaluation during training).
    """

    def __init__(self, policy: FastPolicy, norm: Any, feature_names: list[str], name: str = "rl") -> None:
        from backtest.features import feature_columns

        self.policy = policy
        self.norm = norm
        self.feature_names = list(feature_names)
        self.name = name
        self.kind = policy.kind
        self.columns = feature_columns(self.feature_names, name)  # a checkpoint reads its own features, in order

    @classmethod
    def from_checkpoint(cls, path: str | Path, params: Params | None = None) -> RLPolicyStrategy:
        return cls.from_loaded(load_net(path), ck.read_metadata(path), params)

    @classmethod
    def from_loaded(cls, net: PolicyNet, meta: dict[str, Any], params: Params | None = None) -> RLPolicyStrategy:
        """From weights and metadata already read (`LoadedSpec`); `params` give the trading settings (min_q_diff)."""
        from backtest.features import NormStats

        min_q = params.trading.min_q_diff if params is not None else meta["config"]["trading"]["min_q_diff"]
        policy = FastPolicy(net, min_q_diff=min_q)
        return cls(policy, NormStats.from_dict(meta["norm"]), meta["feature_names"], name=f"rl-{meta['algo']}")

    @classmethod
    def from_module(
        cls, module: Any, norm: Any, feature_names: list[str], min_q_diff: float, name: str | None = None
    ) -> RLPolicyStrategy:
        """A live torch module's current weights (e.g. the trainer's, to validate each training iteration)."""
        policy = FastPolicy(module, min_q_diff=min_q_diff)
        return cls(policy, norm, feature_names, name=name or f"rl-{policy.kind}")

    def prepare_features(self, features: np.ndarray) -> np.ndarray:
        """Raw features [T, len(FEATURE_NAMES)] -> this policy's own columns (a checkpoint trained before a feature
        was added reads the ones it knows, in its order), normalised with its training statistics."""
        if self.norm is None:  # features are already prepared
            return features
        features = np.asarray(features)
        if features.shape[-1] != self.columns.size or not np.array_equal(self.columns, np.arange(self.columns.size)):
            features = features[..., self.columns]
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


@dataclass
class LoadedSpec:
    """A trained policy or ensemble spec with its files read once: weights (numpy), metadata, manifest.

    `build(params)` makes the strategy for any params without touching a disk, so this object can go through Ray's
    object store to a sweep's trials or a live actor on another node, where the checkpoint's path may not exist.
    `load_strategy(spec, params)` is `load_spec(spec).build(params)`: one way to build, wherever it happens.
    """

    spec: str
    kind: str  # "policy" | "ensemble"
    members: list[tuple[str, PolicyNet, dict[str, Any]]]  # (member name, weights, aml100_meta.json)
    manifest: dict[str, Any] | None = None
    location: str = ""  # where it was read (a path or a storage URI)
    member_locations: list[str] | None = None  # where each member's checkpoint was read

    def copy_to(self, folder: Path) -> Path:
        """Copy the files behind this spec into `folder` (a checkpoint, or an ensemble manifest with its members in
        subfolders); returns what to load from there."""
        import shutil

        from cluster.storage import localize

        if self.kind == "policy":
            shutil.copytree(localize(self.location), folder, dirs_exist_ok=True)
            return folder
        members = {}
        for (name, _, _), where in zip(self.members, self.member_locations or []):
            shutil.copytree(localize(where), folder / name, dirs_exist_ok=True)
            members[name] = name
        ck.write_json(folder / ck.MANIFEST_FILE, {**(self.manifest or {}), "members": members})
        return folder

    def build(self, params: Params) -> PolicyStrategy:
        if self.kind == "policy":
            _, net, meta = self.members[0]
            return RLPolicyStrategy.from_loaded(net, meta, params)
        from backtest.strategies.rules import RulesStrategy

        manifest = self.manifest or {}
        fallback = manifest.get("fallback", "rules")
        if fallback not in FALLBACKS:
            raise ValueError(f"{self.location}: fallback must be one of {FALLBACKS}, got {fallback!r}")
        members = [RLPolicyStrategy.from_loaded(net, meta, params) for _, net, meta in self.members]
        return EnsembleStrategy(
            members,
            params.trading.signal_threshold,
            RulesStrategy(params.trading) if fallback == "rules" else None,
            tie_break=manifest.get("tie_break", "hold"),
            feature_names=members[0].feature_names,
            member_names=[name for name, _, _ in self.members],
        )


def _read_checkpoint(location: str | Path) -> tuple[PolicyNet, dict[str, Any]]:
    from cluster.storage import localize

    path = localize(location)
    return load_net(path), ck.read_metadata(path)


def read_spec(kind: str, location: str | Path, spec: str | None = None) -> LoadedSpec:
    """Read a checkpoint ("policy") or an ensemble manifest ("ensemble") at a path or storage URI."""
    from cluster.storage import is_uri, join, localize

    location = str(location)
    if kind == "policy":
        net, meta = _read_checkpoint(location)
        return LoadedSpec(spec or location, "policy", [(meta.get("algo", "policy"), net, meta)], None, location,
                          [location])  # fmt: skip
    manifest_loc = location if location.endswith(ck.MANIFEST_FILE) else join(location, ck.MANIFEST_FILE)
    manifest = json.loads(Path(localize(manifest_loc)).read_text())
    base = manifest_loc.rsplit("/", 1)[0] if is_uri(manifest_loc) else str(Path(manifest_loc).parent)
    members, where = [], []
    for name, rel in manifest["members"].items():
        member = _member_location(base, rel)
        net, meta = _read_checkpoint(member)
        members.append((name, net, meta))
        where.append(member)
    return LoadedSpec(spec or location, "ensemble", members, manifest, location, where)


def _member_location(base: str, rel: str) -> str:
    """A member checkpoint named relative to its manifest's folder (a path or a URI)."""
    import posixpath

    from cluster.storage import is_uri

    if is_uri(rel) or Path(rel).is_absolute():
        return rel
    if is_uri(base):
        scheme, rest = base.split("://", 1)
        return f"{scheme}://{posixpath.normpath(posixpath.join(rest, rel))}"
    return str(Path(base) / rel)


def load_ensemble(path: str | Path, params: Params) -> EnsembleStrategy:
    """An `EnsembleStrategy` from a run directory or its `ensemble.json` (members are checkpoint paths)."""
    return read_spec("ensemble", path).build(params)  # type: ignore[return-value]


def resolve(spec: str, runs_dir: str | Path | None = None) -> tuple[str, Path | str] | None:
    """("policy" | "ensemble", location) for a spec this package understands, else None.

    The location is a path, or a storage URI (`s3://...`, cluster.storage) for specs that name one."""
    from cluster.storage import exists, is_uri, join

    runs = runs_dir if runs_dir is not None else ck.DEFAULT_RUNS_DIR
    if spec in RUNS_SPECS:
        path = ck.latest(runs, spec)
        if path is None:
            raise FileNotFoundError(f"no trained {spec} run under {runs}; train one with python -m rl.train")
        return ("ensemble" if spec == "ensemble" else "policy"), path
    if is_uri(spec):
        if exists(join(spec, ck.META_FILE)):
            return "policy", spec
        if spec.endswith(ck.MANIFEST_FILE) or exists(join(spec, ck.MANIFEST_FILE)):
            return "ensemble", spec
        return None
    path = Path(spec)
    if ck.is_checkpoint(path):
        return "policy", path
    if ck.is_manifest(path):
        return "ensemble", path
    return None


def load_spec(spec: str, runs_dir: str | Path | None = None) -> LoadedSpec | None:
    """The files behind `spec` read once (`LoadedSpec`), or None if `spec` is not a trained policy or ensemble."""
    found = resolve(spec, runs_dir)
    if found is None:
        return None
    return read_spec(found[0], found[1], spec)


def load_strategy(spec: str, params: Params) -> PolicyStrategy | None:
    """Entry point `aml100.strategies:rl`: a trained policy or ensemble for `spec`, or None if `spec` is not ours.

    "ppo" / "dqn" / "ensemble" name the newest run under `<cluster.storage>/runs`."""
    from cluster.storage import runs_root

    loaded = load_spec(spec, runs_root(params) if spec in RUNS_SPECS else None)
    return None if loaded is None else loaded.build(params)


__all__ = ["LoadedSpec", "RLPolicyStrategy", "load_ensemble", "load_spec", "load_strategy", "read_spec", "resolve"]
