"""Margin and liquidation: whether an order or a leverage change fits the account, and closing out accounts that
fall below maintenance margin (the valuation rules themselves are `accounts.py`'s).

An order needs margin only for the exposure it adds, at a conservative price (the worst book level it reaches now),
fee included; isolated margin must also fit the cash balance it moves out of. A liquidated position goes whole at the
book; an isolated loss never exceeds its margin and a bankrupt cross account's shortfall goes to a backstop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backtest.venue.errors import ERR_ASSET, ERR_LEVERAGE, ERR_LEVERAGE_MARGIN, ERR_LEVERAGE_TYPE, ERR_MARGIN
from backtest.venue.rules import trigger_limit
from live.paper_exchange import accounts as acc
from live.paper_exchange.config import PaperExchangeConfig
from live.paper_exchange.ledger import Ledger
from live.paper_exchange.markets import Market, Universe
from live.paper_exchange.orders import Order, UpdateLeverage
from live.paper_exchange.pricing import Pricing

if TYPE_CHECKING:
    from live.paper_exchange.matching import Matcher

EPS = 1e-9


class Margin:
    """Margin checks and leverage changes over the ledger's accounts."""

    def __init__(self, cfg: PaperExchangeConfig, universe: Universe, ledger: Ledger, pricing: Pricing) -> None:
        self.cfg, self.universe, self.ledger, self.pricing = cfg, universe, ledger, pricing

    def valuation(self, a: acc.Account) -> acc.Valuation:
        return acc.value(a, self.universe.by_name, self.pricing.marks())

    def fill_price_estimate(self, order: Order, market: Market, ref: float | None = None) -> float:
        """A conservative price for the margin check: the worst book level the order reaches now (`ref` = the mid a
        fired trigger trades around), the limit of an order that will rest, or the trigger of an untriggered one."""
        mark = self.pricing.mark(market.name) if ref is None else ref
        if order.is_trigger and ref is None:
            return max(mark, order.trigger_px or 0.0)
        if order.is_trigger and order.is_market:
            limit = trigger_limit(mark, order.is_buy)
        else:
            limit = order.px
        bids, asks = self.pricing.book(market, ref)
        worst, left = None, order.sz
        for px, avail in asks if order.is_buy else bids:
            if px > limit if order.is_buy else px < limit:
                break
            worst, left = px, left - avail
            if left <= 0:
                break
        return max(mark, order.px if worst is None else worst)

    def error(self, order: Order, market: Market, px: float) -> str | None:
        """Insufficient margin when the exposure the order adds needs more than the free margin (and, isolated, the
        cash balance it is moved out of), fee included."""
        a = self.ledger.accounts[order.user]
        pos = self.ledger.position(order.user, order.coin)
        signed = order.sz if order.is_buy else -order.sz
        increase = max(0.0, abs(pos + signed) - abs(pos))
        if increase <= 0:
            return None
        lev, cross = a.leverage_for(market, self.cfg.default_leverage)
        notional = increase * px
        need = notional / lev + notional * self.pricing.fee_rate(market, False)
        val = self.valuation(a)
        if need > val.account_value - val.margin_used + EPS or (not cross and need > a.balance + EPS):
            return ERR_MARGIN
        return None

    def update_leverage(self, user: str, u: UpdateLeverage) -> str | None:
        """Set leverage (and cross/isolated) for a coin; refused when the account could not carry it.

        Lowering leverage on an open position locks more margin: isolated, the extra margin moves out of the cash
        balance and must fit both it and the free margin; cross, the margin used must stay within account value.
        Raising leverage on an isolated position leaves its margin in place (nothing is released).
        """
        market = self.universe.by_asset.get(u.asset)
        if market is None:
            return ERR_ASSET
        if not 1 <= u.leverage <= market.max_leverage:
            return ERR_LEVERAGE
        a = self.ledger.accounts[user]
        pos = a.positions.get(market.name)
        if pos is not None and pos.is_cross != u.is_cross:
            return ERR_LEVERAGE_TYPE
        if pos is not None:
            if pos.is_cross:
                old = pos.leverage
                pos.leverage = u.leverage
                val = self.valuation(a)
                if u.leverage < old and val.margin_used > val.account_value + EPS:
                    pos.leverage = old
                    return ERR_LEVERAGE_MARGIN
            else:
                need = abs(pos.szi) * pos.entry_px / u.leverage
                extra = need - pos.margin
                if extra > 0:
                    val = self.valuation(a)
                    if extra > val.account_value - val.margin_used + EPS or extra > a.balance + EPS:
                        return ERR_LEVERAGE_MARGIN
                    a.balance -= extra
                    pos.margin = need
                pos.leverage = u.leverage
        a.leverage[market.name] = [u.leverage, u.is_cross]
        return None


def liquidate(ledger: Ledger, pricing: Pricing, matcher: Matcher, now_ms: int) -> None:
    """Close out every position of an account below maintenance margin, at the book (after each replay step)."""
    marks = pricing.marks()
    markets = pricing.universe.by_name
    for a in ledger.accounts.values():
        if not a.positions:
            continue
        for coin in acc.needs_liquidation(a, markets, marks):
            p = a.positions.get(coin)
            if p is None:
                continue
            market = markets[coin]
            floor = a.balance if not p.is_cross else None  # an isolated loss never exceeds its margin
            o = Order(0, a.address, coin, p.szi < 0, 0.0, abs(p.szi), abs(p.szi), True, now_ms)
            o.tif = "Ioc"
            ledger.new_oid(o)
            bids, asks = pricing.book(market)
            levels = asks if o.is_buy else bids
            for px, avail in levels:  # the whole position goes, at the book (deeper levels if needed)
                if o.sz <= 1e-12:
                    break
                q = round(min(o.sz, avail), market.sz_decimals)
                matcher.fill(o, market, px, q, maker=False, liquidation=True)
                o.sz = round(o.sz - q, market.sz_decimals)
            matcher.close(o, "filled")
            if floor is not None and a.balance < floor:
                a.backstop += floor - a.balance
                a.balance = floor
            ledger.events.append(("liquidation", a.address, coin))
        if a.balance < 0 and not any(p.is_cross for p in a.positions.values()):
            a.backstop -= a.balance  # bankrupt cross account: the backstop absorbs what the collateral cannot
            a.balance = 0.0
