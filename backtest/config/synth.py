"""The `synth:` section: the synthetic price generator, its planted edge and its off-session prices."""

from __future__ import annotations

from pydantic import Field, model_validator

from backtest.config.base import Section


class EdgeConfig(Section):
    """The planted edge of synthetic data (see backtest/data/synth.py): AR(1) returns and drift in trend regimes."""

    enabled: bool = False
    strength: float = Field(default=0.3, ge=0, le=0.95)


class OffSessionConfig(Section):
    """Synthetic prices while a HIP-3 market's outside market is closed (backtest/data/offsession.py): the venue's
    band and moving average (venue facts, `backtest.venue.calendar`) with this volatility and reopen-gap model."""

    enabled: bool = True
    vol_multiplier: float = Field(default=0.2, gt=0, le=1)
    reopen_gap_scale: float = Field(default=0.3, ge=0, le=10)


class SynthConfig(Section):
    seed: int = Field(default=7, ge=0)
    start_price: float = Field(default=20_000.0, gt=0)
    annual_vol: float = Field(default=0.25, gt=0, le=5)
    vol_persistence: float = Field(default=0.97, ge=0, lt=1)
    regime_switch_prob: float = Field(default=0.002, ge=0, le=1)
    trend_drift_bps: float = Field(default=0.6, ge=0, le=100)
    high_vol_multiplier: float = Field(default=2.5, ge=1, le=20)
    jump_prob: float = Field(default=0.0005, ge=0, le=0.1)
    jump_scale: float = Field(default=6.0, ge=0, le=100)
    intraday_amplitude: float = Field(default=0.3, ge=0, lt=1)
    weekly_amplitude: float = Field(default=0.2, ge=0, lt=1)
    base_volume: float = Field(default=50.0, gt=0)
    garch_alpha: float = Field(default=0.06, ge=0, lt=1)
    tail_df: float = Field(default=5.0, gt=2, le=1000)
    range_vol_multiplier: float = Field(default=0.7, gt=0, le=1)
    trades_per_bar: float = Field(default=40.0, gt=0)
    edge: EdgeConfig = Field(default_factory=EdgeConfig)
    off_session: OffSessionConfig = Field(default_factory=OffSessionConfig)

    @model_validator(mode="after")
    def _garch_stationary(self) -> SynthConfig:
        if self.garch_alpha > self.vol_persistence:
            raise ValueError(
                f"garch_alpha ({self.garch_alpha}) must not exceed vol_persistence ({self.vol_persistence})"
            )
        return self
