"""Start or join Ray the same way from every entry point.

Order: `address` (or RAY_ADDRESS) joins that cluster; else a cluster already running on this machine (`ray start
--head`) is joined; else a small local Ray starts: `num_cpus` from the machine, no dashboard, a 512 MB object store,
Ray's logs kept out of the console. A joined cluster keeps its own dashboard.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

NAMESPACE = "aml100"


def cluster_files() -> list[Path]:
    """Where `ray start --head` leaves its address: `<--temp-dir>/ray_current_cluster`, or without --temp-dir
    `<RAY_TMPDIR or TMPDIR or /tmp>/ray/ray_current_cluster` (Ray's own rule). With RAY_TMPDIR set, both
    `$RAY_TMPDIR/ray_current_cluster` (`ray start --temp-dir=$RAY_TMPDIR`) and `$RAY_TMPDIR/ray/...` count."""
    tmp = os.environ.get("RAY_TMPDIR")
    if tmp:
        return [Path(tmp) / "ray_current_cluster", Path(tmp) / "ray" / "ray_current_cluster"]
    return [Path(os.environ.get("TMPDIR") or "/tmp") / "ray" / "ray_current_cluster"]


CLUSTER_FILE = cluster_files()[0]


def ray_env_defaults() -> None:
    """Environment Ray must see before it is imported: no usage stats, no token auth on local clusters."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def started_cluster_address() -> str | None:
    """Address of a cluster started on this machine with `ray start --head`, if one registered itself.

    Only `ray start` writes this file; a Ray that another program started with `ray.init()` (and that dies with it)
    is deliberately not joined.
    """
    for path in cluster_files():
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text:
            return text
    return None


def size() -> str:
    """ "N nodes, C CPUs" of the joined cluster (plus its custom resources, if any)."""
    import ray

    nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    res = ray.cluster_resources()
    custom = {k: v for k, v in res.items() if k.startswith("aml100")}
    extra = "".join(f", {k} {v:g}" for k, v in sorted(custom.items()))
    return f"{nodes} node{'s' if nodes != 1 else ''}, {int(res.get('CPU', 0))} CPUs{extra}"


def connect(address: str | None = None, num_cpus: int | None = None, object_store_mb: int = 512) -> str:
    """Initialise Ray once per process; returns a one-line description of where work runs."""
    ray_env_defaults()
    import ray

    if ray.is_initialized():
        return "ray: already initialised"
    address = address or os.environ.get("RAY_ADDRESS")
    join = {"namespace": NAMESPACE, "log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **join)
        return f"ray: joined cluster at {address} ({size()})"
    local = started_cluster_address()
    if local:
        try:
            ray.init(address=local, **join)
            return f"ray: joined the cluster started on this machine at {local} ({size()})"
        except ConnectionError:
            print(
                f"ray: no cluster answers at {local} (stale {' or '.join(map(str, cluster_files()))}); "
                "starting a local Ray"
            )
    ray.init(
        num_cpus=num_cpus or os.cpu_count(),
        include_dashboard=False,
        object_store_memory=object_store_mb * 1024 * 1024,
        namespace=NAMESPACE,
        log_to_driver=False,
        logging_level=logging.WARNING,
        configure_logging=False,
    )
    return f"ray: local, {int(ray.cluster_resources().get('CPU', 0))} CPUs"
