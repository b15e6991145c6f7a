"""Simulator parameters: the config values the kernel needs, in the units it uses (fractions, bars, ms)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from backtest.config import Objectives, Params

if TYPE_CHECKING:
    from backtest.venue.fees import FeeSchedule


class SimParams(NamedTuple):
    """Flat, numba-friendly parameters. Build with `SimParams.from_config`; fields are fractions, not percent."""

    tp_frac: float  # take-profit distance / entry price
    sl_frac: float  # stop-loss distance / entry price
    size_frac: float  # margin per position / equity
    leverage: float
    max_positions: int
    hold_bars: int  # close at the open of the bar this many bars after the entry bar; 0 = no limit
    stop_first: bool  # both TP and SL inside one bar: True -> the stop fills
    slip_frac: float  # adverse move on market fills / price
    taker_frac: float  # taker commission / notional
    maker_frac: float  # maker commission / notional
    tp_limit: bool  # take-profit is a resting post-only limit at the level (maker, trade-through) not a trigger
    lat_lo_ms: float  # latency range, drawn per fill bar from a counter-based hash of (seed, bar)
    lat_hi_ms: float
    bar_ms: float
    auto_stop_frac: float  # drawdown from peak that halts new entries; 0 = never
    kelly_on: bool
    kelly_fraction: float
    kelly_cap: float
    kelly_min_trades: int
    atr_on: bool
    atr_mult: float
    initial_equity: float
    seed: int
    # execution styles (the `execution` section); the defaults are today's market orders
    entry_maker: bool = False  # entries as post-only limits at the touch instead of taker fills at the open
    entry_offset: float = 0.0  # ticks from the touch towards the other side (> 0 inside the spread)
    entry_ttl: int = 1  # bars an entry order rests; it expires at the open after that
    entry_expiry_market: bool = False  # at expiry: True -> a taker fill at that open, False -> cancelled
    exit_maker: bool = False  # signal and max-hold closes as post-only, reduce-only limits
    exit_offset: float = 0.0
    exit_ttl: int = 1
    exit_expiry_market: bool = True
    touch_prob: float = 0.0  # chance that a bar which only touches a resting limit fills it (counter-based draw)
    sz_decimals: int = 4  # the asset's szDecimals: its price tick (backtest/venue/rules.py)

    @classmethod
    def from_config(cls, params: Params, objectives: Objectives, fees: FeeSchedule | None = None) -> SimParams:
        """Translate validated configs (percent units) into kernel units. Fees come from `fees`, the venue's
        schedule resolved by the caller (`backtest.venue.fees.resolve_fees`), resolved here when not given."""
        if fees is None:
            from backtest.venue.fees import resolve_fees

            fees = resolve_fees(params)
        tr, bt, ex = params.trading, params.backtest, params.execution
        bar_s = bt.bar_seconds
        hold_bars = 0 if tr.max_hold_seconds == 0 else max(1, -(-tr.max_hold_seconds // bar_s))
        return cls(
            tp_frac=tr.take_profit_pct / 100.0,
            sl_frac=tr.stop_loss_pct / 100.0,
            size_frac=tr.position_size_pct,
            leverage=float(tr.leverage),
            max_positions=int(tr.max_positions),
            hold_bars=int(hold_bars),
            stop_first=tr.both_touched == "stop",
            slip_frac=bt.slippage_pct / 100.0,
            taker_frac=fees.taker,
            maker_frac=fees.maker,
            tp_limit=ex.take_profit == "maker",
            lat_lo_ms=float(bt.latency_ms[0]),
            lat_hi_ms=float(bt.latency_ms[1]),
            bar_ms=float(bar_s * 1000),
            auto_stop_frac=objectives.auto_stop_drawdown / 100.0,
            kelly_on=tr.kelly.enabled,
            kelly_fraction=tr.kelly.fraction,
            kelly_cap=tr.kelly.cap,
            kelly_min_trades=int(tr.kelly.min_trades),
            atr_on=tr.atr_stop.enabled,
            atr_mult=tr.atr_stop.multiple,
            initial_equity=bt.initial_equity,
            seed=int(bt.seed),
            entry_maker=ex.entry == "maker",
            entry_offset=float(ex.entry_offset_ticks),
            entry_ttl=int(ex.entry_ttl_bars),
            entry_expiry_market=ex.entry_on_expiry == "market",
            exit_maker=ex.exit == "maker",
            exit_offset=float(ex.exit_offset_ticks),
            exit_ttl=int(ex.exit_ttl_bars),
            exit_expiry_market=ex.exit_on_expiry == "market",
            touch_prob=float(ex.touch_fill_prob),
            sz_decimals=int(ex.sz_decimals),
        )
