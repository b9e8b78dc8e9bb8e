"""Trading hours as pysystemtrade's objects, and `less_than_N_hours_of_trading_left_for_contract`,
on ibsim's clock."""

from __future__ import annotations

import datetime as dt

from sysobjects.contracts import futuresContract
from sysobjects.trading_hours import listOfTradingHours, tradingHours

SP500_JUN = futuresContract("SP500", "202506")
UTC = dt.UTC


def test_trading_hours_objects(data):
    contracts = data.broker_futures_contract
    hours = contracts.get_trading_hours_for_contract(SP500_JUN)
    assert isinstance(hours, listOfTradingHours) and all(isinstance(h, tradingHours) for h in hours)
    assert all(start < end and start.tzinfo is not None for start, end in hours)  # still pairs
    now = data.ib_conn.now()  # ibsim: Tuesday 4 March 2025, 15:00 UTC; ES trades
    assert hours.okay_to_trade_now() and contracts.is_contract_okay_to_trade(SP500_JUN)
    session = hours.current_session()
    assert session.okay_to_trade_now() and session.opening_time <= now < session.closing_time
    left = session.hours_left_before_market_close()
    assert 0 < left < 24
    assert not contracts.less_than_N_hours_of_trading_left_for_contract(SP500_JUN)  # N_hours=1.0
    assert contracts.less_than_N_hours_of_trading_left_for_contract(SP500_JUN, N_hours=left + 0.1)
    saturday = dt.datetime(2025, 3, 8, 15, tzinfo=UTC)
    assert not hours.okay_to_trade_now(now=saturday)
    assert not hours.less_than_N_hours_left(N_hours=100, now=saturday)


def test_touching_sessions_count_as_one():
    t = dt.datetime(2025, 3, 4, 12, tzinfo=UTC)
    hours = listOfTradingHours([(t, t + dt.timedelta(hours=1)), (t + dt.timedelta(hours=1), t + dt.timedelta(hours=5))])
    assert not hours.less_than_N_hours_left(N_hours=2, now=t + dt.timedelta(minutes=30))
    assert hours.less_than_N_hours_left(N_hours=5, now=t + dt.timedelta(minutes=30))
