"""The data objects take IB local symbols and contract names wherever they take a futuresContract."""

from __future__ import annotations

import pytest

from sysbrokers.IB.contract_names import ContractNameError
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
from sysobjects.contracts import futuresContract
from sysobjects.futures_per_contract_prices import Frequency
from tests.connection import open_conn

ESM5 = futuresContract("SP500", "202506")


@pytest.fixture
def prices(sim, conns, tmp_path) -> ibFuturesContractPriceData:
    return ibFuturesContractPriceData(open_conn(sim, conns, tmp_path, client_id=31))


def test_price_methods_take_local_symbols(prices):
    by_contract = prices.get_prices_at_frequency_for_contract_object(ESM5, Frequency.Day)
    by_symbol = prices.get_prices_at_frequency_for_contract_object("ESM5", Frequency.Day)
    by_key = prices.get_prices_at_frequency_for_contract_object(contract_object="SP500/202506", frequency="D")
    assert len(by_contract) > 20
    assert by_symbol.equals(by_contract) and by_key.equals(by_contract)
    expired = prices.get_prices_at_frequency_for_potentially_expired_contract_object(contract="ESZ4", freq="D")
    assert len(expired) > 20
    snap = prices.get_tick_snapshot_for_contract_object("ESH5")
    assert 5000 < snap.bid < snap.ask < 10000
    assert prices.has_merged_price_data_for_contract("ESM5")
    ticker = prices.get_ticker_object_for_contract("ZN   JUN 25")
    assert "ZN   JUN 25" in repr(ticker)
    prices.cancel_market_data_for_contract("ZN   JUN 25")
    assert not ticker.active


def test_contract_data_methods_take_local_symbols(sim, conns, tmp_path):
    data = ibFuturesContractData(open_conn(sim, conns, tmp_path, client_id=32))
    assert data.get_min_tick_size_for_contract("ESM5") == data.get_min_tick_size_for_contract(ESM5) == 0.25
    assert data.get_price_magnifier_for_contract("ZCK5") == 100  # corn: IB quotes cents


def test_a_bad_name_is_a_typed_error_before_anything_is_asked(prices):
    with pytest.raises(ContractNameError, match="'ESQ'"):
        prices.get_prices_for_contract_object("ESQ")
    with pytest.raises(ContractNameError, match="'XXM5'"):
        prices.get_tick_snapshot_for_contract_object("XXM5")
