"""Ray for every entry point: joining a cluster or starting a small local Ray (`connect`), where results live
(`storage`), where the trading actors run and what they hold (`placement`), the interpreter check (`preflight`).
docs/CLUSTER.md."""

from cluster.connect import connect, ray_env_defaults

__all__ = ["connect", "ray_env_defaults"]
