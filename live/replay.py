"""Replay a live session through the backtester: same bars, same strategy, same parameters -> same decisions.

The journal holds every bar the trader saw (its warm-up history, then each closed bar) and every decision. `replay`
rebuilds that bar series, runs `backtest.runner.run_backtest` over it as one continuous segment that starts at the
trader's first decision (its warm-up = the history), and compares the two bar for bar. It charges the fee schedule
the venue stated at the session's start (journalled in its `start` record), and checks every fill's fee against it
to the cent (a post-only fill at the maker rate, any other at the taker rate). Fills differ only by the documented
execution differences (docs/LIVE.md); the report measures them from the journal. Trades are matched by entry bar,
side, exit bar and exit reason; with a maker style the post-only orders' outcomes (submitted, rejected, filled,
expired, converted, cancelled) are counted on both sides and their fill prices compared exactly. Opens the live
trader's own risk controls blocked (daily loss limit, pause, circuit breaker, emergency stop: `LIVE_ONLY_BLOCKS`,
which the backtest does not simulate) are blocked in the replay too, at the bars its decisions record them, so the
rest of the session stays comparable; the report counts them. The live order caps (`live.max_order_notional`,
`live.max_leverage`) and opens sent no order (below the venue's minimum) are live-only sizing the backtest does not
model: the report counts and names them too, as the reason their notional, fees and PnL differ.

    python -m live.replay [--root runs/live/<coin>/<account>] [--strategy SPEC] [--session -1]
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtest.config import Objectives, Params, objectives_from_dict, params_from_dict, with_overrides
from backtest.sim import ACTION_NAMES
from backtest.sim import layout as L
from live.journal import read_records
from live.risk import LIVE_ONLY_BLOCKS

# the live journal's exit reasons, as the backtester names them
EXIT_REASONS = {"signal": "signal", "max_hold": "timeout", "tp": "take_profit", "sl": "stop_loss"}


@dataclass
class Session:
    """One run of the trader (from a `start` record to the next): its bars and decisions."""

    start: dict[str, Any]
    history: pd.DataFrame
    bars: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # post-only orders that left the book
    size_caps: list[dict[str, Any]] = field(default_factory=list)  # opens the live caps cut (risk: size_capped)
    skips: list[dict[str, Any]] = field(default_factory=list)  # opens live sent no order for (e.g. below the minimum)

    def frame(self) -> pd.DataFrame:
        """History + live bars in the bar schema."""
        live = pd.DataFrame(
            {
                "timestamp": pd.to_datetime([b["bar"] for b in self.bars], unit="ms", utc=True),
                "open": [b["o"] for b in self.bars],
                "high": [b["h"] for b in self.bars],
                "low": [b["l"] for b in self.bars],
                "close": [b["c"] for b in self.bars],
                "volume": [b.get("v", 0.0) for b in self.bars],
                "trades": 0,
                "source": [b.get("source", "unknown") for b in self.bars],
            }
        )
        return pd.concat([self.history, live], ignore_index=True)


def sessions(root: str | Path) -> list[Session]:
    """Every session in the journal under `root`, oldest first."""
    out: list[Session] = []
    lists = {"bar": "bars", "decision": "decisions", "fill": "fills", "order": "orders", "ack": "acks",
             "trade": "trades", "outcome": "outcomes"}  # fmt: skip
    for rec in read_records(root, kinds={"start", "history", "risk", "skip", *lists}):
        kind = rec["kind"]
        if kind == "start":
            out.append(Session(rec, pd.DataFrame()))
        elif not out:
            continue
        elif kind == "risk":
            if rec.get("event") == "size_capped":
                out[-1].size_caps.append(rec)
        elif kind == "skip":
            out[-1].skips.append(rec)
        elif kind == "history":
            out[-1].history = pd.DataFrame(
                {
                    "timestamp": pd.to_datetime(rec["t"], unit="ms", utc=True),
                    "open": rec["o"],
                    "high": rec["h"],
                    "low": rec["l"],
                    "close": rec["c"],
                    "volume": rec["v"],
                    "trades": rec["n"],
                    "source": rec.get("source", "unknown"),
                }
            )
        else:
            getattr(out[-1], lists[kind]).append(rec)
    return [s for s in out if len(s.history)]


@dataclass
class ReplayReport:
    bars: int
    live_actions: np.ndarray
    backtest_actions: np.ndarray
    live_trades: int
    backtest_trades: int
    entry_diff_bps: list[float]  # live entry fill vs the simulator's entry fill, same bar and side, in bps
    live_slippage_bps: list[float]  # live fills vs the decision price (bar close)
    fee_diffs: list[float] = field(default_factory=list)  # venue fee of each fill - the backtest's rate x its notional
    live_fees: float = 0.0  # fees the venue charged the session's fills
    backtest_fees: float = 0.0  # fees the backtest charged over the same bars
    fee_schedule: str = ""  # the schedule the backtest charged
    # (entry bar, side, exit bar, exit reason) of each closed trade: live, backtest
    trade_keys: tuple[list[tuple], list[tuple]] = field(default_factory=lambda: ([], []))
    maker: bool = False  # a maker style was on
    orders_live: np.ndarray = field(default_factory=lambda: np.zeros((2, L.N_OC), dtype=int))  # [entry, exit] x
    orders_backtest: np.ndarray = field(default_factory=lambda: np.zeros((2, L.N_OC), dtype=int))  # ORDER_OUTCOMES
    order_errors: int = 0  # post-only orders the venue refused for another reason than crossing (live only)
    maker_fill_diff_bps: list[float] = field(default_factory=list)  # post-only fills live vs backtest, same bar
    live_only_blocks: dict[str, int] = field(default_factory=dict)  # why -> bars whose opens live risk blocked
    # live-only sizing the backtest does not model (docs/LIVE.md): why -> opens cut by the caps / sent no order
    size_caps: dict[str, int] = field(default_factory=dict)
    skipped_opens: dict[str, int] = field(default_factory=dict)

    @property
    def fees_agree(self) -> bool:
        """Every fill was charged what the backtest charges the same notional, to the cent."""
        return all(abs(d) < 0.005 for d in self.fee_diffs)

    @property
    def mismatches(self) -> list[int]:
        return np.flatnonzero(self.live_actions != self.backtest_actions).tolist()

    @property
    def identical(self) -> bool:
        return not self.mismatches

    @property
    def trades_agree(self) -> bool:
        """The same trades: entry bar, side, exit bar and exit reason, one for one."""
        return self.trade_keys[0] == self.trade_keys[1]

    @property
    def orders_agree(self) -> bool:
        """The post-only orders' outcomes are the backtest's, count for count, and their fills at its prices."""
        same_px = all(abs(x) < 1e-6 for x in self.maker_fill_diff_bps)
        return bool((self.orders_live == self.orders_backtest).all()) and not self.order_errors and same_px

    @property
    def agrees(self) -> bool:
        """The replay agrees: the same decisions, the same trades, every fee to the cent and, with a maker style, the
        same post-only outcomes and fill prices (a rehearsal and `python -m live.replay` exit 0 only then)."""
        return self.identical and self.fees_agree and self.trades_agree and (not self.maker or self.orders_agree)

    def table(self) -> str:
        def stats(xs: list[float]) -> str:
            if not xs:
                return "-"
            a = np.asarray(xs)
            return f"mean {a.mean():+.2f}, max |x| {np.abs(a).max():.2f} (n={len(a)})"

        lines = [
            f"bars compared          {self.bars}",
            f"identical decisions    {self.bars - len(self.mismatches)} / {self.bars}"
            + ("" if self.identical else f"  (first differences at bars {self.mismatches[:5]})"),
            f"trades live / backtest {self.live_trades} / {self.backtest_trades}",
            f"entry fill vs sim, bps {stats(self.entry_diff_bps)}",
            f"fill vs decision, bps  {stats(self.live_slippage_bps)}",
            f"fees live / backtest   {self.live_fees:,.2f} / {self.backtest_fees:,.2f} USD; every fill's fee vs "
            f"the backtest's rate: {'agrees to the cent' if self.fees_agree else 'DIFFERS'}, {stats(self.fee_diffs)}",
            f"fee schedule           {self.fee_schedule or 'unknown'}",
        ]
        live_t, bt_t = self.trade_keys
        same = len(set(live_t) & set(bt_t))
        lines.append(f"trades matched         {same} / {max(len(live_t), len(bt_t))} by entry bar, side, exit bar, "
                     f"reason{'' if self.trades_agree else '  DIFFER'}")  # fmt: skip
        if self.live_only_blocks:
            why = _counts(self.live_only_blocks)
            lines.append(f"live-only risk blocks  {sum(self.live_only_blocks.values())} bar(s) without opens ({why}): "
                         f"blocked in the backtest too")  # fmt: skip
        if self.size_caps:
            n = sum(self.size_caps.values())
            lines.append(f"live size caps         {n} open(s) cut ({_counts(self.size_caps)}): the backtest sizes "
                         "them uncut, so their notional, fees and PnL differ")  # fmt: skip
        if self.skipped_opens:
            lines.append(f"live skipped opens     {sum(self.skipped_opens.values())} without an order "
                         f"({_counts(self.skipped_opens)})")  # fmt: skip
        if self.maker:
            lines.append(f"post-only orders       live / backtest ({'identical' if self.orders_agree else 'DIFFER'})")
            for k, purpose in enumerate(("entry", "exit")):
                cells = "  ".join(f"{name} {self.orders_live[k, j]}/{self.orders_backtest[k, j]}"
                                  for j, name in enumerate(L.ORDER_OUTCOMES))  # fmt: skip
                lines.append(f"  {purpose:<5}  {cells}")
            if self.order_errors:
                lines.append(f"  refused by the venue (not crossing): {self.order_errors}")
            lines.append(f"maker fill vs sim, bps {stats(self.maker_fill_diff_bps)}")
        checked = "decisions, trades, fees" + (", post-only orders" if self.maker else "")
        lines.append(f"replay                 {'agrees' if self.agrees else 'DIFFERS'} ({checked})")
        return "\n".join(lines)


def replay(session: Session, strategy_spec: str, params: Params, objectives: Objectives) -> ReplayReport:
    """Backtest `strategy_spec` on the session's bars and compare with the journalled decisions."""
    from backtest.features import compute_features
    from backtest.runner import run_backtest
    from backtest.sim import Market

    bars = session.frame()
    h = len(session.history)
    # one continuous segment (chunk_size has a floor of 100 bars: a short session still fits in one)
    p = with_overrides(params, [f"backtest.warmup_bars={h}", f"backtest.chunk_size={max(len(bars) + 1, 100)}"])
    market, blocks = live_only_blocks(session, Market.from_bars(bars, p), p.backtest.bar_seconds * 1000)
    features = compute_features(bars, p.trading, p.market.coin)
    recorded = {"fees": session.start["fees"]} if session.start.get("fees") else None  # what the venue charged
    result = run_backtest(strategy_spec, p, objectives, market, features, recorded, workers=0)
    names = {n: i for i, n in enumerate(ACTION_NAMES)}
    live = np.array([names[d["action"]] for d in session.decisions], dtype=np.int8)
    bt = result.actions[: len(live)].astype(np.int8)
    live = live[: len(bt)][bt >= 0]  # the series' last bar has no decision in a backtest (nothing fills after it)
    bt = bt[bt >= 0]
    fill_bar = {int(result.timestamps[int(r.entry_bar)]): float(r.entry_price) for r in result.trades.itertuples()}
    bar_ms = p.backtest.bar_seconds * 1000
    opens = {o["cloid"]: o for o in session.orders if o.get("reason") == "open" and o.get("bar_ms") is not None}
    entry_diff, slip = [], []
    for ack in session.acks:
        if ack.get("status") != "filled" or ack.get("avg_px") is None:
            continue
        if ack.get("slippage_bps") is not None:
            slip.append(float(ack["slippage_bps"]))
        o = opens.get(ack.get("cloid"))
        sim_px = fill_bar.get(int(o["bar_ms"]) + bar_ms) if o else None
        if sim_px:
            entry_diff.append((float(ack["avg_px"]) - sim_px) / sim_px * 1e4)
    fees = result.provenance["fees"]
    rate = {True: fees["taker"], False: fees["maker"]}  # crossed (taker) or resting (maker) fills
    fee_diffs = [float(f["fee"]) - float(f["size"]) * float(f["px"]) * rate[bool(f.get("crossed", True))]
                 for f in session.fills]  # fmt: skip
    live_fees = float(sum(float(f["fee"]) for f in session.fills))
    report = ReplayReport(len(bt), live, bt, len(session.trades), len(result.trades), entry_diff, slip, fee_diffs,
                          live_fees, float(result.fees), fees["label"])  # fmt: skip
    last_ms = int(bars["timestamp"].iloc[-1].value // 1_000_000)  # the replay's last bar: later opens are not in it
    report.trade_keys = _trade_keys(session, result, last_ms)
    report.live_only_blocks = blocks
    report.size_caps = dict(Counter(str(r.get("why", "")).split(" ")[0] for r in session.size_caps))
    report.skipped_opens = skipped_opens(session)
    report.maker = p.execution.any_maker
    if report.maker:
        _compare_orders(report, session, result, last_ms, bar_ms)
    return report


def skipped_opens(session: Session) -> dict[str, int]:
    """Why -> opens live sent no order for, other than its risk blocks (the decisions record those and the replay
    blocks them too): below the venue's minimum size, no book for a post-only price, a close that did not fill."""
    blocks = {(d.get("bar"), d.get("blocked")) for d in session.decisions if d.get("blocked")}
    return dict(Counter(str(r.get("why", "")).split(":")[0] for r in session.skips
                        if (r.get("bar"), r.get("why")) not in blocks))  # fmt: skip


def _counts(by_why: dict[str, int]) -> str:
    return ", ".join(f"{k} x{n}" for k, n in by_why.items())


def live_only_blocks(session: Session, market: Any, bar_ms: int) -> tuple[Any, dict[str, int]]:
    """`market` with no opens where the session's live-only risk controls blocked them (the open after each decision
    that records such a block: where its order would have filled), and the count of those bars by reason."""
    opens = market.opens.copy()
    why: Counter[str] = Counter()
    for d in session.decisions:
        blocked = d.get("blocked") or ""
        if blocked.startswith(LIVE_ONLY_BLOCKS):
            i = int(np.searchsorted(market.ts, int(d["bar"]) + bar_ms))
            if i < len(opens):
                opens[i] = 0.0
                why[blocked.split(" (")[0]] += 1
    return (replace(market, opens=opens) if why else market), dict(why)


def _trade_keys(session: Session, result: Any, last_ms: int) -> tuple[list[tuple], list[tuple]]:
    """(entry bar ms, side, exit bar ms, exit reason) of the trades both sides closed inside the replay's bars."""
    live = [(t["entry_bar_ms"], int(t["side"]), t["exit_bar_ms"], EXIT_REASONS.get(t["reason"], t["reason"]))
            for t in session.trades if t.get("exit_bar_ms") is not None and t["exit_bar_ms"] <= last_ms]  # fmt: skip
    ts = result.timestamps
    bt = [(int(ts[int(r.entry_bar)]), int(r.side), int(ts[int(r.exit_bar)]), str(r.exit_reason))
          for r in result.trades.itertuples() if r.exit_reason != "end"]  # fmt: skip
    return sorted(live), sorted(bt)


def _compare_orders(report: ReplayReport, session: Session, result: Any, last_ms: int, bar_ms: int) -> None:
    """Post-only orders placed at an open inside the replay's bars, by outcome (one that was still resting after its
    last bar is cancelled there, as the backtest cancels it at the end), and their fill prices."""
    names = {n: j for j, n in enumerate(L.ORDER_OUTCOMES)}
    ended = {o["cloid"]: o for o in session.outcomes}
    live = np.zeros((2, L.N_OC), dtype=int)
    for o in session.orders:
        placed = int(o.get("bar_ms") or 0) + bar_ms
        if o.get("order_type") != "alo" or placed > last_ms:
            continue
        k = 0 if o.get("reason") == "open" else 1
        live[k, names["submitted"]] += 1
        end = ended.get(o["cloid"])
        if end is not None and end["outcome"] == "error":
            report.order_errors += 1
        elif end is None or end["end_bar_ms"] > last_ms:
            live[k, names["cancelled"]] += 1
        else:
            live[k, names[end["outcome"]]] += 1
    report.orders_live, report.orders_backtest = live, result.orders.astype(int)
    ts = result.timestamps
    sim_px = {("entry", int(ts[int(r.entry_bar)])): float(r.entry_price) for r in result.trades.itertuples()
              if r.entry_maker}  # fmt: skip
    sim_px |= {("exit", int(ts[int(r.exit_bar)])): float(r.exit_price) for r in result.trades.itertuples()
               if r.exit_maker and r.exit_reason in ("signal", "timeout")}  # fmt: skip
    for o in session.outcomes:
        px = sim_px.get((o["purpose"], o["end_bar_ms"]))
        if o["outcome"] == "filled" and o["end_bar_ms"] <= last_ms and px and o.get("avg_px"):
            report.maker_fill_diff_bps.append((float(o["avg_px"]) - px) / px * 1e4)


def main(argv: list[str] | None = None) -> int:
    from backtest.cli import add_config_args, load_configs

    ap = argparse.ArgumentParser(prog="python -m live.replay", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--root", type=Path, help="the trader's journal folder (default: the newest under live.journal_dir)"
    )
    ap.add_argument("--strategy", default=None, help="strategy spec (default: what the session traded, if loadable)")
    ap.add_argument("--session", type=int, default=-1, help="which session (default -1: the last)")
    add_config_args(ap)
    args = ap.parse_args(argv)
    params, objectives = load_configs(args)
    root = args.root or newest_root(params)
    found = sessions(root)
    if not found:
        print(f"no session with a history record in {root}")
        return 2
    session = found[args.session]
    spec = args.strategy or session.start.get("strategy_spec") or "rules"
    if isinstance(session.start.get("params"), dict) and not (args.config or args.overrides):
        params = params_from_dict(session.start["params"], "the session's start record")  # what it traded with
        objectives = objectives_from_dict(session.start.get("objectives") or objectives.model_dump())
    report = replay(session, spec, params, objectives)
    print(f"session started {pd.Timestamp(session.start['ts'], unit='ms', tz='UTC')}, policy "
          f"{session.start.get('policy_id')}, strategy {spec}")  # fmt: skip
    print(report.table())
    return 0 if report.agrees else 1


def newest_root(params: Params) -> Path:
    """The most recently written trader folder under `live.journal_dir`."""
    from backtest.config import REPO_ROOT

    base = Path(params.live.journal_dir)
    base = base if base.is_absolute() else REPO_ROOT / base
    folders = [p.parent for p in base.rglob("status.json")]
    if not folders:
        raise SystemExit(f"no trader journal under {base}")
    return max(folders, key=lambda p: (p / "status.json").stat().st_mtime)


if __name__ == "__main__":
    raise SystemExit(main())
