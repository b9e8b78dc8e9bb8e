"""Historical bars, head timestamps and pacing through ib_async."""

from __future__ import annotations

import datetime as dt

import pytest
from ib_async import Future

from ibsim import PacingRules

from .conftest import wait_until

UTC = dt.UTC


@pytest.fixture
def esm5(ib):
    [contract] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    return contract


def test_a_year_of_daily_bars(ib, esm5):
    bars = ib.reqHistoricalData(esm5, "", "1 Y", "1 day", "TRADES", useRTH=False, formatDate=1)
    assert 150 < len(bars) < 260
    dates = [b.date for b in bars]
    assert all(isinstance(d, dt.date) and not isinstance(d, dt.datetime) for d in dates)
    assert dates == sorted(set(dates))
    assert all(d.weekday() < 5 for d in dates)
    assert dt.date(2024, 12, 25) not in dates  # Christmas: the exchange is closed
    for b in bars:
        assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
        assert b.volume >= 0
        assert (b.close * 4) == int(b.close * 4)  # on the 0.25 tick grid


def test_daily_bar_equals_its_intraday_bars(ib, esm5):
    end = "20250304 00:00:00 UTC"
    daily = ib.reqHistoricalData(esm5, end, "5 D", "1 day", "TRADES", False, 1)
    day = next(b for b in daily if b.date == dt.date(2025, 3, 3))  # a complete session
    for size in ("1 hour", "5 mins", "1 min"):
        intraday = ib.reqHistoricalData(esm5, "20250303 22:00:00 UTC", "1 D", size, "TRADES", False, 2)
        # The CME session for trade date D runs 17:00 CT on D-1 to 16:00 CT on D.
        session = [b for b in intraday if _trade_date(b.date) == day.date]
        assert session, size
        assert session[0].open == day.open, size
        assert session[-1].close == day.close, size
        assert max(b.high for b in session) == day.high, size
        assert min(b.low for b in session) == day.low, size
        assert sum(b.volume for b in session) == day.volume, size


def _trade_date(when: dt.datetime) -> dt.date:
    from zoneinfo import ZoneInfo

    local = when.astimezone(ZoneInfo("America/Chicago"))
    return (local + dt.timedelta(hours=7)).date()


def test_intraday_formats(ib, esm5):
    epoch = ib.reqHistoricalData(esm5, "", "3600 S", "1 min", "TRADES", False, 2)
    text = ib.reqHistoricalData(esm5, "", "3600 S", "1 min", "MIDPOINT", False, 1)
    assert len(epoch) == 60 or len(epoch) == 61
    assert epoch[0].date.tzinfo is not None
    assert text[0].date.tzinfo is not None
    assert [b.date for b in epoch][:5] == [b.date for b in text][:5]
    assert all(b.volume == -1 for b in text)  # non-TRADES bars carry no volume


@pytest.mark.parametrize("what", ["MIDPOINT", "BID", "ASK", "BID_ASK", "TRADES"])
def test_what_to_show(ib, esm5, what):
    bars = ib.reqHistoricalData(esm5, "", "1800 S", "5 secs", what, False, 2)
    assert len(bars) > 100


def test_bid_below_ask(ib, esm5):
    bid = ib.reqHistoricalData(esm5, "", "1800 S", "1 min", "BID", False, 2)
    ask = ib.reqHistoricalData(esm5, "", "1800 S", "1 min", "ASK", False, 2)
    assert all(b.close < a.close for b, a in zip(bid, ask, strict=True))


def test_use_rth_restricts_to_liquid_hours(ib, esm5):
    full = ib.reqHistoricalData(esm5, "20250304 00:00:00 UTC", "2 D", "1 hour", "TRADES", False, 2)
    rth = ib.reqHistoricalData(esm5, "20250304 00:00:00 UTC", "2 D", "1 hour", "TRADES", True, 2)
    assert 0 < len(rth) < len(full)


def test_keep_up_to_date_sends_updates(ib, esm5):
    bars = ib.reqHistoricalData(esm5, "", "1800 S", "1 min", "TRADES", False, 2, keepUpToDate=True)
    updates = []
    bars.updateEvent += lambda b, has_new_bar: updates.append(b[-1])
    assert wait_until(ib, lambda: len(updates) >= 2, timeout=5)
    ib.cancelHistoricalData(bars)
    count = len(updates)
    ib.sleep(0.8)
    assert len(updates) == count


def test_invalid_requests_are_refused(ib, esm5):
    errors = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append((code, text))
    # IB answers a bad bar size with 321, which ib_async treats as a warning: like against a real
    # gateway, the request only ends at its own timeout.
    assert len(ib.reqHistoricalData(esm5, "", "1 D", "7 mins", "TRADES", False, 2, timeout=1)) == 0
    assert len(ib.reqHistoricalData(esm5, "", "1 Y", "1 min", "TRADES", False, 2)) == 0
    assert [c for c, _ in errors if c < 2100] == [321, 162]


def test_no_data_long_after_expiry(sim_factory, connect):
    sim = sim_factory(start=dt.datetime(2027, 9, 1, 15, tzinfo=UTC))
    ib = connect(sim)
    errors = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append((code, text))
    contract = Future(
        conId=sim.catalog.match(_Spec("ES", "202503"), dt.datetime(2025, 3, 4, tzinfo=UTC), True)[0].con_id,
        exchange="CME",
    )
    assert len(ib.reqHistoricalData(contract, "", "1 M", "1 day", "TRADES", False, 1)) == 0
    assert any(code == 162 and "HMDS query returned no data: ESH5@CME Trades" in text for code, text in errors)


class _Spec:
    def __init__(self, symbol, month):
        self.con_id = 0
        self.symbol = symbol
        self.sec_type = "FUT"
        self.last_trade_date_or_contract_month = month
        self.exchange = "CME"
        self.currency = ""
        self.local_symbol = ""
        self.trading_class = ""
        self.multiplier = ""
        self.include_expired = True
        self.strike = 0.0
        self.right = ""
        self.primary_exchange = ""


def test_head_timestamp(ib, esm5):
    head = ib.reqHeadTimeStamp(esm5, "TRADES", useRTH=False, formatDate=1)
    assert isinstance(head, dt.datetime)
    assert head < dt.datetime(2025, 3, 4, tzinfo=UTC)
    assert head > dt.datetime(2022, 1, 1, tzinfo=UTC)


def test_pacing_identical_request(sim_factory, connect):
    sim = sim_factory(pacing=PacingRules(identical_window=5.0, same_contract_window=2.0, global_window=60.0))
    ib = connect(sim)
    errors = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append((code, text))
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    assert ib.reqHistoricalData(es, "", "1800 S", "1 min", "TRADES", False, 2)
    assert len(ib.reqHistoricalData(es, "", "1800 S", "1 min", "TRADES", False, 2)) == 0
    assert (162, "Historical Market Data Service error message:Historical data request pacing violation") in errors


def test_pacing_same_contract_and_global(sim_factory, connect):
    rules = PacingRules(
        identical_window=0.01, same_contract_window=2.0, same_contract_max=5, global_window=60.0, global_max=8
    )
    sim = sim_factory(pacing=rules)
    ib = connect(sim)
    errors = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    [es] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    results = [ib.reqHistoricalData(es, "", f"{60 * (i + 1)} S", "1 min", "TRADES", False, 2) for i in range(6)]
    assert all(results[:5]) and len(results[5]) == 0  # the sixth within 2 s is refused
    # BID_ASK counts twice towards the ten-minute limit: 5 + 2 = 7, then 9 > 8.
    [nq] = ib.qualifyContracts(Future("NQ", "202506", "CME"))
    assert ib.reqHistoricalData(nq, "", "60 S", "1 min", "BID_ASK", False, 2)
    assert len(ib.reqHistoricalData(nq, "", "120 S", "1 min", "BID_ASK", False, 2)) == 0
    assert errors.count(162) == 2
    assert sim.pacer.violations == 2


def test_forced_pacing_violation(sim, ib, esm5):
    sim.faults.force_pacing_violations(1)
    assert len(ib.reqHistoricalData(esm5, "", "1800 S", "1 min", "TRADES", False, 2)) == 0
    assert ib.reqHistoricalData(esm5, "", "1800 S", "1 min", "TRADES", False, 2)
