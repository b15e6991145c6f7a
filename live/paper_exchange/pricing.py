"""Prices the engine trades at: marks from the replay, the synthetic book around them, the fee rates.

The book depends only on the mid, so the last one per market is memoised: every order between two replay steps
reuses it instead of rebuilding and re-rounding its levels.
"""

from __future__ import annotations

from live.paper_exchange.config import PaperExchangeConfig
from live.paper_exchange.markets import Market, Universe, round_px
from live.paper_exchange.prices import PriceFeed, book_levels

Levels = tuple[tuple[float, float], ...]  # (price, size), best first
Book = tuple[Levels, Levels]  # (bids descending, asks ascending)
TRIGGER_SLIPPAGE = 0.10  # a triggered market order walks the book at most 10 % from its reference price


class Pricing:
    """Marks, books and fees of every market (see the module docstring)."""

    def __init__(self, cfg: PaperExchangeConfig, universe: Universe, feed: PriceFeed) -> None:
        self.cfg, self.universe, self.feed = cfg, universe, feed
        self._books: dict[str, tuple[float, Book]] = {}  # market -> (mid, book) of the last book built

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
            return tuple((round_px(p, market), max(int(s * lot) / lot, 1 / lot)) for p, s in levels)

        book = (fix(bids), fix(asks))
        self._books[market.name] = (mid, book)
        return book

    def fee_rate(self, market: Market, maker: bool) -> float:
        base = self.cfg.maker_fee if maker else self.cfg.taker_fee
        return base * (self.cfg.hip3_fee_multiplier if market.is_builder else 1.0)
