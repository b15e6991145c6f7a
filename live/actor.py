"""The live trader as a long-lived Ray actor: builds the trader, runs its loop on a thread, answers control calls.

Named `live-<coin>` in the `aml100` namespace (one per coin on a cluster); detached when it runs on a cluster that
`ray start` started, so the command that started it may exit. It holds one unit of `cluster.live_resource` on the
trading node when the cluster offers it, else `live.cpus` CPUs (cluster/placement.py), so a sweep on the same
cluster can never take its place. Control: `status()`, `stop(flatten)`, `request(kind, fields)`,
`set_size_multiplier(x)`, `swap(spec, id)`: each becomes a `live.control` command the trader handles between two bars
(its public `submit` / `handle`).

The strategy arrives loaded (the caller reads the checkpoint and the object travels through Ray), so the actor
works on a node where the checkpoint's path does not exist; a swap may bring its strategy the same way.

A paper exchange that `live.serve` starts for a paper run lives in its own actor (`PaperExchangeHost`), so that
stopping or crashing the trader never takes the exchange, its accounts and its orders with it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from live.alerts.service import start_trader_alerts
from live.control import SetSize, Stop, Swap, parse_command
from live.service import ServiceSettings, acquire_trader_lock, build_trader


class LiveTraderActor:
    """Ray actor body (wrapped with `ray.remote` by `remote_class`)."""

    def __init__(self, settings: dict[str, Any], journal_dir: str | None = None, strategy: Any = None) -> None:
        self.settings = ServiceSettings.from_dict(settings)
        self.lock = acquire_trader_lock(self.settings, journal_dir)
        self.trader = build_trader(self.settings, journal_dir, strategy)
        self.alerts = start_trader_alerts(self.trader, say=print)  # before start: its start alert is pushed too
        self.trader.start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.trader.run, args=(self._stop,), name="live-trader", daemon=True)
        self._thread.start()

    def ping(self) -> str:
        return "ok"

    def node(self) -> str:
        """The Ray node this trader runs on (its journal is on that node's disk)."""
        import ray

        return ray.get_runtime_context().get_node_id()

    def status(self) -> dict[str, Any]:
        return self.trader.status()

    def stop(self, flatten: bool = True, timeout_s: float = 60.0) -> dict[str, Any]:
        """Flatten (if asked) and stop between two bars; returns the final status."""
        self.trader.submit(Stop(flatten))
        deadline = time.monotonic() + timeout_s
        while not self.trader.stopped and time.monotonic() < deadline:
            time.sleep(0.1)
        self._stop.set()
        self._thread.join(10)
        if self.alerts is not None:
            self.alerts.stop(flush_s=10.0)  # the stop alert goes out before the actor is killed
        if not self._thread.is_alive():
            self.lock.release()
        return self.trader.status()

    def request(self, kind: str, kw: dict[str, Any]) -> None:
        """Queue a request (pause, resume, ...) handled by the trader between two bars."""
        self.trader.submit(parse_command({**kw, "cmd": kind}))

    def set_size_multiplier(self, value: float, reason: str = "") -> float:
        return self.trader.handle(SetSize(value, reason))

    def swap(
        self, spec: str, policy_id: str, reason: str = "", params: dict[str, Any] | None = None, strategy: Any = None
    ) -> dict:
        """Hot-swap `strategy` (already loaded by the caller, for `spec` under `params`) or else `spec` loaded here,
        in between two bars; returns the status after the swap (raises when `spec` did not load)."""
        if not self.trader.handle(Swap(policy_id, spec, params, reason, strategy)):
            raise RuntimeError(f"the swap to {policy_id} ({spec}) failed: the trader's journal says why")
        return self.trader.status()


class PaperExchangeHost:
    """Ray actor body: a paper exchange server on a thread of this actor's process."""

    def __init__(self, cfg: Any) -> None:
        from pathlib import Path

        from live.paper_exchange.server import start_in_thread

        if getattr(cfg, "state_path", None):  # on this node's disk, which may not be the starting driver's
            Path(cfg.state_path).parent.mkdir(parents=True, exist_ok=True)
        self.handle = start_in_thread(cfg)  # a PaperExchangeConfig

    def url(self) -> str:
        return self.handle.url

    def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()

    def stop(self) -> None:
        self.handle.stop()


def remote_class(cls: type, **options: Any) -> Any:
    import ray

    return ray.remote(**options)(cls)
