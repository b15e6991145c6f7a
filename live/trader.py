"""The live trader: every closed bar, decide with the backtest's own strategy code and act on the venue.

`Trader.on_bar` is one bar, top to bottom (docs/LIVE.md has the full story):
1. the account from the venue (`VenueSync.account`), then the resting post-only order by its cloid (a maker style:
   its fills become legs before anything reads them);
2. equity marked at the bar's close (the simulator's definition);
3. risk (`RiskGuard`: the drawdown halt by the simulator's rule, the daily loss limit);
4. reconcile when the venue's position differs from the legs (now, before deciding on them), or after a reconnect
   and every `live.reconcile_every_bars` (after this bar's orders are out);
5. decide: `StrategyStream.on_bar(bar, position_state)` -- the same features, normalisation, strategy object and
   recurrent state a backtest uses, with the position state computed by the simulator's kernel;
6. act (`OrderDesk.act`): max-hold and signal closes, then the open, in the simulator's order of events, each order
   with a deterministic cloid, journalled before it is sent (`live.execution`); TP/SL triggers on the venue; with a
   maker style the resting order first meets the decision and its ttl (cancel, absorb, expire), and a new one is
   a post-only order at the touch;
7. fills journalled once each (`VenueSync`), state saved, the journal fsynced.
Only the newest bar of a batch (after a reconnect backfill) is traded; older ones still pass through the strategy,
so its state never skips a bar. `step()` is one loop turn: commands (`live.control`), the emergency-stop file (it
wins over everything), new bars, status.

The trader builds and owns its parts, each with explicit inputs and no reference back to it: the shared
`TraderState`, the `RiskGuard`, the `Execution`, the `OrderDesk`, the `VenueSync` and the `ControlFolder`; the
`Journal` and the venue's clients come in built. No Ray and no threads here: `live.actor` runs this in a Ray actor,
tests drive it step by step.
"""

from __future__ import annotations

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
from backtest.venue.calendar import OPEN
from backtest.venue.fees import resolve_fees
from live.control import Command, ControlError, ControlFolder, Pause, Resume, SetSize, Stop, Swap, parse_command
from live.execution import Execution
from live.journal import STATE_FILE, Journal, StateFileError, read_records, read_status
from live.lock import NonceSource
from live.orders import OrderDesk
from live.positions import Leg, side_of
from live.rebuild import rebuild_state
from live.risk import RiskGuard, RiskLimits, session_blocks_opens
from live.state import STATE_VERSION, Policy, TraderState
from live.sync import VenueSync
from live.venue import VenueSession

log = logging.getLogger(__name__)


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


class Trader:
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
        self.venue, self.journal, self.clock = venue, journal, clock
        self.bar_s = params.backtest.bar_seconds
        self.started_ms = int(clock() * 1000)
        self.stopped = False
        # what the venue said it charges this account on this coin (a backtest's schedule when it did not answer)
        self.fees = resolve_fees(params, recorded=venue.fees.to_dict() if venue.fees else None)
        self.state = TraderState(self._policy(strategy, identity.policy_id), params.live.size_multiplier)
        self.risk = RiskGuard(RiskLimits.from_config(params, objectives), self.state, journal, clock)
        self.exec = Execution(venue.exchange, venue.info, venue.account, venue.coin, venue.dex, venue.rules, journal,
                              on_call=self.risk.on_exchange_call, budget=venue.feed.budget,
                              nonces=NonceSource.for_signer(venue.base_url, venue.signer.wallet.address))  # fmt: skip
        self.desk = OrderDesk(self.exec, venue.rules, self.state, self.risk, journal,
                              params.live.ioc_slippage_pct / 100.0, lambda: venue.feed.mid, clock)  # fmt: skip
        self.sync = VenueSync(self.exec, self.state, self.desk, journal, venue.coin, self.bar_s * 1000, clock)
        self.inbox = ControlFolder(journal.root)
        self._queue: deque[Command] = deque()
        self._lock = threading.RLock()
        self._feed_lost_ms: int | None = None

    @property
    def stream(self) -> StrategyStream:
        """The strategy's bar-by-bar stream (replaced by a swap)."""
        return self.state.policy.stream

    def _policy(self, strategy: Strategy, policy_id: str) -> Policy:
        self.id.policy_id, self.id.strategy = policy_id, strategy.name
        p = self.params
        stream = StrategyStream(strategy, p.trading, p.backtest.warmup_bars, p.market.coin)
        sim = execution_params(strategy, self.params, self.objectives, self.fees)
        return Policy(policy_id, strategy, sim, stream)

    def _session_blocked(self, bar: Bar) -> str | None:
        """The session rule at the open this decision's entry would fill at (the next bar's), as in the simulator:
        the market's calendar as the stream's features read it."""
        fill_ms = bar.time_ms + self.bar_s * 1000
        is_open = bool(self.stream.features.clock.states(np.array([fill_ms], dtype=np.int64))[0] == OPEN)
        return session_blocks_opens(self.params.trading.trade_closed_sessions, is_open)

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # --- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Resume saved state (rebuilt when state.json cannot be resumed), warm the strategy on history, reconcile
        with the venue, connect the feed."""
        saved, rebuilt = self._saved_state()
        before = read_status(self.journal.root)  # still "running": the last run never stopped (crash, kill -9)
        self.inbox.clear()
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
            state="none" if saved is None else ("rebuilt" if rebuilt else "saved"),
            params=self.params.model_dump(mode="json"),
            objectives=self.objectives.model_dump(mode="json"),
            fees=self.fees.to_dict(),  # what the venue said it charges (a replay charges the same)
        )
        for torn in self.journal.healed:
            self.journal.alert("journal_torn", torn.figures())
        if rebuilt is not None:
            self.journal.alert("state_rebuilt", rebuilt)
        history = self.venue.feed.history(self.params.live.history_bars)
        if len(history) < 2:
            raise RuntimeError(f"the venue returned {len(history)} closed bars of {self.id.coin}; need at least 2")
        self.state.history = list(history)
        self.stream.warm_up(bars_frame(history))
        self.state.last_bar = history[-1]
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
        self._journal_gap(history)
        self.sync.resolve_pending(saved)
        self.sync.check_resting(int(history[-1].time_ms // (self.bar_s * 1000)) + 1)  # an Alo the last run left
        self.sync.reconcile("start")
        self.venue.feed.start(after_ms=history[-1].time_ms)
        self._alert_start(saved is not None, before)
        self._write_status()

    def _saved_state(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(the state resumed, or None for a first start; what was done when state.json could not be resumed: it is
        moved aside, kept, and the state rebuilt from the journal and status.json, `live.rebuild`; the venue then
        repairs the rest by the usual lookup of unanswered orders and reconciliation)."""
        try:
            saved = self.journal.read_state()
            if saved is not None:
                self.state.resume(saved)
            return saved, None
        except ValueError as exc:  # StateFileError included
            why = exc.why if isinstance(exc, StateFileError) else str(exc)
        kept = self.journal.set_aside_state()
        root = self.journal.root
        saved, summary = rebuild_state(read_records(root), read_status(root), self.id.coin, self.id.account,
                                       self.bar_s * 1000, STATE_VERSION)  # fmt: skip
        self.state.resume(saved)
        return saved, {"why": why, "file": str(root / STATE_FILE), "kept": str(kept), **summary}

    def _journal_gap(self, history: list[Bar]) -> None:
        """After a restart: the bars that closed while no trader ran (after the last bar decided, up to the newest
        closed bar), journalled as a `gap` record with how they were filled in. They came back over REST
        `candleSnapshot` with the warm-up history (the strategy's state runs through them) but were never traded;
        bars older than the history window are counted as missing."""
        last = self.state.last_bar_ms
        if last is None:  # a state saved before it kept the last bar, or none: the journal's last bar record
            last = max((int(r["bar"]) for r in read_records(self.journal.root, kinds={"bar"})), default=None)
        if last is None or history[-1].time_ms <= last:
            return
        step = self.bar_s * 1000
        bars = (history[-1].time_ms - last) // step
        covered = sum(1 for b in history if b.time_ms > last)
        gap = {"from": last + step, "to": history[-1].time_ms, "bars": bars, "covered": covered,
               "missing": max(0, bars - covered), "backfilled": "rest candleSnapshot (warm-up history)",
               "traded": False, "last_bar_before": last}  # fmt: skip
        self.journal.write("gap", **gap)
        self.journal.alert("restart_gap", gap)
        self.state.gap = gap

    def _alert_start(self, resumed: bool, before: dict[str, Any] | None) -> None:
        ident = {"mode": self.id.mode, "coin": self.id.coin, "policy_id": self.id.policy_id,
                 "strategy": self.id.strategy, "legs": len(self.state.legs)}  # fmt: skip
        if before is not None and before.get("running"):
            self.journal.alert("trader_restarted", {**ident, "pid": before.get("pid"),
                                                    "last_update_ms": before.get("updated_ms")})  # fmt: skip
        else:
            self.journal.alert("trader_started", {**ident, "resumed": resumed})

    def shutdown(self, flatten: bool) -> None:
        """Stop trading: optionally close every position and cancel every order first; journal it."""
        with self._lock:
            if self.stopped:
                return
            if flatten:
                self.flatten("stop")
            self.stopped = True
            self.journal.write("stop", flatten=flatten, legs=len(self.state.legs))
            self.journal.alert("trader_stopped", {"flatten": flatten, "legs": len(self.state.legs)})
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
                self.journal.alert("step_failed", {"error": f"{type(exc).__name__}: {exc}"})
                time.sleep(min(5.0, poll_s * 4))

    # --- the loop -------------------------------------------------------------------------------------------------
    def step(self, timeout_s: float = 0.5) -> list[Decision]:
        """One turn: commands, emergency stop, new closed bars (each decided; the newest traded), status."""
        decisions: list[Decision] = []
        with self._lock:
            self._take_commands()
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
                    self.state.need_reconcile = True
                if ev.kind in ("lost", "restored"):
                    self._alert_feed(ev.kind, ev.detail)
            for i, bar in enumerate(bars):
                decisions.append(self.on_bar(bar, actionable=i == len(bars) - 1))
            if not bars and self.state.need_reconcile and self.venue.feed.health().connected:
                self.sync.reconcile("reconnect")
            self._write_status()
        return decisions

    def _alert_feed(self, kind: str, detail: dict[str, Any]) -> None:
        """One outage, one pair: `feed_lost` when the feed goes down (a socket rebuilt that stays silent and is lost
        again is the same outage), `feed_restored` when candles flow again, with how long it was down, counted from
        the last message before the loss (pushes wait `alerts.feed_down_seconds`)."""
        now = self._now_ms()
        if kind == "lost":
            if self._feed_lost_ms is None:
                self._feed_lost_ms = now - int(1000 * (detail.get("silent_s") or 0.0))
                self.journal.alert("feed_lost", detail)
        elif self._feed_lost_ms is not None:
            down = (now - self._feed_lost_ms) / 1000
            self._feed_lost_ms = None
            self.journal.alert("feed_restored", {**detail, "down_s": round(down, 1)})

    def on_bar(self, bar: Bar, actionable: bool = True) -> Decision:
        """Everything that happens at one bar close, in order (see the module docstring)."""
        st = self.state
        t = int(bar.time_ms // (self.bar_s * 1000))
        self._record_bar(bar, actionable)
        acct = self.sync.account()  # 1
        self.sync.check_resting(t + 1)  # 1b
        equity = self._mark_equity(acct, bar.close, t)  # 2
        if equity is not None:
            self.risk.on_bar_close(equity)  # 3
        later = self._reconcile_now_or_later(acct, actionable)  # 4
        executed = actionable and acct is not None
        decision, blocked = self._decide(bar, t, equity, executed)  # 5
        if executed and equity is not None and not st.risk.emergency:
            if self.desk.arm_triggers(t + 1):  # 6a: TP/SL of a maker entry whose fill bar has passed
                self.sync.reconcile_if_moved()  # a level the open already passed fired: before the action, as simulated
            self.desk.act(decision.action, bar, t, equity, blocked)  # 6
        if later is not None:
            self.sync.reconcile(later)
        self._rebase(t, equity)
        if st.fills_due:  # 7
            self.sync.journal_fills()
        self._save_state()
        self.journal.sync()
        return decision

    def _record_bar(self, bar: Bar, actionable: bool) -> None:
        self.state.counts["bars"] += 1
        self.state.history.append(bar)
        self.state.last_bar = bar
        self.state.last_bar_ms = bar.time_ms
        self.journal.write("bar", durable=False, bar=bar.time_ms, o=bar.open, h=bar.high, l=bar.low, c=bar.close,
                           v=bar.volume, source=bar.source, actionable=actionable)  # fmt: skip

    def _mark_equity(self, acct: AccountState | None, close: float, t: int) -> float | None:
        """The venue's cash plus the position marked at the bar's close (the simulator's equity at a close); the
        last one when the venue did not answer."""
        st = self.state
        if acct is None:
            return st.last_equity
        pos = acct.positions.get(self.id.coin)
        equity = acct.equity if pos is None else acct.equity - pos.unrealized_pnl + pos.size * (close - pos.entry_px)
        st.last_equity = equity
        if st.start_equity is None:
            st.start_equity, st.rebase_bar = equity, t
        return equity

    def _reconcile_now_or_later(self, acct: AccountState | None, actionable: bool) -> str | None:
        """Reconcile now when the venue's position moved (the legs are wrong: repair them before deciding on them);
        say why to reconcile after this bar's orders are out after a reconnect or every `reconcile_every_bars`."""
        st = self.state
        if acct is None or not actionable:
            return None
        st.since_reconcile += 1
        if self.sync.differs(acct):
            self.sync.reconcile("position", acct=acct)
        elif st.need_reconcile or st.since_reconcile >= self.params.live.reconcile_every_bars:
            return "reconnect" if st.need_reconcile else "periodic"
        return None

    def _decide(self, bar: Bar, t: int, equity: float | None, executed: bool) -> tuple[Decision, str | None]:
        """The strategy's decision on this bar (and why opens are blocked now), journalled."""
        st = self.state
        # the position at this close: a post-only entry that filled at the next open (the venue has moved on) is not
        legs = [(float(lg.side), lg.size, lg.entry_px, lg.entry_bar) for lg in st.legs if lg.entry_bar <= t]
        eq = equity if equity is not None else 1.0
        pos_state: np.ndarray = position_state_of(legs, bar.close, eq, st.start_equity or eq, t, self.bar_s)
        decision = self.stream.on_bar(bar, pos_state)
        st.counts["decisions"] += 1
        blocked = self.risk.opens_blocked() or self._session_blocked(bar)
        rec = {"bar": bar.time_ms, "action": decision.action_name, "policy_id": self.id.policy_id,
               "close": bar.close, "equity": equity, "position": st.position, "executed": executed,
               "blocked": blocked, "position_state": [round(float(x), 8) for x in pos_state],
               **decision.detail}  # fmt: skip
        self.journal.write("decision", durable=False, **rec)
        st.recent_decisions.append(rec)
        return decision, blocked

    def _rebase(self, t: int, equity: float | None) -> None:
        """Restart the 'equity change since start' input every `backtest.chunk_size` bars when flat, as backtest
        segments (and training episodes) do, so the policy never sees a span far longer than it was trained on."""
        st = self.state
        if equity is None or st.legs or st.rebase_bar is None:
            return
        if t - st.rebase_bar >= self.params.backtest.chunk_size:
            st.start_equity, st.rebase_bar = equity, t
            self.journal.write("rebase", bar_index=t, equity=equity)

    def _check_emergency(self) -> None:
        present, changed = self.risk.check_emergency()
        if present and (self.state.legs or changed):
            self.flatten("emergency")

    def flatten(self, reason: str) -> None:
        """Close everything on the coin and cancel every order (emergency stop, stop, pause)."""
        if self.state.resting is not None and self.state.last_bar is not None:
            self.desk.end_resting("cancelled", reason, int(self.state.last_bar.time_ms // (self.bar_s * 1000)) + 1)
        self.desk.close_legs(list(self.state.legs), reason, self.state.last_bar)
        self.desk.close_the_rest(self.sync.account(), reason)
        self.sync.journal_fills()
        self.journal.write("flatten", reason=reason)

    def reconcile(self, why: str) -> None:
        """Reconcile with the venue now (between two bars)."""
        with self._lock:
            self.sync.reconcile(why)

    # --- commands (live.control): from the Ray actor, the control folder, a signal handler -------------------------
    def submit(self, cmd: Command) -> None:
        """Queue `cmd`; the loop handles it between two bars."""
        self._queue.append(cmd)

    def _take_commands(self) -> None:
        st = self.state
        for req in self.inbox.take(st.control_id):
            st.control_id = req["id"]
            self.journal.write("control", **{k: v for k, v in req.items() if k != "params"})
            try:
                self._queue.append(parse_command(req))
            except ControlError as exc:
                self.journal.write("error", where="control", id=req["id"], error=str(exc))
                self.journal.alert("control_refused", {"id": req["id"], "error": str(exc)})
        while self._queue:
            self.handle(self._queue.popleft())

    def handle(self, cmd: Command) -> Any:
        """Carry out `cmd` now, between two bars: the one dispatch of every command. Returns the new size
        multiplier for `SetSize`, whether a `Swap` took place, else None."""
        with self._lock:
            if isinstance(cmd, Stop):
                return self.shutdown(cmd.flatten)
            if isinstance(cmd, SetSize):
                return self._set_size(cmd.multiplier, cmd.reason)
            if isinstance(cmd, Pause):
                self.risk.pause(cmd.reason, cmd.flatten)
                if cmd.flatten:
                    self.flatten("pause")
            elif isinstance(cmd, Resume):
                self.risk.resume(cmd.reason)
            elif isinstance(cmd, Swap):
                return self._swap(cmd)
            else:
                raise TypeError(f"not a command: {cmd!r}")
            self._save_state()
            return None

    def _set_size(self, value: float, reason: str) -> float:
        cap = self.params.live.size_multiplier_max
        new = min(max(value, 0.0), cap)
        if not math.isfinite(new):
            raise ValueError(f"size multiplier must be finite, got {value}")
        old, self.state.size_multiplier = self.state.size_multiplier, new
        self.journal.write("size", old=old, new=new, cap=cap, reason=reason)
        self._save_state()
        return new

    def _swap(self, cmd: Swap) -> bool:
        """The one swap path: the strategy given, or `spec` loaded here (a spec that does not load is journalled and
        changes nothing), warmed on every bar this trader has seen; legs, orders and risk state carry over."""
        params = _merge_operator_sections(cmd.params, self.params) if cmd.params else self.params
        strategy = cmd.strategy
        if strategy is None:
            from backtest.strategies.registry import resolve_strategy

            try:
                strategy = resolve_strategy(cmd.spec, params)
            except Exception as exc:
                self.journal.write("error", where="swap", spec=cmd.spec, error=f"{type(exc).__name__}: {exc}")
                self.journal.alert("swap_failed", {"spec": cmd.spec, "error": str(exc), "current": self.id.policy_id})
                return False
        old = self.id.policy_id
        self.params = params
        self.state.policy = self._policy(strategy, cmd.policy_id)
        self.id.strategy_spec = cmd.spec or self.id.strategy_spec
        self.stream.warm_up(bars_frame(self.state.history))
        self.journal.write("swap", old=old, new=cmd.policy_id, strategy=strategy.name, strategy_spec=cmd.spec,
                           reason=cmd.reason, warm_bars=len(self.state.history))  # fmt: skip
        self.journal.alert("swap", {"old": old, "new": cmd.policy_id, "reason": cmd.reason})
        self._save_state()
        self._write_status()
        return True

    # --- state and status -----------------------------------------------------------------------------------------
    def _save_state(self) -> None:
        self.journal.write_state(self.state.saved(self._now_ms()))

    def status(self) -> dict[str, Any]:
        """What the trader is doing now (also written to status.json after every step)."""
        with self._lock:
            st = self.state
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
                "updated_ms": self._now_ms(),
                "running": not self.stopped,
                "position": {"size": st.position, "side": side_of(st.legs), "legs": [lg.to_dict() for lg in st.legs]},
                "open_orders": [_trigger_view(lg, k) for lg in st.legs if lg.protected for k in ("tp", "sl")],
                "resting_order": None if st.resting is None else st.resting.to_dict(),
                "equity": st.last_equity,
                "start_equity": st.start_equity,
                "size_multiplier": st.size_multiplier,
                "risk": self.risk.status(st.last_equity),
                "last_bar": None
                if st.last_bar is None
                else {"time_ms": st.last_bar.time_ms, "close": st.last_bar.close, "source": st.last_bar.source},
                "feed": self.venue.feed.health().to_dict(),
                "gap": st.gap,
                "counts": dict(st.counts),
                "trades": {"n": st.stats.n_trades, "wins": st.stats.n_wins},
                "last_decisions": list(st.recent_decisions)[-10:],
                "last_orders": list(st.recent_orders)[-10:],
                "alerts": list(self.journal.alerts)[-10:],
            }

    def _write_status(self) -> None:
        self.journal.write_status(self.status())


def _trigger_view(leg: Leg, kind: str) -> dict[str, Any]:
    return {"cloid": leg.trigger_cloid(kind), "leg": leg.leg_id, "tpsl": kind, "is_buy": leg.side < 0,
            "size": leg.size, "trigger_px": leg.tp_px if kind == "tp" else leg.sl_px}  # fmt: skip


def _merge_operator_sections(new: Params | dict, current: Params) -> Params:
    """`new`'s sections, with the operator's market, live and paper_exchange sections from `current`."""
    from backtest.config import params_from_dict

    data = new.model_dump(mode="json") if isinstance(new, Params) else dict(new)
    mine = current.model_dump(mode="json")
    for section in ("market", "live", "paper_exchange"):
        data[section] = mine[section]
    return params_from_dict(data, "swapped-in params")
