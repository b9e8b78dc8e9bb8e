"""What IPython and Jupyter show: concise reprs of contracts, instruments, prices, orders, fills,
positions, capital and the data objects; seed 001's methods documented with a one-line example.

The reprs of live objects (data objects, prices from IB, an order with its IB Trade) are checked
against ibsim over a real socket; the rest are plain objects.
"""

from __future__ import annotations

import datetime as dt
import inspect

import pandas as pd
import pytest

from sysbrokers.IB.ib_capital_data import ibCapitalData
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
from sysbrokers.IB.ib_instrument_config import load_futures_config
from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData
from sysbrokers.IB.ib_orders_data import ibOrdersData
from sysbrokers.IB.ib_position_data import ibContractPositionData
from sysbrokers.IB.ib_spot_FX_data import ibFxPricesData
from sysobjects.contracts import futuresContract, listOfFuturesContracts
from sysobjects.fills import Fill, listOfFills
from sysobjects.futures_per_contract_prices import Frequency, futuresContractPrices
from sysobjects.orders import brokerOrder
from sysobjects.positions import (
    contractPosition,
    currencyValue,
    listOfContractPositions,
    listOfCurrencyValues,
    whatIfMargin,
)
from tests.connection import (  # noqa: F401 - fixtures
    conn_fixture,
    conns_fixture,
    fresh_contract_cache_fixture,
    sim_fixture,
    sims_fixture,
)

UTC = dt.UTC

# Seed 001's data-object sections, method by method, as the seed document names them.
SEED_001_METHODS = {
    ibFxPricesData: ["get_list_of_fxcodes", "get_fx_prices"],
    ibFuturesContractPriceData: [
        "get_instruments_with_price_data",
        "contract_dates_with_price_data_for_instrument_code",
        "get_prices_for_contract_object",
    ],
    ibCapitalData: ["get_account_value_across_currency_across_accounts"],
    ibFuturesContractData: [
        "get_contract_object_with_IB_data",
        "get_actual_expiry_date_for_single_contract",
        "get_min_tick_size_for_contract",
        "get_trading_hours_for_contract",
    ],
    ibFuturesInstrumentData: [
        "get_list_of_instruments",
        "get_futures_instrument_object_with_IB_data",
        "get_brokers_instrument_code",
        "get_instrument_code_from_broker_code",
    ],
    ibOrdersData: [
        "get_list_of_broker_orders",
        "get_list_of_orders_from_storage",
        "put_order_on_stack",
        "match_db_broker_order_to_order_from_brokers",
        "match_db_broker_order_to_control_order_from_brokers",
        "cancel_order_on_stack",
        "check_order_is_cancelled",
        "check_order_is_cancelled_given_control_object",
        "check_order_can_be_modified_given_control_object",
        "modify_limit_price_given_control_object",
    ],
    ibContractPositionData: ["get_all_current_positions_as_list_with_contract_objects"],
}


def daily_prices(days: int = 3, contract: futuresContract | None = None) -> futuresContractPrices:
    index = pd.date_range("2025-03-03", periods=days, freq="D", tz="UTC")
    frame = pd.DataFrame(
        {"OPEN": 1.0, "HIGH": 2.0, "LOW": 0.5, "FINAL": [1.5 + i for i in range(days)], "VOLUME": 10.0}, index=index
    )
    return futuresContractPrices(frame, frequency=Frequency.Day, contract=contract)


def a_fill(exec_id: str = "e1", quantity: int = 2, price: float = 5812.25, commission: float | None = 4.5) -> Fill:
    return Fill(
        exec_id=exec_id,
        time=dt.datetime(2025, 3, 4, 15, 0, 1, tzinfo=UTC),
        quantity=quantity,
        price=price,
        commission=commission,
        commission_currency=None if commission is None else "USD",
    )


# ------------------------------------------------------------------ contracts and instruments
def test_contract_repr_is_pysystemtrade_like_and_lists_are_short():
    assert repr(futuresContract("SP500", "202506")) == "futuresContract('SP500', '20250600')"
    dates = ["20250321", "20250620", "20250919"]
    chain = listOfFuturesContracts(futuresContract("SP500", d) for d in dates)
    assert repr(chain) == "<listOfFuturesContracts SP500 x3: 20250321, 20250620, 20250919>"
    mixed = listOfFuturesContracts([futuresContract("SP500", "202506"), futuresContract("CORN", "202507")])
    assert repr(mixed) == "<listOfFuturesContracts 2 contracts: SP500/20250600, CORN/20250700>"
    long = listOfFuturesContracts(futuresContract("VIX", f"2025{m:02d}") for m in range(1, 13))
    text = repr(long)
    assert text.startswith("<listOfFuturesContracts VIX x12: 20250100, ") and "..., 20251100, 20251200>" in text
    assert len(text) < 140
    assert repr(listOfFuturesContracts()) == "<listOfFuturesContracts empty>"
    assert isinstance(long, list) and len(long) == 12  # still a list


def test_instrument_reprs_show_the_ib_mapping():
    instrument = load_futures_config().get("SP500")
    assert repr(instrument) == (
        "<futuresInstrumentWithIBConfigData SP500: ES on CME, USD, multiplier 50, trading class ES>"
    )
    assert repr(instrument.ib_data) == "<ibInstrumentConfigData ES on CME, USD, multiplier 50, trading class ES>"
    corn = load_futures_config().get("CORN").ib_data
    assert "price magnifier 100" in repr(corn)
    assert repr(instrument.instrument) == "futuresInstrument(instrument_code='SP500')"


# ------------------------------------------------------------------------------ prices
def test_prices_repr_has_a_summary_line_above_the_table():
    prices = daily_prices(3, futuresContract("SP500", "202506"))
    summary = "<futuresContractPrices SP500 202506 D: 3 rows 2025-03-03 → 2025-03-05 UTC>"
    assert prices.summary() == summary
    lines = repr(prices).splitlines()
    assert lines[0] == summary
    assert lines[1].split() == ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]  # then pandas' own table
    assert len(lines) == 2 + 1 + 3  # summary, header, index name, three rows
    html = prices._repr_html_()
    assert html.startswith("<p><code>&lt;futuresContractPrices SP500 202506 D: 3 rows")
    assert "<table" in html and "FINAL" in html


def test_prices_summary_for_exact_dates_intraday_unknown_and_empty():
    assert daily_prices(1, futuresContract("VIX", "20250416")).summary() == (
        "<futuresContractPrices VIX 20250416 D: 1 row 2025-03-03 → 2025-03-03 UTC>"
    )
    spread = daily_prices(1, futuresContract("SP500", "20250600_20250900"))
    assert spread.summary().startswith("<futuresContractPrices SP500 202506_202509 D: 1 row ")
    index = pd.date_range("2025-03-04 14:00", periods=4, freq="h", tz="UTC")
    frame = pd.DataFrame({c: 1.0 for c in ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]}, index=index)
    hourly = futuresContractPrices(frame, frequency="H")
    assert hourly.summary() == "<futuresContractPrices H: 4 rows 2025-03-04 14:00 → 2025-03-04 17:00 UTC>"
    unknown = futuresContractPrices(frame)
    assert unknown.summary() == "<futuresContractPrices: 4 rows 2025-03-04 14:00 → 2025-03-04 17:00 UTC>"
    empty = futuresContractPrices.create_empty("D", futuresContract("SP500", "202506"))
    assert empty.summary() == "<futuresContractPrices SP500 202506 D: 0 rows>"
    assert repr(empty).startswith("<futuresContractPrices SP500 202506 D: 0 rows>\nEmpty futuresContractPrices")


def test_pandas_behaviour_is_kept_and_the_contract_follows_the_prices():
    contract = futuresContract("SP500", "202506")
    prices = daily_prices(5, contract)
    head = prices.head(2)
    assert isinstance(head, futuresContractPrices) and head.contract == contract and head.frequency == Frequency.Day
    assert head.summary().startswith("<futuresContractPrices SP500 202506 D: 2 rows")
    merged = prices.iloc[:2].merge_with(prices.iloc[2:])
    assert merged.contract == contract and len(merged) == 5
    # A result that is no longer prices is a plain DataFrame with pandas' own repr.
    final_only = prices[["FINAL"]]
    assert type(final_only) is pd.DataFrame
    assert repr(final_only) == repr(pd.DataFrame(prices)[["FINAL"]])
    assert prices.describe().loc["count", "FINAL"] == 5
    assert "<futuresContractPrices" not in prices.to_string()  # to_string, to_csv, ... untouched
    assert prices.final_prices().iloc[-1] == 5.5


# ------------------------------------------------------------------------- orders and fills
def test_order_repr_says_side_contract_type_status_fills_and_commission():
    order = brokerOrder("SP500", "202506", 2, account="DU123456", strategy_name="demo", order_reference="demo/1")
    assert repr(order) == "<brokerOrder BUY 2 SP500/20250600 MKT, created 0/2, account DU123456, ref demo/1>"
    order.add_fill(a_fill())
    assert repr(order) == (
        "<brokerOrder BUY 2 SP500/20250600 MKT, filled 2/2 @ 5812.25, commission 4.5 USD, account DU123456, ref demo/1>"
    )
    limit = brokerOrder("CORN", "202507", -1, order_type="LMT", limit_price=4.5, order_reference="r2")
    limit.add_fill(Fill("e9", dt.datetime(2025, 3, 4, tzinfo=UTC), -1, 4.5))
    assert (
        repr(limit)
        == "<brokerOrder SELL 1 CORN/20250700 LMT @ 4.5, filled 1/1 @ 4.5, commission not reported yet, ref r2>"
    )


def test_spread_order_repr_has_one_quantity_per_leg():
    from sysexecution.trade_qty import tradeQuantity

    spread = brokerOrder(
        "SP500", "20250600_20250900", tradeQuantity([1, -1]), order_type="LMT", limit_price=-12.5, order_reference="s1"
    )
    assert (
        repr(spread) == "<brokerOrder BUY [1, -1] SP500/20250600_20250900 LMT @ -12.5, created [0, 0]/[1, -1], ref s1>"
    )


def test_fill_reprs():
    assert repr(a_fill()) == "<Fill BUY 2 @ 5812.25 2025-03-04 15:00:01 UTC, commission 4.5 USD, exec e1>"
    assert "commission not reported yet" in repr(a_fill(commission=None))
    fills = listOfFills([a_fill("e1", 1, 100.0), a_fill("e2", 2, 103.0, commission=None)])
    lines = repr(fills).splitlines()
    assert lines[0] == "<listOfFills 2: +3 @ 102 avg, commission 4.5 USD + 1 not reported yet>"
    assert lines[1].strip().startswith("<Fill BUY 1 @ 100") and lines[2].strip().startswith("<Fill BUY 2 @ 103")
    assert repr(listOfFills()) == "<listOfFills empty>"


# ------------------------------------------------------------------------ positions and capital
def test_position_and_capital_reprs_are_pysystemtrades():
    position = contractPosition(2, futuresContract("SP500", "20250620"))
    assert repr(position) == "SP500/20250620:2"
    assert repr(listOfContractPositions([position])) == "listOfContractPositions([SP500/20250620:2])"
    assert repr(currencyValue("USD", 1_000_000)) == "1000000.00 USD"
    assert (
        repr(listOfCurrencyValues.from_dict({"USD": 5.0, "EUR": 1.5})) == "listOfCurrencyValues([1.50 EUR, 5.00 USD])"
    )
    margin = whatIfMargin(
        "DU123456", futuresContract("SP500", "20250620"), 2, "USD", 0.0, 33000.0, 33000.0, 0.0, 30000.0, 30000.0,
        1e6, -4.5, 999995.5, 4.5, "USD",
    )  # fmt: skip
    assert repr(margin) == (
        "<whatIfMargin +2 SP500/20250620 (DU123456): initial margin +33,000.00 USD, maintenance +30,000.00 USD, "
        "commission 4.5 USD>"
    )


# ------------------------------------------------------------------------------ live objects
def test_data_object_reprs_name_gateway_client_and_state(conn: connectionIB, sim):
    objects = [
        ibFuturesContractPriceData(conn),
        ibFuturesContractData(conn),
        ibFuturesInstrumentData(conn),
        ibFxPricesData(conn),
        ibContractPositionData(conn),
        ibCapitalData(conn),
        ibOrdersData(conn),
    ]
    for data_object in objects:
        name = type(data_object).__name__
        assert repr(data_object) == f"<{name} on 127.0.0.1:{sim.port} client 1 connected>"
    # The connection keeps seed 001's repr.
    assert repr(conn) == f"IB broker connection{{'ipaddress': '127.0.0.1', 'port': {sim.port}, 'client': 1}}"
    conn.close_connection()
    assert repr(objects[0]) == f"<ibFuturesContractPriceData on 127.0.0.1:{sim.port} client 1 closed>"


def test_prices_from_ib_know_their_contract(conn: connectionIB):
    data = ibFuturesContractPriceData(conn)
    prices = data.get_prices_for_contract_object(futuresContract("SP500", "202506"))
    first, last = prices.index[0].strftime("%Y-%m-%d"), prices.index[-1].strftime("%Y-%m-%d")
    assert prices.summary() == f"<futuresContractPrices SP500 202506 D: {len(prices)} rows {first} → {last} UTC>"
    assert len(prices) > 100
    hourly = data.get_prices_at_frequency_for_contract_object(
        futuresContract("SP500", "202506"), "H", start=dt.datetime(2025, 3, 3, tzinfo=UTC)
    )
    assert hourly.summary().startswith("<futuresContractPrices SP500 202506 H: ")
    assert ":00 → 2025-03-04 " in hourly.summary()


def test_an_order_with_its_trade_shows_ib_status(conn: connectionIB):
    orders = ibOrdersData(conn, check_trading_hours=False)
    order = brokerOrder("SP500", "202506", 1, account="DU123456", strategy_name="repr")
    control = orders.put_order_on_stack(order)
    orders.wait_for_order(control, "commissions")
    text = repr(control)
    assert text.startswith(f"<ibOrderWithControls DU123456/1/{control.trade.order.orderId} IB Filled: BUY 1 SP500/")
    assert "filled 1/1 @ " in text and "commission 2.25 USD" in text
    stored = orders.get_list_of_orders_from_storage()
    assert [repr(o).split(",")[0] for o in stored] == [f"<brokerOrder BUY 1 SP500/{order.contract_id} MKT"]


# ------------------------------------------------------------------------------ docstrings
@pytest.mark.parametrize(
    ("cls", "name"), [(cls, name) for cls, names in SEED_001_METHODS.items() for name in names], ids=str
)
def test_every_seed_001_method_says_what_it_returns_with_a_one_line_example(cls, name):
    doc = inspect.getdoc(getattr(cls, name))
    assert doc, f"{cls.__name__}.{name} has no docstring"
    first = doc.splitlines()[0]
    assert len(first) > 15 and not first.startswith(("Example", ">>>")), f"{cls.__name__}.{name}: {first!r}"
    examples = [line for line in doc.splitlines() if line.startswith(("Example: ", ">>> "))]
    assert examples, f"{cls.__name__}.{name}: no 'Example: ...' or '>>> ...' line"
    assert any(f".{name}(" in line for line in examples), f"{cls.__name__}.{name}: example does not call it"
    assert all(len(line) <= 120 for line in examples)


def test_public_names_of_data_objects_list_the_seed_methods_first_for_completion():
    # IPython hides names starting with "_" from completion (omit__names=2); what remains is short
    # and holds every seed 001 method. The live check with a kernel is in tests/interactive.
    for cls, names in SEED_001_METHODS.items():
        public = [n for n in dir(cls) if not n.startswith("_")]
        assert set(names) <= set(public), cls.__name__
        assert len(public) < 60, (cls.__name__, len(public))
