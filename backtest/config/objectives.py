"""`Objectives`: what a policy must reach (configs/objectives.yaml); the plug-ins' sections are added by
`backtest.config.compose`."""

from __future__ import annotations

from pydantic import Field

from backtest.config.base import Section


class Objectives(Section):
    """What a policy must reach (configs/objectives.yaml); `objectives_model()` adds the registered plug-ins."""

    monthly_return_min: float = Field(default=15.0, ge=-100)
    sharpe_min: float = 1.5
    drawdown_max: float = Field(default=5.0, gt=0, le=100)
    auto_stop_drawdown: float = Field(default=4.0, gt=0, le=100)
    profit_factor_min: float = Field(default=1.3, ge=0)
    min_real_days: float = Field(default=2.0, ge=0)
    min_real_or_proxy_days: float = Field(default=20.0, ge=0)
