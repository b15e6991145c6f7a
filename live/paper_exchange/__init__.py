"""A loopback HyperLiquid-compatible paper exchange that the unmodified `hyperliquid-python-sdk` trades against.

Ports and adapters: `wire` (every JSON shape in and out), `orders` (domain objects: orders, requests, outcomes,
fills), `markets` (universe, tick/lot rules), `prices` (bar replay, intrabar path, book), `signing` (EIP-712
verification, nonces), `accounts` (positions, margin, PnL, funding, liquidation), `matching` (the engine: orders,
triggers, fills; it speaks domain objects only), `invariants` (state checks for tests), `faults` (seeded fault
injection), `journal` + `state` (write-ahead journal and snapshots), `http_api` / `ws_api` (transport) and
`server` (composition, runner). See docs/PAPER_EXCHANGE.md.
"""
