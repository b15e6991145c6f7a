"""Helpers the two-node driver (tests/cluster/two_nodes.py) puts into Ray workers.

`forbid_reads` is a Ray `worker_process_setup_hook`: every worker process of the test's job refuses to open or list
anything under the folders named in AML100_FORBID_READ (the driver's checkpoint, say). A worker that tried to
read the driver's local disk fails loudly instead of quietly working because both test nodes share one machine.

`SlowRules` is the RSI/MACD rules strategy taking a second per series (so a test can remove a node while trials run
there); it is resolved by name (`tests.cluster.guard:SlowRules`) inside each trial.
"""

from __future__ import annotations

import os
import sys
import time

from backtest.strategies.rules import RulesStrategy

EVENTS = ("open", "os.listdir", "os.scandir")


def forbid_reads() -> None:
    prefixes = tuple(p for p in os.environ.get("AML100_FORBID_READ", "").split(os.pathsep) if p)
    if not prefixes:
        return

    def hook(event: str, args: tuple) -> None:
        if event in EVENTS and args and isinstance(args[0], str | bytes):
            path = os.fsdecode(args[0])
            if path.startswith(prefixes):
                raise PermissionError(f"a Ray worker read the driver's local file {path}")

    sys.addaudithook(hook)


class SlowRules(RulesStrategy):
    name = "slow-rules"

    def __init__(self, params) -> None:
        super().__init__(params.trading)

    def signals(self, close, features):
        time.sleep(1.0)
        return super().signals(close, features)
