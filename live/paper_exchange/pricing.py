"""Prices the engine trades at: marks from the replay, the synthetic book around them, the fee rates (the venue's
rounding and fee formula, from `backtest/venue/`).

The book depends only on the mid, so the last one per market is memoised: every order between two replay steps
reuses it instead of rebuilding and re-rounding its levels.
"""

from __future__ import annotations

from backtest.venue.fees import BASE_TIERS, MarketFees
from backtest.venue.rules import round_price
from live.paper_exchange.config import PaperExchangeConfig
from live.paper_exchange.markets import Market, Universe
from live.paper_exchange.prices import PriceFeed, book_levels

Levels = tuple[tuple[float, float], ...]  # (price, size), best first
Book = tuple[Levels, Levels]  # (bids descending, asks ascending)


class Pricing:
    """Marks, books and fees of every market (see the module docstring)."""

    def __init__(self, cfg: PaperExchangeConfig, universe: Universe, feed: PriceFeed) -> None:
        self.cfg, self.universe, self.feed = cfg, universe, feed
        self._books: dict[str, tuple[float, Book]] = {}  # market -> (mid, book) of the last book built
        tier0 = BASE_TIERS[0]
        self.base_rates = (  # every account's (its userFees userCrossRate / userAddRate)
            tier0.taker if cfg.taker_fee is None else cfg.taker_fee,
            tier0.maker if cfg.maker_fee is None else cfg.maker_fee,
        )
        self._rates = {m.name: self.market_fees(m).rates(*self.base_rates) for m in universe.markets()}

    def mark(self, coin: str) -> float:
        return self.feed.price * self.universe.by_name[coin].scale

    def marks(self) -> dict[str, float]:
        p = self.feed.price
        return {m.name: p * m.scale for m in self.universe.markets()}

    def book(self, market: Market, mid: float | None = None) -> Book:
        """Rounded (price, size) levels around `mid` (the mark by default): bids descending, asks ascending."""
        mid = self.mark(market.name) if mid is None else mid
        hit = self._books.get(market.name)
        if hit is not None and hit[0] == mid:
            return hit[1]
        c = self.cfg
        bids, asks = book_levels(mid, c.spread_bps, c.book_levels, c.level_step_bps, c.level_notional)
        lot = 10**market.sz_decimals

        def fix(levels: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
            return tuple((round_price(p, market.sz_decimals), max(int(s * lot) / lot, 1 / lot)) for p, s in levels)

        book = (fix(bids), fix(asks))
        self._books[market.name] = (mid, book)
        return book

    def market_fees(self, market: Market) -> MarketFees:
        """The market's fee facts: a builder-dex market is HIP-3 at the configured deployer fee scale and mode."""
        if not market.is_builder:
            return MarketFees(market.name, hip3=False)
        return MarketFees(market.name, True, self.cfg.deployer_fee_scale, self.cfg.growth_mode)

    def fee_rate(self, market: Market, maker: bool) -> float:
        """What a fill on `market` pays per unit of notional: the venue's formula (`backtest.venue.fees`)."""
        taker, maker_rate = self._rates[market.name]
        return maker_rate if maker else taker
