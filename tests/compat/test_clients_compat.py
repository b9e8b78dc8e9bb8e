"""Item 3: pysystemtrade's client-level and remaining data-object methods, against ibsim."""

from __future__ import annotations

import logging

import pytest

from sysbrokers.IB.client.ib_accounting_client import ibAccountingClient
from sysbrokers.IB.client.ib_client import ibClient
from sysbrokers.IB.client.ib_contracts_client import ibContractsClient
from sysbrokers.IB.client.ib_fx_client import ibFxClient
from sysbrokers.IB.client.ib_orders_client import ibOrdersClient
from sysbrokers.IB.client.ib_positions_client import ibPositionsClient
from sysbrokers.IB.ib_translate_broker_order_objects import ibcontractWithLegs, tradeWithContract
from syscore.exceptions import missingContract
from sysobjects.contracts import futuresContract
from sysobjects.trading_hours import listOfTradingHours
from tests.connection import ACCOUNT

SP500_JUN = futuresContract("SP500", "202506")


def test_base_client_hooks(conn, caplog):
    client = ibClient(conn, logging.getLogger("pst-client"))
    assert client.ib_connection is conn and client.ib is conn.ib and client.client_id == conn.client_id() == 1
    assert client.log.name == "pst-client" and conn.log is not None and conn.account == ACCOUNT
    with caplog.at_level(logging.DEBUG, logger="pst-client"):
        client.error_handler(7, 200, "No security definition has been found", None)
        client.error_handler(-1, 2104, "Market data farm connection is OK:usfarm", None)
        client.refresh()
    levels = {r.message.split(":")[0]: r.levelname for r in caplog.records if r.name == "pst-client"}
    assert levels == {"Reqid 7": "WARNING", "Reqid -1": "DEBUG"}


def test_contracts_client_in_pysystemtrades_form(data):
    client = ibContractsClient(data.ib_conn)
    instrument = data.broker_futures_instrument.get_futures_instrument_object_with_IB_data("SP500")
    assert client.broker_get_futures_contract_list(instrument, allow_expired=False)[:1] == ["20250321"]
    assert str(client.broker_get_single_contract_expiry_date(SP500_JUN)) == "2025-06-20"
    ib_contract = client.ib_futures_contract(SP500_JUN, False, always_return_single_leg=True)
    assert ib_contract.localSymbol == "ESM5"
    with pytest.raises(missingContract, match="spread"):
        client.ib_futures_contract(SP500_JUN, trade_list_for_multiple_legs=[1, -1])
    assert client.cache.get(client.ib_get_contract_details, SP500_JUN) is client.cache.get(
        client.ib_get_contract_details, SP500_JUN
    )
    assert len(client.cache) == 1
    with_legs = client.ib_futures_contract_with_legs(SP500_JUN)
    assert isinstance(with_legs, ibcontractWithLegs) and with_legs.ibcontract == ib_contract and with_legs.legs == []
    assert client.ib_get_min_tick_size(SP500_JUN) == 0.25 and client.ib_get_price_magnifier(SP500_JUN) == 1
    assert client.ib_get_contract_details(SP500_JUN).contract.conId == ib_contract.conId
    assert client.ib_get_contract_with_conId("ES", ib_contract.conId).localSymbol == "ESM5"
    chain = client.ib_get_contract_chain(ib_contract.__class__(symbol="ES", exchange="CME", secType="FUT"))
    assert ib_contract.conId in {c.conId for c in chain} and len(chain) > 1
    assert client.ib_resolve_unique_contract(ib_contract).conId == ib_contract.conId
    with pytest.raises(missingContract):
        client.ib_resolve_unique_contract(ib_contract.__class__(symbol="ES", exchange="CME", secType="FUT"))
    hours = client.ib_get_trading_hours(SP500_JUN)
    from_ib = client.ib_get_trading_hours_from_IB(SP500_JUN)
    assert isinstance(hours, listOfTradingHours) and isinstance(from_ib, listOfTradingHours)
    assert hours.okay_to_trade_now() and from_ib.okay_to_trade_now()
    assert client.ib_get_timezoneid(SP500_JUN) == "America/Chicago"
    overrides = client.get_all_saved_weekly_trading_hours()
    assert client.ib_get_saved_weekly_trading_hours_custom_for_contract(SP500_JUN) == overrides.for_instrument("SP500")
    zone_entry = client.ib_get_saved_weekly_trading_hours_for_timezone_of_contract(SP500_JUN)
    assert zone_entry == overrides.for_time_zone("America/Chicago")
    assert client.ib_get_saved_weekly_trading_hours_for_contract(SP500_JUN) == (
        overrides.for_instrument("SP500") or zone_entry
    )


def test_instrument_data_in_pysystemtrades_form(data):
    instruments = data.broker_futures_instrument
    ib_contract = data.broker_futures_contract.ib_client.ib_futures_contract(SP500_JUN)
    assert instruments.get_instrument_code_from_broker_contract_object(ib_contract) == "SP500"
    assert instruments.get_instrument_data("SP500").ib_data.ib_symbol == "ES"
    assert "SP500" in instruments.ib_config.instrument_codes()
    assert isinstance(instruments.ib_client, ibClient) and instruments.data is data


def test_accounting_fx_and_position_clients(sim, data):
    accounting = ibAccountingClient(data.ib_conn)
    value = accounting.broker_get_account_value_across_currency(ACCOUNT)
    excess = accounting.broker_get_excess_liquidity_value_across_currency()
    assert value.value_for_currency("USD") > 0 and 0 < excess.value_for_currency("USD") <= value.value_for_currency(
        "USD"
    )
    summary = accounting.account_summary_data()
    assert summary[ACCOUNT]["NetLiquidation"]["USD"] == pytest.approx(value.value_for_currency("USD"))
    capital = data.broker_capital
    assert capital.get_account_value_across_currency(ACCOUNT) == value
    assert capital.get_excess_liquidity_value_across_currency(ACCOUNT).value_for_currency("USD") > 0

    fx = ibFxClient(data.ib_conn)
    assert fx.ib_spotfx_contract("GBP", "USD").localSymbol == "GBP.USD"
    assert fx.broker_fx_balances(ACCOUNT)["USD"] > 0
    placed = fx.broker_fx_market_order(-30, "GBP", ACCOUNT, ccy2="USD")
    trade = placed.trade
    assert isinstance(placed, tradeWithContract) and trade.order.action == "SELL"
    assert data.ib_conn.wait_until(lambda: trade.orderStatus.status == "Filled", 5)
    rates = fx.broker_get_daily_fx_data("GBP", "USD")  # pysystemtrade's (ccy1, ccy2) form
    assert len(rates) > 1000 and 1.0 < rates.iloc[-1] < 2.0

    positions = data.broker_contract_position
    assert positions.futures_contract_data is data.broker_futures_contract
    assert positions.futures_instrument_data is data.broker_futures_instrument
    assert positions.get_all_current_positions_as_list_with_contract_objects(ACCOUNT) == []


def test_orders_client_in_pysystemtrades_form(sim, data):
    client = ibOrdersClient(data.ib_conn)
    what_if = client.broker_submit_order(SP500_JUN, [3], ACCOUNT, "market", what_if=True)
    assert isinstance(what_if, tradeWithContract) and what_if.trade.commission > 0
    con_id = what_if.ib_contract.conId
    bid = sim.call(lambda: sim.market.quote(sim.catalog.by_con_id(con_id), sim.clock.now()).bid)
    placed = client.broker_submit_order(SP500_JUN, [1], ACCOUNT, "limit", limit_price=bid - 50)
    trade = placed.trade
    with_legs = client.add_contract_legs_to_order(trade)
    assert (
        isinstance(with_legs, tradeWithContract)
        and with_legs.trade is trade
        and with_legs.ibcontract_with_legs.legs == []
    )
    assert data.ib_conn.wait_until(lambda: trade.orderStatus.status in ("PreSubmitted", "Submitted"), 5)
    client.modify_limit_price_given_original_objects(trade.order, placed.ib_contract, bid - 60)
    assert data.ib_conn.wait_until(lambda: sim.call(lambda: sim.broker.open_orders(1)[0].spec.lmt_price) == bid - 60, 5)
    client.ib_cancel_order(trade.order)
    assert data.ib_conn.wait_until(lambda: trade.orderStatus.status == "Cancelled", 5)
    assert trade in client.broker_get_orders(ACCOUNT)


def test_positions_client_in_pysystemtrades_form(sim, data):
    """`broker_get_positions(account_id)`: a list of ib_async `Position`s here (pysystemtrade: its
    positionsFromIB dict) — the row marked D in docs/pysystemtrade.md."""
    client = ibPositionsClient(data.ib_conn)
    assert client.broker_get_positions(ACCOUNT) == []
    placed = ibOrdersClient(data.ib_conn).broker_submit_order(SP500_JUN, 2, ACCOUNT, "market")
    assert data.ib_conn.wait_until(lambda: placed.trade.orderStatus.status == "Filled", 5)
    assert data.ib_conn.wait_until(lambda: [p.position for p in client.broker_get_positions(ACCOUNT)] == [2], 5)
    [position] = client.broker_get_positions(ACCOUNT)
    assert position.account == ACCOUNT and position.contract.conId == placed.ib_contract.conId
