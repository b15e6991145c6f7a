"""Accounts: one-way positions, entry price, cross/isolated margin, realised/unrealised PnL, funding, liquidation.

One USDC balance per address backs every dex (the clearinghouseState of each dex shows that dex's positions and
the account-wide margin summary). Isolated margin is moved out of the balance into the position when it opens.
Maintenance margin is half the initial margin at the market's maximum leverage, as on HyperLiquid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from live.paper_exchange.markets import Market

EPS = 1e-12


@dataclass
class Position:
    """A one-way position: `szi` > 0 long, < 0 short."""

    coin: str
    szi: float
    entry_px: float
    leverage: int
    is_cross: bool
    margin: float = 0.0  # isolated only
    funding_all: float = 0.0
    funding_open: float = 0.0
    funding_change: float = 0.0


@dataclass
class Account:
    address: str
    balance: float
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, list[Any]] = field(default_factory=dict)  # coin -> [leverage, is_cross]
    funding_paid: float = 0.0
    backstop: float = 0.0  # losses beyond the account's collateral (a gap through liquidation), absorbed

    def leverage_for(self, market: Market, default: int) -> tuple[int, bool]:
        lev, cross = self.leverage.get(market.name, (min(default, market.max_leverage), True))
        return int(lev), bool(cross)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["positions"] = {k: asdict(p) for k, p in self.positions.items()}
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Account:
        acct = cls(d["address"], float(d["balance"]), {}, dict(d.get("leverage", {})), float(d.get("funding_paid", 0)))
        acct.backstop = float(d.get("backstop", 0.0))
        acct.positions = {k: Position(**p) for k, p in d.get("positions", {}).items()}
        return acct


@dataclass
class FillEffect:
    """What a fill did to the position, for the fill record."""

    start_position: float
    direction: str
    closed_pnl: float
    flat: bool


def _direction(old: float, new: float, is_buy: bool) -> str:
    if old == 0 or (old > 0) == is_buy:
        return "Open Long" if is_buy else "Open Short"
    if abs(new) <= EPS or (new > 0) == (old > 0):
        return "Close Short" if is_buy else "Close Long"
    return "Short > Long" if is_buy else "Long > Short"


def apply_fill(
    acct: Account, market: Market, is_buy: bool, sz: float, px: float, fee: float, default_lev: int
) -> FillEffect:
    """Net a fill into the account: entry price, realised PnL, isolated margin moves, fee."""
    pos = acct.positions.get(market.name)
    old = pos.szi if pos else 0.0
    signed = sz if is_buy else -sz
    new = round(old + signed, market.sz_decimals)
    direction = _direction(old, new, is_buy)
    lev, cross = acct.leverage_for(market, default_lev)
    closed = 0.0
    if pos is None or old == 0 or (old > 0) == is_buy:
        if pos is None:
            pos = Position(market.name, 0.0, px, lev, cross)
            acct.positions[market.name] = pos
        pos.entry_px = (abs(old) * pos.entry_px + sz * px) / abs(new)
        pos.szi = new
        if not pos.is_cross:
            add = sz * px / pos.leverage
            pos.margin += add
            acct.balance -= add
    else:
        close_sz = min(sz, abs(old))
        closed = close_sz * (px - pos.entry_px) * (1 if old > 0 else -1)
        acct.balance += closed
        if not pos.is_cross:
            release = pos.margin * close_sz / abs(old)
            pos.margin -= release
            acct.balance += release
        rest = sz - close_sz
        if rest > EPS and abs(new) > EPS:  # flipped
            pos.szi, pos.entry_px = new, px
            pos.leverage, pos.is_cross = lev, cross
            pos.funding_open = pos.funding_change = 0.0
            if not cross:
                pos.margin = rest * px / lev
                acct.balance -= pos.margin
        else:
            pos.szi = new
    acct.balance -= fee
    flat = abs(new) <= EPS
    if flat:
        acct.balance += pos.margin
        del acct.positions[market.name]
    return FillEffect(old, direction, closed, flat)


def unrealised(pos: Position, mark: float) -> float:
    return pos.szi * (mark - pos.entry_px)


def maintenance_rate(market: Market) -> float:
    return 1.0 / (2.0 * market.max_leverage)


@dataclass
class Valuation:
    account_value: float
    cross_value: float  # balance + cross unrealised PnL
    total_ntl: float
    margin_used: float
    cross_margin_used: float
    cross_maintenance: float


def value(acct: Account, markets: dict[str, Market], marks: dict[str, float]) -> Valuation:
    """Account-wide figures at the given marks."""
    cross_upnl = iso = ntl = used = cross_used = cross_maint = 0.0
    for coin, p in acct.positions.items():
        mark = marks[coin]
        u = unrealised(p, mark)
        n = abs(p.szi) * mark
        ntl += n
        if p.is_cross:
            cross_upnl += u
            m = n / p.leverage
            used += m
            cross_used += m
            cross_maint += n * maintenance_rate(markets[coin])
        else:
            iso += p.margin + u
            used += p.margin + u
    cross_value = acct.balance + cross_upnl
    return Valuation(cross_value + iso, cross_value, ntl, used, cross_used, cross_maint)


def liquidation_px(acct: Account, pos: Position, market: Market, val: Valuation, mark: float) -> float | None:
    """Price at which this position's backing equity equals its maintenance margin (others held at mark)."""
    mmr = maintenance_rate(market)
    if pos.is_cross:
        backing = val.cross_value - unrealised(pos, mark) - (val.cross_maintenance - abs(pos.szi) * mark * mmr)
    else:
        backing = pos.margin
    denom = pos.szi - abs(pos.szi) * mmr
    if abs(denom) < EPS:
        return None
    px = (pos.szi * pos.entry_px - backing) / denom
    return px if px > 0 else None


def apply_funding(acct: Account, pos: Position, mark: float, rate: float) -> float:
    """Charge one hour of funding on `pos`; returns the payment (positive = paid by the account)."""
    pay = pos.szi * mark * rate
    if pos.is_cross:
        acct.balance -= pay
    else:
        pos.margin -= pay
    pos.funding_all += pay
    pos.funding_open += pay
    pos.funding_change += pay
    acct.funding_paid += pay
    return pay


def needs_liquidation(acct: Account, markets: dict[str, Market], marks: dict[str, float]) -> list[str]:
    """Coins to liquidate: every cross position when cross equity < cross maintenance; isolated one by one."""
    val = value(acct, markets, marks)
    out = []
    if val.cross_maintenance > 0 and val.cross_value < val.cross_maintenance:
        out.extend(c for c, p in acct.positions.items() if p.is_cross)
    for c, p in acct.positions.items():
        if not p.is_cross:
            mark = marks[c]
            if p.margin + unrealised(p, mark) < abs(p.szi) * mark * maintenance_rate(markets[c]):
                out.append(c)
    return out
