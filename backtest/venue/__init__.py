"""HyperLiquid, client side, in one place: the adapter the data layer and the live trader both use.

It sits under `backtest` so that data flows one way (`backtest` never imports `rl` or `live`; both import this).
The live trader's bar feed (reconnect, backfill, polling) is built on `feed.py` in `live/feed.py`.

| module | job |
|---|---|
| `sdk.py` | build the SDK's `Info` / `Exchange` for a base URL and dex (HIP-3 needs `perp_dexs`), venue URLs |
| `retry.py` | retry with exponential backoff and jitter (429, 5xx, timeouts, connection errors) |
| `ratelimit.py` | the REST weight budget (1200 a minute) as a token bucket, and each call's weight |
| `feed.py` | the candle WebSocket client (`SdkFeed`, the `FeedClient` protocol), closed-candle assembly |
| `wire.py` | wire shapes (JSON, prices as strings) <-> domain objects (`backtest.domain`: Bar, Position, Fill, ...) |
| `rules.py` | an asset's tick and lot rules: price and size rounding, minimum order value |
| `calendar.py` | market hours: when a HIP-3 perp's price follows its outside market (XYZ100: CME's NQ session) |
| `quirks.py` | what this venue (and the SDK) can and cannot do, as a capability table |
"""
