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
CLUSTER_FILE = Path(os.environ.get("RAY_TMPDIR", "/tmp/ray")) / "ray_current_cluster"


def ray_env_defaults() -> None:
    """Environment Ray must see before it is imported: no usage stats, no token auth on local clusters."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def started_cluster_address() -> str | None:
    """Address of a cluster started on this machine with `ray start --head`, if one registered itself.

    Only `ray start` writes this file; a Ray that another program started with `ray.init()` (and that dies with it)
    is deliberately not joined.
    """
    try:
        return CLUSTER_FILE.read_text().strip() or None
    except OSError:
        return None


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
        return f"ray: joined cluster at {address} ({int(ray.cluster_resources().get('CPU', 0))} CPUs)"
    local = started_cluster_address()
    if local:
        try:
            ray.init(address=local, **join)
            return f"ray: joined the cluster started on this machine at {local} " + (
                f"({int(ray.cluster_resources().get('CPU', 0))} CPUs)"
            )
        except ConnectionError:
            print(f"ray: no cluster answers at {local} (stale {CLUSTER_FILE}); starting a local Ray")
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
