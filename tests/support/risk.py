"""Risk limits for live risk tests: the default halt and daily limit, tight caps, one position, no stop file."""

from live import risk

LIMITS = risk.RiskLimits(
    auto_stop_frac=0.04,
    daily_loss_frac=0.03,
    max_order_notional=5000.0,
    max_leverage=2.0,
    max_positions=1,
    emergency_stop_file="",
    breaker_failures=3,
    breaker_pause_s=60.0,
)
