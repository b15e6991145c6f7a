"""Map a proxy's price level to the market's: futures to spot, then a ratio fitted on real bars where they overlap.

XYZ100's oracle is NQ futures converted to spot, S = F * exp(-(r - q) * T) (hyperliquid-api.md). So:

- **futures** (`--symbol NQ`, `MNQ`, a contract code `NQH4`, continuous `NQ.c.0` / `NQ1!` / `NQ=F`): every bar is
  converted to spot with the stated `r - q` (`--r-q`, default 0.04 a year) and T = years (ACT/365) from the bar's
  open to the expiry of the contract it belongs to. Expiry: the third Friday of the contract month, 09:30 US/Eastern
  (the special opening quotation). The contract is the row's own when the file names it (a `symbol` column with
  codes like `NQH4` or `NQH24`: per-contract T), else the front quarterly contract by the calendar rule: the series
  holds a contract until `roll_days` (default 8, CME's roll date) calendar days before its expiry, then the next
  one. A vendor that rolled on another day leaves an error of about (r - q) * 3 months (~1 %) on the days between
  the two rules; the file's own contract column avoids it.
- **an index** (`NDX`, `^NDX`): spot already; no conversion.
- **anything else** (an ETF, another index): only a fitted (or `--ratio`) scale.

Then a ratio k (spot = k * converted proxy) is fitted where the proxy overlaps real HyperLiquid bars of the market
(`real/` in the store) inside the market's session: k = median(real close / converted proxy close) over at least
`MIN_OVERLAP_BARS` (600 bars: ten session hours) shared bar times, with the fit error (RMS and worst absolute log
difference, in basis points). With less overlap k = 1 for futures and indexes (the conversion alone, error not
measured), and an ETF needs `--ratio`. The transform, its parameters and fit error are stored with the data.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from backtest.data.schema import DataError

MIN_OVERLAP_BARS = 600
DEFAULT_R_MINUS_Q = 0.04
DEFAULT_ROLL_DAYS = 8
_YEAR_MS = 365.0 * 86_400_000
_MONTHS = {"F": 1, "G": 2, "H": 3, "J": 4, "K": 5, "M": 6, "N": 7, "Q": 8, "U": 9, "V": 10, "X": 11, "Z": 12}
_FUTURES_ROOTS = ("NQ", "MNQ")
_INDEXES = ("NDX", "^NDX", "NDX.INDX", "$NDX", "NDX.X")
_CONTRACT = re.compile(r"^(?:NQ|MNQ)\s?([FGHJKMNQUVXZ])(\d{1,2})$")
_CONTINUOUS = re.compile(r"^(?:@|/)?(?:NQ|MNQ)(?:\d!|=F|\.C\.\d+|\.V\.\d+|\.N\.\d+|\.FUT|\.CONT|_CONT|)$")


def symbol_kind(symbol: str) -> str:
    """ "futures", "index" or "other" for a `--symbol`."""
    s = symbol.strip().upper()
    if s in _FUTURES_ROOTS or _CONTRACT.match(s) or _CONTINUOUS.match(s):
        return "futures"
    if s in _INDEXES:
        return "index"
    return "other"


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


@lru_cache(maxsize=512)
def expiry_ms(year: int, month: int) -> int:
    """The contract's final settlement time: third Friday of the month, 09:30 US/Eastern, as UTC ms."""
    d = third_friday(year, month)
    return pd.Timestamp(d.year, d.month, d.day, 9, 30, tz="America/New_York").value // 1_000_000


def front_expiry_ms(ts_ms: np.ndarray, roll_days: int) -> np.ndarray:
    """Expiry of the quarterly contract a continuous front-month series holds at each bar (calendar roll rule)."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    if ts.size == 0:
        return ts.copy()
    first = pd.Timestamp(int(ts.min()), unit="ms", tz="UTC")
    last = pd.Timestamp(int(ts.max()), unit="ms", tz="UTC")
    expiries = np.array(
        [expiry_ms(y, m) for y in range(first.year, last.year + 2) for m in (3, 6, 9, 12)], dtype=np.int64
    )
    rolls = expiries - roll_days * 86_400_000
    return expiries[np.searchsorted(rolls, ts, side="right")]


def contract_expiry_ms(symbols: pd.Series, ts_ms: np.ndarray) -> np.ndarray | None:
    """Per-row expiry from contract codes (`NQH4`, `NQH24`, `NQ H4`), or None when the column names no contracts."""
    codes = symbols.astype(str).str.strip().str.upper()
    uniq = pd.unique(codes)
    parsed = {c: _CONTRACT.match(c) for c in uniq}
    if not all(parsed.values()):
        return None
    years = pd.to_datetime(np.asarray(ts_ms, dtype=np.int64), unit="ms", utc=True).year.to_numpy()
    out = np.empty(len(codes), dtype=np.int64)
    for code in uniq:
        m = parsed[code]
        month, digits = _MONTHS[m.group(1)], m.group(2)
        rows = np.flatnonzero(codes.to_numpy() == code)
        bar_year = int(np.median(years[rows]))
        if len(digits) == 2:
            year = 2000 + int(digits)
        else:  # one digit: the year of that decade nearest to the bars (contracts trade at most ~1.5 years out)
            year = bar_year - bar_year % 10 + int(digits)
            year += 10 if year < bar_year - 1 else 0
        out[rows] = expiry_ms(year, month)
    return out


@dataclass
class Transform:
    """How proxy prices became the market's: spot = ratio * F * exp(-r_minus_q * T) (futures) or ratio * P."""

    symbol: str
    to: str
    kind: str  # "futures" | "index" | "other"
    ratio: float = 1.0
    ratio_source: str = ""  # "fitted on ...", "--ratio" or why it is 1
    r_minus_q: float | None = None
    roll_days: int | None = None
    expiry_rule: str | None = None
    contracts: str | None = None  # "from the file's symbol column" | "front month by the calendar roll rule"
    fit: dict[str, Any] | None = None  # overlap_bars, rms_bps, max_abs_bps, first, last

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Transform:
        return cls(**d)

    def describe(self) -> str:
        if self.kind == "futures":
            base = (f"futures to spot S = F * exp(-{self.r_minus_q:g} * T), T to the contract's expiry "
                    f"({self.contracts}), then x {self.ratio:.6f} ({self.ratio_source})")  # fmt: skip
        else:
            base = f"x {self.ratio:.6f} ({self.ratio_source})"
        if self.fit:
            base += f"; fit error {self.fit['rms_bps']:.2f} bps RMS, {self.fit['max_abs_bps']:.1f} bps worst"
        return base

    def factor(self, ts_ms: np.ndarray, expiry: np.ndarray | None = None) -> np.ndarray:
        """Per-bar multiplier from the proxy's price to the market's."""
        ts = np.asarray(ts_ms, dtype=np.int64)
        if self.kind != "futures":
            return np.full(len(ts), self.ratio)
        exp = expiry if expiry is not None else front_expiry_ms(ts, int(self.roll_days or DEFAULT_ROLL_DAYS))
        years = np.maximum(exp - ts, 0) / _YEAR_MS
        return self.ratio * np.exp(-float(self.r_minus_q or 0.0) * years)


def fit_ratio(
    proxy_ts: np.ndarray, proxy_close: np.ndarray, real: pd.DataFrame, in_session: np.ndarray
) -> tuple[float, dict[str, Any]] | None:
    """k = median(real / proxy close) on shared in-session bar times, with the fit error; None below the minimum."""
    from backtest.data.schema import timestamps_ms

    if len(real) == 0:
        return None
    real_ts = timestamps_ms(real)
    _, pi, ri = np.intersect1d(proxy_ts, real_ts, assume_unique=True, return_indices=True)
    keep = in_session[pi]
    pi, ri = pi[keep], ri[keep]
    if len(pi) < MIN_OVERLAP_BARS:
        return None
    logs = np.log(real["close"].to_numpy(np.float64)[ri]) - np.log(proxy_close[pi])
    k = float(np.exp(np.median(logs)))
    resid = (logs - np.log(k)) * 1e4
    return k, {
        "overlap_bars": len(pi),
        "rms_bps": float(np.sqrt(np.mean(resid**2))),
        "max_abs_bps": float(np.max(np.abs(resid))),
        "first": pd.Timestamp(int(proxy_ts[pi].min()), unit="ms", tz="UTC").isoformat(),
        "last": pd.Timestamp(int(proxy_ts[pi].max()), unit="ms", tz="UTC").isoformat(),
    }


def build_transform(
    symbol: str,
    to: str,
    ts_ms: np.ndarray,
    close: np.ndarray,
    expiry: np.ndarray | None,
    real: pd.DataFrame,
    in_session: np.ndarray,
    r_minus_q: float | None = None,
    roll_days: int | None = None,
    ratio: float | None = None,
) -> Transform:
    """The transform for an import: the conversion of the symbol's kind, then the fitted (or given) ratio."""
    kind = symbol_kind(symbol)
    if kind != "futures" and (r_minus_q is not None or roll_days is not None):
        raise DataError(f"--r-q and --roll-days apply to futures; {symbol!r} is read as {kind}")
    t = Transform(symbol=symbol, to=to, kind=kind)
    if kind == "futures":
        t.r_minus_q = DEFAULT_R_MINUS_Q if r_minus_q is None else float(r_minus_q)
        t.roll_days = DEFAULT_ROLL_DAYS if roll_days is None else int(roll_days)
        t.expiry_rule = "third Friday of Mar/Jun/Sep/Dec, 09:30 US/Eastern"
        t.contracts = "from the file's symbol column" if expiry is not None else (
            f"front month, rolled {t.roll_days} days before expiry")  # fmt: skip
    if ratio is not None:
        t.ratio, t.ratio_source = float(ratio), "--ratio"
        return t
    converted = close * t.factor(ts_ms, expiry)
    fitted = fit_ratio(ts_ms, converted, real, in_session)
    if fitted is not None:
        t.ratio, t.fit = fitted
        t.ratio_source = f"fitted on {t.fit['overlap_bars']:,} in-session bars shared with real {to} bars"
        return t
    t.ratio_source = f"not fitted: fewer than {MIN_OVERLAP_BARS} in-session bars shared with real {to} bars"
    if kind == "other":
        raise DataError(
            f"{symbol!r} is neither NQ futures nor the NDX index, and it shares fewer than {MIN_OVERLAP_BARS} "
            f"in-session bar times with real {to} bars in the store to fit a ratio: record or fetch real bars "
            "that overlap the file, or give --ratio"
        )
    return t
