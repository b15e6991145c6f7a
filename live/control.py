"""Talking to a running trader: through its Ray actor when there is one, else through its control folder.

Every request is handled by the trader between two bars. The control folder (`<journal>/control/`) works for any
trader on this machine (in-process, a local Ray, a detached actor on this node); each request is one JSON file
written atomically, handled oldest first and then removed, and journalled as a `control` record. The Ray actor is
used when it can be found by name (`live-<coin>` in the `aml100` namespace), so a trader on another node is reached.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from cluster.atomic import atomic_write_json
from live.journal import read_status
from live.trader import CONTROL_DIR


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
