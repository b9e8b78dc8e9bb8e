"""Seed 001's "Futures price data", "Contracts data", "Instruments data" and "FX Data" sections,
run as written against ibsim (only the connection's port differs): in a script, and in notebook
mode (the connection built inside a running event loop, as in Jupyter: docs/async.md)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sysbrokers.IB.contract_resolution import AmbiguousContract
from sysbrokers.IB.ib_errors import IBNoData, IBNoSecurityDefinition
from sysobjects.exceptions import UnknownFxCode, UnknownInstrument
from tests.connection import open_conn


@pytest.fixture(name="conn", params=["script", "notebook"])
def conn_in_each_mode_fixture(request, sim, conns, tmp_path):
    return open_conn(sim, conns, tmp_path, mode=request.param)


def test_futures_price_data_section(conn):
    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
    from sysobjects.contracts import futuresContract

    ibfuturesdata = ibFuturesContractPriceData(conn)
    assert "EDOLLAR" in ibfuturesdata.get_instruments_with_price_data()
    # EDOLLAR (GE) was delisted in 2023: IB lists no live contract ...
    assert ibfuturesdata.contract_dates_with_price_data_for_instrument_code("EDOLLAR") == []
    # ... and the 2012 contract is long gone: a typed error, not a crash.
    with pytest.raises(IBNoSecurityDefinition, match="EDOLLAR"):
        ibfuturesdata.get_prices_for_contract_object(futuresContract("EDOLLAR", "201203"))
    # The same calls on a live instrument return data.
    dates = ibfuturesdata.contract_dates_with_price_data_for_instrument_code("SP500")
    assert dates[:2] == ["20250321", "20250620"]
    prices = ibfuturesdata.get_prices_for_contract_object(futuresContract("SP500", "202506"))
    assert list(prices.columns) == ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]
    assert str(prices.index.tz) == "UTC"
    assert len(prices) > 100
    assert prices.index.is_monotonic_increasing and prices.index.is_unique
    assert (prices.index.hour == 0).all()  # daily bars keyed by session date (midnight UTC)


def test_contracts_data_section(conn):
    from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
    from sysobjects.contracts import futuresContract

    contract = futuresContract("SP500", "202506")
    ib_futures_contract_data = ibFuturesContractData(conn)
    with_ib = ib_futures_contract_data.get_contract_object_with_IB_data(contract)
    assert with_ib.instrument.ib_data.ib_symbol == "ES"
    assert str(with_ib.expiry_date) == "2025-06-20"
    assert ib_futures_contract_data.get_actual_expiry_date_for_single_contract(contract) == dt.date(2025, 6, 20)
    assert ib_futures_contract_data.get_min_tick_size_for_contract(contract) == 0.25
    hours = ib_futures_contract_data.get_trading_hours_for_contract(contract)
    assert hours and all(start < end and start.tzinfo is not None for start, end in hours)
    # The seed's own example month has expired: the documented error.
    with pytest.raises(IBNoSecurityDefinition):
        ib_futures_contract_data.get_contract_object_with_IB_data(futuresContract("EDOLLAR", "202306"))
    expired = ib_futures_contract_data.get_contract_object_with_IB_data(
        futuresContract("EDOLLAR", "202306"), allow_expired=True
    )
    assert expired.expiry_date.year == 2023


def test_instruments_data_section(conn):
    from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData

    ib_futures_instrument_data = ibFuturesInstrumentData(conn)
    instruments = ib_futures_instrument_data.get_list_of_instruments()
    assert {"EDOLLAR", "SP500", "CORN", "BUND"} <= set(instruments)
    edollar = ib_futures_instrument_data.get_futures_instrument_object_with_IB_data("EDOLLAR")
    assert edollar.ib_data.ib_symbol == "GE" and edollar.ib_data.ib_exchange == "CME"
    assert ib_futures_instrument_data.get_brokers_instrument_code("EDOLLAR") == "GE"
    assert ib_futures_instrument_data.get_instrument_code_from_broker_code("GE") == "EDOLLAR"
    with pytest.raises(UnknownInstrument, match="NOT_AN_INSTRUMENT"):
        ib_futures_instrument_data.get_futures_instrument_object_with_IB_data("NOT_AN_INSTRUMENT")


def test_fx_data_section(conn):
    from sysbrokers.IB.ib_spot_FX_data import ibFxPricesData

    ibfxpricedata = ibFxPricesData(conn)
    assert "GBPUSD" in ibfxpricedata.get_list_of_fxcodes()
    gbpusd = ibfxpricedata.get_fx_prices("GBPUSD")
    assert len(gbpusd) > 200 and str(gbpusd.index.tz) == "UTC"
    assert 0.8 < float(gbpusd.iloc[-1]) < 2.5
    chfusd = ibfxpricedata.get_fx_prices("CHFUSD")  # IDEALPRO lists USD.CHF: inverted
    usdchf_mid = 1 / float(chfusd.iloc[-1])
    assert 0.5 < usdchf_mid < 1.5
    with pytest.raises(UnknownFxCode):
        ibfxpricedata.get_fx_prices("XXXYYY")


def test_price_magnifier_is_applied(conn, sim):
    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
    from sysobjects.contracts import futuresContract

    data = ibFuturesContractPriceData(conn)
    corn = data.get_prices_for_contract_object(futuresContract("CORN", "202507"))
    # IB quotes corn in cents (around 450); the layer's prices are dollars.
    assert 1.0 < corn["FINAL"].iloc[-1] < 20.0
    assert data.ib_client.ib_get_min_tick_size(futuresContract("CORN", "202507")) == pytest.approx(0.0025)


def test_hourly_prices_are_paged_without_gaps_or_duplicates(conn, sim):
    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
    from sysobjects.contracts import futuresContract

    data = ibFuturesContractPriceData(conn)
    start = dt.datetime(2024, 11, 1, tzinfo=dt.UTC)
    hourly = data.get_prices_at_frequency_for_contract_object(futuresContract("SP500", "202506"), "H", start=start)
    assert hourly.index[0] >= pd.Timestamp(start)
    assert hourly.index.is_unique and hourly.index.is_monotonic_increasing
    assert data.ib_client.stats.requests >= 4  # four months at IB's 30-day maximum per request
    gaps = hourly.index.to_series().diff().dropna()
    assert gaps.max() <= pd.Timedelta(days=4)  # weekends and holidays, no missing page


def test_expired_contract_history(conn, sim):
    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
    from sysobjects.contracts import futuresContract

    data = ibFuturesContractPriceData(conn)
    expired = data.get_prices_at_frequency_for_potentially_expired_contract_object(futuresContract("SP500", "202412"))
    assert expired.index[-1] <= pd.Timestamp("2024-12-21", tz="UTC")
    with pytest.raises(IBNoSecurityDefinition):
        data.get_prices_for_contract_object(futuresContract("SP500", "202412"))  # not without allow_expired


def test_no_data_long_after_expiry_is_ibnodata(sims, conns, tmp_path):
    from sysbrokers.IB.ib_connection import connectionIB
    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
    from sysobjects.contracts import futuresContract
    from tests.connection import test_config

    # EDOLLAR's last contracts expired in 2023; in 2025-03 IB still describes GEM3 but serves no
    # bars older than ... it does serve them (within two years). At 2026-01 they are gone.
    sim = sims(start=dt.datetime(2025, 6, 1, 15, tzinfo=dt.UTC))
    conn = conns(connectionIB(1, ib_port=sim.port, account="DU123456", config=test_config(tmp_path, sim.port)))
    data = ibFuturesContractPriceData(conn)
    prices = data.get_prices_at_frequency_for_potentially_expired_contract_object(futuresContract("EDOLLAR", "202306"))
    assert len(prices) > 0
    sim2 = sims(start=dt.datetime(2025, 7, 1, 15, tzinfo=dt.UTC))
    conn2 = conns(connectionIB(2, ib_port=sim2.port, account="DU123456", config=test_config(tmp_path, sim2.port)))
    from sysbrokers.IB.client.ib_contracts_client import clear_contract_cache

    clear_contract_cache()
    with pytest.raises((IBNoData, IBNoSecurityDefinition)):
        ibFuturesContractPriceData(conn2).get_prices_at_frequency_for_potentially_expired_contract_object(
            futuresContract("EDOLLAR", "202306")
        )


def test_ambiguity_is_never_resolved_silently():
    from ib_async import ContractDetails, Future

    from sysbrokers.IB.contract_resolution import choose_contract
    from sysobjects.contract_dates import contractDate
    from sysobjects.instruments import futuresInstrument, futuresInstrumentWithIBConfigData, ibInstrumentConfigData

    def details(local, klass, expiry):
        return ContractDetails(contract=Future("VIX", expiry, "CFE", localSymbol=local, tradingClass=klass))

    candidates = [details("VXM5", "VX", "20250618"), details("VX25M5", "VX", "20250618")]
    plain = futuresInstrumentWithIBConfigData(
        futuresInstrument("VIX"), ibInstrumentConfigData("VIX", "CFE", "USD", 1000, 1.0, False, "")
    )
    with pytest.raises(AmbiguousContract, match="IBTradingClass"):
        choose_contract(candidates, plain, contractDate("202506"))
    weekly_off = futuresInstrumentWithIBConfigData(
        futuresInstrument("VIX"), ibInstrumentConfigData("VIX", "CFE", "USD", 1000, 1.0, True, "")
    )
    assert choose_contract(candidates, weekly_off, contractDate("202506")).contract.localSymbol == "VXM5"


def test_seed001_expiry_example_answers_for_a_contract_expired_within_ibs_window(sims, conns, tmp_path):
    # Seed 001: get_actual_expiry_date_for_single_contract(futuresContract("EDOLLAR", "202306")).
    # On 2025-03-04 GE 202306 has expired, but IB still lists it: its expiry is a fact, not a permission.
    from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
    from sysobjects.contracts import futuresContract
    from tests.connection import open_conn

    conn = open_conn(sims(), conns, tmp_path)
    expiry = ibFuturesContractData(conn).get_actual_expiry_date_for_single_contract(
        futuresContract("EDOLLAR", "202306")
    )
    assert (expiry.year, expiry.month) == (2023, 6) and expiry.weekday() == 0  # GE: the Monday before IMM Wednesday
