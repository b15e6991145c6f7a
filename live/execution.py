"""Orders on the venue through the SDK's `Exchange`: client order ids, lookup before any resend, the weight budget.

Every order carries a client order id derived from (policy, bar, leg) by the caller (`backtest.venue.wire.cloid_for`),
is journalled before it is sent, and its answer after. Orders are IOC ("market"), post-only limits (`Alo`: a maker
style, `live.resting`; the venue's post-only rejection is an answer, `rejected`, never retried) or reduce-only TP/SL
triggers. When a call times out, fails with a 5xx or 429 or loses its
connection, the order is looked up by its cloid before anything is resent; a resend reuses the same cloid, which the
venue refuses to place twice. Every call reports success or failure to `on_call` (the circuit breaker) and waits for
its weight in the REST budget. Every action is signed with a nonce from `nonces` (`live.lock.NonceSource`: strictly
increasing per signer, across processes when it is file-backed), never one the venue saw before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from backtest.domain import AccountState, Fill, OpenOrder, OrderStatus
from backtest.venue.errors import is_duplicate_cloid, is_gone, is_post_only_rejection
from backtest.venue.limits import WEIGHT_INFO, WEIGHT_LIGHT, exchange_weight
from backtest.venue.ratelimit import WeightBudget
from backtest.venue.retry import RetryPolicy, describe_error, is_retryable
from backtest.venue.rules import AssetRules, trigger_limit
from backtest.venue.wire import (
    OrderAck,
    parse_account,
    parse_cancel_response,
    parse_fills,
    parse_open_orders,
    parse_order_response,
    parse_order_status,
)
from live.journal import Journal
from live.lock import NonceSource, signing
from live.resting import OrderFills

log = logging.getLogger(__name__)
W_EXCHANGE, W_LIGHT, W_HEAVY = exchange_weight(1), WEIGHT_LIGHT, WEIGHT_INFO  # the venue's REST weights


@dataclass(frozen=True)
class OrderIntent:
    """One order the trader wants: an IOC ("market") order, a post-only limit (tif "Alo"), a reduce-only TP/SL
    trigger, or a reduce-only resting take-profit limit (tif "Gtc": `execution.take_profit` = maker)."""

    cloid: str
    is_buy: bool
    size: float
    limit_px: float
    reduce_only: bool = False
    trigger_px: float | None = None
    tpsl: str | None = None  # "tp" | "sl" for triggers
    leg: str = ""
    reason: str = ""  # open | close | max_hold | emergency | stop | tp | sl | reconcile
    decision_px: float | None = None  # the bar close the decision was taken at (for slippage)
    bar_ms: int | None = None
    tif: str = "Ioc"  # "Ioc" | "Alo" (post-only) | "Gtc" (a maker take-profit) for limit orders

    @property
    def kind(self) -> str:
        if self.trigger_px is not None:
            return "trigger"
        return {"Alo": "alo", "Gtc": "gtc"}.get(self.tif, "ioc")

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v != ""}


class ExchangeUnavailable(RuntimeError):
    """A read from the venue kept failing (the message says which and the last error)."""


class Execution:
    """The trader's hands on the venue for one coin and account."""

    def __init__(
        self,
        exchange: Any,
        info: Any,
        account: str,
        coin: str,
        dex: str,
        rules: AssetRules,
        journal: Journal,
        on_call: Callable[[bool], None] = lambda ok: None,
        budget: WeightBudget | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_send: Callable[[OrderIntent], None] | None = None,
        nonces: NonceSource | None = None,
    ) -> None:
        self.exchange, self.info = exchange, info
        self.account, self.coin, self.dex, self.rules = account, coin, dex, rules
        self.journal = journal
        self.on_call = on_call
        self.budget = budget or WeightBudget()
        self.policy = policy or RetryPolicy(max_attempts=4, base_delay_s=0.25, max_delay_s=4.0)
        self.sleep = sleep
        self.on_send = on_send  # told of every order just before it goes to the SDK (the latency benchmark)
        self.nonces = nonces or NonceSource()  # in memory unless the trader hands in its signer's shared one
        self.stats = {"orders": 0, "resends": 0, "lookups": 0, "found_by_lookup": 0, "errors": 0}

    # --- reads ------------------------------------------------------------------------------------------------
    def _read(self, what: str, weight: int, fn: Callable[[], Any]) -> Any:
        last: BaseException | None = None
        for attempt in range(self.policy.max_attempts):
            self.budget.acquire(weight)
            try:
                out = fn()
                self.on_call(True)
                return out
            except Exception as exc:
                self.on_call(False)
                last = exc
                if not is_retryable(exc):
                    break
                if attempt + 1 < self.policy.max_attempts:
                    self.sleep(self.policy.delay(attempt))
        raise ExchangeUnavailable(f"{what} failed: {describe_error(last) if last else 'unknown error'}")

    def account_state(self) -> AccountState:
        return parse_account(
            self._read("clearinghouseState", W_LIGHT, lambda: self.info.user_state(self.account, self.dex))
        )

    def open_orders(self) -> list[OpenOrder]:
        rows = self._read("frontendOpenOrders", W_HEAVY, lambda: self.info.frontend_open_orders(self.account, self.dex))
        return [o for o in parse_open_orders(rows) if o.coin == self.coin]

    def fills_since(self, start_ms: int) -> list[Fill]:
        rows = self._read("userFillsByTime", W_HEAVY, lambda: self.info.user_fills_by_time(self.account, int(start_ms)))
        return [f for f in parse_fills(rows) if f.coin == self.coin]

    def order_status(self, cloid: str) -> OrderStatus:
        from hyperliquid.utils.types import Cloid

        self.stats["lookups"] += 1
        answer = self._read(
            f"orderStatus {cloid}", W_LIGHT, lambda: self.info.query_order_by_cloid(self.account, Cloid(cloid))
        )
        return parse_order_status(answer)

    def order_fills(self, cloid: str, since_ms: int) -> OrderFills:
        """What became of one order: its status by cloid and its fills since `since_ms` (venue time) by oid or
        cloid, each trade id counted once."""
        st = self.order_status(cloid)
        if not st.found:
            return OrderFills(False, st.status, None)
        seen: dict[int, Fill] = {}
        for f in self.fills_since(since_ms):
            if f.oid == st.oid or f.cloid == cloid:
                seen.setdefault(f.tid, f)
        fills = list(seen.values())
        size = sum(f.size for f in fills)
        if not fills or size <= 0:
            return OrderFills(True, st.status, st.oid)
        avg = sum(f.size * f.px for f in fills) / size
        times = [f.time_ms for f in fills]
        return OrderFills(True, st.status, st.oid, size, avg, min(times), max(times), tuple(sorted(seen)))

    def best_bid_ask(self) -> tuple[float, float]:
        """The venue's touch now (`l2Book`): (best bid, best ask), where a post-only order is priced."""
        book = self._read("l2Book", W_LIGHT, lambda: self.info.l2_snapshot(self.coin))
        try:
            bids, asks = book["levels"]
            return float(bids[0]["px"]), float(asks[0]["px"])
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ExchangeUnavailable(f"l2Book of {self.coin} without a touch: {exc!r}") from None

    # --- orders -----------------------------------------------------------------------------------------------
    def _signed(self, action: Callable[[], Any]) -> Any:
        """Call one SDK action, signed with the next nonce of this signer (never one used before, by any process)."""
        with signing(self.nonces.next()):
            return action()

    def _send(self, intent: OrderIntent) -> Any:
        from hyperliquid.utils.types import Cloid

        if self.on_send is not None:
            self.on_send(intent)
        if intent.trigger_px is not None:
            order_type: dict[str, Any] = {
                "trigger": {"triggerPx": intent.trigger_px, "isMarket": True, "tpsl": intent.tpsl or "sl"}
            }
        else:
            order_type = {"limit": {"tif": intent.tif}}
        self.budget.acquire(W_EXCHANGE)
        return self._signed(
            lambda: self.exchange.order(
                self.coin,
                intent.is_buy,
                intent.size,
                intent.limit_px,
                order_type,
                reduce_only=intent.reduce_only,
                cloid=Cloid(intent.cloid),
            )
        )

    def _ack_from_status(self, intent: OrderIntent, st: OrderStatus) -> OrderAck:
        """What a looked-up order amounts to (its fills give the average price of what filled)."""
        if st.status in ("open", "triggered"):
            return OrderAck("resting", oid=st.oid, cloid=intent.cloid)
        if st.filled_size > 0 or st.status == "filled":
            fills = [f for f in self._recent_fills() if f.oid == st.oid or f.cloid == intent.cloid]
            size = sum(f.size for f in fills) or st.filled_size
            avg = sum(f.size * f.px for f in fills) / size if fills and size > 0 else None
            return OrderAck("filled", oid=st.oid, cloid=intent.cloid, filled_size=size, avg_px=avg)
        return OrderAck("error", oid=st.oid, cloid=intent.cloid, error=f"order {st.status}")

    def _recent_fills(self) -> list[Fill]:
        try:
            return self.fills_since(int(time.time() * 1000) - 3_600_000 * 24)
        except ExchangeUnavailable:
            return []

    def submit(self, intent: OrderIntent) -> OrderAck:
        """Place `intent` once: journal, send, and on a lost answer look it up by cloid before resending."""
        self.stats["orders"] += 1
        self.journal.write("order", order_type=intent.kind, **intent.to_dict())
        last_error = ""
        for attempt in range(self.policy.max_attempts):
            if attempt > 0:
                try:
                    st = self.order_status(intent.cloid)
                except ExchangeUnavailable as exc:
                    last_error = str(exc)
                    self.sleep(self.policy.delay(attempt))
                    continue
                if st.found:
                    self.stats["found_by_lookup"] += 1
                    ack = self._ack_from_status(intent, st)
                    self._journal_ack(intent, ack, attempt, via="lookup")
                    return ack
                self.stats["resends"] += 1
                self.journal.write("order_resend", cloid=intent.cloid, attempt=attempt, after=last_error)
            try:
                response = self._send(intent)
            except Exception as exc:
                self.on_call(False)
                last_error = describe_error(exc)
                if not is_retryable(exc):
                    ack = OrderAck("error", cloid=intent.cloid, error=last_error)
                    self._journal_ack(intent, ack, attempt)
                    return ack
                log.warning("order %s: %s; looking it up before any resend", intent.cloid, last_error)
                self.journal.write("order_unanswered", cloid=intent.cloid, attempt=attempt, error=last_error)
                self.sleep(self.policy.delay(attempt))
                continue
            self.on_call(True)
            ack = parse_order_response(response)[0]
            if not ack.ok and intent.tif == "Alo" and is_post_only_rejection(ack.error):
                ack = OrderAck("rejected", cloid=intent.cloid, error=ack.error)  # an answer: journalled, not retried
            if not ack.ok and is_duplicate_cloid(ack.error):
                # an earlier attempt landed after all: the venue refused a second copy; report the first
                try:
                    ack = self._ack_from_status(intent, self.order_status(intent.cloid))
                except ExchangeUnavailable as exc:
                    ack = OrderAck("error", cloid=intent.cloid, error=str(exc))
            self._journal_ack(intent, ack, attempt)
            return ack
        ack = OrderAck(
            "error", cloid=intent.cloid, error=f"no answer after {self.policy.max_attempts} tries: {last_error}"
        )
        self._journal_ack(intent, ack, self.policy.max_attempts)
        return ack

    def _journal_ack(self, intent: OrderIntent, ack: OrderAck, attempt: int, via: str = "response") -> None:
        if not ack.ok:
            self.stats["errors"] += 1
        fields: dict[str, Any] = {"cloid": intent.cloid, "status": ack.kind, "attempt": attempt, "via": via}
        if ack.oid is not None:
            fields["oid"] = ack.oid
        if ack.kind == "filled":
            fields.update(filled=ack.filled_size, avg_px=ack.avg_px)
            if intent.decision_px and ack.avg_px:
                sign = 1 if intent.is_buy else -1
                fields["slippage_bps"] = round(sign * (ack.avg_px - intent.decision_px) / intent.decision_px * 1e4, 3)
        if ack.error:
            fields["error"] = ack.error
        # not fsynced here (the trader syncs at the end of the bar): after a crash an order without its ack is
        # looked up by cloid anyway, so the ack's durability is not what makes a restart safe
        self.journal.write("ack", durable=False, **fields)

    def cancel(self, cloid: str, reason: str = "") -> bool:
        """Cancel by cloid; True when cancelled or already gone."""
        return self.cancel_order(cloid, reason) != "failed"

    def cancel_order(self, cloid: str, reason: str = "") -> str:
        """Cancel by cloid: "cancelled", "gone" (the venue had already closed it: filled, or cancelled it itself;
        look it up to know which) or "failed" (no answer, or refused)."""
        from hyperliquid.utils.types import Cloid

        for attempt in range(self.policy.max_attempts):
            try:
                self.budget.acquire(W_EXCHANGE)
                errors = parse_cancel_response(
                    self._signed(lambda: self.exchange.cancel_by_cloid(self.coin, Cloid(cloid)))
                )
                self.on_call(True)
                err = errors[0] if errors else None
                gone = err is not None and is_gone(err)
                # gone: the venue had already closed it (filled, or cancelled itself: a reduce-only trigger of a
                # position that went flat), which is what the cancel wanted; journalled as such, not as an error
                self.journal.write("cancel", cloid=cloid, reason=reason, error=None if gone else err, gone=gone)
                return "gone" if gone else ("cancelled" if err is None else "failed")
            except Exception as exc:
                self.on_call(False)
                if not is_retryable(exc):
                    self.journal.write("cancel", cloid=cloid, reason=reason, error=describe_error(exc))
                    return "failed"
                self.sleep(self.policy.delay(attempt))
        self.journal.write("cancel", cloid=cloid, reason=reason, error="no answer")
        return "failed"

    # --- prices -----------------------------------------------------------------------------------------------
    def ioc_price(self, is_buy: bool, ref_px: float, slippage_frac: float) -> float:
        """An IOC limit `slippage_frac` through `ref_px`, on the tick (rounded away from the book's side)."""
        px = ref_px * (1 + slippage_frac) if is_buy else ref_px * (1 - slippage_frac)
        return self.rules.round_price(px, up=is_buy)

    def take_profit_limit(self, is_buy: bool, level: float) -> float:
        """A maker take-profit's limit price on the tick, rounded towards the entry (a long's down, a short's up):
        the simulator fills the exact level when a bar trades strictly through it, and on bars that trade on the
        tick the venue's strict trade-through of the rounded price is that same condition."""
        return self.rules.round_price(level, up=is_buy)

    def trigger_prices(self, is_buy: bool, level: float, tpsl: str) -> tuple[float, float]:
        """(trigger price on the tick, its market limit price) for a reduce-only trigger at `level` (`tpsl` "tp" or
        "sl"): the limit is the venue's trigger slippage through the trigger (`backtest.venue.rules.trigger_limit`).

        The trigger is rounded away from the position's entry (a long's TP up and SL down, a short's the other way):
        the simulator fires a level when a bar reaches the exact level, so on bars that trade on the tick the venue
        fires the rounded trigger on exactly the bars the simulator fires the level on; rounded to the nearest, a
        bar reaching the tick just short of a long's TP would fire it live and not in the backtest."""
        trig = self.rules.round_price(level, up=(tpsl == "tp") != is_buy)
        return trig, self.rules.round_price(trigger_limit(trig, is_buy), up=is_buy)
