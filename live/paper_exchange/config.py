"""The paper exchange's configuration, one schema for the params file, the command line and the server.

`PaperExchangeParams` is the `paper_exchange:` section of configs/params.yaml (registered under the entry-point
group `aml100.config`); `PaperExchangeConfig` extends it with what only a command line or a test sets (data, seed,
state file, funding, faults, markets). Every default and bound is written here once: `python -m live.paper_exchange`
takes its flags' defaults from the loaded params and validates each flag through these fields (`flag_type`).

The venue's facts (markets, tick and lot, the $10 minimum, limits, the fee formula) are not configured here: they come
from `backtest/venue/` (rules, limits, fees), like everything else that speaks for HyperLiquid. What is configured is
what the venue lets vary: an account's base rates, a builder dex's deployer fee scale, growth mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, model_validator

from backtest.config import Section
from backtest.venue.fees import STANDARD_DEPLOYER_FEE_SCALE
from backtest.venue.limits import CANDLE_HISTORY_LIMIT, FILLS_KEPT
from backtest.venue.rules import MARKETS


@dataclass(frozen=True)
class MarketSpec:
    """One perp market: `name` carries the dex prefix for builder dexs (e.g. "xyz:XYZ100")."""

    name: str
    dex: str
    sz_decimals: int
    max_leverage: int
    ref_price: float | None = None  # scale the replayed path so its first open is this; None = unscaled


def _spec(coin: str, ref_price: float | None) -> MarketSpec:
    r = MARKETS[coin]
    return MarketSpec(r.name, r.dex, r.sz_decimals, r.max_leverage, ref_price)


# the venue's markets (backtest/venue/rules.py); BTC and ETH replay scaled copies of the path, XYZ100 the path itself
DEFAULT_MARKETS: tuple[MarketSpec, ...] = (
    _spec("BTC", 97000.0),
    _spec("ETH", 3500.0),
    _spec("xyz:XYZ100", None),
)


class FaultConfig(Section):
    """Seeded fault injection; every rate is a probability per request (or per order for `reject_rate`)."""

    fail_rate: float = Field(default=0.0, ge=0, le=1)  # HTTP 500 on /info and /exchange
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1)  # HTTP 429 on /info and /exchange
    latency_ms: float = Field(default=0.0, ge=0, le=60_000)  # added to every /info and /exchange answer
    ws_drop_every: float = Field(default=0.0, ge=0)  # seconds between forced WebSocket disconnects; 0 = never
    freeze_after: float = Field(default=0.0, ge=0)  # seconds after start when the price feed freezes; 0 = never
    reject_rate: float = Field(default=0.0, ge=0, le=1)  # orders rejected with an error status
    seed: int = Field(default=1, ge=0, le=2**32 - 1)

    @model_validator(mode="after")
    def _http_rates(self) -> FaultConfig:
        if self.fail_rate + self.rate_limit_rate > 1:
            raise ValueError(
                f"fail_rate + rate_limit_rate must not exceed 1, got {self.fail_rate} + {self.rate_limit_rate}"
            )
        return self


class PaperExchangeParams(Section):
    """The `paper_exchange:` section of configs/params.yaml."""

    host: str = Field(default="127.0.0.1", min_length=1)  # loopback only by default
    port: int = Field(default=8089, ge=0, le=65535)  # 0 = pick a free port
    speed: float = Field(default=60.0, ge=0, le=100_000)  # 1m bars per wall minute; 0 = manual stepping only
    spread_bps: float = Field(default=2.0, ge=0, le=1000)  # full bid/ask spread around the path price
    # every account's base rates (its userFees userCrossRate / userAddRate); None: the venue's base tier 0
    # (backtest/venue/fees.py). Builder-dex (HIP-3) markets charge them times the HIP-3 multiple of the dex's
    # deployer fee scale (1 = standard HIP-3, 2x), x0.1 in growth mode: the venue's own formula, from that module.
    taker_fee: float | None = Field(default=None, ge=0, lt=0.1)
    maker_fee: float | None = Field(default=None, ge=-0.01, lt=0.1)  # negative: a rebate
    deployer_fee_scale: float = Field(default=STANDARD_DEPLOYER_FEE_SCALE, ge=0, le=3)  # served in perpDexs
    growth_mode: bool = False  # on every builder-dex market, served in meta
    funding_rate_hourly: float = Field(default=0.0000125, ge=-0.01, le=0.01)  # per hour; longs pay when positive
    history_bars: int = Field(default=1000, ge=0, le=100_000)  # bars already replayed at start (candle history)

    @model_validator(mode="after")
    def _growth_mode_scale(self) -> PaperExchangeParams:
        if self.growth_mode and self.deployer_fee_scale > 1:
            scale = self.deployer_fee_scale
            raise ValueError(f"growth_mode needs deployer_fee_scale <= 1 (the venue's rule), got {scale}")
        return self


class PaperExchangeConfig(PaperExchangeParams):
    """Everything the server needs: the params section plus what a command line or a test sets."""

    data: str = Field(default="synthetic", min_length=1)  # "synthetic" (generate_bars) or a Parquet file/dir of bars
    seed: int = Field(default=1, ge=0, le=2**32 - 1)  # the synthetic bars' seed
    n_bars: int = Field(default=50_000, ge=2, le=10**8)  # synthetic bars to generate (history + future)
    book_levels: int = Field(default=10, ge=1, le=1000)
    level_step_bps: float = Field(default=1.0, gt=0, le=1000)  # distance between book levels, basis points
    level_notional: float = Field(default=250_000.0, gt=0)  # USD at the best level; deeper levels grow linearly
    default_leverage: int = Field(default=20, ge=1, le=100)
    max_fills_per_user: int = Field(default=FILLS_KEPT, ge=1)  # the venue keeps this many (backtest.venue.limits)
    max_order_history: int = Field(default=100_000, ge=1)  # closed orders kept for orderStatus (cloid look-ups)
    candle_limit: int = Field(default=CANDLE_HISTORY_LIMIT, ge=1)  # the venue's (backtest.venue.limits)
    state_path: str | None = None  # snapshot file; its write-ahead journal is `<state_path>.journal`
    state_save_every_s: float = Field(default=30.0, ge=0.1)  # snapshot (and truncate the journal) this often
    snapshot_every_entries: int = Field(default=20_000, ge=1)  # ... or after this many journal entries
    journal_fsync: bool = True  # fdatasync every group of journal entries before acknowledging them
    check_invariants: bool = False  # tests: check accounts and orders after every action and step
    fund: tuple[tuple[str, float], ...] = ()
    faults: FaultConfig = Field(default_factory=FaultConfig)
    markets: tuple[MarketSpec, ...] = DEFAULT_MARKETS
    xyz_deployer: str = "0x88806a71d74ad0a510b350545c9ae490912f0888"

    @classmethod
    def from_params(cls, section: PaperExchangeParams, **overrides: Any) -> PaperExchangeConfig:
        """From `params.paper_exchange` (the validated section): same field names, no copy of the list of fields to
        drift; `overrides` win."""
        return cls(**{**section.model_dump(), **overrides})
