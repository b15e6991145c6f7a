"""A loopback HyperLiquid-compatible paper exchange that the unmodified `hyperliquid-python-sdk` trades against.

Ports and adapters: `wire` (JSON in: strict parsing) and `shapes` (JSON out), `orders` (domain objects: orders,
requests, outcomes, fills), `markets` (universe, tick/lot rules), `prices` (bar replay, intrabar path, book levels),
`signing` (EIP-712 verification, nonces), `accounts` (positions, margin, PnL, funding, liquidation rules), `engine`
(the state machine, in domain objects only, built of `ledger` (state and its snapshot), `pricing` (marks, book,
fees), `validation` (per-order checks), `matching` (orders, triggers, fills), `margin` (margin checks, leverage,
liquidation), `funding` and `agents`), `invariants` (state checks for tests), `faults` (seeded fault injection),
`journal` + `state` (write-ahead journal and snapshots), `http_api` / `ws_api` (transport) and `server`
(composition, runner). See docs/PAPER_EXCHANGE.md.
"""
