"""Tests of ibsim.market: determinism, cross-size consistency, sessions, quotes, speed."""

from __future__ import annotations

import datetime as dt
import math
import time
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ibsim.market import BAR_SIZES, MarketModel
from ibsim.model import Bars, Instrument, Product, Session

UTC = dt.UTC
T = dt.time
HOLIDAY = dt.date(2025, 1, 20)  # a Monday the CME-like calendar below closes


# ---------------------------------------------------------------- small, real session calendars


def make_sessions(zone: str, segments, rth, weekdays=(0, 1, 2, 3, 4), holidays=(HOLIDAY,)):
    """Sessions_fn for a weekly template.

    segments/rth: (start day offset, start local time, end day offset, end local time) per trade date.
    """
    tz = ZoneInfo(zone)

    def at(day: dt.date, offset: int, t: dt.time) -> dt.datetime:
        return dt.datetime.combine(day + dt.timedelta(offset), t, tz).astimezone(UTC)

    def cut(pairs, expiry):
        if expiry is None:
            return pairs
        return tuple((a, min(b, expiry)) for a, b in pairs if a < expiry)

    def sessions(inst: Instrument, start: dt.datetime, end: dt.datetime) -> list[Session]:
        out = []
        day = (start - dt.timedelta(days=3)).date()
        while day <= (end + dt.timedelta(days=3)).date():
            if day.weekday() in weekdays and day not in holidays:
                segs = cut(tuple((at(day, a, ta), at(day, b, tb)) for a, ta, b, tb in segments), inst.expiry_utc)
                liquid = cut(tuple((at(day, a, ta), at(day, b, tb)) for a, ta, b, tb in rth), inst.expiry_utc)
                if segs and segs[-1][1] > start and segs[0][0] < end:
                    out.append(Session(day, segs, liquid))
            day += dt.timedelta(1)
        return out

    return sessions


CME = make_sessions("America/Chicago", [(-1, T(17), 0, T(16))], [(0, T(8, 30), 0, T(16))])
GRAINS = make_sessions(
    "America/Chicago", [(-1, T(19), 0, T(7, 45)), (0, T(8, 30), 0, T(13, 20))], [(0, T(8, 30), 0, T(13, 20))]
)
EUREX = make_sessions("Europe/Berlin", [(0, T(1, 10), 0, T(22))], [(0, T(8), 0, T(22))])
FX = make_sessions("America/New_York", [(-1, T(17, 15), 0, T(17))], [(0, T(8), 0, T(17))])
ODD = make_sessions("America/Chicago", [(0, T(9, 0, 30), 0, T(11, 0, 45))], [(0, T(9, 30), 0, T(11))])

CALENDARS = {"CME": CME, "GRAINS": GRAINS, "EUREX": EUREX, "FX": FX, "ODD": ODD}


def dispatch(inst: Instrument, start: dt.datetime, end: dt.datetime) -> list[Session]:
    return CALENDARS[inst.product.calendar](inst, start, end)


def product(
    symbol="ES", tick=0.25, base=5800.0, vol=0.17, zone="America/Chicago", calendar="CME", sec_type="FUT", under=0
):
    return Product(
        symbol=symbol,
        sec_type=sec_type,
        exchange="CME",
        currency="USD",
        multiplier="50",
        price_magnifier=1,
        min_tick=tick,
        trading_class=symbol,
        long_name=symbol,
        time_zone_id="US/Central",
        iana_zone=zone,
        calendar=calendar,
        listed_months="HMUZ",
        months_listed=4,
        serial_months=0,
        last_trade_rule="third_friday",
        last_trade_time="08:30",
        local_symbol_style="letter",
        base_price=base,
        annual_vol=vol,
        initial_margin=1.0,
        maint_margin=1.0,
        physical_delivery=False,
        under_con_id=under,
        market_rule_id="67",
        valid_exchanges="CME",
        order_types="LMT",
    )


def instrument(prod: Product, con_id: int, last: dt.date | None = dt.date(2025, 3, 21), first=dt.date(2024, 3, 15)):
    expiry = None
    if last is not None:
        expiry = dt.datetime.combine(last, T(8, 30), ZoneInfo(prod.iana_zone)).astimezone(UTC)
    return Instrument(
        con_id=con_id,
        product=prod,
        contract_month="" if last is None else f"{last:%Y%m}",
        last_trade_date=last,
        local_symbol=f"{prod.symbol}{con_id}",
        first_trade_date=first,
        expiry_utc=expiry,
    )


ES = product(under=11004968)
ESH5 = instrument(ES, 1001)
MESH5 = instrument(product("MES", under=11004968), 1003)  # same underlying and month as ESH5
ESM5 = instrument(ES, 1002, last=dt.date(2025, 6, 20), first=dt.date(2024, 6, 21))
ZC = instrument(product("ZC", 0.25, 450.0, 0.22, calendar="GRAINS"), 2001)
GBL = instrument(product("GBL", 0.01, 130.0, 0.07, zone="Europe/Berlin", calendar="EUREX"), 3001)
EURUSD = instrument(
    product("EUR", 5e-05, 1.08, 0.08, zone="America/New_York", calendar="FX", sec_type="CASH"),
    4001,
    last=None,
    first=dt.date(2020, 1, 1),
)
ZN = instrument(product("ZN", 0.015625, 110.0, 0.06, calendar="ODD"), 5001)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def model() -> MarketModel:
    return MarketModel(dispatch, seed=7)


def session_of(inst: Instrument, day: dt.date) -> Session:
    mid = dt.datetime.combine(day, T(12), UTC)
    return next(
        s for s in dispatch(inst, mid - dt.timedelta(days=2), mid + dt.timedelta(days=2)) if s.trade_date == day
    )


def aggregate(b: Bars) -> tuple:
    v = int(b.volume.sum())
    wap = float((b.volume * b.wap).sum() / v) if v else float(b.close[-1])
    return b.open[0], b.high.max(), b.low.min(), b.close[-1], v, int(b.count.sum()), wap


def single(b: Bars, i: int = 0) -> tuple:
    return b.open[i], b.high[i], b.low[i], b.close[i], int(b.volume[i]), int(b.count[i]), float(b.wap[i])


def assert_same_bar(got: tuple, want: tuple) -> None:
    assert got[:6] == want[:6]
    assert got[6] == pytest.approx(want[6], rel=1e-12, abs=1e-9)


def assert_on_grid(values: np.ndarray, tick: float, half: bool = False) -> None:
    step = tick / 2 if half else tick
    ratio = np.asarray(values) / step
    assert np.allclose(ratio, np.rint(ratio), atol=1e-6)


def assert_sane(b: Bars, tick: float) -> None:
    for col in (b.open, b.high, b.low, b.close):
        assert_on_grid(col, tick)
    assert np.all(b.high >= np.maximum(b.open, b.close))
    assert np.all(b.low <= np.minimum(b.open, b.close))
    assert np.all(b.low > 0)
    assert np.all(b.count <= b.volume)
    assert np.all(np.diff(b.time) > 0)


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bars(model):
    other = MarketModel(dispatch, seed=7)
    for size, start, end in (("1 day", utc(2024, 9, 1), utc(2025, 3, 1)), ("1 min", utc(2025, 2, 3), utc(2025, 2, 5))):
        a = model.bars(ESH5, start, end, size)
        b = other.bars(ESH5, start, end, size)
        assert len(a) > 10
        for col in ("time", "open", "high", "low", "close", "volume", "wap", "count"):
            assert np.array_equal(getattr(a, col), getattr(b, col)), col


def test_window_does_not_change_values(model):
    """Any sub-window equals the same bars cut from a larger request, whatever was asked before."""
    fresh = MarketModel(dispatch, seed=7)
    small = fresh.bars(ESH5, utc(2025, 2, 4, 15), utc(2025, 2, 4, 16), "1 min")
    large = model.bars(ESH5, utc(2025, 2, 3), utc(2025, 2, 6), "1 min")
    cut = np.isin(large.time, small.time)
    assert cut.sum() == len(small) == 60
    assert np.array_equal(large.close[cut], small.close)
    assert np.array_equal(large.volume[cut], small.volume)


def test_contracts_and_seeds_differ(model):
    start, end = utc(2024, 10, 1), utc(2025, 3, 1)
    h5 = model.bars(ESH5, start, end, "1 day")
    m5 = model.bars(ESM5, start, end, "1 day")
    reseeded = MarketModel(dispatch, seed=8).bars(ESH5, start, end, "1 day")
    assert not np.array_equal(h5.close, m5.close)
    assert not np.array_equal(h5.close, reseeded.close)
    # contracts of one product move together (common walk), unlike a different seed's path
    r_h5, r_m5, r_other = (np.diff(np.log(b.close)) for b in (h5, m5, reseeded))
    assert np.corrcoef(r_h5, r_m5)[0, 1] > 0.8
    assert abs(np.corrcoef(r_h5, r_other)[0, 1]) < 0.5


def test_products_on_one_underlying_share_daily_prices(model):
    start, end = utc(2024, 10, 1), utc(2025, 3, 1)
    es, mes = (model.bars(inst, start, end, "1 day") for inst in (ESH5, MESH5))
    assert np.array_equal(es.close, mes.close)
    es_min, mes_min = (model.bars(inst, utc(2025, 2, 4, 15), utc(2025, 2, 4, 16), "1 min") for inst in (ESH5, MESH5))
    assert not np.array_equal(es_min.close, mes_min.close)  # each contract has its own intraday path
    assert not np.array_equal(es.volume, mes.volume)


def test_prices_stay_near_the_product_level(model):
    b = model.bars(EURUSD, utc(2020, 1, 1), utc(2025, 1, 1), "1 day")
    assert len(b) > 1200
    assert 1.08 / 3 < b.close.min() and b.close.max() < 1.08 * 3
    assert_sane(b, 5e-05)


# ---------------------------------------------------------------- consistency across bar sizes

CASES = [
    (ESH5, dt.date(2025, 2, 4)),  # one segment, 17:00 start
    (ZC, dt.date(2025, 2, 5)),  # two segments with a break
    (GBL, dt.date(2025, 2, 6)),  # starts 01:10 local, Europe/Berlin
    (EURUSD, dt.date(2025, 2, 7)),  # starts 17:15 New York
    (ZN, dt.date(2025, 2, 3)),  # starts and ends off the whole minute
]


@pytest.mark.parametrize(("inst", "day"), CASES, ids=[c[0].symbol for c in CASES])
def test_daily_bar_is_the_aggregate_of_intraday_bars(model, inst, day):
    s = session_of(inst, day)
    daily = model.bars(inst, s.start, s.end, "1 day")
    assert daily.trade_date == [day]
    assert daily.time[0] == dt.datetime.combine(day, T(), UTC).timestamp()
    want = single(daily)
    for size in ("1 min", "5 mins", "1 hour", "4 hours", "30 secs"):
        intraday = model.bars(inst, s.start - dt.timedelta(seconds=30), s.end, size)
        assert_sane(intraday, inst.min_tick)
        assert_same_bar(aggregate(intraday), want)
        # bars never span two sessions: the first one starts with the session's first base bar
        assert s.start.timestamp() - 60 < intraday.time[0] <= s.start.timestamp()
        assert intraday.time[-1] < s.end.timestamp()
    # after the first bar, bars sit on the exchange's clock grid
    hourly = model.bars(inst, s.start, s.end, "1 hour")
    assert np.all(hourly.time[1:] % 3600 == 0)


def test_every_bar_size_partitions_the_session(model):
    s = session_of(ESH5, dt.date(2025, 2, 6))
    want = single(model.bars(ESH5, s.start, s.end, "1 day"))
    intraday = [size for size, seconds in BAR_SIZES.items() if seconds < 86400]
    assert len(intraday) == 18
    for size in intraday:
        b = model.bars(ESH5, s.start, s.end, size)
        assert_sane(b, 0.25)
        assert_same_bar(aggregate(b), want)
        # 23 hours from 17:00 Chicago: whole bins, plus a clipped first bin where 17:00 is off the grid
        assert len(b) == math.ceil(23 * 3600 / BAR_SIZES[size]) + (size == "3 hours")
    assert len(model.bars(ESH5, s.start, s.end, "1 W")) == 1  # IB's own spelling is accepted
    with pytest.raises(ValueError):
        model.bars(ESH5, s.start, s.end, "7 mins")
    with pytest.raises(ValueError):
        model.bars(ESH5, s.start, s.end, "1 min", "OPTION_IMPLIED_VOLATILITY")


def test_minute_and_seconds_of_a_segment_starting_mid_minute(model):
    s = session_of(ZN, dt.date(2025, 2, 4))
    assert s.start.second == 30
    secs = model.bars(ZN, s.start, s.end, "1 secs")
    assert secs.time[0] == s.start.timestamp()  # seconds start exactly at the open
    assert secs.time[-1] == s.end.timestamp() - 1
    mins = model.bars(ZN, s.start - dt.timedelta(minutes=1), s.end, "1 min")
    assert mins.time[0] == s.start.timestamp() - 30  # the partial minute keeps its clock label


def test_one_minute_bar_is_the_aggregate_of_its_seconds(model):
    start = utc(2025, 2, 4, 15, 30)
    mins = model.bars(ESH5, start, start + dt.timedelta(minutes=10), "1 min")
    secs = model.bars(ESH5, start, start + dt.timedelta(minutes=10), "1 secs")
    assert len(mins) == 10 and len(secs) == 600
    assert_sane(secs, 0.25)
    for i in range(10):
        assert_same_bar(agg_slice(secs, i * 60, 60), single(mins, i))
    fives = model.bars(ESH5, start, start + dt.timedelta(minutes=10), "5 secs")
    assert len(fives) == 120
    assert_same_bar(aggregate(fives), aggregate(mins))


def agg_slice(b: Bars, first: int, n: int) -> tuple:
    part = Bars(
        *(getattr(b, k)[first : first + n] for k in ("time", "open", "high", "low", "close", "volume", "wap", "count"))
    )
    return aggregate(part)


def test_weekly_and_monthly_bars_aggregate_the_dailies(model):
    start, end = utc(2024, 11, 1), utc(2025, 2, 28)
    daily = model.bars(ESH5, start - dt.timedelta(days=40), end, "1 day")
    weekly = model.bars(ESH5, start, end, "1 week")
    monthly = model.bars(ESH5, start, end, "1 month")
    assert weekly.trade_date and monthly.trade_date
    for bars, key in ((weekly, lambda d: d - dt.timedelta(d.weekday())), (monthly, lambda d: (d.year, d.month))):
        for i, label in enumerate(bars.trade_date):
            rows = [k for k, d in enumerate(daily.trade_date) if key(d) == key(label)]
            assert daily.trade_date[rows[0]] == label  # labelled by the period's first trade date
            assert bars.time[i] == dt.datetime.combine(label, T(), UTC).timestamp()
            assert_same_bar(single(bars, i), agg_slice(daily, rows[0], len(rows)))
    assert [d.month for d in monthly.trade_date] == [11, 12, 1, 2]


# ---------------------------------------------------------------- sessions, holidays, expiry, RTH


def test_no_bars_outside_sessions_or_on_holidays(model):
    start, end = utc(2025, 1, 13), utc(2025, 1, 27)
    daily = model.bars(ESH5, start, end, "1 day")
    assert HOLIDAY not in daily.trade_date
    assert all(d.weekday() < 5 for d in daily.trade_date)
    minutes = model.bars(ESH5, start, end, "1 min")
    sessions = CME(ESH5, start, end)
    inside = np.zeros(len(minutes), dtype=bool)
    for s in sessions:
        a, b = s.start.timestamp(), s.end.timestamp()
        inside |= (minutes.time >= a) & (minutes.time < b)
    assert inside.all()
    # the holiday's would-be session (Sunday 17:00 to Monday 16:00 Chicago) is silent
    silent = model.bars(ESH5, utc(2025, 1, 19, 23), utc(2025, 1, 20, 22), "1 min")
    assert len(silent) == 0
    assert model.session_close(ESH5, HOLIDAY) is None
    assert model.session_close(ESH5, dt.date(2025, 1, 18)) is None
    assert model.session_close(ESH5, dt.date(2025, 1, 17)) == daily.close[daily.trade_date.index(dt.date(2025, 1, 17))]


def test_nothing_before_listing_or_after_expiry(model):
    daily = model.bars(ESH5, utc(2024, 1, 1), utc(2025, 12, 31), "1 day")
    assert daily.trade_date[0] >= ESH5.first_trade_date
    assert daily.trade_date[-1] == ESH5.last_trade_date
    last = model.bars(ESH5, utc(2025, 3, 21), utc(2025, 3, 22), "1 min")
    assert last.time[-1] < ESH5.expiry_utc.timestamp()
    head = model.head_timestamp(ESH5, "TRADES", False)
    assert head == session_of(ESH5, ESH5.first_trade_date).start
    assert model.head_timestamp(ESH5, "TRADES", True) == dt.datetime(2024, 3, 15, 13, 30, tzinfo=UTC)
    assert len(model.bars(ESH5, utc(2025, 4, 1), utc(2025, 5, 1), "1 hour")) == 0


def test_use_rth_restricts_to_liquid_hours(model):
    s = session_of(ZC, dt.date(2025, 2, 5))
    (a, b) = s.rth[0]
    minutes = model.bars(ZC, s.start, s.end, "1 min", use_rth=True)
    assert minutes.time[0] == a.timestamp() and minutes.time[-1] == b.timestamp() - 60
    daily_rth = model.bars(ZC, s.start, s.end, "1 day", use_rth=True)
    daily_all = model.bars(ZC, s.start, s.end, "1 day")
    assert_same_bar(single(daily_rth), aggregate(minutes))
    assert daily_rth.close[0] == daily_all.close[0]  # the session closes in RTH
    assert daily_rth.volume[0] < daily_all.volume[0]
    hourly = model.bars(ZC, s.start, s.end, "1 hour", use_rth=True)
    assert_same_bar(aggregate(hourly), aggregate(minutes))


# ---------------------------------------------------------------- bid, ask, midpoint


def test_bid_ask_midpoint_relationships(model):
    start, end = utc(2025, 2, 4, 0), utc(2025, 2, 4, 22)
    trades = model.bars(ESH5, start, end, "1 min")
    bid = model.bars(ESH5, start, end, "1 min", "BID")
    ask = model.bars(ESH5, start, end, "1 min", "ASK")
    mid = model.bars(ESH5, start, end, "1 min", "MIDPOINT")
    both = model.bars(ESH5, start, end, "1 min", "BID_ASK")
    for b in (bid, ask, mid, both):
        assert np.array_equal(b.time, trades.time)
        assert np.all(b.volume == -1) and np.all(b.wap == -1) and np.all(b.count == -1)
    assert_on_grid(bid.close, 0.25)
    assert_on_grid(ask.close, 0.25)
    assert_on_grid(mid.close, 0.25, half=True)
    assert np.all(ask.close - bid.close >= 0.25)
    assert np.all((bid.close <= trades.close) & (trades.close <= ask.close))
    assert np.allclose(mid.close, (bid.close + ask.close) / 2)
    assert np.allclose(mid.high, (bid.high + ask.high) / 2)
    assert np.array_equal(both.high, ask.high) and np.array_equal(both.low, bid.low)
    assert np.all((both.open >= bid.low) & (both.open <= bid.high))
    assert np.all(both.close > both.open)  # average ask above average bid
    # wider outside regular hours
    rth = (trades.time >= utc(2025, 2, 4, 14, 30).timestamp()) & (trades.time < utc(2025, 2, 4, 21).timestamp())
    spread = ask.close - bid.close
    assert spread[rth].mean() < spread[~rth].mean()
    # daily BID/ASK/MIDPOINT bars aggregate the intraday ones
    s = session_of(ESH5, dt.date(2025, 2, 4))
    for what in ("BID", "ASK", "MIDPOINT"):
        day = model.bars(ESH5, s.start, s.end, "1 day", what)
        full = model.bars(ESH5, s.start, s.end, "1 hour", what)
        assert (day.open[0], day.high[0], day.low[0], day.close[0]) == (
            full.open[0],
            full.high.max(),
            full.low.min(),
            full.close[-1],
        )
        assert day.volume[0] == -1


@pytest.mark.parametrize("inst", [ESH5, ESM5, ZC], ids=["front", "illiquid", "grains"])
def test_waps_lie_within_their_bars(model, inst):
    days = model.bars(inst, utc(2025, 2, 3), utc(2025, 2, 8), "1 day")
    minutes = model.bars(inst, utc(2025, 2, 3), utc(2025, 2, 8), "1 min")
    seconds = model.bars(inst, utc(2025, 2, 4, 14), utc(2025, 2, 4, 16), "1 secs")
    for b in (days, minutes, seconds):
        traded = b.volume > 0
        assert traded.any()
        assert np.all((b.wap[traded] >= b.low[traded] - 1e-9) & (b.wap[traded] <= b.high[traded] + 1e-9))
        assert np.all(b.wap[~traded] == b.close[~traded])
        assert np.array_equal(b.count > 0, traded)  # a bar with volume has trades, and the reverse


# ---------------------------------------------------------------- bars in progress


def test_bar_in_progress_is_truncated_at_end(model):
    end = utc(2025, 2, 4, 16, 37, 30)
    hourly = model.bars(ESH5, utc(2025, 2, 4, 12), end, "1 hour")
    assert hourly.time[-1] == utc(2025, 2, 4, 16).timestamp()
    secs = model.bars(ESH5, utc(2025, 2, 4, 16), end, "1 secs")
    assert len(secs) == 37 * 60 + 30
    assert_same_bar(single(hourly, len(hourly) - 1), aggregate(secs))
    minute = model.bars(ESH5, utc(2025, 2, 4, 16, 37), end, "1 min")
    assert len(minute) == 1 and minute.close[0] == secs.close[-1]
    # the day in progress: its daily bar is the aggregate so far
    s = session_of(ESH5, dt.date(2025, 2, 4))
    daily = model.bars(ESH5, s.start, end, "1 day")
    so_far = model.bars(ESH5, s.start, end, "1 hour")
    assert_same_bar(single(daily), aggregate(so_far))
    complete = model.bars(ESH5, s.start, s.end, "1 day")
    assert daily.volume[0] < complete.volume[0]


# ---------------------------------------------------------------- quotes and fills


def test_quote_follows_the_one_second_path(model):
    s = session_of(ESH5, dt.date(2025, 2, 4))
    start = utc(2025, 2, 4, 15, 20)
    secs = model.bars(ESH5, s.start, start + dt.timedelta(minutes=2), "1 secs")
    prev_close = model.session_close(ESH5, dt.date(2025, 2, 3))
    for offset in (0.0, 0.4, 1.0, 59.9, 61.5, 119.0):
        at = start + dt.timedelta(seconds=offset)
        q = model.quote(ESH5, at)
        i = int(np.searchsorted(secs.time, at.timestamp(), side="right")) - 1
        assert q.is_open and q.time == at
        assert q.last == secs.close[i] == model.price_at(ESH5, at)
        assert q.ask - q.bid >= 0.25 - 1e-12
        assert q.bid <= q.last <= q.ask
        assert_on_grid(np.array([q.bid, q.ask, q.last]), 0.25)
        assert 5 <= q.bid_size <= 60 and 5 <= q.ask_size <= 60 and q.last_size >= 1
        assert q.volume == secs.volume[: i + 1].sum()
        assert (q.open, q.high, q.low) == (secs.open[0], secs.high[: i + 1].max(), secs.low[: i + 1].min())
        assert q.close == prev_close
    assert model.quote(ESH5, start) == model.quote(ESH5, start)


def test_quote_when_closed_shows_the_last_session(model):
    friday = session_of(ESH5, dt.date(2025, 2, 7))
    daily = model.bars(ESH5, friday.start, friday.end, "1 day")
    for at in (utc(2025, 2, 8, 12), utc(2025, 2, 7, 22, 30)):  # Saturday; Friday after the close
        q = model.quote(ESH5, at)
        assert not q.is_open
        assert q.last == daily.close[0] and q.volume == daily.volume[0]
        assert (q.open, q.high, q.low) == (daily.open[0], daily.high[0], daily.low[0])
        assert q.bid <= q.last <= q.ask and q.ask > q.bid
    # the daily maintenance break inside a week is closed too
    assert not model.quote(ESH5, utc(2025, 2, 4, 22, 30)).is_open
    # grains: the break between the two segments of one session
    brk = model.quote(ZC, utc(2025, 2, 5, 14, 0))
    assert not brk.is_open
    # before listing there is no market
    early = model.quote(ESH5, utc(2024, 1, 2, 15))
    assert not early.is_open and math.isnan(early.last)
    # long after expiry: the final values of the last session
    late = model.quote(ESH5, utc(2025, 9, 1, 15))
    assert not late.is_open and late.last == model.session_close(ESH5, ESH5.last_trade_date)


def test_path_between_matches_the_seconds(model):
    start = utc(2025, 2, 4, 15, 20, 10)
    secs = model.bars(ESH5, start - dt.timedelta(minutes=1), start + dt.timedelta(minutes=5), "1 secs")
    for a, b in ((0, 1), (0.5, 2.5), (0, 5), (3, 170), (0, 290)):
        lo, hi = model.path_between(ESH5, start + dt.timedelta(seconds=a), start + dt.timedelta(seconds=b))
        t0, t1 = start.timestamp() + a, start.timestamp() + b
        sel = (secs.time + 1 > t0) & (secs.time < t1)
        assert (lo, hi) == (secs.low[sel].min(), secs.high[sel].max())
    closed = model.path_between(ESH5, utc(2025, 2, 8, 12), utc(2025, 2, 8, 13))
    assert all(math.isnan(x) for x in closed)
    # across a whole session the range is the daily bar's
    s = session_of(ESH5, dt.date(2025, 2, 4))
    daily = model.bars(ESH5, s.start, s.end, "1 day")
    assert model.path_between(ESH5, s.start - dt.timedelta(hours=1), s.end) == (daily.low[0], daily.high[0])


# ---------------------------------------------------------------- speed sanity (real targets in bench/)


def test_speed_sanity():
    fresh = MarketModel(dispatch, seed=3)
    inst = instrument(ES, 9001, last=dt.date(2026, 3, 20), first=dt.date(2023, 1, 1))
    t = time.perf_counter()
    daily = fresh.bars(inst, utc(2024, 1, 1), utc(2025, 1, 1), "1 day")
    t_daily = time.perf_counter() - t
    t = time.perf_counter()
    minutes = fresh.bars(inst, utc(2024, 6, 1), utc(2024, 7, 1), "1 min")
    t_minutes = time.perf_counter() - t
    assert len(daily) > 240 and len(minutes) > 25_000
    assert t_daily < 3 and t_minutes < 3, (t_daily, t_minutes)
