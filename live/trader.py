"""The live trader's engine: every closed bar, decide with the backtest's own strategy code and act on the venue.

Per closed bar (docs/LIVE.md has the full story):
1. read the account from the venue; mark equity at the bar's close; update the risk state (drawdown halt, daily
   loss) by the simulator's rules; reconcile when the venue's position differs from the legs, after a reconnect, and
   every `live.reconcile_every_bars`;
2. decide: `StrategyStream.on_bar(bar, position_state)` -- the same features, normalisation, strategy object and
   recurrent state a backtest uses, with the position state computed by the simulator's kernel;
3. act (`live.orders.OrderDesk`): legs past `trading.max_hold_seconds` and a closing signal's legs close first;
   `action_orders` (the simulator's action interpreter) turns the action into a close and/or an open; opens are
   sized by the simulator's sizing rule times `live.size_multiplier`, capped by the risk limits, sent as IOC orders
   with deterministic cloids; each fill gets reduce-only TP/SL triggers at the simulator's `exit_levels`;
4. keep true to the venue (`live.sync.VenueSync`): reconciliation, fills journalled once each.
Only the newest bar of a batch (after a reconnect backfill) is traded; older ones still pass through the strategy,
so its state never skips a bar. The emergency-stop file is checked on every loop turn and wins over everything.

No Ray and no threads here: `live.actor` runs this in a Ray actor, tests drive it step by step.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backtest.config import Objectives, Params
from backtest.domain import AccountState, Bar, bars_frame
from backtest.runner import execution_params
from backtest.sim import position_state_of
from backtest.strategies.base import Strategy
from backtest.strategies.stream import Decision, StrategyStream
from live import risk
from live.execution import ExchangeUnavailable, Execution
from live.journal import Journal
from live.orders import OrderDesk
from live.positions import Leg, TradeStats, net_size, side_of
from live.sync import VenueSync
from live.venue import VenueSession

log = logging.getLogger(__name__)
STATE_VERSION = 1
CONTROL_DIR = "control"


@dataclass
class TraderIdentity:
    """Who trades what where: shown in status and journalled at start."""

    mode: str
    coin: str
    account: str
    policy_id: str
    strategy: str
    base_url: str
    strategy_spec: str = ""  # what loads the strategy again (rules, a checkpoint or manifest path), for replays


class Trader(OrderDesk, VenueSync):
    """One coin on one account. `start()`, then `step()` repeatedly (or `run(stop_event)`), then `shutdown()`."""

    def __init__(
        self,
        identity: TraderIdentity,
        params: Params,
        objectives: Objectives,
        strategy: Strategy,
        venue: VenueSession,
        journal: Journal,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.id = identity
        self.params, self.objectives = params, objectives
        self.venue = venue
        self.journal = journal
        self.clock = clock
        self.bar_s = params.backtest.bar_seconds
        self.bar_ms = self.bar_s * 1000
        self.limits = risk.RiskLimits.from_config(params, objectives)
        self.risk = risk.RiskState()
        self.legs: list[Leg] = []
        self.stats = TradeStats()
        self.size_multiplier = params.live.size_multiplier
        self.start_equity: float | None = None
        self.rebase_bar: int | None = None
        self.last_fill_ms = 0
        self.seen_tids: deque[int] = deque(maxlen=2000)
        self.history: list[Bar] = []
        self.recent_decisions: deque[dict] = deque(maxlen=20)
        self.recent_orders: deque[dict] = deque(maxlen=20)
        self.alerts: deque[dict] = deque(maxlen=50)
        self.counts = {"bars": 0, "decisions": 0, "orders": 0, "fills": 0, "reconciles": 0, "diffs": 0}
        self.last_bar: Bar | None = None
        self.last_equity: float | None = None
        self.started_ms = int(clock() * 1000)
        self.stopped = False
        self._need_reconcile = True
        self._since_reconcile = 0
        self._requests: deque[tuple[str, dict]] = deque()
        self._fills_cache: list = []
        self._fills_due = False
        self._control_id: str | None = None
        self._lock = threading.RLock()
        self._set_strategy(strategy, identity.policy_id)
        self.exec = Execution(
            venue.exchange,
            venue.info,
            venue.account,
            venue.coin,
            venue.dex,
            venue.rules,
            journal,
            on_call=self._on_call,
            budget=venue.feed.budget,
        )

    # --- strategy -------------------------------------------------------------------------------------------------
    def _set_strategy(self, strategy: Strategy, policy_id: str) -> None:
        self.strategy = strategy
        self.id.policy_id = policy_id
        self.id.strategy = strategy.name
        self.sim = execution_params(strategy, self.params, self.objectives)
        self.stream = StrategyStream(strategy, self.params.trading, self.params.backtest.warmup_bars)

    def _bar_index(self, bar_ms: int) -> int:
        return int(bar_ms // self.bar_ms)

    # --- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Resume saved state, warm the strategy on history, reconcile with the venue, connect the feed."""
        saved = self.journal.read_state()
        for stale in (self.journal.root / CONTROL_DIR).glob("*.json"):  # addressed to an earlier run
            stale.unlink()
        self.journal.write(
            "start",
            mode=self.id.mode,
            coin=self.id.coin,
            account=self.id.account,
            policy_id=self.id.policy_id,
            strategy=self.id.strategy,
            strategy_spec=self.id.strategy_spec,
            base_url=self.id.base_url,
            pid=os.getpid(),
            resumed=saved is not None,
            params=self.params.model_dump(mode="json"),
            objectives=self.objectives.model_dump(mode="json"),
        )
        if saved is not None:
            self._load_state(saved)
        history = self.venue.feed.history(self.params.live.history_bars)
        if len(history) < 2:
            raise RuntimeError(f"the venue returned {len(history)} closed bars of {self.id.coin}; need at least 2")
        self.history = list(history)
        self.stream.warm_up(bars_frame(history))
        self.last_bar = history[-1]
        self.journal.write(
            "history",
            bars=len(history),
            source=history[-1].source,
            t=[b.time_ms for b in history],
            o=[b.open for b in history],
            h=[b.high for b in history],
            l=[b.low for b in history],
            c=[b.close for b in history],
            v=[b.volume for b in history],
            n=[b.trades for b in history],
        )
        self._resolve_pending(saved)
        self._reconcile("start")
        self.venue.feed.start(after_ms=history[-1].time_ms)
        self._write_status()

    def shutdown(self, flatten: bool) -> None:
        """Stop trading: optionally close every position and cancel every order first; journal it."""
        with self._lock:
            if self.stopped:
                return
            if flatten:
                self.flatten("stop")
            self.stopped = True
            self.journal.write("stop", flatten=flatten, legs=len(self.legs))
            self._save_state()
            self._write_status()
            self.venue.feed.close()
            self.journal.close()

    def run(self, stop: threading.Event, poll_s: float = 0.5) -> None:
        """Trade until `stop` is set or a stop request arrives; the caller started the trader."""
        while not stop.is_set() and not self.stopped:
            try:
                self.step(poll_s)
            except Exception as exc:  # keep the loop alive: journal, back off, go on (the venue is the truth)
                log.exception("trader step failed")
                self._alert("error", {"error": f"{type(exc).__name__}: {exc}"})
                time.sleep(min(5.0, poll_s * 4))

    # --- requests from outside (actor methods, control files) ----------------------------------------------------
    def request(self, kind: str, **kw: Any) -> None:
        """Queue a request handled between two bars: stop, size, swap."""
        self._requests.append((kind, kw))

    def _check_control(self) -> None:
        """Requests left in `<journal>/control/` by `live.control` (live.serve stop, the autopilot), oldest first."""
        folder = self.journal.root / CONTROL_DIR
        if not folder.is_dir():
            return
        for path in sorted(folder.glob("*.json")):
            try:
                req = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # being written (writers replace atomically, so this is rare): next turn
            path.unlink(missing_ok=True)
            if not isinstance(req, dict) or req.get("id") in (None, self._control_id):
                continue
            self._control_id = req["id"]
            self.journal.write("control", **{k: v for k, v in req.items() if k != "params"})
            cmd = req.get("cmd")
            if cmd == "stop":
                self.request("stop", flatten=bool(req.get("flatten", True)))
            elif cmd == "size":
                self.request("size", multiplier=float(req["multiplier"]), reason=str(req.get("reason", "")))
            elif cmd in ("pause", "resume"):
                self.request(cmd, reason=str(req.get("reason", "")), flatten=bool(req.get("flatten", True)))
            elif cmd == "swap":
                self.request("swap_spec", spec=req["spec"], policy_id=req["policy_id"], params=req.get("params"),
                             reason=str(req.get("reason", "")))  # fmt: skip

    def _handle_requests(self) -> None:
        while self._requests:
            kind, kw = self._requests.popleft()
            if kind == "stop":
                self.shutdown(bool(kw.get("flatten", True)))
            elif kind == "size":
                self.set_size_multiplier(float(kw["multiplier"]), kw.get("reason", ""))
            elif kind == "swap":
                self.swap(kw["strategy"], kw["policy_id"], kw.get("reason", ""), kw.get("spec", ""), kw.get("params"))
            elif kind == "swap_spec":
                self.swap_spec(kw["spec"], kw["policy_id"], kw.get("params"), kw.get("reason", ""))
            elif kind == "pause":
                self.pause(kw.get("reason", ""), bool(kw.get("flatten", True)))
            elif kind == "resume":
                self.resume(kw.get("reason", ""))

    def set_size_multiplier(self, value: float, reason: str = "") -> float:
        cap = self.params.live.size_multiplier_max
        new = min(max(value, 0.0), cap)
        if not math.isfinite(new):
            raise ValueError(f"size multiplier must be finite, got {value}")
        old, self.size_multiplier = self.size_multiplier, new
        self.journal.write("size", old=old, new=new, cap=cap, reason=reason)
        self._save_state()
        return new

    def swap(
        self,
        strategy: Strategy,
        policy_id: str,
        reason: str = "",
        spec: str = "",
        params: Params | dict | None = None,
    ) -> None:
        """Hot swap between two bars: the new strategy is warmed on every bar this trader has seen; legs, orders
        and risk state carry over. `params` (the new policy's validated trading/backtest sections) replace the
        current ones; the operator's `market` and `live` sections stay."""
        with self._lock:
            old = self.id.policy_id
            if params is not None:
                self.params = _merge_operator_sections(params, self.params)
            self._set_strategy(strategy, policy_id)
            self.id.strategy_spec = spec or self.id.strategy_spec
            self.stream.warm_up(bars_frame(self.history))
            self.journal.write("swap", old=old, new=policy_id, strategy=strategy.name, strategy_spec=spec,
                               reason=reason, warm_bars=len(self.history))  # fmt: skip
            self._alert("swap", {"old": old, "new": policy_id})
            self._save_state()
            self._write_status()

    def swap_spec(self, spec: str, policy_id: str, params: dict | None = None, reason: str = "") -> None:
        """Load `spec` in this process and swap it in; a spec that does not load is journalled and changes nothing."""
        from backtest.strategies.registry import resolve_strategy

        p = _merge_operator_sections(params, self.params) if params else self.params
        try:
            strategy = resolve_strategy(spec, p)
        except Exception as exc:
            self.journal.write("error", where="swap", spec=spec, error=f"{type(exc).__name__}: {exc}")
            self._alert("swap_failed", {"spec": spec, "error": str(exc)})
            return
        self.swap(strategy, policy_id, reason, spec, p)

    def pause(self, reason: str = "", flatten: bool = True) -> None:
        """No new positions until `resume` (the autopilot's CRITICAL action); optionally flatten now."""
        self.risk = dataclasses.replace(self.risk, paused=True, pause_reason=reason)
        self.journal.write("risk", event="paused", reason=reason, flatten=flatten)
        self._alert("paused", {"reason": reason})
        if flatten:
            self.flatten("pause")
        self._save_state()

    def resume(self, reason: str = "") -> None:
        self.risk = dataclasses.replace(self.risk, paused=False, pause_reason="")
        self.journal.write("risk", event="resumed", reason=reason)
        self._alert("resumed", {"reason": reason})
        self._save_state()

    # --- the loop -------------------------------------------------------------------------------------------------
    def step(self, timeout_s: float = 0.5) -> list[Decision]:
        """One turn: requests, emergency stop, new closed bars (each decided; the newest traded), status."""
        decisions: list[Decision] = []
        with self._lock:
            self._check_control()
            self._handle_requests()
            if self.stopped:
                return decisions
            self._check_emergency()
        bars = self.venue.feed.poll(timeout_s)
        with self._lock:
            if self.stopped:
                return decisions
            for ev in self.venue.feed.drain_events():
                self.journal.write("feed", event=ev.kind, **ev.detail)
                if ev.kind in ("reconnected", "lost"):
                    self._need_reconcile = True
                    self._alert("feed_" + ev.kind, ev.detail)
            for i, bar in enumerate(bars):
                decisions.append(self.on_bar(bar, actionable=i == len(bars) - 1))
            if not bars and self._need_reconcile and self.venue.feed.health().connected:
                self._reconcile("reconnect")
            self._write_status()
        return decisions

    def _check_emergency(self) -> None:
        present = risk.emergency_file_present(self.limits.emergency_stop_file)
        self.risk, events = risk.on_emergency(self.risk, present)
        for ev in events:
            self.journal.write("risk", event=ev.kind, file=self.limits.emergency_stop_file)
            self._alert(ev.kind, {"file": self.limits.emergency_stop_file})
        if present and (self.legs or events):
            self.flatten("emergency")

    def on_bar(self, bar: Bar, actionable: bool = True) -> Decision:
        """Everything that happens at one bar close (see the module docstring)."""
        t = self._bar_index(bar.time_ms)
        self.counts["bars"] += 1
        self.history.append(bar)
        self.last_bar = bar
        self.journal.write("bar", durable=False, bar=bar.time_ms, o=bar.open, h=bar.high, l=bar.low, c=bar.close,
                           v=bar.volume, source=bar.source, actionable=actionable)  # fmt: skip
        acct = self._account()
        equity = self._equity_at_close(acct, bar.close) if acct is not None else self.last_equity
        if equity is not None:
            self.last_equity = equity
            if self.start_equity is None:
                self.start_equity, self.rebase_bar = equity, t
            now_ms = int(self.clock() * 1000)
            self.risk, events = risk.on_bar_close(self.risk, equity, now_ms, self.limits)
            for ev in events:
                self.journal.write("risk", event=ev.kind, **ev.detail)
                self._alert(ev.kind, ev.detail)
        later: str | None = None
        if acct is not None and actionable:
            venue_pos = acct.positions.get(self.id.coin)
            moved = abs((venue_pos.size if venue_pos else 0.0) - net_size(self.legs)) > self._lot / 2
            self._since_reconcile += 1
            if moved:  # the legs are wrong (a trigger fired, ...): repair them before deciding on them
                self._reconcile("position", acct=acct)
            elif self._need_reconcile or self._since_reconcile >= self.params.live.reconcile_every_bars:
                later = "reconnect" if self._need_reconcile else "periodic"  # after this bar's orders are out
        pos_state = self._position_state(bar.close, equity, t)
        decision = self.stream.on_bar(bar, pos_state)
        self.counts["decisions"] += 1
        blocked = risk.opens_blocked(self.risk, int(self.clock() * 1000))
        rec = {"bar": bar.time_ms, "action": decision.action_name, "policy_id": self.id.policy_id,
               "close": bar.close, "equity": equity, "position": net_size(self.legs),
               "executed": actionable and acct is not None, "blocked": blocked,
               "position_state": [round(float(x), 8) for x in pos_state], **decision.detail}  # fmt: skip
        self.journal.write("decision", durable=False, **rec)
        self.recent_decisions.append(rec)
        if actionable and acct is not None and equity is not None and not self.risk.emergency:
            self._act(decision.action, bar, t, equity, blocked)
        if later is not None:
            self._reconcile(later)
        self._rebase(t, equity)
        if self._fills_due:
            self._sync_fills()
        self._save_state()
        self.journal.sync()
        return decision

    # --- helpers: account, position state ------------------------------------------------------------------------
    @property
    def _lot(self) -> float:
        return 10.0**-self.venue.rules.sz_decimals

    def _account(self) -> AccountState | None:
        try:
            return self.exec.account_state()
        except ExchangeUnavailable as exc:
            self._alert("exchange_unavailable", {"error": str(exc)})
            self.journal.write("error", where="account", error=str(exc))
            return None

    def _equity_at_close(self, acct: AccountState, close: float) -> float:
        """The venue's cash plus the position marked at the bar's close (the simulator's equity at a close)."""
        pos = acct.positions.get(self.id.coin)
        if pos is None:
            return acct.equity
        return acct.equity - pos.unrealized_pnl + pos.size * (close - pos.entry_px)

    def _position_state(self, close: float, equity: float | None, t: int) -> np.ndarray:
        legs = [(float(lg.side), lg.size, lg.entry_px, lg.entry_bar) for lg in self.legs]
        eq = equity if equity is not None else 1.0
        start = self.start_equity or eq
        return position_state_of(legs, close, eq, start, t, self.bar_s)

    def _rebase(self, t: int, equity: float | None) -> None:
        """Restart the 'equity change since start' input every `backtest.chunk_size` bars when flat, as backtest
        segments (and training episodes) do, so the policy never sees a span far longer than it was trained on."""
        if equity is None or self.legs or self.rebase_bar is None:
            return
        if t - self.rebase_bar >= self.params.backtest.chunk_size:
            self.start_equity, self.rebase_bar = equity, t
            self.journal.write("rebase", bar_index=t, equity=equity)

    # --- persistence and status ---------------------------------------------------------------------------------
    def _save_state(self) -> None:
        self.journal.write_state(
            {
                "version": STATE_VERSION,
                "saved_ms": int(self.clock() * 1000),
                "policy_id": self.id.policy_id,
                "legs": [lg.to_dict() for lg in self.legs],
                "risk": self.risk.to_dict(),
                "stats": self.stats.to_dict(),
                "size_multiplier": self.size_multiplier,
                "start_equity": self.start_equity,
                "rebase_bar": self.rebase_bar,
                "last_fill_ms": self.last_fill_ms,
                "seen_tids": list(self.seen_tids),
                "counts": self.counts,
                "control_id": self._control_id,
            }
        )

    def _load_state(self, saved: dict) -> None:
        if saved.get("version") != STATE_VERSION:
            self.journal.write("error", where="state", error=f"state version {saved.get('version')}: starting fresh")
            return
        self.legs = [Leg.from_dict(d) for d in saved.get("legs", [])]
        self.risk = risk.RiskState.from_dict(saved.get("risk", {}))
        self.stats = TradeStats.from_dict(saved.get("stats", {}))
        self.size_multiplier = float(saved.get("size_multiplier", self.size_multiplier))
        self.start_equity = saved.get("start_equity")
        self.rebase_bar = saved.get("rebase_bar")
        self.last_fill_ms = int(saved.get("last_fill_ms", 0))
        self.seen_tids.extend(saved.get("seen_tids", []))
        self.counts.update(saved.get("counts", {}))
        self._control_id = saved.get("control_id")

    def _on_call(self, ok: bool) -> None:
        now = int(self.clock() * 1000)
        self.risk, events = risk.on_exchange_call(self.risk, ok, now, self.limits)
        for ev in events:
            self.journal.write("risk", event=ev.kind, **ev.detail)
            self._alert(ev.kind, ev.detail)

    def _alert(self, kind: str, detail: dict) -> None:
        self.alerts.append({"ts": int(self.clock() * 1000), "kind": kind, **detail})

    def status(self) -> dict[str, Any]:
        """What the trader is doing now (also written to status.json after every step)."""
        with self._lock:
            now = int(self.clock() * 1000)
            pos = net_size(self.legs)
            return {
                "mode": self.id.mode,
                "coin": self.id.coin,
                "account": self.id.account,
                "base_url": self.id.base_url,
                "policy_id": self.id.policy_id,
                "strategy": self.id.strategy,
                "strategy_spec": self.id.strategy_spec,
                "pid": os.getpid(),
                "started_ms": self.started_ms,
                "updated_ms": now,
                "running": not self.stopped,
                "position": {
                    "size": pos,
                    "side": side_of(self.legs),
                    "legs": [lg.to_dict() for lg in self.legs],
                },
                "open_orders": [
                    {
                        "cloid": lg.trigger_cloid(k),
                        "leg": lg.leg_id,
                        "tpsl": k,
                        "is_buy": lg.side < 0,
                        "size": lg.size,
                        "trigger_px": lg.tp_px if k == "tp" else lg.sl_px,
                    }
                    for lg in self.legs
                    for k in ("tp", "sl")
                ],
                "equity": self.last_equity,
                "start_equity": self.start_equity,
                "size_multiplier": self.size_multiplier,
                "risk": {
                    **self.risk.to_dict(),
                    "drawdown_pct": (100 * (1 - self.last_equity / self.risk.peak))
                    if self.last_equity and self.risk.peak
                    else 0.0,
                    "halt_level_pct": self.limits.auto_stop_frac * 100,
                    "opens_blocked": risk.opens_blocked(self.risk, now),
                    "breaker_open": risk.breaker_open(self.risk, now),
                    "emergency_stop_file": self.limits.emergency_stop_file,
                },
                "last_bar": None
                if self.last_bar is None
                else {"time_ms": self.last_bar.time_ms, "close": self.last_bar.close, "source": self.last_bar.source},
                "feed": self.venue.feed.health().to_dict(),
                "counts": dict(self.counts),
                "trades": {"n": self.stats.n_trades, "wins": self.stats.n_wins},
                "last_decisions": list(self.recent_decisions)[-10:],
                "last_orders": list(self.recent_orders)[-10:],
                "alerts": list(self.alerts)[-10:],
            }

    def _write_status(self) -> None:
        self.journal.write_status(self.status())


def _merge_operator_sections(new: Params | dict, current: Params) -> Params:
    """`new`'s sections, with the operator's market, live and paper_exchange sections from `current`."""
    from backtest.config import params_from_dict

    data = new.model_dump(mode="json") if isinstance(new, Params) else dict(new)
    mine = current.model_dump(mode="json")
    for section in ("market", "live", "paper_exchange"):
        data[section] = mine[section]
    return params_from_dict(data, "swapped-in params")
