"""HyperLiquid in one place: what the venue is (its rules, fees, limits, error texts, market hours) and the client
adapter the data layer and the live trader use. The one home of every venue fact: the simulator, the live trader and
the paper exchange read them here, nothing restates them.

It sits under `backtest` so that data flows one way (`backtest` never imports `rl` or `live`; both import this).
The live trader's bar feed (reconnect, backfill, polling) is built on `feed.py` in `live/feed.py`.

| module | job |
|---|---|
| `rules.py` | the rules table: tick, lot, $10 minimum, leverage, margin mode, trigger slippage, asset ids; rounding |
| `fees.py` | the fee schedule (tiers, HIP-3 multiple, growth mode, `userFees`): read, cached, a default per market |
| `limits.py` | request limits and kept history: 5000 candles, 2000 fills an answer, REST weights, WebSocket limits |
| `errors.py` | the venue's error texts (and the paper exchange's own wording where the venue documents none) |
| `calendar.py` | market hours: when a HIP-3 perp's price follows its outside market (XYZ100: CME's NQ session) |
| `sdk.py` | build the SDK's `Info` / `Exchange` for a base URL and dex (HIP-3 needs `perp_dexs`), venue URLs |
| `retry.py` | retry with exponential backoff and jitter (429, 5xx, timeouts, connection errors) |
| `ratelimit.py` | the REST weight budget (1200 a minute) as a token bucket, and each call's weight |
| `feed.py` | the candle WebSocket client (`SdkFeed`, the `FeedClient` protocol), closed-candle assembly |
| `wire.py` | wire shapes (JSON, prices as strings) <-> domain objects (`backtest.domain`: Bar, Position, Fill, ...) |
| `quirks.py` | what this venue (and the SDK) can and cannot do, as a capability table |
"""
