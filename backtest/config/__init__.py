"""Typed, validated configuration: `configs/params.yaml` and `configs/objectives.yaml`.

Each package owns the sections it reads, next to the code that reads them, with every default once, in the schema:
this module holds the machinery (`Section`, `ConfigError`, loading, `--set` overrides, the error that names key, value
and allowed range) and the sections `backtest` reads itself (market, trading, backtest, execution, synth; the
objectives).
`cluster` sits below backtest, so its section is imported directly. The packages above (`rl`, `live`) register theirs
as plug-ins under the entry-point groups `aml100.config` (params) and `aml100.objectives` in pyproject.toml, found
the way strategies are; `load_params` validates against `Params` extended with every registered section
(`params_model()`), so backtest never imports them. Adding a key: a field with its default and bounds in the owning
section, and the same key with that value and a comment in the YAML (`tests/test_config_files.py` checks the two
agree). Adding a section: a `Section` subclass in the owning package and one entry-point line.

Command lines override keys with `--set section.key=value` (the value is parsed as YAML, so `0.3`, `true`, `[5, 15]`
work); an error caused by an override names the override (`--set live.max_leverage=1e-7: ...`), one from the file
names the file.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

import annotated_types as at
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from cluster.config import ClusterConfig
from cluster.storage import REPO_ROOT

DEFAULT_PARAMS = REPO_ROOT / "configs" / "params.yaml"
DEFAULT_OBJECTIVES = REPO_ROOT / "configs" / "objectives.yaml"
PARAMS_GROUP = "aml100.config"  # entry points: section name -> the Section class of a package above backtest
OBJECTIVES_GROUP = "aml100.objectives"  # likewise for objectives.yaml (the autopilot's `status`)

__all__ = [
    "DEFAULT_OBJECTIVES",
    "DEFAULT_PARAMS",
    "OBJECTIVES_GROUP",
    "PARAMS_GROUP",
    "REPO_ROOT",
    "AtrStopConfig",
    "BacktestConfig",
    "ConfigError",
    "EdgeConfig",
    "KellyConfig",
    "MarketConfig",
    "Objectives",
    "OffSessionConfig",
    "Override",
    "Params",
    "Section",
    "SynthConfig",
    "TradingConfig",
    "apply_overrides",
    "field_bounds",
    "interval_seconds",
    "load_objectives",
    "load_params",
    "objectives_from_dict",
    "objectives_model",
    "params_from_dict",
    "params_model",
    "validate_model",
    "with_overrides",
]


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


class Section(BaseModel):
    """Base of every config section: unknown keys refused, frozen, every field with its (validated) default."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class MarketConfig(Section):
    coin: str = Field(default="xyz:XYZ100", min_length=1)
    dex: str = "xyz"
    base_url: str = Field(default="https://api.hyperliquid.xyz", pattern=r"^https?://")
    request_timeout_s: float = Field(default=10.0, ge=0.1, le=300)


class KellyConfig(Section):
    enabled: bool = False
    fraction: float = Field(default=0.5, ge=0.01, le=1)
    cap: float = Field(default=0.4, ge=0.001, le=1)
    min_trades: int = Field(default=20, ge=1)


class AtrStopConfig(Section):
    enabled: bool = False
    multiple: float = Field(default=2.0, gt=0, le=100)
    period: int = Field(default=14, ge=1, le=1000)


class TradingConfig(Section):
    take_profit_pct: float = Field(default=0.5, ge=0.001, le=1000)
    stop_loss_pct: float = Field(default=0.25, ge=0.001, lt=100)
    position_size_pct: float = Field(default=0.4, ge=0.001, le=1)
    leverage: float = Field(default=1.0, ge=0.01, le=100)
    max_positions: int = Field(default=1, ge=1, le=16)
    max_hold_seconds: int = Field(default=60, ge=0)
    both_touched: Literal["stop", "take_profit"] = "stop"
    signal_threshold: float = Field(default=0.0002, ge=0)
    min_q_diff: float = Field(default=0.0, ge=0)
    rsi_period: int = Field(default=14, ge=2, le=1000)
    rsi_buy_below: float = Field(default=38.0, ge=0, le=100)
    rsi_sell_above: float = Field(default=62.0, ge=0, le=100)
    macd_fast: int = Field(default=12, ge=1)
    macd_slow: int = Field(default=26, ge=2)
    macd_signal: int = Field(default=9, ge=1)
    macd_confirm: bool = True
    trade_closed_sessions: bool = True  # false: no new entries while the market's outside market is closed
    kelly: KellyConfig = Field(default_factory=KellyConfig)
    atr_stop: AtrStopConfig = Field(default_factory=AtrStopConfig)

    @model_validator(mode="after")
    def _levels_ordered(self) -> TradingConfig:
        if self.rsi_buy_below >= self.rsi_sell_above:
            raise ValueError(
                f"rsi_buy_below ({self.rsi_buy_below}) must be below rsi_sell_above ({self.rsi_sell_above})"
            )
        if self.macd_fast >= self.macd_slow:
            raise ValueError(f"macd_fast ({self.macd_fast}) must be below macd_slow ({self.macd_slow})")
        return self


class BacktestConfig(Section):
    days: float = Field(default=180.0, ge=0.01, le=3650)
    interval: Literal["1m", "3m", "5m", "15m", "30m", "1h"] = "1m"
    initial_equity: float = Field(default=10_000.0, ge=10)  # the venue's minimum order value (backtest.venue.rules)
    slippage_pct: float = Field(default=0.05, ge=0, lt=10)
    commission_pct: float | None = Field(default=None, ge=0, lt=10)  # None: the venue's schedule (venue/fees.py)
    maker_commission_pct: float | None = Field(default=None, ge=-1, lt=10)
    latency_ms: tuple[float, float] = (5.0, 15.0)
    funding_rate_hourly: float = Field(default=0.0, ge=-0.01, le=0.01)
    chunk_size: int = Field(default=5000, ge=100)
    warmup_bars: int = Field(default=500, ge=0)
    segments_per_task: int = Field(default=8, ge=1, le=10_000)
    max_workers: int = Field(default=2, ge=1, le=1024)
    min_trades_threshold: int = Field(default=50, ge=0)
    data_source: Literal["real", "proxy", "synthetic", "hybrid"] = "synthetic"
    real_weight: float = Field(default=1.0, ge=0, le=1)
    seed: int = Field(default=1, ge=0)
    data_dir: str = Field(default="data", min_length=1)
    reports_dir: str = Field(default="reports", min_length=1)

    @model_validator(mode="after")
    def _latency_range(self) -> BacktestConfig:
        lo, hi = self.latency_ms
        if not (0 <= lo <= hi <= 60_000):
            raise ValueError(f"latency_ms must be [low, high] with 0 <= low <= high <= 60000 ms, got {[lo, hi]}")
        return self

    @property
    def bar_seconds(self) -> int:
        return interval_seconds(self.interval)


class ExecutionConfig(Section):
    """How orders reach the venue (docs/ARCHITECTURE.md, "Execution styles"): market (taker IOC at the open) or maker
    (a post-only limit at the touch, `*_offset_ticks` inside (+) or behind (-) it, resting `*_ttl_bars` bars, then
    cancelled or sent as a market order). Read by the simulator, so it belongs to backtest."""

    entry: Literal["market", "maker"] = "market"
    entry_offset_ticks: int = Field(default=0, ge=-1000, le=1000)
    entry_ttl_bars: int = Field(default=1, ge=1, le=10_000)
    entry_on_expiry: Literal["cancel", "market"] = "cancel"
    exit: Literal["market", "maker"] = "market"  # signal and max-hold closes
    exit_offset_ticks: int = Field(default=0, ge=-1000, le=1000)
    exit_ttl_bars: int = Field(default=1, ge=1, le=10_000)
    exit_on_expiry: Literal["cancel", "market"] = "market"
    take_profit: Literal["market", "maker"] = "market"  # trigger -> taker, or a resting post-only limit at the level
    touch_fill_prob: float = Field(default=0.0, ge=0, le=1)  # chance a bar that only touches a limit fills it
    adverse_bars: int = Field(default=5, ge=1, le=10_000)  # metrics: mid move this many bars after a maker fill
    sz_decimals: int = Field(default=4, ge=0, le=6)  # the asset's szDecimals (venue meta): its price tick

    @property
    def any_maker(self) -> bool:
        return "maker" in (self.entry, self.exit, self.take_profit)


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


class Params(Section):
    """The sections backtest reads, and cluster's. What `load_params` returns is an instance of `params_model()`: this
    class extended with every section registered under `aml100.config` (`params.rl`, `params.live`, ...)."""

    market: MarketConfig = Field(default_factory=MarketConfig)
    trading: TradingConfig = Field(default_factory=TradingConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    synth: SynthConfig = Field(default_factory=SynthConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)

    @model_validator(mode="before")
    @classmethod
    def _take_profit_fill_moved(cls, data: Any) -> Any:
        """`backtest.take_profit_fill` (before the execution section) is read as `execution.take_profit`: "limit"
        means "maker". Old params files and checkpoint metadata keep loading; both keys at odds are refused."""
        if not isinstance(data, dict) or not isinstance(data.get("backtest"), dict):
            return data
        if "take_profit_fill" not in data["backtest"]:
            return data
        data = {**data, "backtest": dict(data["backtest"])}
        old = data["backtest"].pop("take_profit_fill")
        if old not in ("market", "limit"):
            raise ValueError(
                f"backtest.take_profit_fill = {old!r}: allowed 'market' or 'limit' (execution.take_profit)"
            )
        style = "maker" if old == "limit" else "market"
        execution = dict(data.get("execution") or {})
        if execution.setdefault("take_profit", style) != style:
            raise ValueError(
                f"backtest.take_profit_fill = {old!r} contradicts execution.take_profit = "
                f"{execution['take_profit']!r}; remove backtest.take_profit_fill (it moved to execution.take_profit)"
            )
        data["execution"] = execution
        return data


class Objectives(Section):
    """What a policy must reach (configs/objectives.yaml); `objectives_model()` adds the registered plug-ins."""

    monthly_return_min: float = Field(default=15.0, ge=-100)
    sharpe_min: float = 1.5
    drawdown_max: float = Field(default=5.0, gt=0, le=100)
    auto_stop_drawdown: float = Field(default=4.0, gt=0, le=100)
    profit_factor_min: float = Field(default=1.3, ge=0)
    min_real_days: float = Field(default=2.0, ge=0)
    min_real_or_proxy_days: float = Field(default=20.0, ge=0)


# --- composition: the sections of the packages above backtest, found through entry points ---------------------------


def _registered(group: str) -> dict[str, type[BaseModel]]:
    """{section name: its model class} registered under the entry-point group `group`, sorted by name."""
    found: dict[str, type[BaseModel]] = {}
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            cls = ep.load()
        except Exception as exc:  # an ImportError, or any error while importing the package's config module
            raise ConfigError(
                f"config section {ep.name!r}: entry point {ep.name} = {ep.value!r} (group {group}) cannot be "
                f"loaded: {type(exc).__name__}: {exc}"
            ) from None
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            raise ConfigError(f"config section {ep.name!r}: entry point {ep.value!r} is not a pydantic model class")
        found[ep.name] = cls
    return found


def _compose(name: str, base: type[Section], group: str) -> type[Section]:
    sections = _registered(group)
    clash = sorted(set(sections) & set(base.model_fields))
    if clash:
        raise ConfigError(f"entry points of group {group} redefine built-in sections: {', '.join(clash)}")
    fields: dict[str, Any] = {k: (cls, Field(default_factory=cls)) for k, cls in sections.items()}
    model = create_model(name, __base__=base, __module__=__name__, **fields)
    model.__doc__ = f"{base.__doc__}\n\nComposed with the sections of group {group}: {', '.join(sections) or 'none'}."
    return model


@functools.cache
def params_model() -> type[Params]:
    """`Params` plus every section registered under `aml100.config` (cached; pickles by reference as
    `backtest.config.LoadedParams`)."""
    return _compose("LoadedParams", Params, PARAMS_GROUP)


@functools.cache
def objectives_model() -> type[Objectives]:
    """`Objectives` plus every section registered under `aml100.objectives` (as `backtest.config.LoadedObjectives`)."""
    return _compose("LoadedObjectives", Objectives, OBJECTIVES_GROUP)


def __getattr__(name: str) -> Any:
    """The composed models are attributes of this module, so pickle (and Ray) find them by name in any process."""
    if name == "LoadedParams":
        return params_model()
    if name == "LoadedObjectives":
        return objectives_model()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- overrides -------------------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML as users write numbers: `1e-7` is a float (YAML 1.2), not the string PyYAML's 1.1 rules make of it."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _yaml(text: Any) -> Any:
    return yaml.load(text, Loader=_Loader)  # a SafeLoader: plain data only


@dataclass(frozen=True)
class Override:
    """One `section.key=value` override and where the user gave it (`--set ...` unless `origin` says, e.g. `--days
    30`); errors caused by it name `label`."""

    text: str
    origin: str = ""

    @property
    def label(self) -> str:
        return self.origin or f"--set {self.text}"

    @property
    def path(self) -> list[str]:
        return parse_override(self.text, self.label)[0]

    @classmethod
    def flag(cls, flag: str, key: str, value: Any) -> Override:
        """The override a dedicated command-line flag stands for (`Override.flag("--days", "backtest.days", 30)`)."""
        return cls(f"{key}={value}", f"{flag} {value}")


OverrideLike = str | Override


def _as_override(item: OverrideLike, prefix: str = "--set") -> Override:
    """`item` as an Override; a plain string is labelled `<prefix> <text>` in errors."""
    if isinstance(item, Override):
        return item
    return Override(str(item), "" if prefix == "--set" else f"{prefix} {item}")


def parse_override(text: str, label: str | None = None) -> tuple[list[str], Any]:
    """Parse `section.key=value` into (path, value); the value is read as YAML."""
    label = label or f"--set {text}"
    if "=" not in text:
        raise ConfigError(f"{label}: must look like section.key=value")
    key, raw = text.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise ConfigError(f"{label}: names no key")
    try:
        return path, _yaml(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: the value is not valid YAML: {exc}") from None


def _submodel(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _group_of(model: type[BaseModel]) -> str:
    return OBJECTIVES_GROUP if issubclass(model, Objectives) else PARAMS_GROUP


def _unknown_hint(model: type[BaseModel], where: Sequence[Any], name: str) -> str:
    """What to say about an unknown key `name` under `where`: the closest known keys, or all of them."""
    node: type[BaseModel] | None = model
    for part in where:
        node = _submodel(node.model_fields[part].annotation) if node and part in node.model_fields else None
    if node is None:
        return "remove it or check its spelling"
    known = list(node.model_fields)
    close = difflib.get_close_matches(str(name), known, n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else "known: " + ", ".join(known)
    if not where:
        hint += f" (the sections of rl and live are registered under the entry-point group {_group_of(model)})"
    return hint


MOVED_KEYS = {
    "backtest.take_profit_fill": "it moved to execution.take_profit (market | maker; the old 'limit' is 'maker')",
}


def _check_path(model: type[BaseModel], path: list[str], label: str) -> None:
    """Refuse an override of a key the schema does not have, naming the closest known keys (or where it moved)."""
    node: type[BaseModel] | None = model
    for i, part in enumerate(path):
        if node is None:
            raise ConfigError(f"{label}: {'.'.join(path[:i])} is a value, not a section")
        if part not in node.model_fields:
            moved = MOVED_KEYS.get(".".join(path[: i + 1]))
            hint = moved or _unknown_hint(model, path[:i], part)
            raise ConfigError(f"{label}: unknown key {'.'.join(path[: i + 1])}; {hint}")
        node = _submodel(node.model_fields[part].annotation)


def apply_overrides(
    data: dict[str, Any], overrides: Iterable[OverrideLike] | None, model: type[BaseModel] | None = None
) -> dict[str, Any]:
    """A copy of `data` with each `section.key=value` override applied; a key the schema (`model`, default the
    composed params) does not have fails, naming the override."""
    model = model or params_model()
    out = yaml.safe_load(yaml.safe_dump(data)) if data else {}
    for item in overrides or []:
        ov = _as_override(item)
        path, value = parse_override(ov.text, ov.label)
        _check_path(model, path, ov.label)
        node = out
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[path[-1]] = value
    return out


# --- validation and its errors ---------------------------------------------------------------------------------------


def field_bounds(model: type[BaseModel], loc: Sequence[Any]) -> str:
    """The allowed range of the field at `loc` in `model`, e.g. ">= 0.01 and <= 100" ("" when it has none)."""
    node: type[BaseModel] | None = model
    info = None
    for part in loc:
        if node is None or part not in node.model_fields:
            return ""
        info = node.model_fields[part]
        node = _submodel(info.annotation)
    if info is None:
        return ""
    parts = []
    for m in info.metadata:
        for cls, attr, sign in ((at.Gt, "gt", ">"), (at.Ge, "ge", ">="), (at.Lt, "lt", "<"), (at.Le, "le", "<=")):
            if isinstance(m, cls):
                v = getattr(m, attr)
                parts.append(f"{sign} {v if isinstance(v, int) else format(v, 'g')}")
    return " and ".join(parts)


_BOUNDS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


class _NotShown:
    def __repr__(self) -> str:
        return "<not shown>"


def _hides_values(model: type[BaseModel], loc: tuple[Any, ...]) -> bool:
    """A section whose values may be secrets (e.g. `alerts`: `hides_values = True`) never has them echoed."""
    info = model.model_fields.get(loc[0]) if loc and isinstance(loc[0], str) else None
    return bool(getattr(_submodel(info.annotation) if info else None, "hides_values", False))


def _describe(error: dict[str, Any], model: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc)
    value = error.get("input")
    if isinstance(value, str | dict | list) and _hides_values(model, loc):
        value = _NotShown()
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "extra_forbidden":
        if len(loc) == 1 and issubclass(model, Params):
            return (
                f"{key}: unknown section; known: {', '.join(model.model_fields)}. The sections of rl and live are "
                f"registered under the entry-point group {PARAMS_GROUP} (pyproject.toml): is the package that owns "
                f"{key!r} installed (make setup)?"
            )
        return f"{key}: unknown key (value {value!r}); {_unknown_hint(model, loc[:-1], loc[-1])}"
    if kind == "missing":
        return f"{key}: missing; it is required"
    if kind in _BOUNDS:
        allowed = field_bounds(model, loc) or {
            "greater_than": "> {gt}",
            "greater_than_equal": ">= {ge}",
            "less_than": "< {lt}",
            "less_than_equal": "<= {le}",
        }[kind].format(**ctx)
        return f"{key} = {value!r}: allowed {allowed}"
    if kind == "literal_error":
        return f"{key} = {value!r}: allowed {ctx.get('expected')}"
    if kind == "value_error":
        return f"{key or 'config'}: {error['msg'].removeprefix('Value error, ')}"
    bounds = field_bounds(model, loc)
    return f"{key} = {value!r}: {error['msg']}" + (f" (allowed {bounds})" if bounds else "")


def _blame(loc: tuple[Any, ...], overrides: list[Override], source: str) -> str:
    """Who gave the value at `loc`: the last override of that key (or of a key under a section-level error's
    section), else the file."""
    loc = tuple(str(p) for p in loc)
    exact = [o for o in overrides if tuple(o.path) == loc[: len(o.path)]]
    if exact:
        return exact[-1].label
    inside = [o for o in overrides if tuple(o.path[: len(loc)]) == loc]
    return inside[-1].label if inside else source


def validate_model(
    model: type[BaseModel], data: Any, source: str, overrides: Iterable[OverrideLike] | None = None
) -> Any:
    """`model` validated from `data`; a failure is one ConfigError naming, per bad value, who gave it (the file
    `source` or the override), the key, the value and what is allowed."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        ovs = [_as_override(o) for o in overrides or []]
        lines = [(_blame(tuple(e["loc"]), ovs, source), _describe(e, model)) for e in exc.errors()]
        labels = {label for label, _ in lines}
        if len(lines) == 1:
            label, text = lines[0]
            raise ConfigError(f"{label}: {text}") from None
        if len(labels) == 1:
            raise ConfigError(f"{lines[0][0]}: invalid configuration\n  " + "\n  ".join(t for _, t in lines)) from None
        raise ConfigError("invalid configuration\n  " + "\n  ".join(f"{lb}: {t}" for lb, t in lines)) from None


def _read_yaml(path: Path) -> Any:
    """The parsed YAML file; a missing, unreadable, binary or non-YAML file is one clear ConfigError."""
    try:
        with open(path, encoding="utf-8") as fh:
            return _yaml(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config path {path} is a directory; give a YAML file") from None
    except PermissionError:
        raise ConfigError(f"config file {path} is not readable (permission denied)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not a text (UTF-8) YAML file; is it a binary file?") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def _display(path: Path) -> str:
    """A config path as the user would write it: relative to the working folder when it is under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load(model: type[Section], path: Path, overrides: Iterable[OverrideLike] | None) -> Any:
    data = _read_yaml(path)
    if data is None:
        data = {}
    source = _display(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of sections, got {type(data).__name__}")
    ovs = [_as_override(o) for o in overrides or []]
    return validate_model(model, apply_overrides(data, ovs, model), source, ovs)


def load_params(path: str | Path | None = None, overrides: Iterable[OverrideLike] | None = None) -> Params:
    """Load and validate `params.yaml` (default `configs/params.yaml`) with optional `section.key=value` overrides."""
    return _load(params_model(), Path(path) if path else DEFAULT_PARAMS, overrides)


def load_objectives(path: str | Path | None = None, overrides: Iterable[OverrideLike] | None = None) -> Objectives:
    """Load and validate `objectives.yaml` (default `configs/objectives.yaml`); overrides name keys of that file
    (`sharpe_min=1`; on a command line `--set objectives.sharpe_min=1`)."""
    return _load(objectives_model(), Path(path) if path else DEFAULT_OBJECTIVES, overrides)


def params_from_dict(data: dict[str, Any], source: str = "params") -> Params:
    """Validate an already-parsed params mapping (e.g. from a checkpoint's metadata: missing sections take their
    defaults)."""
    return validate_model(params_model(), data, source)


def objectives_from_dict(data: dict[str, Any], source: str = "objectives") -> Objectives:
    """Validate an already-parsed objectives mapping (e.g. passed to a remote env)."""
    return validate_model(objectives_model(), data, source)


def with_overrides(params: Params, overrides: Iterable[OverrideLike], prefix: str = "override") -> Params:
    """A new validated Params with `section.key=value` overrides applied (an error names the override as
    `<prefix> section.key=value`)."""
    ovs = [_as_override(o, prefix) for o in overrides]
    model = params_model()
    return validate_model(model, apply_overrides(params.model_dump(mode="json"), ovs, model), "params", ovs)


_INTERVALS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600}


def interval_seconds(interval: str) -> int:
    """Seconds in one bar of `interval` (e.g. "1m" -> 60)."""
    try:
        return _INTERVALS[interval]
    except KeyError:
        raise ConfigError(f"interval {interval!r} is not supported; allowed: {sorted(_INTERVALS)}") from None
