"""Hourly funding: at the first replay step of a new UTC hour every open position pays (or receives) the rate."""

from __future__ import annotations

from live.paper_exchange import accounts as acc
from live.paper_exchange.ledger import Ledger
from live.paper_exchange.prices import PriceFeed
from live.paper_exchange.pricing import Pricing


def charge_funding(ledger: Ledger, pricing: Pricing, feed: PriceFeed, rate: float, bar: int) -> None:
    """Funding on every position when bar `bar` opens a new hour (longs pay a positive `rate`); one event each."""
    t = feed.t_ms
    if bar == 0 or t[bar] // 3_600_000 == t[bar - 1] // 3_600_000 or rate == 0:
        return
    marks = pricing.marks()
    for a in ledger.accounts.values():
        for coin, p in a.positions.items():
            pay = acc.apply_funding(a, p, marks[coin], rate)
            ledger.events.append(("funding", a.address, (coin, pay, p.szi, rate)))
