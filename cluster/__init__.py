"""Ray connection: a running cluster when asked (`--address` / RAY_ADDRESS), else a small, quiet local instance."""

from cluster.connect import connect, ray_env_defaults

__all__ = ["connect", "ray_env_defaults"]
