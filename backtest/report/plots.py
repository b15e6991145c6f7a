"""Report charts as base64 PNG strings, drawn with matplotlib's Agg canvas (no pyplot, no global backend state).

Long series are reduced to at most `max_points` buckets before drawing: price and equity as a min/max envelope
plus the last value of each bucket, drawdown as the bucket maximum, so extremes survive downsampling.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from backtest.sim.result import BacktestResult

GREEN = "#1a9850"
RED = "#d73027"
BLUE = "#2c5d8f"
GREY = "#555555"
DPI = 96
MAX_POINTS = 1500
MAX_MARKERS = 1500  # per marker kind on the full-span trade chart; beyond this, evenly thinned
EXITS_ON_FULL_SPAN = 300  # above this many trades the full-span chart shows entries only (the zoom shows exits)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def to_png_b64(fig: Figure) -> str:
    """Render `fig` to PNG and return it base64-encoded for an inline <img> tag."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.set_layout_engine("constrained")
    return fig


def _style(ax) -> None:
    ax.grid(True, color="#e5e5e5", linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)


def _times(ts_ms: np.ndarray) -> np.ndarray:
    return np.asarray(ts_ms, dtype=np.int64).astype("datetime64[ms]")


def bucket_starts(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Start indices of at most `max_points` equal buckets covering [0, n)."""
    step = max(1, int(np.ceil(n / max_points)))
    return np.arange(0, n, step)


def envelope(y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bucket start index, min, max, last) of `y` over at most `max_points` buckets."""
    y = np.asarray(y, dtype=np.float64)
    idx = bucket_starts(len(y), max_points)
    lo = np.minimum.reduceat(y, idx)
    hi = np.maximum.reduceat(y, idx)
    last = y[np.r_[idx[1:] - 1, len(y) - 1]]
    return idx, lo, hi, last


def _thin(idx: np.ndarray, limit: int = MAX_MARKERS) -> np.ndarray:
    if len(idx) <= limit:
        return idx
    return idx[np.linspace(0, len(idx) - 1, limit).astype(np.int64)]


def equity_drawdown_png(result: BacktestResult, drawdown: np.ndarray) -> str:
    """Equity curve (with drawdown-halt markers) over the drawdown curve, sharing the time axis."""
    fig = _figure(11, 5.2)
    ax_eq, ax_dd = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    t = _times(result.timestamps)
    if len(t):
        idx, lo, hi, last = envelope(result.equity)
        ax_eq.fill_between(t[idx], lo, hi, color=BLUE, alpha=0.2, linewidth=0)
        ax_eq.plot(t[idx], last, color=BLUE, linewidth=1.2, label="equity")
        ax_eq.axhline(result.initial_equity, color=GREY, linewidth=0.8, linestyle=":", label="initial equity")
        _, _, dd_hi, _ = envelope(drawdown)
        ax_dd.fill_between(t[idx], 0, -dd_hi, color=RED, alpha=0.35, linewidth=0)
        ax_dd.plot(t[idx], -dd_hi, color=RED, linewidth=0.9)
        halts = [h for h in result.halts if 0 <= h < len(t)]
        for k, h in enumerate(halts):
            for ax in (ax_eq, ax_dd):
                ax.axvline(t[h], color=RED, linestyle="--", linewidth=1.0, label="drawdown halt" if k == 0 else None)
        if halts:
            ax_eq.scatter(t[halts], np.asarray(result.equity)[halts], marker="X", s=60, color=RED, zorder=5)
        ax_eq.legend(loc="upper left", fontsize=8, framealpha=0.85)
    ax_eq.set_ylabel("equity (USD)", fontsize=9)
    ax_dd.set_ylabel("drawdown %", fontsize=9)
    for ax in (ax_eq, ax_dd):
        _style(ax)
    return to_png_b64(fig)


def _price_panel(ax, t: np.ndarray, close: np.ndarray, trades: pd.DataFrame, lo: int, hi: int, thin: bool) -> None:
    """Close price over bars [lo, hi) with entries (^ long green, v short red) and exits (x)."""
    seg = close[lo:hi]
    if hi - lo > MAX_POINTS:
        idx, mn, mx, last = envelope(seg)
        ax.fill_between(t[lo:hi][idx], mn, mx, color=GREY, alpha=0.2, linewidth=0)
        ax.plot(t[lo:hi][idx], last, color=GREY, linewidth=0.8)
    else:
        ax.plot(t[lo:hi], seg, color=GREY, linewidth=0.9)
    if len(trades):
        eb = trades["entry_bar"].to_numpy(dtype=np.int64)
        xb = trades["exit_bar"].to_numpy(dtype=np.int64)
        side = trades["side"].to_numpy()
        ep = trades["entry_price"].to_numpy(dtype=np.float64)
        xp = trades["exit_price"].to_numpy(dtype=np.float64)
        inside_e = (eb >= lo) & (eb < hi)
        inside_x = (xb >= lo) & (xb < hi)
        kinds = [
            (np.flatnonzero(inside_e & (side > 0)), eb, ep, "^", GREEN, "long entry"),
            (np.flatnonzero(inside_e & (side < 0)), eb, ep, "v", RED, "short entry"),
        ]
        if not thin or len(trades) <= EXITS_ON_FULL_SPAN:
            kinds.append((np.flatnonzero(inside_x), xb, xp, "x", "#222222", "exit"))
        size, alpha = (12, 0.55) if thin else (40, 0.95)
        for sel, bars, prices, marker, color, label in kinds:
            sel = _thin(sel) if thin else sel
            if len(sel):
                ax.scatter(
                    t[bars[sel]], prices[sel], marker=marker, s=size, color=color, alpha=alpha, label=label, zorder=4
                )
        if np.any(inside_e) or np.any(inside_x):
            ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=3)
    ax.set_ylabel("price", fontsize=9)
    _style(ax)


def trades_on_price_png(result: BacktestResult, zoom_bars: int = 720) -> str:
    """Price with trade markers: the full span (downsampled) and a zoom on the last `zoom_bars` bars with trades."""
    t = _times(result.timestamps)
    close = np.asarray(result.close, dtype=np.float64)
    n = len(t)
    trades = result.trades
    zoom = n > zoom_bars
    fig = _figure(11, 6.0 if zoom else 3.4)
    axes = fig.subplots(2, 1) if zoom else [fig.subplots(1, 1)]
    if n:
        _price_panel(axes[0], t, close, trades, 0, n, thin=True)
        shown = "entries" if len(trades) > EXITS_ON_FULL_SPAN else "entries and exits"
        per_side = max(int((trades["side"] > 0).sum()), int((trades["side"] < 0).sum())) if len(trades) else 0
        thinned = f", thinned to {MAX_MARKERS} per side" if per_side > MAX_MARKERS else ""
        axes[0].set_title(f"full span: {len(trades):,} trades ({shown}{thinned})", fontsize=9, loc="left")
        if zoom:
            end = int(trades["exit_bar"].max()) + 1 if len(trades) else n
            end = min(max(end + zoom_bars // 10, zoom_bars), n)
            start = end - zoom_bars
            _price_panel(axes[1], t, close, trades, start, end, thin=False)
            axes[1].set_title(f"zoom: {zoom_bars} bars around the last trades", fontsize=9, loc="left")
    return to_png_b64(fig)


def monthly_returns_png(monthly: pd.Series, target_pct: float | None = None) -> str:
    """Bar chart of calendar-month returns in percent, green up, red down, labelled; `target_pct` as a line."""
    fig = _figure(11, 2.8)
    ax = fig.subplots()
    if len(monthly):
        labels = [str(p) for p in monthly.index]
        vals = monthly.to_numpy(dtype=np.float64)
        bars = ax.bar(labels, vals, color=np.where(vals >= 0, GREEN, RED), width=0.7)
        ax.bar_label(bars, labels=[f"{v:+.1f}%" for v in vals], fontsize=8, padding=2)
        ax.axhline(0, color=GREY, linewidth=0.8)
        if target_pct is not None:
            ax.axhline(target_pct, color=BLUE, linestyle="--", linewidth=1.0, label=f"objective {target_pct:g} %")
            ax.legend(loc="upper left", fontsize=8, frameon=False)
        ax.margins(y=0.2)
        if len(labels) > 18:
            ax.tick_params(axis="x", labelrotation=90)
    ax.set_ylabel("return %", fontsize=9)
    _style(ax)
    return to_png_b64(fig)


def trade_density_png(trades: pd.DataFrame) -> str:
    """Heatmap of trade entries by hour of day (UTC) x weekday."""
    counts = np.zeros((7, 24), dtype=np.int64)
    if len(trades):
        et = pd.DatetimeIndex(trades["entry_time"])
        et = et.tz_convert("UTC") if et.tz is not None else et
        np.add.at(counts, (et.dayofweek.to_numpy(), et.hour.to_numpy()), 1)
    fig = _figure(11, 3.0)
    ax = fig.subplots()
    cmap = LinearSegmentedColormap.from_list("density", ["#f7fbff", "#6baed6", "#08306b"])
    im = ax.imshow(counts, aspect="auto", cmap=cmap, interpolation="nearest", vmin=0)
    ax.set_yticks(range(7), WEEKDAYS)
    ax.set_xticks(range(24), [f"{h:02d}" for h in range(24)])
    ax.set_xlabel("hour of day (UTC)", fontsize=9)
    ax.tick_params(labelsize=8)
    peak = counts.max()
    if peak:
        for (d, h), c in np.ndenumerate(counts):
            if c:
                ax.text(
                    h, d, str(c), ha="center", va="center", fontsize=6.5, color="white" if c > peak * 0.55 else "#222"
                )
    fig.colorbar(im, ax=ax, label="trades", shrink=0.9)
    return to_png_b64(fig)


def trade_pnl_png(trades: pd.DataFrame) -> str:
    """Histogram of net trade pnl, losses red, wins green."""
    fig = _figure(5.4, 2.8)
    ax = fig.subplots()
    pnl = trades["pnl"].to_numpy(dtype=np.float64) if len(trades) else np.zeros(0)
    if len(pnl):
        edges = np.histogram_bin_edges(pnl, bins=min(60, max(10, len(pnl) // 10)))
        counts, edges = np.histogram(pnl, bins=edges)
        centres = (edges[:-1] + edges[1:]) / 2
        ax.bar(centres, counts, width=np.diff(edges), color=np.where(centres >= 0, GREEN, RED), alpha=0.85)
        ax.axvline(0, color=GREY, linewidth=0.8)
    ax.set_xlabel("net pnl per trade (USD)", fontsize=9)
    ax.set_ylabel("trades", fontsize=9)
    _style(ax)
    return to_png_b64(fig)


def render_all(
    result: BacktestResult, drawdown: np.ndarray, monthly: pd.Series, monthly_target_pct: float | None = None
) -> dict[str, str]:
    """Every report chart, keyed by name, as base64 PNG."""
    return {
        "equity": equity_drawdown_png(result, drawdown),
        "trades": trades_on_price_png(result),
        "monthly": monthly_returns_png(monthly, monthly_target_pct),
        "density": trade_density_png(result.trades),
        "pnl": trade_pnl_png(result.trades),
    }
