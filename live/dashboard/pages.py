"""The Streamlit pages: Live, Autopilot, Research (`app.py` runs `main`). Layout only; every figure comes from
`views` (pure, unit-tested) over what `data` reads. Started by `python -m live.dashboard` (headless, loopback, no
telemetry).

Read-only, except the emergency-stop file, and only with `dashboard.allow_emergency_stop: true`, behind a
confirmation. Tables that tests read are `st.table` / markdown (text in the page), not canvas grids.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from live.dashboard import data, views

STATUS_COLORS = {"GOOD": "#1a7f37", "MODERATE": "#d4a72c", "POOR": "#e08214", "CRITICAL": "#b2182b"}
LEVEL_TAGS = {"critical": ":red[**CRITICAL**]", "warning": ":orange[**warning**]", "info": ":blue[info]"}


# --- settings and cached reads ------------------------------------------------------------------------------------
def settings() -> tuple[Any, Any, data.Paths]:
    return _settings(os.environ.get(data.ARGV_ENV, ""))


@st.cache_resource
def _settings(argv_json: str) -> tuple[Any, Any, data.Paths]:
    params, objectives = data.configs_from_argv(data.argv_from_env())
    return params, objectives, data.Paths.from_params(params)


@st.cache_data(max_entries=64, show_spinner=False)
def _file_records(key: tuple[str, int, int]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    counts: Counter = Counter()
    return data.read_jsonl(Path(key[0]), counts), dict(counts)


def records(root: Path, days: int, skipped: Counter | None = None) -> list[dict[str, Any]]:
    """The window's records; each journal file is parsed again only when it changed (size, mtime). Lines that were
    not whole records are counted in `skipped`."""
    out: list[dict[str, Any]] = []
    for path in data.journal_files(root, days):
        recs, counts = _file_records(data.file_key(path))
        out += recs
        if skipped is not None:
            skipped.update(counts)
    return out


@st.cache_data(max_entries=8, show_spinner=False)
def cycles(key: tuple[str, int, int]) -> list[dict[str, Any]]:
    return data.load_cycles(Path(key[0]))


@st.cache_data(max_entries=16, show_spinner=False)
def backtest_equity(root: str, start_ts: int, n_decisions: int, spec: str) -> tuple[Any, Any] | str:
    """The backtester on the session's bars (cached per session and decision count); an error text on failure."""
    params, objectives, _ = settings()
    session = data.session_frames(records(Path(root), params.dashboard.journal_days))
    if session is None:
        return "no history record in the window"
    try:
        return data.backtest_equity(session, spec, params, objectives)
    except Exception as exc:  # a strategy that cannot load here must not take the page down
        return f"{type(exc).__name__}: {exc}"


def _dash(v: Any) -> Any:
    return "–" if v == "-" else v  # tables render markdown: a lone "-" would become a bullet


def show_table(rows: list[dict[str, Any]], empty: str) -> None:
    if rows:
        st.table(pd.DataFrame([{k: _dash(v) for k, v in r.items()} for r in rows]))
    else:
        st.caption(empty)


def md_table(rows: list[dict[str, Any]], links: dict[str, str] | None = None) -> str:
    """A markdown table (text in the page); `links` maps a column to the column holding its URL."""
    if not rows:
        return ""
    links = links or {}
    cols = [c for c in rows[0] if c not in links.values()]

    def cell(v: Any) -> str:
        return str(_dash(v) if v is not None else "–").replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for c in cols:
            url = r.get(links[c]) if c in links else None
            cells.append(f"[{cell(r[c])}]({url})" if url else cell(r[c]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- sidebar ------------------------------------------------------------------------------------------------------
def sidebar(paths: data.Paths) -> data.TraderRef | None:
    traders = data.find_traders(paths.journal_dir)
    st.sidebar.markdown("**AML-100 monitor**")
    if (paths.journal_dir.parent / "DEMO").is_file():
        st.sidebar.warning("DEMO workspace: a real paper trader's journal; cycles and sweep made up "
                           "(docs/DASHBOARD.md)")  # fmt: skip
    if not traders:
        st.sidebar.caption(f"no trader under {paths.journal_dir}")
        return None
    by_root = {str(t.root): t for t in traders}
    pick = st.sidebar.selectbox("Trader", list(by_root), format_func=lambda r: by_root[r].label, key="trader")
    return by_root.get(pick or "", traders[0])


# --- Live -----------------------------------------------------------------------------------------------------------
def live_page() -> None:
    params, _, paths = settings()
    trader = sidebar(paths)
    st.title("Live")
    if trader is None:
        st.info(
            f"No trader journal under `{paths.journal_dir}` yet. Start the paper trader (`python -m live.serve`), "
            "or look at a demo: `python -m live.dashboard --demo`."
        )
        return

    @st.fragment(run_every=params.dashboard.refresh_seconds)
    def body() -> None:
        live_body(trader, params, paths)

    body()
    emergency_stop(params, paths)


def live_body(trader: data.TraderRef, params: Any, paths: data.Paths) -> None:
    now_ms = int(time.time() * 1000)
    status = data.read_status(trader.root) or {}
    skipped: Counter = Counter()
    recs = records(trader.root, params.dashboard.journal_days, skipped)
    fig = views.live_figures(status, recs, now_ms)
    kinds, decisions, eq, risk, pos = fig["kinds"], fig["decisions"], fig["equity"], fig["risk"], fig["position"]
    summary, fills, slip = fig["summary"], fig["fills"], fig["slippage"]
    session = views.last_session(recs)
    skinds = views.by_kind(session)

    running = "running" if status.get("running") else "stopped"
    last_bar = views.fmt_time((status.get("last_bar") or {}).get("time_ms"))
    st.markdown(
        f"**{status.get('coin', trader.coin)}** · `{status.get('account', trader.account)}` · {status.get('mode')} · "
        f"policy `{status.get('policy_id')}` ({status.get('strategy')}) · **{running}** · status updated "
        f"{views.fmt_age(risk['status_age_s'])} ago · last bar {last_bar}"
    )
    gaps = skinds.get("gap", [])
    if gaps:
        st.caption(views.gap_text(gaps[-1]))
    c = st.columns(4)
    c[0].metric("Equity", views.fmt_num(eq["equity"]), views.fmt_signed(eq["pnl"]), help="marked at the last bar close")
    c[1].metric("PnL", views.fmt_signed(eq["pnl_pct"], 2, " %"), help="since the trader's start equity")
    c[2].metric("Position", views.fmt_num(pos["size"], 4), pos["side"], "off", delta_arrow="off")
    halt_at = f"halt at {views.fmt_pct(risk['halt_level_pct'])}"
    c[3].metric("Drawdown", views.fmt_pct(risk["drawdown_pct"]), halt_at, "off", delta_arrow="off")
    c = st.columns(4)
    c[0].metric("HOLD rate", views.fmt_pct(summary["hold_rate_pct"], 1), help=f"{summary['decisions']} decisions")
    mean_slip = f"mean slippage {views.fmt_signed(slip['mean_bps'])} bps"
    c[1].metric("Fills", f"{len(fills)}", mean_slip, "off", delta_arrow="off")
    c[2].metric("Emergency stop", "ON" if risk["emergency"] else "off")
    c[3].metric("Drawdown halt", "HALTED" if risk["halted"] else "no", help=f"daily stop: {risk['daily_stop']}")
    c = st.columns(4)
    c[0].metric("Circuit breaker", "OPEN" if risk["breaker_open"] else "closed", help=f"failures {risk['failures']}")
    feed_state = "up" if risk["feed_connected"] else "DOWN"
    c[1].metric("Feed", feed_state, f"last message {views.fmt_age(risk['feed_age_s'])} ago", "off", delta_arrow="off")
    c[2].metric("Risk level", risk["level"].upper())
    c[3].metric("Size multiplier", views.fmt_num(status.get("size_multiplier")))

    chart_slot = st.empty()  # the backtest comparison fills it last: everything else shows first

    left, right = st.columns(2)
    with left:
        st.subheader("Position")
        if pos["legs"]:
            show_table(pos["legs"], "flat")
        else:
            st.caption("flat")
        st.subheader("Open orders")
        orders = views.open_orders(kinds.get("order", []), kinds.get("ack", []), kinds.get("cancel", []),
                                   kinds.get("fill", []), views.open_leg_ids(status))  # fmt: skip
        show_table(orders, "none")
    with right:
        st.subheader("Alerts")
        al = views.alerts(recs, records(paths.autopilot_root(trader.coin), params.dashboard.journal_days))[:12]
        if al:
            st.markdown("\n".join(f"- {LEVEL_TAGS.get(a['level'], '')} `{a['time']}` **{a['kind']}**: {a['text']}"
                                  for a in al))  # fmt: skip
        else:
            st.caption("no alerts in the window")
        if skipped:
            st.caption(views.skipped_text(skipped))

    st.subheader("Recent fills (slippage against the decision price, bps; positive = paid more)")
    st.caption(f"n {slip['n']}, mean {views.fmt_signed(slip['mean_bps'])}, median "
               f"{views.fmt_signed(slip['median_bps'])}, worst {views.fmt_signed(slip['worst_bps'])}")  # fmt: skip
    show_table(views.fill_table(fills, 12), "no fills")

    d1, d2 = st.columns(2)
    with d1:
        st.subheader("Decisions per bar")
        st.markdown(
            f"{summary['decisions']} decisions over {summary['bars']} bars · BUY {summary['buy']} · SELL "
            f"{summary['sell']} · HOLD {summary['hold']} (**{views.fmt_pct(summary['hold_rate_pct'], 1)}**) · opens "
            f"refused by risk {summary['blocked']}"
        )
        hr = views.hold_rate_series(decisions)
        if not hr.empty:
            hr = views.thin(hr, "hold_rate_pct")
            st.altair_chart(alt.Chart(hr).mark_line().encode(x=alt.X("time:T", title=None),
                            y=alt.Y("hold_rate_pct:Q", title="HOLD rate % (last 60)")).properties(height=180),
                            width="stretch")  # fmt: skip
        show_table(views.decision_rows(decisions, 10), "no decisions")
    with d2:
        st.subheader("Trade density (entries, hour x weekday, UTC)")
        counts = views.heatmap(views.entry_times(kinds.get("fill", [])))
        hm = views.heatmap_frame(counts)
        st.altair_chart(
            alt.Chart(hm).mark_rect().encode(
                x=alt.X("hour:O", title="hour (UTC)"), y=alt.Y("weekday:O", sort=list(views.WEEKDAYS), title=None),
                color=alt.Color("trades:Q", scale=alt.Scale(scheme="blues")), tooltip=["weekday", "hour", "trades"],
            ).properties(height=220),
            width="stretch",
        )  # fmt: skip
        st.caption(f"{int(counts.sum())} entries in the window")

    with chart_slot.container():
        equity_charts(trader, params, session, skinds)


def equity_charts(trader: data.TraderRef, params: Any, session: list[dict], skinds: dict[str, list]) -> None:
    decisions = skinds.get("decision", [])
    eqf = views.equity_frame(decisions)
    tabs = st.tabs(["Equity: live vs backtest", "PnL", "Drawdown"])
    with tabs[0]:
        frame = eqf.assign(source="live")[["time", "source", "equity"]]
        note = "backtest comparison off (dashboard.compare_backtest)"
        start = session[0] if session and session[0].get("kind") == "start" else {}
        spec = start.get("strategy_spec") or ("rules" if start.get("strategy") in ("rules", "buyhold") else "")
        if params.dashboard.compare_backtest and decisions and spec:
            got = backtest_equity(str(trader.root), int(start.get("ts", 0)), len(decisions), spec)
            if isinstance(got, str):
                note = f"backtest unavailable: {got}"
            else:
                cf = views.compare_frame(decisions, *got)
                if not cf.empty:
                    frame = cf
                    last = cf.groupby("source")["equity"].last()
                    note = (f"same bars, strategy `{spec}`: live {views.fmt_num(last.get('live'))}, backtest "
                            f"{views.fmt_num(last.get('backtest'))} (scaled to the live start equity)")  # fmt: skip
        elif params.dashboard.compare_backtest and not start:
            note = (
                f"the session started before the journal window (dashboard.journal_days = "
                f"{params.dashboard.journal_days}): its start and history records are needed to backtest"
            )
        elif params.dashboard.compare_backtest and not spec:
            note = "no strategy_spec in the session's start record: nothing to backtest"
        if frame.empty:
            st.caption("no decisions with equity in the current session yet")
        else:
            st.altair_chart(
                alt.Chart(views.thin(frame, "equity", by="source")).mark_line().encode(
                    x=alt.X("time:T", title=None), y=alt.Y("equity:Q", scale=alt.Scale(zero=False)),
                    color=alt.Color("source:N", scale=alt.Scale(domain=["live", "backtest"],
                                                                range=["#3b6fb6", "#e08214"])),
                    strokeDash=alt.StrokeDash("source:N", scale=alt.Scale(domain=["live", "backtest"],
                                                                          range=[[1, 0], [5, 4]])),
                ).properties(height=260),
                width="stretch",
            )  # fmt: skip
        st.caption(note)
    with tabs[1]:
        if not eqf.empty:
            pnl = views.thin(eqf[["time", "pnl"]], "pnl")
            st.altair_chart(alt.Chart(pnl).mark_area(opacity=0.5).encode(x=alt.X("time:T", title=None),
                            y=alt.Y("pnl:Q", title="PnL (USD, this session)")).properties(height=240),
                            width="stretch")  # fmt: skip
    with tabs[2]:
        if not eqf.empty:
            halt = params_halt_level(trader)
            base = (
                alt.Chart(views.thin(eqf[["time", "drawdown_pct"]], "drawdown_pct"))
                .mark_area(color="#b2182b", opacity=0.4)
                .encode(x=alt.X("time:T", title=None), y=alt.Y("drawdown_pct:Q", title="drawdown % (session peak)"))
            )
            layers = [base]
            if halt is not None:
                layers.append(alt.Chart(pd.DataFrame({"halt": [halt]})).mark_rule(strokeDash=[4, 4]).encode(y="halt:Q"))
            st.altair_chart(alt.layer(*layers).properties(height=240), width="stretch")
            st.caption(f"dashed: the halt level {views.fmt_num(halt)} %")


def params_halt_level(trader: data.TraderRef) -> float | None:
    status = data.read_status(trader.root) or {}
    return (status.get("risk") or {}).get("halt_level_pct")


def emergency_stop(params: Any, paths: data.Paths) -> None:
    path = paths.emergency_stop_file
    present = data.emergency_stop_present(path)
    with st.expander(f"Emergency stop: {'PRESENT' if present else 'absent'} ({path})", expanded=present):
        st.markdown("While this file exists the trader flattens every position, cancels its orders and opens "
                    "nothing; it journals what it sees. Removing the file lets it trade again.")  # fmt: skip
        if not params.dashboard.allow_emergency_stop:
            verb = f"rm {path}" if present else f"touch {path}"
            st.caption(f"Read-only dashboard (dashboard.allow_emergency_stop is false). From a shell: `{verb}`")
            return
        label = "remove the emergency stop" if present else "create the emergency stop"
        sure = st.checkbox(f"I confirm: {label}", key=f"confirm_{present}")
        if st.button(label.capitalize(), disabled=not sure, type="primary"):
            data.set_emergency_stop(path, not present)
            st.rerun()


# --- Autopilot ------------------------------------------------------------------------------------------------------
def autopilot_page() -> None:
    _, _, paths = settings()
    trader = sidebar(paths)
    st.title("Autopilot")
    files = data.find_cycle_files(paths.autopilot_dir)
    if trader is not None:
        mine = paths.cycles_file(trader.coin)
        files = [mine, *[f for f in files if f != mine]] if mine.is_file() else files
    if not files:
        st.info(f"No autopilot cycles under `{paths.autopilot_dir}` yet (one `<coin>/cycles.jsonl` per coin, "
                "docs/LIVE.md).")  # fmt: skip
        return
    path = files[0] if len(files) == 1 else st.selectbox("Coin", files, format_func=lambda p: p.parent.name)
    cyc = cycles(data.file_key(path))
    s = views.cycle_summary(cyc)
    c = st.columns(3)
    c[0].metric("Cycles", s["cycles"])
    c[1].metric("Last status", s["last_status"] or "-", views.fmt_time(s["last_end_ms"]), "off", delta_arrow="off")
    c[2].metric("Gate passed / refused", f"{s['gate_passed']} / {s['gate_refused']}")
    c = st.columns(3)
    c[0].metric("Promoted", s["promoted"])
    c[1].metric("Swaps", s["swaps"])
    c[2].metric("Trials", s["trials"], f"errors {s['errors']}", "off", delta_arrow="off")
    st.caption(" · ".join(f"{k} {v}" for k, v in s["by_status"].items()))
    frame = views.cycle_frame(cyc)
    if not frame.empty:
        st.subheader("Cycle timeline")
        points, bucket = views.cycle_timeline(frame)
        levels = list(views.STATUS_LEVELS)
        per_cycle = bucket == "cycle"
        tip = (
            ["cycle", "time:T", "status", "actions", "trials", "gate"]
            if per_cycle
            else ["time:T", "status", "cycles", "trials", "swaps"]
        )
        chart = (
            alt.Chart(points)
            .mark_circle()
            .encode(
                x=alt.X("time:T", title=None),
                y=alt.Y("status:N", sort=levels[::-1], title=None),
                color=alt.Color("status:N", scale=alt.Scale(domain=levels, range=[STATUS_COLORS[x] for x in levels])),
                size=alt.Size("trials:Q" if per_cycle else "cycles:Q", scale=alt.Scale(range=[40, 300])),
                tooltip=tip,
            )
        )
        swaps = alt.Chart(frame.loc[frame["swap"], ["time"]]).mark_rule(color="#3b6fb6", strokeDash=[3, 3])
        st.altair_chart(alt.layer(chart, swaps.encode(x="time:T")).properties(height=220), width="stretch")
        st.caption(
            "dot size: trials in the cycle; dashed lines: swaps"
            if per_cycle
            else f"{len(frame)} cycles counted per {bucket} and status (dot size: cycles); dashed lines: swaps"
        )
        tr = points.groupby("time", as_index=False)["trials"].sum()
        st.altair_chart(alt.Chart(tr).mark_bar().encode(x=alt.X("time:T", title=None),
                        y=alt.Y("trials:Q", title="trials" if per_cycle else f"trials per {bucket}"))
                        .properties(height=140), width="stretch")  # fmt: skip
    st.subheader("Cycles (newest first)")
    show_table(views.cycle_rows(cyc)[:40], "")


# --- Research -------------------------------------------------------------------------------------------------------
def research_page() -> None:
    _, _, paths = settings()
    sidebar(paths)
    st.title("Research")
    links = views.ray_links(paths.ray_dashboard_url)
    st.markdown("Ray dashboard: " + " · ".join(f"[{k}]({u})" for k, u in links.items())
                + "  (served by `ray start --head`; local runs start no dashboard)")  # fmt: skip

    st.header("Registry")
    entries = data.load_registry(paths.registry_dir)
    if not entries:
        st.info(f"Registry `{paths.registry_dir}` is empty (python -m rl.registry list).")
    else:
        rows = views.registry_rows(entries)
        groups = pd.Series([r["group"] for r in rows]).value_counts()
        c = st.columns(4)
        for col, g in zip(c, ("promoted", "candidate", "refused", "retired")):
            col.metric(g.capitalize(), int(groups.get(g, 0)))
        show_table(rows, "")
        ids = [r["id"] for r in rows]  # promoted first
        pick = st.selectbox("Gate rows of", ids, key="gate_entry")
        entry = next(e for e in entries if e["id"] == pick)
        st.markdown(f"**{pick}**: {views.registry_group(entry)}, gate {views.gate_text(entry.get('gate'))}")
        gr = views.gate_rows(entry)
        show_table(gr, "no gate verdict recorded")

    st.header("Backtest reports")
    reports = data.list_reports(paths.reports_dir)
    rows = views.report_rows(reports)
    for r in rows:
        r["html"] = f"/files/report/{r['report']}" if r["html"] else None
    st.markdown(md_table(rows, {"report": "html"}) if rows else f"_no report under `{paths.reports_dir}`_")

    st.header("Sweeps")
    sweeps = data.list_sweeps(paths.tune_dir)
    rows = views.sweep_rows(sweeps)
    for r in rows:
        r["html"] = f"/files/sweep/{r['sweep']}" if r["html"] else None
    st.markdown(md_table(rows, {"sweep": "html"}) if rows else f"_no sweep under `{paths.tune_dir}`_")


def main() -> None:
    st.set_page_config(page_title="AML-100 monitor", page_icon="📈", layout="wide")
    nav = st.navigation(
        [
            st.Page(live_page, title="Live", url_path="live", default=True),
            st.Page(autopilot_page, title="Autopilot", url_path="autopilot"),
            st.Page(research_page, title="Research", url_path="research"),
        ]
    )
    nav.run()
