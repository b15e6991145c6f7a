"""Where the trading actors run and what they hold, so that a large sweep never starves trading.

A cluster sets capacity aside for trading when it starts, with custom resources on the trading node (the head):

    ray start --head --num-cpus=$(( $(nproc) - 2 )) --resources='{"aml100_live": 1, "aml100_autopilot": 1}'

The cores left out of `--num-cpus` are never handed to CPU work (sweep trials, backtest workers); the live trader
holds one `aml100_live` (`cluster.live_resource`) instead of a CPU, and each autopilot trial one
`aml100_autopilot` (`cluster.autopilot_resource`). However many trials a sweep queues, they wait for CPUs, never for
those units, so the trader is placed at once and the autopilot always has its own trial slot.

Without those resources (a plain `ray start --head`, a local Ray) nothing changes: the trader holds `live.cpus`
CPUs and autopilot trials one CPU each; a resource that no node offers is never requested (it would pend forever).

The trader and the paper exchange it trades against (loopback) are pinned to one node: the node offering
`cluster.live_resource` (the driver's own if it offers it), else the driver's node. Their files (journal, paper
exchange state) are on that node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def offered(resource: str) -> float:
    """Units of a custom resource the cluster offers in total (0 when unnamed or absent)."""
    if not resource:
        return 0.0
    import ray

    return float(ray.cluster_resources().get(resource, 0.0))


def available(resource: str) -> float:
    import ray

    return float(ray.available_resources().get(resource, 0.0))


def nodes_offering(resource: str) -> list[str]:
    """Alive node ids that offer `resource`, the driver's own node first."""
    import ray

    me = ray.get_runtime_context().get_node_id()
    ids = [n["NodeID"] for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get(resource, 0) > 0]
    return sorted(ids, key=lambda i: i != me)


@dataclass(frozen=True)
class TradingPlacement:
    """Where the live trader and its paper exchange go, and what the trader holds."""

    node_id: str
    resource: str | None  # the custom resource the trader holds one unit of, or None (CPUs)
    cpus: float

    def trader_options(self) -> dict[str, Any]:
        """`.options(...)` for the trader's actor."""
        out: dict[str, Any] = {"scheduling_strategy": self._pin(), "num_cpus": self.cpus}
        if self.resource:
            out["resources"] = {self.resource: 1}
        return out

    def helper_options(self) -> dict[str, Any]:
        """`.options(...)` for an actor that must share the trader's node (the paper exchange): no CPU held."""
        return {"scheduling_strategy": self._pin(), "num_cpus": 0}

    def _pin(self) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return NodeAffinitySchedulingStrategy(self.node_id, soft=False)

    def describe(self) -> str:
        held = f"1 {self.resource}" if self.resource else f"{self.cpus:g} CPU"
        return f"node {self.node_id[:8]}, holds {held}"


class PlacementError(RuntimeError):
    """The trader cannot be placed now (the message says why and what to do)."""


def trading_placement(params: Any) -> TradingPlacement:
    """Where to run the live trader (Ray must be initialised): see the module docstring."""
    import ray

    res = params.cluster.live_resource
    if res and offered(res) > 0:
        if available(res) < 1:
            raise PlacementError(
                f"every unit of {res} is held ({offered(res):g} offered): another live trader runs on it. Stop one "
                f"(`python -m live.serve stop`) or start the trading node with more (ray start --resources)."
            )
        return TradingPlacement(nodes_offering(res)[0], res, 0.0)
    return TradingPlacement(ray.get_runtime_context().get_node_id(), None, float(params.live.cpus))


def trial_resources(params: Any, resource: str | None = None) -> tuple[dict[str, float] | None, str]:
    """(Tune resources per trial, description) for the autopilot's trials: one unit of
    `cluster.autopilot_resource` and no CPU when the cluster offers it, else None (Tune's default: one CPU)."""
    res = params.cluster.autopilot_resource if resource is None else resource
    if res and offered(res) > 0:
        return {"cpu": 0, res: 1}, f"trials hold 1 {res} each ({offered(res):g} offered)"
    return None, "trials hold 1 CPU each"
