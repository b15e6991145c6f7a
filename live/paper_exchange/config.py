"""Typed defaults for the paper exchange; the CLI maps its flags onto this dataclass."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MarketSpec:
    """One perp market: `name` carries the dex prefix for builder dexs (e.g. "xyz:XYZ100")."""

    name: str
    dex: str
    sz_decimals: int
    max_leverage: int
    ref_price: float | None = None  # scale the replayed path so its first open is this; None = unscaled


DEFAULT_MARKETS: tuple[MarketSpec, ...] = (
    MarketSpec("BTC", "", 5, 40, 97000.0),
    MarketSpec("ETH", "", 4, 25, 3500.0),
    MarketSpec("xyz:XYZ100", "xyz", 4, 20, None),
)


@dataclass(frozen=True)
class FaultConfig:
    """Seeded fault injection; every rate is a probability per request (or per order for `reject_rate`)."""

    fail_rate: float = 0.0  # HTTP 500 on /info and /exchange
    rate_limit_rate: float = 0.0  # HTTP 429 on /info and /exchange
    latency_ms: float = 0.0  # added to every /info and /exchange answer
    ws_drop_every: float = 0.0  # seconds between forced WebSocket disconnects; 0 = never
    freeze_after: float = 0.0  # seconds after start when the price feed freezes; 0 = never
    reject_rate: float = 0.0  # orders rejected with an error status
    seed: int = 1


@dataclass(frozen=True)
class PaperExchangeConfig:
    """Everything the server needs; defaults are the documented paper-exchange behaviour."""

    host: str = "127.0.0.1"
    port: int = 8089  # 0 = pick a free port
    data: str = "synthetic"  # "synthetic" (backtest.data.synth.generate_bars) or a Parquet file/dir of 1m bars
    speed: float = 60.0  # replay speed: 60 = one 1m bar per wall second; 0 = manual stepping only
    seed: int = 1
    n_bars: int = 50_000  # synthetic bars to generate (history + future)
    history_bars: int = 1_000  # bars treated as already replayed at start (candle history)
    spread_bps: float = 2.0  # full bid/ask spread around the path price, basis points
    book_levels: int = 10
    level_step_bps: float = 1.0  # distance between book levels, basis points
    level_notional: float = 250_000.0  # USD at the best level; deeper levels grow linearly
    taker_fee: float = 0.00045  # fraction of notional (0.045 %)
    maker_fee: float = 0.00015  # fraction of notional (0.015 %)
    hip3_fee_multiplier: float = 2.0  # builder-dex fee = base schedule * this
    funding_rate_hourly: float = 0.0000125  # fraction of notional per hour; longs pay when positive
    min_order_value: float = 10.0
    default_leverage: int = 20
    max_fills_per_user: int = 10_000
    max_order_history: int = 100_000  # closed orders kept for orderStatus (cloid look-ups after a restart)
    candle_limit: int = 5_000
    state_path: str | None = None  # snapshot file; its write-ahead journal is `<state_path>.journal`
    state_save_every_s: float = 30.0  # snapshot (and truncate the journal) this often when changed
    snapshot_every_entries: int = 20_000  # ... or after this many journal entries, whichever comes first
    journal_fsync: bool = True  # fdatasync every group of journal entries before acknowledging them
    check_invariants: bool = False  # tests: check accounts and orders after every action and step
    fund: tuple[tuple[str, float], ...] = ()
    faults: FaultConfig = field(default_factory=FaultConfig)
    markets: tuple[MarketSpec, ...] = DEFAULT_MARKETS
    xyz_deployer: str = "0x88806a71d74ad0a510b350545c9ae490912f0888"

    @classmethod
    def from_params(cls, section: Any, **overrides: Any) -> PaperExchangeConfig:
        """From `params.paper_exchange` (the validated section of configs/params.yaml): same field names, no copy
        of the list of fields to drift; `overrides` win."""
        return dataclasses.replace(cls(), **{**section.model_dump(), **overrides})
