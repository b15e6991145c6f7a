"""rl.learner_threads: the learner update's torch threads, switched around the update only; bad values named."""

from __future__ import annotations

import pytest
import torch

from backtest.config import ConfigError, load_params
from rl import learner_threads as lt


def test_a_negative_learner_threads_names_the_key():
    with pytest.raises(ConfigError, match=r"rl\.learner_threads = -1: allowed >= 0 and <= 256"):
        load_params(overrides=["rl.learner_threads=-1"])


def test_a_non_boolean_fused_connectors_names_the_key():
    with pytest.raises(ConfigError, match=r"rl\.fused_connectors"):
        load_params(overrides=["rl.fused_connectors=sometimes"])


def test_a_fixed_count_is_taken_as_is(monkeypatch):
    monkeypatch.setattr(lt, "busy_elsewhere", lambda: 5)
    assert lt.learner_threads(3) == 3


@pytest.mark.parametrize(("owned", "busy", "expected"), [(2, 0, 2), (2, 1, 1), (2, 4, 1), (8, 3, 5), (1, 0, 1)])
def test_auto_takes_the_owned_cpus_not_busy_elsewhere(monkeypatch, owned, busy, expected):
    monkeypatch.setattr(lt, "owned_cpus", lambda: owned)
    monkeypatch.setattr(lt, "busy_elsewhere", lambda: busy)
    assert lt.learner_threads(0) == expected


def test_busy_elsewhere_reads_proc_loadavg(monkeypatch, tmp_path):
    fake = tmp_path / "loadavg"
    fake.write_text("3.10 2.00 1.50 2/300 12345\n")
    real_path = lt.Path
    monkeypatch.setattr(lt, "Path", lambda p: fake if p == "/proc/loadavg" else real_path(p))
    assert lt.busy_elsewhere() == 1  # 2 running incl. this one -> 1; load 3.1 beyond our own ~1.25 -> 1
    fake.write_text("1.20 1.00 1.00 1/300 12345\n")
    assert lt.busy_elsewhere() == 0


class _Config:
    def __init__(self, threads: int) -> None:
        self.learner_config_dict = {"learner_threads": threads}


class _Base:
    def update(self, **kwargs):
        return torch.get_num_threads()


class _Learner(lt.ThreadedUpdate, _Base):
    def __init__(self, threads: int) -> None:
        self.config = _Config(threads)


def test_the_update_runs_on_the_learner_threads_and_sampling_threads_come_back():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert _Learner(2).update() == 2
        assert torch.get_num_threads() == 1
        assert lt.UPDATES_BY_THREADS[2] >= 1
    finally:
        torch.set_num_threads(before)
