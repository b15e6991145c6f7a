"""What is pushed and when, from alert records and an injected time: rate limits with a summary, the feed held for N
seconds, quiet hours with a digest, the daily summary's hour, and a state that survives a restart."""

from __future__ import annotations

from datetime import UTC, datetime

from backtest.config import load_params
from live.alerts.events import describe
from live.alerts.policy import Policy

S = 1000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


T0 = ms("2026-03-02 12:00:00")


def cfg(*sets: str):
    return load_params(overrides=list(sets)).alerts


def rec(event: str, ts: int, **figures) -> dict:
    level, message = describe(event, figures)
    return {"ts": ts, "kind": "alert", "event": event, "level": level, "message": message, "figures": figures}


def test_a_storm_of_one_kind_pushes_the_first_then_one_summary_per_window():
    p = Policy(cfg("alerts.rate_limit_seconds=600"), "xyz:XYZ100 paper")
    out = [push for i in range(20) for push in p.offer(rec("order_refused", T0 + i * 10 * S, error=f"e{i}"), T0)]
    assert len(out) == 1 and "e0" in out[0].body and out[0].title == "WARNING · xyz:XYZ100 paper · order refused"
    assert p.tick(T0 + 599 * S) == []
    summary = p.tick(T0 + 600 * S)
    assert len(summary) == 1 and summary[0].title.endswith("order refused ×19 more")
    assert "19 more in the 10 min rate window" in summary[0].body and "e19" in summary[0].body
    # still storming: the next window is summarised too, not pushed one by one
    more = [push for i in range(5) for push in p.offer(rec("order_refused", T0 + (610 + i) * S, error="x"), T0)]
    assert more == [] and len(p.tick(T0 + 1200 * S)) == 1
    # calm: the window lapses, the next one goes out at once
    assert p.tick(T0 + 1800 * S) == [] and "order_refused" not in p.windows
    assert len(p.offer(rec("order_refused", T0 + 1900 * S, error="later"), T0 + 1900 * S)) == 1


def test_kinds_are_limited_apart_and_a_kind_can_have_its_own_limit():
    p = Policy(cfg("alerts.rate_limit_seconds=600", "alerts.rate_limits=[{event: step_failed, seconds: 0}]"), "t")
    assert len(p.offer(rec("order_refused", T0), T0)) == 1
    assert len(p.offer(rec("reconcile_diff", T0 + S, why="position", diffs=[]), T0)) == 1
    assert [len(p.offer(rec("step_failed", T0 + i * S, error="x"), T0)) for i in range(3)] == [1, 1, 1]


def test_a_feed_blip_shorter_than_feed_down_seconds_is_not_pushed_a_long_outage_is_with_its_restore():
    p = Policy(cfg("alerts.feed_down_seconds=60"), "t")
    assert p.offer(rec("feed_lost", T0, why="socket"), T0) == []
    assert p.offer(rec("feed_restored", T0 + 20 * S, reconnects=1, down_s=20), T0 + 20 * S) == []
    assert p.tick(T0 + 200 * S) == [] and p.blips == 1
    assert p.offer(rec("feed_lost", T0 + 300 * S, why="socket"), T0 + 300 * S) == []
    assert p.tick(T0 + 359 * S) == []
    lost = p.tick(T0 + 360 * S)
    assert len(lost) == 1 and lost[0].event == "feed_lost" and "Down for 60 s so far." in lost[0].body
    restored = p.offer(rec("feed_restored", T0 + 420 * S, reconnects=2, down_s=120), T0 + 420 * S)
    assert [x.event for x in restored] == ["feed_restored"] and "after 120 s" in restored[0].body


def test_quiet_hours_hold_what_is_below_their_level_and_send_one_digest_at_their_end():
    p = Policy(cfg("alerts.quiet_hours=22:00-07:00", "alerts.quiet_min_level=critical"), "t")
    night = ms("2026-03-02 23:00:00")
    assert p.offer(rec("order_refused", night, error="margin"), night) == []
    assert p.offer(rec("swap", night + S, old="a", new="b"), night + S) == []
    halt = p.offer(rec("halt", night + 2 * S, equity=1.0, peak=2.0, drawdown_pct=50.0), night + 2 * S)
    assert [x.event for x in halt] == ["halt"]  # critical goes out at night
    assert p.tick(ms("2026-03-03 06:59:59")) == []
    digest = p.tick(ms("2026-03-03 07:00:00"))
    assert len(digest) == 1 and digest[0].level == "warning" and "2 alert(s) held during quiet hours" in digest[0].title
    assert "order refused" in digest[0].body and "policy swapped" in digest[0].body and p.quiet == []


def test_quiet_hours_are_read_in_the_configured_time_zone():
    p = Policy(cfg("alerts.quiet_hours=22:00-07:00", "alerts.timezone=America/New_York"), "t")
    assert p.in_quiet(ms("2026-03-02 04:00:00"))  # 23:00 in New York
    assert not p.in_quiet(ms("2026-03-02 13:00:00"))  # 08:00 in New York


def test_the_daily_summary_is_due_once_a_day_at_its_hour_the_first_one_at_the_next_such_hour():
    p = Policy(cfg("alerts.daily_summary_hour=21"), "t")
    assert p.summary_due(ms("2026-03-02 21:30:00")) is None  # a fresh dispatcher: not at once
    assert p.summary_due(ms("2026-03-03 20:59:00")) is None
    assert p.summary_due(ms("2026-03-03 21:00:00")) == "2026-03-03"
    p.mark_summary("2026-03-03")
    assert p.summary_due(ms("2026-03-03 23:00:00")) is None
    assert p.summary_due(ms("2026-03-04 21:05:00")) == "2026-03-04"
    assert Policy(cfg("alerts.daily_summary_hour=-1"), "t").summary_due(ms("2026-03-04 21:05:00")) is None


def test_the_state_round_trips_a_restart_keeps_counting_the_same_window():
    c = cfg("alerts.rate_limit_seconds=600", "alerts.feed_down_seconds=60")
    p = Policy(c, "t")
    assert len(p.offer(rec("order_refused", T0, error="a"), T0)) == 1
    p.offer(rec("order_refused", T0 + S, error="b"), T0)
    p.offer(rec("feed_lost", T0 + 2 * S, why="socket"), T0)
    again = Policy(c, "t", p.state())
    assert again.offer(rec("order_refused", T0 + 3 * S, error="c"), T0) == []
    out = again.tick(T0 + 600 * S)
    assert {x.event for x in out} == {"feed_lost", "order_refused"}
    assert "2 more" in next(x for x in out if x.event == "order_refused").body
