"""The journal under crashes: a torn last line is moved aside when a journal opens (kept, alerted), the next record
starts on a new line, and every reader skips a torn line (counted) without gluing it to the next record."""

from __future__ import annotations

import json
from collections import Counter

from live.dashboard import data
from live.journal import Journal, read_records
from live.rehearsal import make_rig
from live.replay import sessions
from tests.support.trader import crash, restart

T0 = 1_772_445_600.0  # 2026-03-02 10:00 UTC


def _rules(p):
    from backtest.strategies.rules import RulesStrategy

    return RulesStrategy(p.trading)


def test_a_torn_tail_is_moved_aside_when_the_journal_opens_and_the_next_record_starts_on_a_new_line(tmp_path):
    j = Journal(tmp_path, clock=lambda: T0)
    j.write("bar", bar=1)
    j.close()
    path = next(tmp_path.glob("journal-*.jsonl"))
    torn = '{"ts":1772445600000,"kind":"decision","bar":2,"act'
    with open(path, "a") as fh:
        fh.write(torn)  # what a crash mid-write leaves
    j = Journal(tmp_path, clock=lambda: T0 + 60)
    assert len(j.healed) == 1 and j.healed[0].size == len(torn)
    kept = j.healed[0].kept
    assert kept.name.startswith(path.name + ".torn-") and kept.read_text() == torn  # kept, byte for byte
    j.write("start", pid=1)
    j.close()
    lines = path.read_text().splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["bar", "start"]
    assert Journal(tmp_path).healed == []  # whole files are left alone
    assert [r["kind"] for r in read_records(tmp_path)] == ["bar", "start"]  # the .torn file is not a journal file


def test_readers_skip_a_torn_line_inside_an_older_file_count_it_and_salvage_a_record_glued_onto_it(tmp_path):
    """Files written before the heal-on-open: a torn line in the middle, and a `start` record glued onto a torn one."""
    old = tmp_path / "journal-2026-03-01.jsonl"
    old.write_text(
        '{"ts":1,"kind":"bar","bar":60000}\n'
        '{"ts":2,"kind":"decision","ba\n'  # torn, then a newline from an older heal
        '{"ts":3,"kind":"bar","bar":120000}\n'
    )
    new = tmp_path / "journal-2026-03-02.jsonl"
    new.write_text(
        '{"ts":4,"kind":"fill","tid":7,"px":1.5,"si'  # torn, and the restart glued its start record onto it
        '{"ts":5,"kind":"start","pid":2,"params":{"live":{"a":1}}}\n'
        '{"ts":6,"kind":"history","t":[0,60000],"o":[1,1],"h":[1,1],"l":[1,1],"c":[1,1],"v":[1,1],"n":[1,1]}\n'
    )
    counts: Counter = Counter()
    recs = list(read_records(tmp_path, counts=counts))
    assert [r["ts"] for r in recs] == [1, 3, 5, 6]
    assert recs[2]["kind"] == "start" and recs[2]["params"] == {"live": {"a": 1}}
    assert counts == Counter({"torn": 1, "salvaged": 1})
    dash: Counter = Counter()
    assert [r["ts"] for r in data.load_records(tmp_path, days=2, counts=dash)] == [1, 3, 5, 6]  # the dashboard
    assert dash == counts
    assert len(sessions(tmp_path)) == 1  # the replay finds the glued session


def test_trader_restarted_after_a_crash_mid_write_journals_its_start_on_a_new_line_and_alerts_naming_the_kept_bytes(
    tmp_path,
):
    rig = make_rig(tmp_path, _rules, n_bars=400, history=120)
    try:
        for _ in range(3):
            rig.advance()
        crash(rig)
        path = sorted(rig.root.glob("journal-*.jsonl"))[-1]
        with open(path, "a") as fh:
            fh.write('{"ts":1,"kind":"decision","bar":1,"acti')
        trader = restart(rig, _rules)
        starts = [r for r in read_records(rig.root, kinds={"start"})]
        assert len(starts) == 2  # the new start record was not glued onto the torn line
        alert = next(r for r in read_records(rig.root, kinds={"alert"}) if r["event"] == "journal_torn")
        kept = next(rig.root.glob("journal-*.jsonl.torn-*"))
        assert alert["figures"]["kept"] == str(kept) and kept.name in alert["message"] and alert["level"] == "warning"
        assert any(a["event"] == "journal_torn" for a in trader.status()["alerts"])
        rig.advance()
        counts: Counter = Counter()
        list(read_records(rig.root, counts=counts))
        assert counts == Counter()  # nothing left to skip
    finally:
        rig.stop()
