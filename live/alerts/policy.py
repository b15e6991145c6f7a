"""What is pushed, and when (pure: records and the time in, pushes out; the state round-trips through a dict).

For each alert record of one source, in order:

1. the feed: `feed_lost` waits `alerts.feed_down_seconds`; restored sooner, both are dropped (a blip the journal and
   the dashboard still show); still down then, it goes out ("down for 60 s so far"), and so does its restore;
2. the rate limit, per event kind (`alerts.rate_limit_seconds` or the kind's own): the first at once, the rest of the
   window counted, then one summary ("feed lost: 7 more in 10 min; the last: ..."), window after window while they
   keep coming;
3. quiet hours: below `alerts.quiet_min_level` a push waits for their end, then all of them go out as one digest.

`summary_due` says when the daily summary's hour (in `alerts.timezone`) has come. Which URL gets a push (its
minimum level) is the dispatcher's last step. Rate windows use the records' own times, so a backlog read after a
restart is limited as it happened; windows close, feeds are released and digests go out at the clock's time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from live.alerts.config import AlertsConfig, parse_quiet_hours
from live.alerts.events import LEVELS, rank, title_of


@dataclass
class Push:
    """A message to send: its event, level, title (level, source, what) and one-line body."""

    event: str
    level: str
    title: str
    body: str
    ts: int  # ms: when it happened (a summary: its last event; a digest or daily summary: when it was made)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


class Policy:
    """The decisions for one source (see the module docstring); `state()` / `Policy(cfg, label, state)` persist it."""

    def __init__(self, cfg: AlertsConfig, label: str, state: dict[str, Any] | None = None) -> None:
        self.cfg, self.label = cfg, label
        self.tz = ZoneInfo(cfg.timezone)
        self.quiet_span = parse_quiet_hours(cfg.quiet_hours)
        st = state or {}
        self.windows: dict[str, dict[str, Any]] = dict(st.get("windows") or {})
        self.feed_held: dict[str, Any] | None = st.get("feed_held")
        self.feed_pushed: bool = bool(st.get("feed_pushed"))
        self.quiet: list[dict[str, Any]] = list(st.get("quiet") or [])
        self.summary_day: str | None = st.get("summary_day")
        self.blips: int = int(st.get("blips") or 0)
        self.dirty = False

    def state(self) -> dict[str, Any]:
        return {"windows": self.windows, "feed_held": self.feed_held, "feed_pushed": self.feed_pushed,
                "quiet": self.quiet, "summary_day": self.summary_day, "blips": self.blips}  # fmt: skip

    # --- pushes ---------------------------------------------------------------------------------------------------
    def push_of(self, event: str, level: str, message: str, ts: int, title: str | None = None) -> Push:
        head = f"{level.upper()} · {self.label} · {title or title_of(event)}"
        return Push(event, level, head, f"{message} ({stamp(ts)})", ts)

    def offer(self, rec: dict[str, Any], now_ms: int) -> list[Push]:
        """The pushes an alert record makes now (often none: held, counted or dropped)."""
        self.dirty = True
        event, ts = str(rec.get("event")), int(rec.get("ts") or now_ms)
        level = rec.get("level") if rec.get("level") in LEVELS else "warning"
        message = str(rec.get("message") or event)
        push = self.push_of(event, level, message, ts)
        n = self.cfg.feed_down_seconds
        if n > 0 and event == "feed_lost":
            if self.feed_held is None and not self.feed_pushed:
                self.feed_held = {"ts": ts, "level": level, "message": message}
            return []
        if n > 0 and event == "feed_restored":
            if self.feed_held is not None:
                held, self.feed_held = self.feed_held, None
                if ts - held["ts"] < n * 1000:
                    self.blips += 1
                    return []
                lost = self._released(held, ts - held["ts"], "")
                return self._quiet(self._limit(lost, now_ms) + self._limit(push, now_ms), now_ms)
            if not self.feed_pushed:
                return []
            self.feed_pushed = False
        return self._quiet(self._limit(push, now_ms), now_ms)

    def tick(self, now_ms: int) -> list[Push]:
        """What the clock releases: a feed down long enough, closed rate windows' summaries, the quiet digest."""
        out: list[Push] = []
        n = self.cfg.feed_down_seconds
        if self.feed_held is not None and now_ms - self.feed_held["ts"] >= n * 1000:
            held, self.feed_held = self.feed_held, None
            self.feed_pushed = True
            out += self._limit(self._released(held, now_ms - held["ts"], " so far"), now_ms)
        for event in list(self.windows):
            w = self.windows[event]
            if now_ms >= w["until"]:
                if w["n"]:
                    out.append(self._summary(event, w))
                    self.windows[event] = {"until": w["until"] + self._limit_ms(event), "n": 0}
                else:
                    del self.windows[event]
        out = self._quiet(out, now_ms)
        if self.quiet and not self.in_quiet(now_ms):
            out.append(self._digest(now_ms))
        if out:
            self.dirty = True
        return out

    def _released(self, held: dict[str, Any], down_ms: int, tail: str) -> Push:
        """The held feed_lost, saying how long the feed has been down."""
        message = f"{held['message']} Down for {_span(down_ms / 1000)}{tail}."
        return self.push_of("feed_lost", held["level"], message, int(held["ts"]))

    # --- rate limit -----------------------------------------------------------------------------------------------
    def _limit_ms(self, event: str) -> int:
        return int(self.cfg.limit_for(event) * 1000)

    def _limit(self, push: Push, now_ms: int) -> list[Push]:
        limit = self._limit_ms(push.event)
        if limit <= 0:
            return [push]
        w = self.windows.get(push.event)
        if w is not None and push.ts < w["until"]:
            w["n"] += 1
            w["first"] = w.get("first") or push.ts
            w["last"], w["message"] = push.ts, push.body
            w["level"] = max(w.get("level") or push.level, push.level, key=rank)
            return []
        out = [self._summary(push.event, w)] if w is not None and w["n"] else []
        self.windows[push.event] = {"until": push.ts + limit, "n": 0}
        return [*out, push]

    def _summary(self, event: str, w: dict[str, Any]) -> Push:
        window = _span(self._limit_ms(event) / 1000)
        body = (f"{w['n']} more in the {window} rate window ({stamp(w['first'])} .. {stamp(w['last'])}); the last: "
                f"{w['message']}")  # fmt: skip
        return Push(event, w["level"], f"{w['level'].upper()} · {self.label} · {title_of(event)} ×{w['n']} more",
                    body, int(w["last"]))  # fmt: skip

    # --- quiet hours ----------------------------------------------------------------------------------------------
    def in_quiet(self, now_ms: int) -> bool:
        if self.quiet_span is None:
            return False
        t = datetime.fromtimestamp(now_ms / 1000, self.tz).time()
        start, end = self.quiet_span
        return start <= t < end if start < end else (t >= start or t < end)

    def _quiet(self, pushes: list[Push], now_ms: int) -> list[Push]:
        if not pushes or not self.in_quiet(now_ms):
            return pushes
        keep = []
        for p in pushes:
            if rank(p.level) >= rank(self.cfg.quiet_min_level):
                keep.append(p)
            else:
                self.quiet.append(p.to_dict())
        return keep

    def _digest(self, now_ms: int) -> Push:
        held, self.quiet = [Push(**d) for d in self.quiet], []
        level = max((p.level for p in held), key=rank)
        lines = [f"- {p.title.split(' · ', 2)[-1]}: {p.body}" for p in held]
        title = f"{level.upper()} · {self.label} · {len(held)} alert(s) held during quiet hours {self.cfg.quiet_hours}"
        return Push("quiet_digest", level, title, "\n".join(lines), now_ms)

    # --- daily summary --------------------------------------------------------------------------------------------
    def summary_due(self, now_ms: int) -> str | None:
        """The local day whose summary is due now (at or after `daily_summary_hour`, not sent yet), else None. The
        first call only starts the count: a fresh dispatcher sends its first summary at the next such hour."""
        hour = self.cfg.daily_summary_hour
        if hour < 0:
            return None
        local = datetime.fromtimestamp(now_ms / 1000, self.tz)
        today = local.date().isoformat()
        if self.summary_day is None:
            self.summary_day = today if local.hour >= hour else (local.date() - timedelta(days=1)).isoformat()
            self.dirty = True
            return None
        return today if local.hour >= hour and self.summary_day < today else None

    def mark_summary(self, day: str) -> None:
        self.summary_day, self.dirty = day, True
