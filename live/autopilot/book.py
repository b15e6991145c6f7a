"""The autopilot's memory: a resumable cycle state and the cycle journal, one folder per coin.

`<autopilot.dir>/<coin slug>/state.json` holds the cycle under way: its number, when it started, and the output of
every step completed so far (written atomically after each step), so a killed autopilot resumes at the first step it
had not finished. `cycles.jsonl` gets one line per finished cycle (format: docs/LIVE.md and docs/AUTOPILOT.md),
appended and fsynced (a torn last line a crash left is moved aside to `cycles.jsonl.torn-<time>` first, so the new
line never glues onto it: `live.journal.heal_torn_tail`). `autopilot.lock` keeps a second autopilot for the same coin
out. `alert()` writes the cycle's alerts (`live.autopilot.alerts`) into the autopilot's journal (`journal-*.jsonl`, the
live journal's format), which the dashboard and the pushes (`live.alerts`) read.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from cluster.atomic import atomic_write_json
from live.journal import Journal, clean, heal_torn_tail, read_lines

STEPS = ("data", "judge", "grade", "act", "improve", "promote")


class Book:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_path = root / "state.json"
        self.cycles_path = root / "cycles.jsonl"
        self._journal: Journal | None = None

    def alert(self, event: str, figures: dict[str, Any]) -> dict[str, Any]:
        """An alert record in the autopilot's journal (level and message from `live.alerts.events`)."""
        if self._journal is None:
            self._journal = Journal(self.root)
            for torn in self._journal.healed:  # its own journal's torn tail, moved aside when it opened
                self._journal.alert("journal_torn", torn.figures())
        return self._journal.alert(event, figures)

    def load(self) -> dict[str, Any] | None:
        """The unfinished cycle, if any."""
        try:
            st = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None
        return None if st.get("finished") else st

    def begin(self) -> dict[str, Any]:
        """A new cycle, numbered after the last recorded one."""
        st = {"cycle": self.last_cycle() + 1, "start_ms": int(time.time() * 1000), "steps": {}, "finished": False}
        self.save(st)
        return st

    def save(self, state: dict[str, Any]) -> None:
        atomic_write_json(self.state_path, clean(state))

    def record(self, line: dict[str, Any]) -> None:
        """Append the finished cycle's line and mark the state finished."""
        torn = heal_torn_tail(self.cycles_path, int(time.time() * 1000)) if self.cycles_path.is_file() else None
        if torn is not None:
            self.alert("journal_torn", torn.figures())
        with open(self.cycles_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(clean(line), separators=(",", ":"), allow_nan=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def cycles(self) -> list[dict[str, Any]]:
        if not self.cycles_path.is_file():
            return []
        return list(read_lines(self.cycles_path))

    def last_cycle(self) -> int:
        cycles = self.cycles()
        return int(cycles[-1]["cycle"]) if cycles else 0
