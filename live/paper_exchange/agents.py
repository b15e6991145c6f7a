"""Accounts and API (agent) wallets: funding an address, which account a signer acts for, approving an agent.

An agent signs L1 actions (orders, cancels, leverage) for its master and nothing else; a master has at most
`MAX_NAMED_AGENTS` named agents and one unnamed, and approving a name already in use replaces that agent, as on
HyperLiquid.
"""

from __future__ import annotations

import math

from live.paper_exchange import accounts as acc
from live.paper_exchange.ledger import Ledger
from live.paper_exchange.orders import Agent, ApproveAgent

MAX_NAMED_AGENTS = 3  # per master, plus one unnamed


def fund(ledger: Ledger, address: str, usd: float) -> acc.Account:
    """Credit `usd` to `address` (the account is opened on first funding)."""
    if not math.isfinite(usd) or usd < 0:
        raise ValueError(f"funding must be a finite amount >= 0, got {usd!r}")
    address = address.lower()
    a = ledger.accounts.get(address)
    if a is None:
        a = ledger.accounts[address] = acc.Account(address, 0.0)
    a.balance += usd
    return a


def account_for(ledger: Ledger, signer: str) -> str | None:
    """The account an L1 action signed by `signer` acts for: itself, or an approved agent's master."""
    if signer in ledger.accounts:
        return signer
    agent = ledger.agents.get(signer)
    return agent.master if agent is not None and agent.master in ledger.accounts else None


def approve_agent(ledger: Ledger, master: str, a: ApproveAgent) -> str | None:
    """Approve `a.agent` to sign L1 actions for `master`; the real API's error text, or None."""
    if a.chain != "Testnet":
        return (
            f"approveAgent signed for hyperliquidChain {a.chain!r}; this exchange is 'Testnet' (the SDK signs "
            "'Testnet' for every URL but mainnet's)."
        )
    if a.agent == master or a.agent in ledger.accounts:
        return f"Agent address {a.agent} is a user account; generate a fresh key for the API wallet."
    held = ledger.agents.get(a.agent)
    if held is not None and held.master != master:
        return f"Agent {a.agent} is already approved for another account."
    mine = {ag.name: ag for ag in ledger.agents.values() if ag.master == master and ag.address != a.agent}
    if a.name and a.name not in mine and sum(1 for n in mine if n) >= MAX_NAMED_AGENTS:
        return f"Too many named agents (at most {MAX_NAMED_AGENTS} and one unnamed); reuse a name to replace one."
    replaced = mine.get(a.name)
    if replaced is not None:
        del ledger.agents[replaced.address]
    ledger.agents[a.agent] = Agent(a.agent, master, a.name)
    return None
