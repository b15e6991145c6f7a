"""Out: the engine's objects as the real API's shapes (numbers as strings, `oid`/`cloid` echoes, `fills`, views,
market data, account states and WebSocket messages). The way in is `wire.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_hash.auto import keccak

from live.paper_exchange.accounts import Account, liquidation_px, unrealised, value
from live.paper_exchange.markets import Market, Universe, fmt_num, fmt_px
from live.paper_exchange.orders import (
    SUCCESS,
    WAITING,
    Agent,
    Fill,
    Filled,
    Order,
    OrderOutcome,
    Rejected,
    Resting,
)
from live.paper_exchange.wire import ZERO_ADDRESS

if TYPE_CHECKING:
    from collections.abc import Iterable


# --- out: /exchange answers -----------------------------------------------------------------------------------------
def ok(kind: str, statuses: list[Any] | None = None) -> dict[str, Any]:
    if statuses is None:
        return {"status": "ok", "response": {"type": kind}}
    return {"status": "ok", "response": {"type": kind, "data": {"statuses": statuses}}}


def err(text: str) -> dict[str, Any]:
    return {"status": "err", "response": text}


def outcome(o: OrderOutcome, universe: Universe) -> Any:
    """One element of an order/cancel answer."""
    if isinstance(o, Rejected):
        return {"error": o.error}
    if o is SUCCESS:
        return "success"
    if o is WAITING:
        return "waitingForFill"
    if isinstance(o, Resting):
        d: dict[str, Any] = {"oid": o.oid}
        if o.cloid is not None:
            d["cloid"] = o.cloid
        return {"resting": d}
    if isinstance(o, Filled):
        m = universe.by_name[o.coin]
        d = {"totalSz": fmt_num(o.total_sz, m.sz_decimals), "avgPx": fmt_num(o.avg_px, 8), "oid": o.oid}
        if o.cloid is not None:
            d["cloid"] = o.cloid
        return {"filled": d}
    raise TypeError(f"not an order outcome: {o!r}")


# --- out: orders and fills ------------------------------------------------------------------------------------------
def order_view(o: Order, m: Market, frontend: bool = False, children: Iterable[Order] = ()) -> dict[str, Any]:
    d: dict[str, Any] = {
        "coin": o.coin,
        "side": "B" if o.is_buy else "A",
        "limitPx": fmt_num(o.px, 8),
        "sz": fmt_num(o.sz, m.sz_decimals),
        "oid": o.oid,
        "timestamp": o.timestamp,
        "origSz": fmt_num(o.orig_sz, m.sz_decimals),
    }
    if o.cloid is not None:
        d["cloid"] = o.cloid
    if frontend:
        if o.is_trigger:
            kind = ("Take Profit" if o.tpsl == "tp" else "Stop") + (" Market" if o.is_market else " Limit")
            cond = f"Price {'above' if o.fires_above() else 'below'} {fmt_num(o.trigger_px or 0, 8)}"
        else:
            kind, cond = "Limit", "N/A"
        d.update(
            {
                "children": [order_view(c, m, True) for c in children],
                "isPositionTpsl": o.position_tpsl,
                "isTrigger": o.is_trigger,
                "orderType": kind,
                "reduceOnly": o.reduce_only,
                "tif": o.tif,
                "triggerCondition": cond,
                "triggerPx": fmt_num(o.trigger_px or 0, 8),
            }
        )
    return d


def public_status(o: Order) -> str:
    return "open" if o.status == "waiting" else o.status


def order_status(o: Order | None, m: Market | None, children: Iterable[Order] = ()) -> dict[str, Any]:
    if o is None or m is None:
        return {"status": "unknownOid"}
    view = order_view(o, m, True, children)
    return {"status": "order", "order": {"order": view, "status": public_status(o), "statusTimestamp": o.status_ts}}


def order_update(o: Order, m: Market) -> dict[str, Any]:
    """One element of an `orderUpdates` WebSocket message."""
    return {"order": order_view(o, m), "status": public_status(o), "statusTimestamp": o.status_ts}


def fill_hash(tid: int) -> str:
    return "0x" + keccak(tid.to_bytes(8, "big")).hex()


def fill(f: Fill, m: Market) -> dict[str, Any]:
    d: dict[str, Any] = {
        "coin": f.coin,
        "px": fmt_num(f.px, 8),
        "sz": fmt_num(f.sz, m.sz_decimals),
        "side": "B" if f.is_buy else "A",
        "time": f.time,
        "startPosition": fmt_num(f.start_position, m.sz_decimals),
        "dir": f.direction,
        "closedPnl": fmt_num(f.closed_pnl),
        "hash": fill_hash(f.tid),
        "oid": f.oid,
        "crossed": f.crossed,
        "fee": fmt_num(f.fee),
        "tid": f.tid,
        "feeToken": "USDC",
    }
    if f.cloid is not None:
        d["cloid"] = f.cloid
    return d


def fills(rows: Iterable[Fill], universe: Universe) -> list[dict[str, Any]]:
    return [fill(f, universe.by_name[f.coin]) for f in rows]


def trade(f: Fill, m: Market) -> dict[str, Any]:
    """A user fill as it appears on the public `trades` channel."""
    return {
        "coin": f.coin,
        "side": "B" if f.is_buy else "A",
        "px": fmt_num(f.px, 8),
        "sz": fmt_num(f.sz, m.sz_decimals),
        "hash": fill_hash(f.tid),
        "time": f.time,
        "tid": f.tid,
        "users": [f.user, ZERO_ADDRESS][:: 1 if f.is_buy else -1],
    }


def tape_trade(coin: str, m: Market, up: bool, px: float, sz: float, tid: int, now_ms: int) -> dict[str, Any]:
    """The synthetic market trade published every replay step (keeps the `trades` channel alive)."""
    return {
        "coin": coin,
        "side": "B" if up else "A",
        "px": fmt_px(px, m),
        "sz": fmt_num(sz, m.sz_decimals),
        "hash": "0x" + format(tid, "064x"),
        "time": now_ms,
        "tid": tid,
        "users": ["0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000002"],
    }


# --- out: market data -----------------------------------------------------------------------------------------------
def meta(universe: Universe, dex: str, growth_mode: bool = False) -> dict[str, Any]:
    """The `meta` answer for one dex (unknown dex: empty universe, as the real API); builder-dex assets in growth
    mode carry `growthMode: "enabled"`, as the venue marks them."""
    rows = []
    for m in universe.per_dex.get(dex, []):
        row: dict[str, Any] = {"name": m.name, "szDecimals": m.sz_decimals, "maxLeverage": m.max_leverage,
                               "marginTableId": 0}  # fmt: skip
        if growth_mode and m.is_builder:
            row["growthMode"] = "enabled"
        rows.append(row)
    return {"universe": rows, "marginTables": []}


def perp_dexs(universe: Universe, deployer: str, deployer_fee_scale: float = 1.0) -> list[Any]:
    """`perpDexs`: element 0 is null (the main dex), then each builder dex with its `deployerFeeScale`."""
    out: list[Any] = [None]
    for d in universe.dexes[1:]:
        out.append(
            {
                "name": d,
                "fullName": d.upper(),
                "deployer": deployer,
                "oracleUpdater": None,
                "feeRecipient": None,
                "assetToStreamingOiCap": [],
                "subDeployers": [],
                "deployerFeeScale": _rate(deployer_fee_scale),
                "assetToFundingMultiplier": [],
            }
        )
    return out


def _rate(x: float) -> str:
    """A rate as the venue writes it: a decimal string with at least one decimal ("0.00045", "1.0")."""
    text = fmt_num(x, 10)
    return text if "." in text else text + ".0"


def _vip(cutoff: float, taker: float, maker: float, spot: tuple[float, float]) -> dict[str, str]:
    return {"ntlCutoff": _rate(cutoff), "cross": _rate(taker), "add": _rate(maker), "spotCross": _rate(spot[0]),
            "spotAdd": _rate(spot[1])}  # fmt: skip


def user_fees(taker: float, maker: float) -> dict[str, Any]:
    """`userFees` for an account whose base rates are (taker, maker): the venue's shape (hyperliquid-python-sdk
    `Info.user_fees`), with the base schedule's tiers from `backtest.venue.fees`. No volume history on paper."""
    from backtest.venue.fees import BASE_TIERS, MAKER_REBATES, SPOT_BASE

    tier0 = BASE_TIERS[0]
    return {
        "dailyUserVlm": [],
        "feeSchedule": {
            "cross": _rate(tier0.taker),
            "add": _rate(tier0.maker),
            "spotCross": _rate(SPOT_BASE[0]),
            "spotAdd": _rate(SPOT_BASE[1]),
            "tiers": {
                "vip": [_vip(t.min_volume, t.taker, t.maker, SPOT_BASE) for t in BASE_TIERS[1:]],
                "mm": [{"makerFractionCutoff": _rate(cut), "add": _rate(rate)} for cut, rate in MAKER_REBATES],
            },
            "referralDiscount": "0.0",
            "stakingDiscountTiers": [],
        },
        "userCrossRate": _rate(taker),
        "userAddRate": _rate(maker),
        "userSpotCrossRate": _rate(SPOT_BASE[0]),
        "userSpotAddRate": _rate(SPOT_BASE[1]),
        "activeReferralDiscount": "0.0",
        "trial": None,
        "feeTrialEscrow": "0.0",
        "nextTrialAvailableTimestamp": None,
        "stakingLink": None,
        "activeStakingDiscount": {"bpsOfMaxSupply": "0.0", "discount": "0.0"},
    }


SPOT_META: dict[str, Any] = {"universe": [], "tokens": []}


def mids(markets: Iterable[Market], marks: dict[str, float]) -> dict[str, str]:
    return {m.name: fmt_px(marks[m.name], m) for m in markets}


def l2(coin: str, m: Market, book: tuple[Any, Any], now_ms: int) -> dict[str, Any]:
    def side(levels: Any) -> list[dict[str, Any]]:
        return [
            {"px": fmt_px(p, m), "sz": fmt_num(s, m.sz_decimals), "n": 1 + i % 3} for i, (p, s) in enumerate(levels)
        ]

    return {"coin": coin, "time": now_ms, "levels": [side(book[0]), side(book[1])]}


def candles(coin: str, interval: str, m: Market, rows: Iterable[tuple]) -> list[dict[str, Any]]:
    k = m.scale
    return [
        {
            "t": t,
            "T": t_end,
            "s": coin,
            "i": interval,
            "o": fmt_px(o * k, m),
            "c": fmt_px(c * k, m),
            "h": fmt_px(h * k, m),
            "l": fmt_px(lo * k, m),
            "v": fmt_num(v / k, m.sz_decimals),
            "n": n,
        }
        for t, t_end, o, h, lo, c, v, n in rows
    ]


def asset_ctx(m: Market, mark: float, book: tuple[Any, Any], day_ago: float, funding: float) -> dict[str, Any]:
    bids, asks = book
    return {
        "dayNtlVlm": "0.0",
        "funding": fmt_num(funding, 10),
        "impactPxs": [fmt_px(bids[0][0], m), fmt_px(asks[0][0], m)],
        "markPx": fmt_px(mark, m),
        "midPx": fmt_px(mark, m),
        "openInterest": "0.0",
        "oraclePx": fmt_px(mark, m),
        "premium": "0.0",
        "prevDayPx": fmt_px(day_ago, m),
    }


# --- out: accounts --------------------------------------------------------------------------------------------------
def clearinghouse_state(
    acct: Account | None, dex: str, markets: dict[str, Market], marks: dict[str, float], now_ms: int
) -> dict[str, Any]:
    """The `clearinghouseState` answer for one dex, numbers as strings like the real API."""
    if acct is None:
        zero = {"accountValue": "0.0", "totalNtlPos": "0.0", "totalRawUsd": "0.0", "totalMarginUsed": "0.0"}
        return {
            "marginSummary": zero,
            "crossMarginSummary": dict(zero),
            "crossMaintenanceMarginUsed": "0.0",
            "withdrawable": "0.0",
            "assetPositions": [],
            "time": now_ms,
        }
    val = value(acct, markets, marks)
    positions = []
    for coin, p in acct.positions.items():
        m = markets[coin]
        if m.dex != dex:
            continue
        mark = marks[coin]
        u = unrealised(p, mark)
        pv = abs(p.szi) * mark
        used = pv / p.leverage if p.is_cross else p.margin + u
        init_margin = abs(p.szi) * p.entry_px / p.leverage
        liq = liquidation_px(acct, p, m, val, mark)
        lev: dict[str, Any] = {"type": "cross" if p.is_cross else "isolated", "value": p.leverage}
        if not p.is_cross:
            lev["rawUsd"] = fmt_num(p.margin - p.szi * p.entry_px)
        positions.append(
            {
                "type": "oneWay",
                "position": {
                    "coin": coin,
                    "szi": fmt_num(p.szi, m.sz_decimals),
                    "entryPx": fmt_num(p.entry_px, 8),
                    "leverage": lev,
                    "liquidationPx": None if liq is None else fmt_num(liq, 8),
                    "marginUsed": fmt_num(used),
                    "positionValue": fmt_num(pv),
                    "returnOnEquity": fmt_num(u / init_margin if init_margin else 0.0, 8),
                    "unrealizedPnl": fmt_num(u),
                    "maxLeverage": m.max_leverage,
                    "cumFunding": {
                        "allTime": fmt_num(p.funding_all),
                        "sinceOpen": fmt_num(p.funding_open),
                        "sinceChange": fmt_num(p.funding_change),
                    },
                },
            }
        )
    raw = val.account_value - sum(p.szi * marks[c] for c, p in acct.positions.items())
    summary = {
        "accountValue": fmt_num(val.account_value),
        "totalNtlPos": fmt_num(val.total_ntl),
        "totalRawUsd": fmt_num(raw),
        "totalMarginUsed": fmt_num(val.margin_used),
    }
    cross_raw = val.cross_value - sum(p.szi * marks[c] for c, p in acct.positions.items() if p.is_cross)
    cross = {
        "accountValue": fmt_num(val.cross_value),
        "totalNtlPos": fmt_num(sum(abs(p.szi) * marks[c] for c, p in acct.positions.items() if p.is_cross)),
        "totalRawUsd": fmt_num(cross_raw),
        "totalMarginUsed": fmt_num(val.cross_margin_used),
    }
    return {
        "marginSummary": summary,
        "crossMarginSummary": cross,
        "crossMaintenanceMarginUsed": fmt_num(val.cross_maintenance),
        "withdrawable": fmt_num(max(0.0, val.account_value - val.margin_used)),
        "assetPositions": positions,
        "time": now_ms,
    }


def extra_agents(agents: Iterable[Agent]) -> list[dict[str, Any]]:
    return [{"address": a.address, "name": a.name, "validUntil": None} for a in agents]


def liquidation_event(user: str, coin: str, now_ms: int) -> dict[str, Any]:
    """A `userEvents` ("user" channel) liquidation message body."""
    return {"liquidation": {"liquidated_user": user, "coin": coin, "time": now_ms}}


def funding_event(coin: str, m: Market, paid: float, szi: float, rate: float, now_ms: int) -> dict[str, Any]:
    """A `userEvents` funding message body; `usdc` is what the account received (negative when it paid)."""
    return {
        "funding": {
            "time": now_ms,
            "coin": coin,
            "usdc": fmt_num(-paid),
            "szi": fmt_num(szi, m.sz_decimals),
            "fundingRate": fmt_num(rate, 10),
        }
    }


def fills_event(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A `userEvents` ("user" channel) fills message body."""
    return {"fills": rows}


def all_mids_message(mids_by_coin: dict[str, str]) -> dict[str, Any]:
    return {"mids": mids_by_coin}


def non_user_cancel_event(coin: str, oid: int) -> dict[str, Any]:
    return {"nonUserCancel": [{"coin": coin, "oid": oid}]}


def user_fills_message(user: str, rows: list[dict[str, Any]], snapshot: bool) -> dict[str, Any]:
    return {"isSnapshot": snapshot, "user": user, "fills": rows}


def user_role(role: str, master: str | None = None) -> dict[str, Any]:
    """`userRole`: {"role": "user" | "agent" | "missing"}; an agent names its master."""
    return {"role": role, "data": {"user": master}} if role == "agent" else {"role": role}
