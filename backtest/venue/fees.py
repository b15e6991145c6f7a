"""What HyperLiquid charges, as a venue fact: the base schedule, the HIP-3 multiple, growth mode, an account's rates.

What the venue says (researched 2026-12; the sources below, quoted in /work/shared/reference/hyperliquid-api.md):

- Base (validator-operated perps) schedule by 14-day weighted volume (perps + 2 x spot), one tier for every
  market of an account (HyperLiquid docs, "Trading > Fees", hyperliquid.gitbook.io/hyperliquid-docs/trading/fees):
  tier 0 0.045 % taker / 0.015 % maker; > $5M 0.040 / 0.012; > $25M 0.035 / 0.008; > $100M 0.030 / 0.004;
  > $500M 0.028 / 0; > $2B 0.026 / 0; > $7B 0.024 / 0. Maker rebates (-0.001 / -0.002 / -0.003 %) go to accounts
  whose maker volume exceeds 0.5 / 1.5 / 3 % of the exchange's. Staking and referral discounts come on top.
- An account's own rates: `/info {"type":"userFees","user":ADDR}` answers `userCrossRate` (taker) and
  `userAddRate` (maker; negative = rebate) after its tier, staking and referral discounts, plus `feeSchedule`
  (`cross`, `add`, `tiers.vip[{ntlCutoff, cross, add}]`, `tiers.mm[{makerFractionCutoff, add}]`) and
  `dailyUserVlm`. Rates are decimal strings, fractions of notional ("0.00045" = 4.5 bp). Shapes:
  hyperliquid-python-sdk `Info.user_fees` docstring, nktkas/hyperliquid `userFees.ts`.
- HIP-3 (builder-deployed) perps charge a multiple of those rates. The deployer's fee scale s is in `perpDexs`
  (`deployerFeeScale`, per dex); the user pays the protocol's share plus the deployer's: multiple = s + max(s, 1)
  ("if the share is above 100 %, the protocol fee is also increased to be equal to the deployer fee": HyperLiquid
  docs "Fees"/HIP-3; the same formula in df-hyperliquid-core `multiplier`). Standard HIP-3 (s = 1) is 2x:
  0.09 % taker / 0.03 % maker at tier 0 (docs.trade.xyz, "perp-mechanics/fees": "2x the usual fees ..., 50 % to
  Hyperliquid and 50 % to trade[XYZ]").
- Growth mode (per asset, `meta` universe entry `growthMode: "enabled"`, a 30-day cooldown) cuts all-in fees,
  rebates and volume contributions by >= 90 %: x 0.1 here (HyperLiquid announcement "HIP-3 growth mode";
  trade.xyz growth-mode tiers: tier 0 0.009 % / 0.003 %). It needs s <= 1.
- A rebate (negative maker rate) is the protocol's: it is not multiplied by the deployer's share; growth mode cuts
  it by 90 % (our reading of the docs: the deployer keeps a share of fees, not of rebates).

Resolution (`resolve_fees`), in order: `backtest.commission_pct` / `maker_commission_pct` when set (a params
override, said so); else the venue's answer cached under `<data_dir>/venue/fees/` (`python -m backtest.data fees`
writes it, with its URL and date); else the documented default of the market (`DEFAULT_MARKET_FEES`:
`xyz:XYZ100` standard HIP-3 at base tier 0, 0.09 % / 0.03 %). The resolved `FeeSchedule` says where it came from,
and every report, metrics.json, gate verdict and checkpoint prints it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backtest.venue.rules import dex_of


@dataclass(frozen=True)
class FeeTier:
    """One VIP tier of the base schedule: from `min_volume` of 14-day weighted volume (USD)."""

    tier: int
    min_volume: float
    taker: float  # fraction of notional
    maker: float


BASE_TIERS: tuple[FeeTier, ...] = (
    FeeTier(0, 0.0, 0.00045, 0.00015),
    FeeTier(1, 5e6, 0.00040, 0.00012),
    FeeTier(2, 25e6, 0.00035, 0.00008),
    FeeTier(3, 100e6, 0.00030, 0.00004),
    FeeTier(4, 500e6, 0.00028, 0.0),
    FeeTier(5, 2e9, 0.00026, 0.0),
    FeeTier(6, 7e9, 0.00024, 0.0),
)
MAKER_REBATES: tuple[tuple[float, float], ...] = ((0.005, -0.00001), (0.015, -0.00002), (0.03, -0.00003))
SPOT_BASE = (0.0007, 0.0004)  # spot tier 0 taker / maker (spot is not traded here; userFees states it)
STANDARD_DEPLOYER_FEE_SCALE = 1.0  # standard HIP-3: the deployer keeps as much as the protocol (2x in all)
GROWTH_MODE_FACTOR = 0.1  # growth mode: >= 90 % off fees and rebates


def tier_for(volume_14d: float) -> FeeTier:
    """The base tier of a 14-day weighted volume (perps + 2 x spot)."""
    return [t for t in BASE_TIERS if volume_14d > t.min_volume or t.tier == 0][-1]


def hip3_multiple(deployer_fee_scale: float) -> float:
    """What a HIP-3 market charges as a multiple of the base rates: s + max(s, 1) (2 for the standard s = 1)."""
    if deployer_fee_scale < 0:
        raise ValueError(f"deployer fee scale must be >= 0, got {deployer_fee_scale}")
    return deployer_fee_scale + max(deployer_fee_scale, 1.0)


@dataclass(frozen=True)
class MarketFees:
    """A market's fee facts: validator market or HIP-3, the deployer's fee scale, growth mode."""

    coin: str
    hip3: bool
    deployer_fee_scale: float = STANDARD_DEPLOYER_FEE_SCALE
    growth_mode: bool = False

    @property
    def multiple(self) -> float:
        """The factor on positive base rates (HIP-3 multiple, growth mode)."""
        m = hip3_multiple(self.deployer_fee_scale) if self.hip3 else 1.0
        return m * (GROWTH_MODE_FACTOR if self.growth_mode else 1.0)

    def rates(self, base_taker: float, base_maker: float) -> tuple[float, float]:
        """(taker, maker) this market charges an account whose base rates are these; a rebate is not multiplied by
        the deployer's share, growth mode cuts it too."""
        taker = base_taker * self.multiple
        if base_maker >= 0:
            maker = base_maker * self.multiple
        else:
            maker = base_maker * (GROWTH_MODE_FACTOR if self.growth_mode else 1.0)
        return taker, maker

    def describe(self) -> str:
        if not self.hip3:
            return "validator market"
        kind = "standard" if self.deployer_fee_scale == STANDARD_DEPLOYER_FEE_SCALE else "deployer scale"
        text = f"HIP-3 {kind} {hip3_multiple(self.deployer_fee_scale):g}x"
        return text + (", growth mode x0.1" if self.growth_mode else "")


# Documented offline defaults (no venue answer cached): the markets this project knows. A builder-dex coin not
# listed is taken as standard HIP-3, any other as a validator market.
DEFAULT_MARKET_FEES: dict[str, MarketFees] = {
    "BTC": MarketFees("BTC", hip3=False),
    "ETH": MarketFees("ETH", hip3=False),
    "xyz:XYZ100": MarketFees("xyz:XYZ100", hip3=True),
}


def default_market_fees(coin: str) -> MarketFees:
    known = DEFAULT_MARKET_FEES.get(coin)
    return known if known is not None else MarketFees(coin, hip3=bool(dex_of(coin)))


@dataclass(frozen=True)
class FeeSchedule:
    """The fees a backtest charges (or a venue charges) on one market, and where that schedule came from."""

    coin: str
    taker: float  # fraction of notional a taker fill pays on this market
    maker: float  # fraction a maker fill pays (negative: a rebate)
    base_taker: float  # the account's (or tier's) base rates before the market's multiple
    base_maker: float
    market: MarketFees
    tier: int | None  # the base tier used (None: the account's own rates from userFees)
    source: str  # "venue userFees 2026-12-03", "default HIP-3 schedule", "params override ...", ...
    as_of: str | None = None  # date of the venue's answer (YYYY-MM-DD)
    url: str | None = None  # where the venue answered

    @property
    def taker_pct(self) -> float:
        return self.taker * 100.0

    @property
    def maker_pct(self) -> float:
        return self.maker * 100.0

    def label(self) -> str:
        """One line for outputs: "taker 0.0900 % / maker 0.0300 % (xyz:XYZ100, HIP-3 standard 2x; default ...)"."""
        where = f"{self.coin}, {self.market.describe()}"
        if self.tier is not None:
            where += f", base tier {self.tier}"
        return f"taker {self.taker_pct:.4f} % / maker {self.maker_pct:.4f} % ({where}; {self.source})"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["taker_pct"], d["maker_pct"], d["label"] = self.taker_pct, self.maker_pct, self.label()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeeSchedule:
        fields = {k: d[k] for k in ("coin", "taker", "maker", "base_taker", "base_maker", "tier", "source")}
        return cls(**fields, market=MarketFees(**d["market"]), as_of=d.get("as_of"), url=d.get("url"))


def schedule(
    market: MarketFees,
    base_taker: float,
    base_maker: float,
    tier: int | None,
    source: str,
    as_of: str | None = None,
    url: str | None = None,
) -> FeeSchedule:
    taker, maker = market.rates(base_taker, base_maker)
    return FeeSchedule(market.coin, taker, maker, base_taker, base_maker, market, tier, source, as_of, url)


def default_schedule(coin: str, tier: int = 0) -> FeeSchedule:
    """The documented offline schedule of `coin` at a base tier (default 0: no volume)."""
    market = default_market_fees(coin)
    t = BASE_TIERS[tier]
    kind = "HIP-3" if market.hip3 else "validator-market"
    return schedule(market, t.taker, t.maker, t.tier, f"default {kind} schedule")


# --- the venue's answers ------------------------------------------------------------------------------------------
def _rate(x: Any, what: str) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a decimal string, got {x!r}") from None


def market_fees_from_venue(coin: str, perp_dexs: list[Any] | None, meta: dict[str, Any] | None) -> MarketFees:
    """A market's fee facts from `perpDexs` (the dex's `deployerFeeScale`) and `meta` (the asset's `growthMode`).

    A builder dex without `deployerFeeScale` is taken as standard (the field is newer than some venues)."""
    dex = dex_of(coin)
    if not dex:
        return MarketFees(coin, hip3=False)
    scale = STANDARD_DEPLOYER_FEE_SCALE
    for entry in perp_dexs or []:
        if isinstance(entry, dict) and entry.get("name") == dex and entry.get("deployerFeeScale") is not None:
            scale = _rate(entry["deployerFeeScale"], f"perpDexs[{dex}].deployerFeeScale")
    growth = False
    for entry in (meta or {}).get("universe", []):
        if isinstance(entry, dict) and entry.get("name") == coin:
            growth = entry.get("growthMode") == "enabled"
    return MarketFees(coin, hip3=True, deployer_fee_scale=scale, growth_mode=growth)


def schedule_from_venue(
    coin: str,
    perp_dexs: list[Any] | None,
    meta: dict[str, Any] | None,
    user_fees: dict[str, Any] | None = None,
    as_of: str | None = None,
    url: str | None = None,
) -> FeeSchedule:
    """The schedule the venue states: the account's own rates (`userFees`) when given, else base tier 0; times the
    market's multiple (`perpDexs`, `meta`)."""
    market = market_fees_from_venue(coin, perp_dexs, meta)
    day = as_of or datetime.now(UTC).strftime("%Y-%m-%d")
    if user_fees:
        taker = _rate(user_fees.get("userCrossRate"), "userFees.userCrossRate")
        maker = _rate(user_fees.get("userAddRate"), "userFees.userAddRate")
        return schedule(market, taker, maker, None, f"venue userFees {day}", day, url)
    t = BASE_TIERS[0]
    return schedule(market, t.taker, t.maker, 0, f"venue meta/perpDexs {day}", day, url)


def fetch_schedule(info: Any, coin: str, user: str | None = None, url: str | None = None) -> tuple[FeeSchedule, dict]:
    """Ask the venue through an SDK `Info` (with the coin's dex loaded): `perpDexs`, `meta(dex)` and, for an account,
    `userFees`. Returns the schedule and the raw answers (for the cache)."""
    dex = dex_of(coin)
    perp_dexs = info.perp_dexs() if dex else None
    meta = info.meta(dex)
    user_fees = info.user_fees(user) if user else None
    raw = {"perpDexs": perp_dexs, "meta": {"universe": meta.get("universe", [])}, "userFees": user_fees}
    return schedule_from_venue(coin, perp_dexs, meta, user_fees, url=url), raw


# --- the cache, with the data ---------------------------------------------------------------------------------------
def cache_path(data_dir: Path, coin: str) -> Path:
    slug = "".join(c if c.isalnum() else "_" for c in coin)
    return Path(data_dir) / "venue" / "fees" / f"{slug}.json"


def save_cache(data_dir: Path, sched: FeeSchedule, raw: dict | None = None) -> Path:
    """Write the venue's answer for `sched.coin` under `<data_dir>/venue/fees/` (atomically)."""
    from cluster.atomic import atomic_write_text

    path = cache_path(data_dir, sched.coin)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"schedule": sched.to_dict(), "raw": raw or {}, "written": datetime.now(UTC).isoformat(timespec="seconds")}
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
    return path


def load_cache(data_dir: Path, coin: str) -> FeeSchedule | None:
    """The cached venue schedule of `coin`, or None; a damaged cache file is an error naming it."""
    path = cache_path(data_dir, coin)
    if not path.is_file():
        return None
    try:
        return FeeSchedule.from_dict(json.loads(path.read_text())["schedule"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        hint = "delete it or run `python -m backtest.data fees`"
        raise ValueError(f"{path}: not a fee schedule cache ({exc}); {hint}") from None


def with_overrides(base: FeeSchedule, taker_pct: float | None, maker_pct: float | None) -> FeeSchedule:
    """`base` with `backtest.commission_pct` / `maker_commission_pct` (percent) in place of its rates."""
    if taker_pct is None and maker_pct is None:
        return base
    keys = [k for k, v in (("commission_pct", taker_pct), ("maker_commission_pct", maker_pct)) if v is not None]
    source = "params override (" + ", ".join(f"backtest.{k}" for k in keys) + ")"
    if len(keys) == 1:
        source += f"; {'maker' if keys[0] == 'commission_pct' else 'taker'} from {base.source}"
    return replace(
        base,
        taker=base.taker if taker_pct is None else taker_pct / 100.0,
        maker=base.maker if maker_pct is None else maker_pct / 100.0,
        source=source,
    )


def venue_schedule(params: Any, data_dir: Path | None = None) -> FeeSchedule:
    """What the venue charges `params.market.coin`: its cached answer under the data dir, else the default."""
    coin = params.market.coin
    if data_dir is None:
        from backtest.data.load import data_root  # the store's root; imported here: the data layer imports venue

        data_dir = data_root(params)
    return load_cache(data_dir, coin) or default_schedule(coin)


def resolve_fees(params: Any, data_dir: Path | None = None, recorded: dict[str, Any] | None = None) -> FeeSchedule:
    """The schedule a backtest of `params.market.coin` charges: the params override when set; else `recorded` (the
    venue schedule a dataset's provenance carries: `load_dataset` stamps it where the data was loaded, so a Ray
    worker charges what the driver read); else the cached venue answer; else the documented default."""
    coin = params.market.coin
    base = None
    if recorded and recorded.get("coin") == coin:
        base = FeeSchedule.from_dict(recorded)
    base = base or venue_schedule(params, data_dir)
    bt = params.backtest
    return with_overrides(base, bt.commission_pct, bt.maker_commission_pct)
