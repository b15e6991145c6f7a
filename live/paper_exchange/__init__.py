"""A loopback HyperLiquid-compatible paper exchange that the unmodified `hyperliquid-python-sdk` trades against.

Ports and adapters: `markets` (universe, tick/lot rules), `prices` (bar replay, intrabar path, book),
`signing` (EIP-712 verification, nonces), `accounts` (positions, margin, PnL, funding, liquidation),
`matching` (orders, triggers, fills), `faults` (seeded fault injection), `state` (persistence),
`http_api` / `ws_api` (the wire protocol) and `server` (composition, runner). See docs/PAPER_EXCHANGE.md.
"""
