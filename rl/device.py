"""Where training runs: CUDA when present, else CPU; Apple MPS is detected and reported.

RLlib 2.60's learners place modules on CUDA only (`learners(num_gpus_per_learner=1)`); there is no MPS learner
path, so on a Mac the learner trains on CPU and `describe()` says so. Inference (rl/inference.py) always runs on CPU:
per-bar batches are tiny and a device round trip per bar costs more than the arithmetic.
"""

from __future__ import annotations

import torch


def detect() -> str:
    """ "cuda", "mps" or "cpu"."""
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def learner_gpus(device: str | None = None) -> int:
    """GPUs per learner to ask RLlib for: 1 on CUDA, else 0 (MPS learners are not supported by RLlib)."""
    return 1 if (device or detect()) == "cuda" else 0


def describe(device: str | None = None) -> str:
    device = device or detect()
    if device == "mps":
        return "mps available, but RLlib learners do not support it: training on cpu"
    return device
