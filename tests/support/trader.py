"""Settings and moves for live trader tests on the paper exchange: busy rules; a crash and a restart of a rig's
trader."""

# the RSI/MACD rules with wide thresholds and no MACD confirmation: they trade every few bars
RULES_BUSY = ["trading.rsi_buy_below=45", "trading.rsi_sell_above=55", "trading.macd_confirm=false"]


def crash(rig) -> None:
    """Leave the rig's trader as a kill -9 would: no stop record, no flatten, files as they are."""
    rig.trader.stopped = True
    rig.trader.venue.feed.close()
    rig.trader.journal.close()


def restart(rig, strategy_factory):
    """A new trader on the rig's paper exchange, account and journal folder (a restart after `crash`), started."""
    from backtest.venue.ratelimit import WeightBudget
    from live.journal import Journal
    from live.keys import Redactor
    from live.trader import Trader
    from live.venue import connect_venue

    old, p = rig.trader, rig.params
    venue = connect_venue(rig.server.url, p.market.coin, p.market.dex, old.venue.signer, p.live.order_timeout_s,
                          p.backtest.interval, p.live.stale_feed_seconds, source="paper")  # fmt: skip
    venue.feed.budget = WeightBudget(capacity=1e9)
    journal = Journal(rig.root, redactor=Redactor.for_signer(old.venue.signer))
    rig.trader = Trader(old.id, p, rig.objectives, strategy_factory(p), venue, journal)
    rig.trader.start()
    return rig.trader
