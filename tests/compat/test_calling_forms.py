"""Item 1: pysystemtrade's constructors, keyword names, `return_empty`, `Frequency` values and
import paths, next to seed 001's forms."""

from __future__ import annotations

import enum
import logging
from types import SimpleNamespace

import pytest

from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from syscore.dateutils import DAILY_PRICE_FREQ, HOURLY_FREQ, Frequency
from syscore.exceptions import missingContract, missingData
from sysobjects.contracts import futuresContract, listOfFuturesContracts

SP500_JUN = futuresContract("SP500", "202506")
# pysystemtrade's own enum: Enum("Frequency", "Unknown Year ... Mixed"), int values 1..13
PstFrequency = enum.Enum(
    "Frequency", "Unknown Year Month Week BDay Day Hour Minutes_15 Minutes_5 Minute Seconds_10 Second Mixed"
)


def _ib_classes():
    from sysbrokers.broker_factory import get_ib_class_list

    return get_ib_class_list()


def test_every_broker_class_takes_pysystemtrades_and_seed001s_constructor(conn, data):
    log = logging.getLogger("compat-test")
    for cls in _ib_classes():
        pst = cls(conn, data, log=log)  # what pysystemtrade's dataBlob does
        assert pst.ibconnection is conn and pst.data is data, cls.__name__
        seed = cls(conn, log)  # seed 001: the logger second
        assert seed.ibconnection is conn and seed.data is None, cls.__name__
        assert cls(conn).data is None, cls.__name__
        if cls.__name__ != "ibFuturesContractCommissionData":  # pysystemtrade's has no client either
            assert pst.ib_client.ib_connection is conn, cls.__name__
        for made in (pst, seed):
            if hasattr(made, "close"):
                made.close()


def test_broker_factory_import_paths_are_aliases_not_copies():
    from sysbrokers.IB import ib_contract_position_data, ib_Fx_prices_data, ib_orders
    from sysbrokers.IB.ib_orders_data import ibOrdersData
    from sysbrokers.IB.ib_position_data import ibContractPositionData
    from sysbrokers.IB.ib_spot_FX_data import ibFxPricesData

    assert ib_Fx_prices_data.ibFxPricesData is ibFxPricesData
    assert ib_contract_position_data.ibContractPositionData is ibContractPositionData
    assert issubclass(ib_orders.ibExecutionStackData, ibOrdersData)
    names = [cls.__name__ for cls in _ib_classes()]
    assert names == [
        "ibFxPricesData",
        "ibFuturesContractPriceData",
        "ibFuturesContractData",
        "ibContractPositionData",
        "ibExecutionStackData",
        "ibStaticData",
        "ibCapitalData",
        "ibFuturesInstrumentData",
        "ibFxHandlingData",
        "ibFuturesContractCommissionData",
    ]


def test_broker_factory_func_from_the_config(tmp_path):
    from sysbrokers.broker_factory import get_broker_class_list
    from sysdata.config.configdata import load_config

    config = load_config(
        private_dir=tmp_path, overrides={"broker_factory_func": "tests.compat.test_calling_forms._static_only"}
    )
    assert [cls.__name__ for cls in get_broker_class_list(SimpleNamespace(config=config))] == ["ibStaticData"]
    assert len(get_broker_class_list(SimpleNamespace(config=load_config(private_dir=tmp_path)))) == 10


def _static_only() -> list[type]:
    from sysbrokers.IB.ib_static_data import ibStaticData

    return [ibStaticData]


def test_data_blob_add_class_list_names_as_pysystemtrade(data):
    from sysbrokers.broker_factory import get_broker_class_list

    data.add_class_list(get_broker_class_list(data))
    assert data.broker_execution_stack.data is data
    assert data.broker_static.get_broker_name() == "IB"
    assert data.broker_futures_contract_commission.execution_stack is data.broker_execution_stack
    assert data.broker_futures_contract_price.futures_contract_data is data.broker_futures_contract
    assert data.broker_futures_contract_price.futures_instrument_data is data.broker_futures_instrument
    assert data.broker_futures_contract.ib_futures_instrument_data is data.broker_futures_instrument
    assert data.broker_futures_contract.data is data and data.broker_capital.data is data
    assert "SP500" in data.broker_futures_instrument.get_list_of_instruments()
    assert data.broker_futures_instrument.ibconnection is data.ib_conn
    with pytest.raises(ValueError, match="configuration"):
        data.add_class_object(type("mongoFuturesContractData", (), {}))


def test_frequency_values_and_names_of_pysystemtrade(data):
    prices = data.broker_futures_contract_price
    assert Frequency(PstFrequency.Day) is DAILY_PRICE_FREQ
    assert Frequency(PstFrequency.Hour.value) is HOURLY_FREQ
    assert Frequency("Minutes_15") is Frequency.Minutes_15
    daily = prices.get_prices_at_frequency_for_contract_object(SP500_JUN, PstFrequency.Day)
    hourly = prices.get_prices_at_frequency_for_contract_object(SP500_JUN, "Hour")
    assert daily.is_daily and hourly.is_intraday
    assert str(daily.index.tz) == "UTC" and len(hourly) > len(daily) / 10


def test_return_empty_and_keyword_names(data):
    prices = data.broker_futures_contract_price
    gone = futuresContract("EDOLLAR", "201203")  # long expired: IB has no such contract
    expired = futuresContract("SP500", "202412")
    by_keywords = prices.get_prices_at_frequency_for_potentially_expired_contract_object(
        contract=expired, freq=DAILY_PRICE_FREQ
    )
    assert len(by_keywords) > 100
    assert by_keywords.equals(prices.get_prices_at_frequency_for_potentially_expired_contract_object(expired))
    with pytest.raises(missingContract):  # this layer's IBNoSecurityDefinition, caught pysystemtrade's way
        prices.get_prices_at_frequency_for_contract_object(gone, DAILY_PRICE_FREQ)
    assert prices.get_prices_at_frequency_for_contract_object(gone, DAILY_PRICE_FREQ, return_empty=True).empty


def test_merged_price_data_names(data):
    prices = data.broker_futures_contract_price
    assert "SP500" in prices.get_list_of_instrument_codes_with_merged_price_data()
    contracts = prices.contracts_with_merged_price_data_for_instrument_code("SP500", allow_expired=False)
    assert isinstance(contracts, listOfFuturesContracts)
    assert contracts.list_of_dates()[:2] == ["20250321", "20250620"]
    assert prices.has_merged_price_data_for_contract(SP500_JUN)
    assert not prices.has_merged_price_data_for_contract(futuresContract("EDOLLAR", "201203"))
    assert not prices.has_merged_price_data_for_contract(futuresContract("NOT_AN_INSTRUMENT", "202506"))
    with pytest.raises(NotImplementedError):
        prices.get_contracts_with_merged_price_data()


def test_return_empty_gives_empty_prices_where_ib_has_no_bars(conn):
    # IB keeps no minute bars of a contract that expired in December: HMDS "no data" (IBNoData).
    prices = ibFuturesContractPriceData(conn, None, log=logging.getLogger("pst"))
    expired = futuresContract("SP500", "202412")
    with pytest.raises(missingData):  # this layer's IBNoData, caught pysystemtrade's way
        prices.get_prices_at_frequency_for_potentially_expired_contract_object(
            contract=expired, freq=PstFrequency.Minute
        )
    empty = prices.get_prices_at_frequency_for_potentially_expired_contract_object(
        contract=expired, freq=PstFrequency.Minute, return_empty=True
    )
    assert empty.empty and list(empty.columns) == ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]
