"""Talking to a running trader: typed commands, and the two ways they reach it (its Ray actor or its control folder).

Every request, from the Ray actor or the control folder, is parsed here into one of five commands (`Stop`, `SetSize`,
`Pause`, `Resume`, `Swap`); the trader handles them between two bars in one dispatch (`Trader.handle`). The control
folder (`<journal>/control/`) works for any trader on this machine (in-process, a local Ray, a detached actor on this
node); each request is one JSON file written atomically, handled oldest first and then removed, and journalled as a
`control` record. The Ray actor is used when it can be found by name (`live-<coin>` in the `aml100` namespace), so a
trader on another node is reached.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.atomic import atomic_write_json
from live.journal import read_status

CONTROL_DIR = "control"


# --- commands ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stop:
    """Stop trading; flatten first unless told not to."""

    flatten: bool = True


@dataclass(frozen=True)
class SetSize:
    """Set the size multiplier (capped at `live.size_multiplier_max`)."""

    multiplier: float
    reason: str = ""


@dataclass(frozen=True)
class Pause:
    """No new positions until `Resume`; flatten now unless told not to."""

    reason: str = ""
    flatten: bool = True


@dataclass(frozen=True)
class Resume:
    reason: str = ""


@dataclass(frozen=True)
class Swap:
    """Trade another strategy from the next bar: `strategy` already loaded (it travelled through Ray), else `spec`
    loaded by the trader; `params` (the new policy's validated sections) replace the trader's but for the
    operator's market, live and paper_exchange sections."""

    policy_id: str
    spec: str = ""
    params: Any = None  # Params or its dict
    reason: str = ""
    strategy: Any = None  # a loaded Strategy


Command = Stop | SetSize | Pause | Resume | Swap
COMMANDS = ("stop", "size", "pause", "resume", "swap")


class ControlError(ValueError):
    """A request that is not a command (the message names the field and what is allowed)."""


def _text(req: dict[str, Any], key: str, required: bool = False) -> str:
    value = req.get(key)
    if value is None:
        if required:
            raise ControlError(f"{req.get('cmd')!r} needs {key!r}")
        return ""
    if not isinstance(value, str):
        raise ControlError(f"{key!r} must be a string, got {value!r}")
    return value


def parse_command(req: dict[str, Any]) -> Command:
    """The command a request asks for: `{"cmd": one of COMMANDS, ...fields}` (a control file, or an actor call)."""
    cmd = req.get("cmd")
    flatten = bool(req.get("flatten", True))
    if cmd == "stop":
        return Stop(flatten)
    if cmd == "size":
        try:
            multiplier = float(req["multiplier"])
        except (KeyError, TypeError, ValueError):
            raise ControlError(f"'size' needs a number 'multiplier', got {req.get('multiplier')!r}") from None
        if not math.isfinite(multiplier):
            raise ControlError(f"'multiplier' must be finite, got {multiplier}")
        return SetSize(multiplier, _text(req, "reason"))
    if cmd == "pause":
        return Pause(_text(req, "reason"), flatten)
    if cmd == "resume":
        return Resume(_text(req, "reason"))
    if cmd == "swap":
        if req.get("strategy") is None and not _text(req, "spec"):
            raise ControlError("'swap' needs 'spec' (or a loaded 'strategy')")
        return Swap(_text(req, "policy_id", required=True), _text(req, "spec"), req.get("params"),
                    _text(req, "reason"), req.get("strategy"))  # fmt: skip
    raise ControlError(f"unknown command {cmd!r}; allowed: {', '.join(COMMANDS)}")


class ControlFolder:
    """The requests left in `<journal>/control/` (`LiveControl.send`), taken oldest first, each once."""

    def __init__(self, root: Path) -> None:
        self.folder = Path(root) / CONTROL_DIR

    def clear(self) -> None:
        """Drop requests addressed to an earlier run (at start)."""
        for stale in self.folder.glob("*.json"):
            stale.unlink()

    def take(self, last_id: str | None) -> list[dict[str, Any]]:
        """New requests, oldest first, each file removed once read; a request without an id, or with the id of the
        one handled just before (`last_id`, kept across restarts), is dropped."""
        if not self.folder.is_dir():
            return []
        out: list[dict[str, Any]] = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                req = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # being written (writers replace atomically, so this is rare): next turn
            path.unlink(missing_ok=True)
            if not isinstance(req, dict) or req.get("id") in (None, last_id):
                continue
            last_id = req["id"]
            out.append(req)
        return out


# --- the client -------------------------------------------------------------------------------------------------------
class TraderNotFound(RuntimeError):
    """No running trader for the coin (the message says where it looked)."""


class LiveControl:
    """A handle on the trader of one coin: `status()`, `set_size()`, `pause()`, `resume()`, `swap()`, `stop()`."""

    def __init__(self, root: Path | None = None, actor: Any = None) -> None:
        if root is None and actor is None:
            raise TraderNotFound("no trader journal folder and no Ray actor")
        self.root, self.actor = root, actor

    @classmethod
    def find(cls, journal_base: Path, coin_slug: str, actor_name: str | None = None) -> LiveControl:
        """The newest trader of `coin_slug` under `journal_base`, and its Ray actor if Ray is up and it has one."""
        actor = None
        if actor_name:
            try:
                import ray

                if ray.is_initialized():
                    actor = ray.get_actor(actor_name, namespace="aml100")
            except (ImportError, ValueError):
                actor = None
        roots = sorted(
            (p.parent for p in (journal_base / coin_slug).glob("*/status.json")),
            key=lambda r: (r / "status.json").stat().st_mtime,
            reverse=True,
        )
        if not roots and actor is None:
            raise TraderNotFound(
                f"no live trader under {journal_base / coin_slug}; start one with python -m live.serve"
            )
        return cls(roots[0] if roots else None, actor)

    # --- queries --------------------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        if self.actor is not None:
            import ray

            return ray.get(self.actor.status.remote(), timeout=30)
        st = read_status(self.root) if self.root else None
        if st is None:
            raise TraderNotFound(f"no status.json in {self.root}")
        return st

    @property
    def running(self) -> bool:
        try:
            return bool(self.status().get("running"))
        except TraderNotFound:
            return False

    # --- requests -------------------------------------------------------------------------------------------------
    def send(self, cmd: str, **fields: Any) -> str:
        """Queue a request for the trader; returns its id."""
        req_id = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        if self.root is None:
            raise TraderNotFound("this trader has no control folder on this machine; use its Ray actor")
        atomic_write_json(self.root / CONTROL_DIR / f"{req_id}.json", {"id": req_id, "cmd": cmd, **fields})
        return req_id

    def set_size(self, multiplier: float, reason: str = "") -> None:
        if self.actor is not None:
            import ray

            ray.get(self.actor.set_size_multiplier.remote(multiplier, reason), timeout=30)
        else:
            self.send("size", multiplier=multiplier, reason=reason)

    def pause(self, reason: str = "", flatten: bool = True) -> None:
        """No new positions until `resume`; flatten now unless told not to."""
        self._request("pause", reason=reason, flatten=flatten)

    def resume(self, reason: str = "") -> None:
        self._request("resume", reason=reason)

    def swap(self, spec: str, policy_id: str, params: dict | None = None, reason: str = "") -> None:
        """Through the actor, the strategy is loaded here and sent loaded (the trader's node may not have the
        checkpoint's files); through the control folder, the trader loads `spec` itself (same machine)."""
        if self.actor is not None:
            import ray

            strategy = None
            if params:
                from backtest.config import params_from_dict
                from backtest.strategies.registry import resolve_strategy

                strategy = resolve_strategy(spec, params_from_dict(params))
            ray.get(self.actor.swap.remote(spec, policy_id, reason, params, strategy), timeout=120)
        else:
            self.send("swap", spec=spec, policy_id=policy_id, params=params, reason=reason)

    def stop(self, flatten: bool = True) -> None:
        if self.actor is not None:
            import ray

            ray.get(self.actor.stop.remote(flatten), timeout=120)
        else:
            self.send("stop", flatten=flatten)

    def _request(self, kind: str, **kw: Any) -> None:
        if self.actor is None:
            self.send(kind, **kw)
            return
        import ray

        ray.get(self.actor.request.remote(kind, kw), timeout=30)

    def wait_for(self, predicate: Any, timeout_s: float = 60.0, poll_s: float = 0.2) -> dict[str, Any]:
        """Wait until `predicate(status)` holds (the trader handles requests between bars); the last status."""
        deadline = time.monotonic() + timeout_s
        st: dict[str, Any] = {}
        while time.monotonic() < deadline:
            st = self.status()
            if predicate(st):
                return st
            time.sleep(poll_s)
        raise TimeoutError(f"the trader did not get there within {timeout_s:.0f} s (last status: {st.get('risk')})")
