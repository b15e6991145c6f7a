"""Typed, validated configuration: `configs/params.yaml` and `configs/objectives.yaml`.

Every parameter lives in those files. Loading validates types, ranges and unknown keys; any failure raises
`ConfigError` naming the key, the value given and what is allowed. Command lines override keys with
`--set section.key=value` (the value is parsed as YAML, so `0.3`, `true`, `[5, 15]` work).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cluster.storage import REPO_ROOT

DEFAULT_PARAMS = REPO_ROOT / "configs" / "params.yaml"
DEFAULT_OBJECTIVES = REPO_ROOT / "configs" / "objectives.yaml"


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class MarketConfig(_Section):
    coin: str = Field(min_length=1)
    dex: str = ""
    base_url: str = Field(pattern=r"^https?://")
    request_timeout_s: float = Field(gt=0, le=300)


class KellyConfig(_Section):
    enabled: bool
    fraction: float = Field(gt=0, le=1)
    cap: float = Field(gt=0, le=1)
    min_trades: int = Field(ge=1)


class AtrStopConfig(_Section):
    enabled: bool
    multiple: float = Field(gt=0, le=100)
    period: int = Field(ge=1, le=1000)


class TradingConfig(_Section):
    take_profit_pct: float = Field(gt=0, le=1000)
    stop_loss_pct: float = Field(gt=0, lt=100)
    position_size_pct: float = Field(gt=0, le=1)
    leverage: float = Field(gt=0, le=100)
    max_positions: int = Field(ge=1, le=16)
    max_hold_seconds: int = Field(ge=0)
    both_touched: Literal["stop", "take_profit"]
    signal_threshold: float = Field(ge=0)
    min_q_diff: float = Field(ge=0)
    rsi_period: int = Field(ge=2, le=1000)
    rsi_buy_below: float = Field(ge=0, le=100)
    rsi_sell_above: float = Field(ge=0, le=100)
    macd_fast: int = Field(ge=1)
    macd_slow: int = Field(ge=2)
    macd_signal: int = Field(ge=1)
    macd_confirm: bool
    kelly: KellyConfig
    atr_stop: AtrStopConfig

    @model_validator(mode="after")
    def _levels_ordered(self) -> TradingConfig:
        if self.rsi_buy_below >= self.rsi_sell_above:
            raise ValueError(
                f"rsi_buy_below ({self.rsi_buy_below}) must be below rsi_sell_above ({self.rsi_sell_above})"
            )
        if self.macd_fast >= self.macd_slow:
            raise ValueError(f"macd_fast ({self.macd_fast}) must be below macd_slow ({self.macd_slow})")
        return self


class BacktestConfig(_Section):
    days: float = Field(gt=0, le=3650)
    interval: Literal["1m", "3m", "5m", "15m", "30m", "1h"]
    initial_equity: float = Field(gt=0)
    slippage_pct: float = Field(ge=0, lt=10)
    commission_pct: float = Field(ge=0, lt=10)
    maker_commission_pct: float = Field(ge=-1, lt=10)
    take_profit_fill: Literal["market", "limit"]
    latency_ms: tuple[float, float]
    funding_rate_hourly: float = Field(ge=-0.01, le=0.01)
    chunk_size: int = Field(ge=100)
    warmup_bars: int = Field(ge=0)
    segments_per_task: int = Field(ge=1, le=10_000)
    max_workers: int = Field(ge=1, le=1024)
    min_trades_threshold: int = Field(ge=0)
    data_source: Literal["real", "synthetic", "hybrid"]
    real_weight: float = Field(ge=0, le=1)
    seed: int = Field(ge=0)
    data_dir: str
    reports_dir: str

    @model_validator(mode="after")
    def _latency_range(self) -> BacktestConfig:
        lo, hi = self.latency_ms
        if not (0 <= lo <= hi <= 60_000):
            raise ValueError(f"latency_ms must be [low, high] with 0 <= low <= high <= 60000 ms, got {[lo, hi]}")
        return self

    @property
    def bar_seconds(self) -> int:
        return interval_seconds(self.interval)


class PaperExchangeConfig(_Section):
    host: str = Field(min_length=1)
    port: int = Field(ge=0, le=65535)
    speed: float = Field(ge=0, le=100_000)
    spread_bps: float = Field(ge=0, le=1000)
    taker_fee: float = Field(ge=0, lt=0.1)
    maker_fee: float = Field(ge=-0.01, lt=0.1)
    hip3_fee_multiplier: float = Field(gt=0, le=10)
    funding_rate_hourly: float = Field(ge=-0.01, le=0.01)
    history_bars: int = Field(ge=0, le=100_000)


class LiveConfig(_Section):
    """The live trader (`python -m live.serve`): venue, risk limits, journal, feed and order handling.

    Defaults (the documented values of configs/params.yaml) let params files from before this section (checkpoint
    metadata) load.
    """

    mode: Literal["paper", "testnet", "mainnet"] = "paper"
    testnet_url: str = Field(default="https://api.hyperliquid-testnet.xyz", pattern=r"^https?://")
    paper_speed: float = Field(default=1.0, gt=0, le=100_000)
    paper_fund_usd: float = Field(default=10_000.0, gt=0)
    journal_dir: str = Field(default="runs/live", min_length=1)
    history_bars: int = Field(default=1000, ge=2, le=5000)
    emergency_stop_file: str = Field(default="/tmp/aml100_emergency_stop", min_length=1)
    daily_loss_limit_pct: float = Field(default=3.0, ge=0, le=100)
    max_order_notional: float = Field(default=100_000.0, gt=0)
    max_leverage: float = Field(default=5.0, gt=0, le=100)
    flatten_on_stop: bool = True
    ioc_slippage_pct: float = Field(default=1.0, gt=0, le=20)
    stale_feed_seconds: float = Field(default=30.0, gt=0, le=3600)
    breaker_failures: int = Field(default=3, ge=1, le=100)
    breaker_pause_seconds: float = Field(default=60.0, ge=0, le=86_400)
    reconcile_every_bars: int = Field(default=15, ge=1, le=100_000)
    order_timeout_s: float = Field(default=5.0, gt=0, le=120)
    size_multiplier: float = Field(default=1.0, gt=0)
    size_multiplier_max: float = Field(default=2.0, gt=0, le=10)
    cpus: float = Field(default=1.0, ge=0, le=64)

    @model_validator(mode="after")
    def _multiplier_within_cap(self) -> LiveConfig:
        if self.size_multiplier > self.size_multiplier_max:
            raise ValueError(
                f"size_multiplier ({self.size_multiplier}) must not exceed size_multiplier_max "
                f"({self.size_multiplier_max})"
            )
        return self


class EdgeConfig(_Section):
    """The planted edge of synthetic data (see backtest/data/synth.py): AR(1) returns and drift in trend regimes."""

    enabled: bool
    strength: float = Field(ge=0, le=0.95)


class SynthConfig(_Section):
    seed: int = Field(ge=0)
    start_price: float = Field(gt=0)
    annual_vol: float = Field(gt=0, le=5)
    vol_persistence: float = Field(ge=0, lt=1)
    regime_switch_prob: float = Field(ge=0, le=1)
    trend_drift_bps: float = Field(ge=0, le=100)
    high_vol_multiplier: float = Field(ge=1, le=20)
    jump_prob: float = Field(ge=0, le=0.1)
    jump_scale: float = Field(ge=0, le=100)
    intraday_amplitude: float = Field(ge=0, lt=1)
    weekly_amplitude: float = Field(ge=0, lt=1)
    base_volume: float = Field(gt=0)
    garch_alpha: float = Field(default=0.06, ge=0, lt=1)
    tail_df: float = Field(default=5.0, gt=2, le=1000)
    range_vol_multiplier: float = Field(default=0.7, gt=0, le=1)
    trades_per_bar: float = Field(default=40.0, gt=0)
    edge: EdgeConfig

    @model_validator(mode="after")
    def _garch_stationary(self) -> SynthConfig:
        if self.garch_alpha > self.vol_persistence:
            raise ValueError(
                f"garch_alpha ({self.garch_alpha}) must not exceed vol_persistence ({self.vol_persistence})"
            )
        return self


class EpsilonConfig(_Section):
    start: float = Field(ge=0, le=1)
    end: float = Field(ge=0, le=1)
    decay_steps: int = Field(ge=1)


class PPOSection(_Section):
    epochs: int = Field(ge=1, le=100)
    clip: float = Field(gt=0, le=1)
    entropy: float = Field(ge=0, le=1)


class DQNSection(_Section):
    rollout_per_env: int = Field(ge=1)
    replay_capacity: int = Field(ge=100)
    learning_starts: int = Field(ge=0)
    target_update: int = Field(ge=1)


class RewardConfig(_Section):
    trade_bonus: float = Field(ge=0)
    hold_penalty: float = Field(ge=0)
    hold_timeout_penalty: float = Field(ge=0)
    hold_timeout_seconds: int = Field(ge=0)
    streak_bonus: float = Field(ge=0)
    flip_flop_penalty: float = Field(ge=0)
    flip_flop_bars: int = Field(ge=1)
    vol_scaled: bool
    scale: float = Field(gt=0)


class RLConfig(_Section):
    algo: Literal["ppo", "dqn", "ensemble"]
    lstm_layers: int = Field(ge=1, le=8)
    lstm_hidden: int = Field(ge=1, le=4096)
    fcnet_hiddens: list[int]
    max_seq_len: int = Field(ge=2, le=1024)
    learning_rate: float = Field(gt=0, le=1)
    batch_size: int = Field(ge=1)
    epochs: int = Field(ge=1)
    early_stop_patience: int = Field(ge=1)
    gamma: float = Field(gt=0, le=1)
    episode_bars: int = Field(ge=10)
    train_fraction: float = Field(gt=0, lt=1)
    validation_fraction: float = Field(gt=0, lt=1)
    seed: int = Field(ge=0)
    num_envs: int = Field(ge=1, le=256)
    ppo: PPOSection
    dqn: DQNSection
    epsilon: EpsilonConfig
    reward: RewardConfig

    @model_validator(mode="after")
    def _splits(self) -> RLConfig:
        if self.train_fraction + self.validation_fraction >= 1:
            raise ValueError(
                f"train_fraction + validation_fraction must leave a test span (< 1), got "
                f"{self.train_fraction} + {self.validation_fraction}"
            )
        return self


class AutopilotConfig(_Section):
    """The autonomous loop (`python -m live.autopilot`); docs/AUTOPILOT.md. Defaults as in configs/params.yaml."""

    cycle_hours: float = Field(default=1.0, gt=0, le=24 * 30)
    data: Literal["config", "real", "synthetic", "hybrid"] = "config"
    data_days: float = Field(default=30.0, gt=0, le=3650)
    judge_days: float = Field(default=3.0, gt=0, le=3650)
    improve_on: list[Literal["CRITICAL", "POOR", "MODERATE", "GOOD"]] = Field(
        default_factory=lambda: ["CRITICAL", "POOR"]
    )
    execution_trials: int = Field(default=8, ge=1, le=10_000)
    learning: Literal["off", "retrain", "sweep"] = "retrain"
    learning_trials: int = Field(default=4, ge=1, le=10_000)
    retrain_algo: Literal["ppo", "dqn"] = "ppo"
    retrain_timesteps: int = Field(default=4000, ge=1)
    budget_minutes: float = Field(default=20.0, gt=0, le=24 * 60)
    max_concurrent_trials: int = Field(default=1, ge=1, le=1024)
    promote_margin_sharpe: float = 0.1
    size_down: float = Field(default=0.75, gt=0, lt=1)
    size_up: float = Field(default=1.10, gt=1, le=10)
    dir: str = Field(default="runs/autopilot", min_length=1)

    @field_validator("learning", mode="before")
    @classmethod
    def _yaml_off(cls, v: Any) -> Any:
        return "off" if v is False else v  # YAML reads a bare `off` as false


class DashboardConfig(_Section):
    """The web dashboard (`python -m live.dashboard`) and the terminal monitor (`python -m live.monitor`).

    Defaults are given so params files written before this section existed (checkpoint metadata) still load.
    Empty paths mean: derived from the rest of the params (docs/DASHBOARD.md).
    """

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8501, ge=1, le=65535)
    refresh_seconds: float = Field(default=5.0, ge=0.5, le=3600)
    journal_days: int = Field(default=2, ge=1, le=366)
    autopilot_dir: str = ""
    tune_dir: str = Field(default="runs/tune", min_length=1)
    registry_dir: str = ""
    ray_dashboard_url: str = Field(default="http://127.0.0.1:8265", pattern=r"^https?://")
    compare_backtest: bool = True
    allow_emergency_stop: bool = False


class ClusterConfig(_Section):
    """Where results live and what the trading actors reserve on a Ray cluster; docs/CLUSTER.md.

    Defaults keep one machine working with no extra flag, so params files from before this section still load.
    """

    storage: str = ""  # results root: a path (relative = the repository) or a URI; "" = $AML100_STORAGE or "."
    live_resource: str = "aml100_live"  # custom Ray resource of the trading node ("" = CPUs only)
    autopilot_resource: str = "aml100_autopilot"
    trial_retries: int = Field(default=1, ge=0, le=100)
    check_storage: bool = True

    @field_validator("storage")
    @classmethod
    def _storage_form(cls, v: str) -> str:
        v = (v or "").strip()
        if "://" in v and not v.split("://", 1)[0].replace("+", "").replace("-", "").isalnum():
            raise ValueError(f"{v!r} is neither a path nor a URI like s3://bucket/aml100")
        if "://" in v and not v.split("://", 1)[1].strip("/"):
            raise ValueError(f"{v!r} names no bucket or folder (e.g. s3://bucket/aml100)")
        return v

    @field_validator("live_resource", "autopilot_resource")
    @classmethod
    def _resource_name(cls, v: str) -> str:
        import re

        if v and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", v):
            raise ValueError(f'{v!r} is not a Ray resource name (letters, digits, _ . -), or "" for CPUs only')
        return v


class Params(_Section):
    market: MarketConfig
    trading: TradingConfig
    backtest: BacktestConfig
    paper_exchange: PaperExchangeConfig
    synth: SynthConfig
    rl: RLConfig
    live: LiveConfig = Field(default_factory=LiveConfig)
    autopilot: AutopilotConfig = Field(default_factory=AutopilotConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)


class StatusThresholds(_Section):
    """How the autopilot grades a policy's recent window (docs/AUTOPILOT.md): CRITICAL, POOR, MODERATE, GOOD."""

    critical_drawdown_pct: float = Field(default=5.0, ge=0, le=100)  # CRITICAL at or past this drawdown (or a halt)
    poor_sharpe_below: float = 0.0  # POOR below this Sharpe ...
    poor_profit_factor_below: float = Field(default=1.0, ge=0)  # ... or below this profit factor


class Objectives(_Section):
    monthly_return_min: float = Field(ge=-100)
    sharpe_min: float
    drawdown_max: float = Field(gt=0, le=100)
    auto_stop_drawdown: float = Field(gt=0, le=100)
    profit_factor_min: float = Field(ge=0)
    min_real_days: float = Field(ge=0)
    status: StatusThresholds = Field(default_factory=StatusThresholds)


_INTERVALS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600}


def interval_seconds(interval: str) -> int:
    """Seconds in one bar of `interval` (e.g. "1m" -> 60)."""
    try:
        return _INTERVALS[interval]
    except KeyError:
        raise ConfigError(f"interval {interval!r} is not supported; allowed: {sorted(_INTERVALS)}") from None


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in error["loc"])
    value = error.get("input")
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = "remove it or check its spelling"
        return f"{key}: unknown key (value {value!r}); {allowed}"
    if kind == "missing":
        return f"{key}: missing; it is required"
    bounds = {
        "greater_than": "> {gt}",
        "greater_than_equal": ">= {ge}",
        "less_than": "< {lt}",
        "less_than_equal": "<= {le}",
    }
    if kind in bounds:
        return f"{key} = {value!r}: allowed {bounds[kind].format(**ctx)}"
    if kind == "literal_error":
        return f"{key} = {value!r}: allowed {ctx.get('expected')}"
    if kind == "value_error":
        where = key or "config"
        return f"{where}: {error['msg'].removeprefix('Value error, ')}"
    return f"{key} = {value!r}: {error['msg']}"


def _validate(model: type[BaseModel], data: Any, source: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(e) for e in exc.errors()]
        raise ConfigError(f"{source}: invalid configuration\n  " + "\n  ".join(lines)) from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse `section.key=value` into (path, value); the value is read as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise ConfigError(f"override {text!r} names no key")
    return path, yaml.safe_load(raw)


def apply_overrides(data: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """Return a copy of `data` with each `section.key=value` override applied; unknown keys fail."""
    out = yaml.safe_load(yaml.safe_dump(data))
    for text in overrides or []:
        path, value = parse_override(text)
        node = out
        for i, part in enumerate(path[:-1]):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"override {text!r}: unknown key {'.'.join(path[: i + 1])}")
            node = node[part]
        if not isinstance(node, dict) or path[-1] not in node:
            raise ConfigError(f"override {text!r}: unknown key {'.'.join(path)}")
        node[path[-1]] = value
    return out


def _read_yaml(path: Path) -> Any:
    """The parsed YAML file; a missing, unreadable, binary or non-YAML file is one clear ConfigError."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config path {path} is a directory; give a YAML file") from None
    except PermissionError:
        raise ConfigError(f"config file {path} is not readable (permission denied)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path}: not a text (UTF-8) YAML file; is it a binary file?") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def load_params(path: str | Path | None = None, overrides: list[str] | None = None) -> Params:
    """Load and validate `params.yaml` (default `configs/params.yaml`) with optional overrides."""
    path = Path(path) if path else DEFAULT_PARAMS
    data = apply_overrides(_read_yaml(path) or {}, overrides)
    return _validate(Params, data, str(path))


def load_objectives(path: str | Path | None = None, overrides: list[str] | None = None) -> Objectives:
    """Load and validate `objectives.yaml` (default `configs/objectives.yaml`)."""
    path = Path(path) if path else DEFAULT_OBJECTIVES
    data = apply_overrides(_read_yaml(path) or {}, overrides)
    return _validate(Objectives, data, str(path))


def params_from_dict(data: dict[str, Any], source: str = "params") -> Params:
    """Validate an already-parsed params mapping (e.g. from a checkpoint's metadata)."""
    return _validate(Params, data, source)


def objectives_from_dict(data: dict[str, Any], source: str = "objectives") -> Objectives:
    """Validate an already-parsed objectives mapping (e.g. passed to a remote env)."""
    return _validate(Objectives, data, source)


def with_overrides(params: Params, overrides: list[str]) -> Params:
    """A new validated Params with `section.key=value` overrides applied."""
    return params_from_dict(apply_overrides(params.model_dump(mode="json"), overrides))
