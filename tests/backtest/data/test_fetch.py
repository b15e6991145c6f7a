from __future__ import annotations

import pytest

from backtest.data.hyperliquid import fetch_candles, fetch_to_store
from backtest.data.store import BarStore
from backtest.venue.ratelimit import WeightBudget
from backtest.venue.retry import RetryError, RetryPolicy, call_with_retry
from backtest.venue.sdk import make_info
from tests.support.stub_api import COIN, StubApi, make_candles

END = 1_767_225_600_000  # 2026-01-01 00:00 UTC
STEP = 60_000
FAST = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
def stub():
    api = StubApi(make_candles(8000, END), window=5000, page_size=1000)
    url = api.start()
    api.url = url
    yield api
    api.stop()


def test_fetch_pages_through_history_and_says_the_api_window_ends(stub):
    info = make_info(stub.url, "xyz", timeout_s=5)
    assert [r["type"] for r in stub.requests] == ["spotMeta", "perpDexs", "meta", "meta"]
    bars, report = fetch_candles(info, COIN, "1m", END - 8000 * STEP, END, policy=FAST)
    assert len(bars) == 5000 and bars["timestamp"].is_unique and (bars["source"] == "hyperliquid").all()
    assert report.pages >= 5 and len(stub.candle_requests()) == report.pages
    assert report.truncated and report.earliest_available.value // 1_000_000 == END - 5000 * STEP
    msg = report.message()
    assert "earliest available" in msg and "5000" in msg and "record" in msg
    starts = [r["req"]["startTime"] for r in stub.candle_requests()]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)  # forward from the last t


def test_fetch_of_a_span_inside_the_window_is_complete_and_not_truncated(stub):
    info = make_info(stub.url, "xyz", timeout_s=5)
    bars, report = fetch_candles(info, COIN, "1m", END - 1500 * STEP, END - 100 * STEP, policy=FAST)
    assert len(bars) == 1400 and not report.truncated


def test_rate_limit_and_server_errors_are_retried_then_succeed(stub):
    info = make_info(stub.url, "xyz", timeout_s=5)
    stub.fail = [429, 500, 502]
    bars, _ = fetch_candles(info, COIN, "1m", END - 500 * STEP, END, policy=FAST)
    assert len(bars) == 500 and stub.fail == []


def test_persistent_server_errors_give_up_with_a_clear_message(stub):
    info = make_info(stub.url, "xyz", timeout_s=5)
    stub.always_fail = 500
    with pytest.raises(RetryError) as err:
        fetch_candles(info, COIN, "1m", END - 500 * STEP, END, policy=FAST)
    msg = str(err.value)
    assert "failed 4 times" in msg and "HTTP 500" in msg and "giving up" in msg
    assert len(stub.candle_requests()) == 4


def test_unreachable_server_gives_up_instead_of_hanging():
    with pytest.raises(RetryError, match="connecting to"):
        make_info("http://127.0.0.1:9", "xyz", timeout_s=0.5, policy=FAST)


def test_fetch_to_store_appends_and_resumes_after_the_newest_bar(stub, tmp_path):
    store = BarStore(tmp_path)
    r1 = fetch_to_store(store, stub.url, COIN, "xyz", "1m", days=1, timeout_s=5, progress=False, policy=FAST,
                        now_ms=END - 200 * STEP)  # fmt: skip
    assert r1.n_bars == 1440
    stub.requests.clear()
    r2 = fetch_to_store(store, stub.url, COIN, "xyz", "1m", days=1, timeout_s=5, progress=False, policy=FAST,
                        now_ms=END)  # fmt: skip
    assert r2.n_bars == 200
    assert stub.candle_requests()[0]["req"]["startTime"] == END - 200 * STEP
    assert len(store.read(COIN, "1m")) == 1640


def test_client_errors_other_than_429_are_not_retried():
    from hyperliquid.utils.error import ClientError

    calls = []

    def bad():
        calls.append(1)
        raise ClientError(400, None, "bad request", None)

    with pytest.raises(ClientError):
        call_with_retry(bad, "x", FAST, sleep=lambda s: None)
    assert len(calls) == 1


def test_backoff_grows_exponentially_with_bounded_jitter():
    import random

    pol = RetryPolicy(base_delay_s=1.0, max_delay_s=10.0, jitter=0.5)
    rng = random.Random(0)
    for attempt, base in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 10.0)]:
        d = pol.delay(attempt, rng)
        assert 0.5 * base <= d <= min(10.0, 1.5 * base)


def test_weight_budget_waits_when_the_minute_budget_is_spent():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    budget = WeightBudget(capacity=1200, clock=lambda: now[0], sleep=sleep)
    for _ in range(60):  # 60 * 20 = 1200: the whole minute's budget
        budget.acquire(20)
    assert slept == []
    budget.charge(100)  # candles returned
    budget.acquire(20)
    assert sum(slept) == pytest.approx(120 / 20.0)  # 120 weight at 20 weight/s
