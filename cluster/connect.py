"""Start or join Ray the same way from every entry point.

Local by default: `num_cpus` from the machine, no dashboard, a 512 MB object store, Ray's logs kept out of the
console. With `address` (or RAY_ADDRESS) it joins that cluster instead, with the dashboard the cluster already runs.
"""

from __future__ import annotations

import logging
import os

NAMESPACE = "aml100"


def ray_env_defaults() -> None:
    """Environment Ray must see before it is imported: no usage stats, no token auth on local clusters."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def connect(address: str | None = None, num_cpus: int | None = None, object_store_mb: int = 512) -> str:
    """Initialise Ray once per process; returns a one-line description of where work runs."""
    ray_env_defaults()
    import ray

    if ray.is_initialized():
        return "ray: already initialised"
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING)
        return f"ray: joined cluster at {address} ({int(ray.cluster_resources().get('CPU', 0))} CPUs)"
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
