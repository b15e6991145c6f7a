"""Hyper-parameter sweeps (Ray Tune + Optuna), walk-forward scoring and multiple-testing statistics.

Entry point: `python -m rl.tune`. See docs/TUNING.md.
"""
