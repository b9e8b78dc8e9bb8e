"""Complete bars across page seams: every bar the layer returns equals the gateway's whole bar.

IB (and ibsim) cut off the bar in progress at a request's end and leave out a bar that began
before a request's start, so pages ending mid-bar used to store one partial bar per page seam.
Here the gateway's clock is frozen at an instant inside a bar of every size, a download spans
several pages, and each bar is compared with the gateway's own model of that bar, taken over a
window that ends on a boundary (so every bar in it is whole).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from ib_async import BarData

from ibsim import IBSim
from sysbrokers.IB.bar_grid import BarGrid
from sysbrokers.IB.client.ib_price_client import BAR_PLANS, _merge_pages
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysbrokers.IB.ib_instrument_config import load_futures_config
from sysobjects.contracts import futuresContract
from sysobjects.futures_per_contract_prices import Frequency
from tests.connection import open_conn

UTC = dt.UTC
FROZEN = dt.datetime(2025, 3, 4, 15, 17, 23, tzinfo=UTC)  # inside a bar of every size


def _front(sim: IBSim, code: str):
    ib_data = load_futures_config().get(code).ib_data
    product = sim.catalog.product(ib_data.ib_symbol, ib_data.ib_exchange, sec_type="FUT")
    listed = sim.catalog.instruments_for(product, FROZEN, include_expired=False)
    live = [i for i in listed if not ib_data.trading_class or i.trading_class == ib_data.trading_class]
    return min(live, key=lambda i: i.expiry_utc)


@pytest.mark.parametrize(
    ("code", "frequency", "span"),
    [
        ("CORN", Frequency.Hour, dt.timedelta(days=75)),  # 31-day pages: 3 seams
        ("SP500", Frequency.Minutes_15, dt.timedelta(days=16)),  # 1-week pages
        ("GOLD", Frequency.Minutes_5, dt.timedelta(days=16)),
    ],
)
def test_every_bar_across_page_seams_is_the_whole_bar(sims, conns, tmp_path, code, frequency, span):
    sim = sims(start=FROZEN, speed=0)
    conn = open_conn(sim, conns, tmp_path)
    data = ibFuturesContractPriceData(conn)
    inst = _front(sim, code)
    start = FROZEN - span
    prices = data.get_prices_at_frequency_for_contract_object(
        futuresContract(code, inst.contract_month), frequency, start=start
    )
    assert data.ib_client.stats.requests >= 3, "the download must cross page seams"

    plan = BAR_PLANS[frequency]
    end = BarGrid.for_bar(plan.bar_seconds, inst.product.iana_zone).floor(FROZEN)
    whole = sim.market.bars(inst, start, end, plan.bar_size)  # every bar here ended by `end`
    times = whole.time >= start.timestamp()
    expected_index = np.asarray(whole.time[times], dtype="int64")
    got_index = prices.index.asi8 // 10**9
    assert list(got_index) == list(expected_index)
    magnifier = data.ib_client.resolve(futuresContract(code, inst.contract_month)).price_magnifier
    for column, values in (("OPEN", whole.open), ("HIGH", whole.high), ("LOW", whole.low), ("FINAL", whole.close)):
        np.testing.assert_allclose(
            prices[column].to_numpy(), values[times] / magnifier, rtol=0, atol=1e-9, err_msg=column
        )
    np.testing.assert_array_equal(prices["VOLUME"].to_numpy(), whole.volume[times].astype(float))
    # The bar in progress at the gateway's "now" is not returned.
    assert prices.index[-1] + dt.timedelta(seconds=plan.bar_seconds) <= end


def test_daily_bars_stop_before_the_session_in_progress(sims, conns, tmp_path):
    sim = sims(start=FROZEN, speed=0)
    conn = open_conn(sim, conns, tmp_path)
    data = ibFuturesContractPriceData(conn)
    inst = _front(sim, "SP500")
    prices = data.get_prices_for_contract_object(futuresContract("SP500", inst.contract_month))
    # 2025-03-04's CME session is in progress at 15:17 UTC: the last bar is the 3rd's, whole.
    assert prices.index[-1] == dt.datetime(2025, 3, 3, tzinfo=UTC)
    whole = sim.market.bars(inst, FROZEN - dt.timedelta(days=10), FROZEN, "1 day")
    day = list(whole.trade_date).index(dt.date(2025, 3, 3))
    assert prices["VOLUME"].iloc[-1] == whole.volume[day]


def _bar(hour: int, volume: float) -> BarData:
    return BarData(date=dt.datetime(2024, 9, 30, hour, tzinfo=UTC), open=1, high=2, low=0.5, close=1.5, volume=volume)


def test_where_two_pages_hold_a_bar_the_newer_pages_copy_is_kept():
    newer = [_bar(15, 46), _bar(16, 10)]
    older = [_bar(13, 5), _bar(14, 7), _bar(15, 0)]  # its 15:00 copy was cut off at its end
    merged = _merge_pages([newer, older])
    assert [(b.date.hour, b.volume) for b in merged] == [(13, 5), (14, 7), (15, 46), (16, 10)]
