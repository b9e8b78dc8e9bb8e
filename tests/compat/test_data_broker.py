"""Item 4: the `dataBroker` facade in pysystemtrade's form, and a pysystemtrade-style price update
through it, against ibsim."""

from __future__ import annotations

import pandas as pd
import pytest

from syscore.constants import arg_not_supplied
from syscore.dateutils import DAILY_PRICE_FREQ, HOURLY_FREQ
from syscore.exceptions import missingData, orderCannotBeModified
from sysdata.prices import contract_prices_key
from sysexecution.orders.named_order_objects import missing_order
from sysobjects.contracts import futuresContract
from sysobjects.orders import brokerOrder
from sysproduction.data.broker import dataBroker, priceFilterConfig
from tests.connection import ACCOUNT

SP500_JUN = futuresContract("SP500", "202506")


def update_historical_prices_for_instrument(instrument_code: str, data, cleaning_config=arg_not_supplied) -> int:
    """pysystemtrade's update_historical_prices_for_instrument, as a pysystemtrade user would move
    it onto this layer (docs/pysystemtrade.md): the contracts IB lists, intraday then daily prices,
    cleaned, merged into the price store. Returns the rows added."""
    data_broker = dataBroker(data)
    added = 0
    for date_str in data_broker.get_list_of_contract_dates_for_instrument_code(instrument_code)[:2]:
        contract_object = futuresContract(instrument_code, date_str[:6])
        for frequency in [HOURLY_FREQ, DAILY_PRICE_FREQ]:
            try:
                broker_prices = data_broker.get_cleaned_prices_at_frequency_for_contract_object(
                    contract_object, frequency, cleaning_config=cleaning_config
                )
            except missingData:
                continue
            key = contract_prices_key(instrument_code, contract_object.date_str, frequency.value)
            added += data.db_futures_contract_price.merge(key, broker_prices).added
    return added


def test_pysystemtrade_style_price_update_through_the_facade(data):
    added = update_historical_prices_for_instrument("SP500", data)
    assert added > 0
    store = data.db_futures_contract_price
    daily = store.read(contract_prices_key("SP500", "20250600", "D"))
    hourly = store.read(contract_prices_key("SP500", "20250600", "H"))
    assert len(daily) > 100 and len(hourly) > len(daily)
    assert str(daily.index.tz) == "UTC" and daily.index.max() <= pd.Timestamp(data.ib_conn.now())
    assert (hourly["VOLUME"] != 0).all()  # pysystemtrade's default cleaning: no zero-volume intraday bars
    # Running it again adds nothing: the same bars.
    assert update_historical_prices_for_instrument("SP500", data) == 0
    # An explicit cleaning config is applied as given.
    strict = priceFilterConfig(ignore_prices_with_zero_volumes_daily=True)
    cleaned = dataBroker(data).get_cleaned_prices_at_frequency_for_contract_object(
        SP500_JUN, DAILY_PRICE_FREQ, cleaning_config=strict
    )
    assert (cleaned["VOLUME"] != 0).all()


def test_facade_static_contracts_prices_and_capital(data):
    data_broker = dataBroker(data)
    assert (data_broker.get_broker_name(), data_broker.get_broker_account()) == ("IB", ACCOUNT)
    assert data_broker.get_broker_clientid() == data.ib_conn.client_id()
    assert data_broker.get_brokers_instrument_code("SP500") == "ES"
    assert data_broker.get_brokers_instrument_with_metadata("SP500").ib_data.ib_symbol == "ES"
    assert data_broker.get_list_of_contract_dates_for_instrument_code("SP500")[:1] == ["20250321"]
    assert str(data_broker.get_actual_expiry_date_for_single_contract(SP500_JUN)) == "2025-06-20"
    assert data_broker.get_contract_object_with_IB_data(SP500_JUN).instrument.ib_data.ib_symbol == "ES"
    assert data_broker.get_min_tick_size_for_contract(SP500_JUN) == 0.25
    assert data_broker.get_price_magnifier_for_contract(futuresContract("CORN", "202505")) == 100
    assert data_broker.is_contract_okay_to_trade(SP500_JUN)
    assert data_broker.get_trading_hours_for_contract(SP500_JUN).okay_to_trade_now()
    assert not data_broker.less_than_N_hours_of_trading_left_for_contract(SP500_JUN)
    prices = data_broker.get_prices_at_frequency_for_contract_object(SP500_JUN, DAILY_PRICE_FREQ)
    expired = data_broker.get_prices_at_frequency_for_potentially_expired_contract_object(
        futuresContract("SP500", "202412"), DAILY_PRICE_FREQ
    )
    assert len(prices) > 100 and len(expired) > 100
    with pytest.raises(missingData):  # dataBroker asks with return_empty=False, as pysystemtrade's
        data_broker.get_prices_at_frequency_for_potentially_expired_contract_object(
            futuresContract("SP500", "202412"), "1min"
        )
    with pytest.raises(missingData):  # no such contract at IB: missingData, as pysystemtrade's dataBroker
        data_broker.get_prices_at_frequency_for_contract_object(futuresContract("EDOLLAR", "201203"), "D")
    assert "GBPUSD" in data_broker.get_list_of_fxcodes()
    assert len(data_broker.get_fx_prices("GBPUSD")) > 100
    capital = data_broker.get_total_capital_value_in_base_currency()
    excess = data_broker.get_total_excess_liquidity_in_base_currency()
    assert capital > 0 and 0 < excess <= capital
    assert data_broker.get_margin_used_in_base_currency() == pytest.approx(capital - excess)
    assert data_broker.broker_fx_balances()["USD"] > 0
    assert data_broker.get_all_current_contract_positions() == []


def test_facade_orders_tickers_and_commissions(sim, data):
    data_broker = dataBroker(data)
    order = brokerOrder("SP500", "202506", 2, strategy_name="trend", account=ACCOUNT)
    ticker = data_broker.get_ticker_object_for_order(order)
    tick = ticker.wait_for_valid_bid_and_ask_and_return_current_tick(wait_time_seconds=5)
    assert tick.bid_price < tick.ask_price
    assert data_broker.get_largest_offside_liquid_size_for_contract_order_by_leg(order)[0] > 0
    data_broker.cancel_market_data_for_order(order)
    assert not ticker.active
    contract_ticker = data_broker.get_ticker_object_for_contract(SP500_JUN)
    data_broker.cancel_market_data_for_contract(SP500_JUN)
    assert not contract_ticker.active
    ticks = data_broker.get_recent_bid_ask_tick_data_for_contract_object(SP500_JUN, max_ticks=1, max_seconds=5)
    assert len(ticks) == 1

    commission = data_broker.get_commission_for_contract_in_currency_value(SP500_JUN)
    assert commission.currency == "USD" and commission.value > 0
    assert data_broker.what_if_order(order).trade.commission > 0
    assert data_broker.match_db_broker_order_to_order_from_brokers(order) is missing_order

    control = data_broker.submit_broker_order(order)
    assert data_broker.broker_execution_stack.wait_for_order(control, "commissions")
    matched = data_broker.match_db_broker_order_to_order_from_brokers(order)
    assert matched.fill_equals_desired_trade()
    assert data_broker.match_db_broker_order_to_control_order_from_brokers(order) is control
    total = data_broker.calculate_total_commission_for_broker_order(matched)
    assert total == pytest.approx(sum(matched.commission.values()))  # USD account, USD commissions
    assert [o.order_reference for o in data_broker.get_list_of_orders()] == [order.order_reference]
    assert [o.order_reference for o in data_broker.get_list_of_stored_orders()] == [order.order_reference]
    [position] = data_broker.get_all_current_contract_positions()
    assert position.position == 2
    assert data_broker.check_order_is_cancelled_given_control_object(control) is False
    assert data_broker.submit_broker_order(brokerOrder("SP500", "201003", 1, strategy_name="x")) is missing_order

    # A resting limit order: modified, cancelled through the facade.
    bid = sim.call(lambda: sim.market.quote(sim.catalog.by_con_id(order.con_id), sim.clock.now()).bid)
    limit = brokerOrder(
        "SP500", "202506", 1, order_type="LMT", limit_price=bid - 100, strategy_name="t", account=ACCOUNT
    )
    resting = data_broker.submit_broker_order(limit)
    assert data_broker.broker_execution_stack.wait_for_order(resting, "acknowledged")
    data_broker.check_order_can_be_modified_given_control_object_throw_error_if_not(resting)
    data_broker.modify_limit_price_given_control_object(resting, bid - 101)
    assert data.ib_conn.wait_until(
        lambda: sim.call(lambda: sim.broker.open_orders(1)[0].spec.lmt_price) == bid - 101, 5
    )
    data_broker.cancel_order_given_control_object(resting)
    assert data.ib_conn.wait_until(lambda: data_broker.check_order_is_cancelled(limit), 5)
    assert data_broker.cancel_order_on_stack(limit) is resting  # already cancelled: nothing sent
    with pytest.raises(orderCannotBeModified):
        data_broker.check_order_can_be_modified_given_control_object_throw_error_if_not(resting)

    fx_trade = data_broker.broker_fx_market_order(25, "EUR")  # the broker account by default
    assert data.ib_conn.wait_until(lambda: fx_trade.trade.orderStatus.status == "Filled", 5)
    assert fx_trade.trade.order.account == ACCOUNT
