"""`dataBlob` against ibsim: laziness, client-id leases, clean-up (also on exceptions), price store."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pandas as pd
import pytest

from sysbrokers.IB.connection_supervisor import ConnectionState
from sysbrokers.IB.ib_errors import IBNotConnected
from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
from sysdata.config.configdata import Config
from sysdata.data_blob import dataBlob
from sysdata.metadata_store import open_metadata_store
from sysdata.prices import contract_prices_key
from sysobjects.contracts import futuresContract
from sysproduction.embedded_gateway import gateway_for
from tests.connection import test_config

SP500_JUN25 = futuresContract("SP500", "202506")


def leased_ids(config: Config) -> list[int]:
    """Client ids leased in the SQLite store, read through a store of our own."""
    with open_metadata_store(config) as store:
        return store.client_id_data().get_list_of_clientids()


def eventually(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll `predicate` from this thread (the gateway runs on its own thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


@pytest.fixture
def cfg(sim, tmp_path) -> Config:
    return test_config(tmp_path, sim.port, price_store=f"parquet://{tmp_path / 'prices'}")


def test_nothing_is_opened_until_a_broker_object_is_used(sim, cfg):
    with dataBlob("lazy", config=cfg) as data:
        assert data.config is cfg
        assert data.db_futures_contract_price is not None  # the price store needs no gateway
        assert sim.stats["connections"] == 0 and sim.sessions == {}
        assert leased_ids(cfg) == []

        prices = data.broker_futures_contract_price
        assert isinstance(prices, ibFuturesContractPriceData)
        assert data.broker_futures_contract_price is prices  # one object per blob
        client_id = data.ib_conn.client_id()
        assert prices.ibconnection is data.ib_conn
        assert client_id >= cfg.ib_idoffset  # allocated by the store, not a fixed id
        assert leased_ids(cfg) == [client_id]
        [lease] = data.db_ib_broker_client_id.list_leases()
        assert lease.process_name == "lazy"
        assert client_id in sim.sessions and sim.stats["connections"] == 1
        assert data.broker_futures_contract.get_actual_expiry_date_for_single_contract(SP500_JUN25) == dt.date(
            2025, 6, 20
        )
        conn = data.ib_conn

    assert conn.state is ConnectionState.CLOSED
    assert leased_ids(cfg) == []
    assert eventually(lambda: client_id not in sim.sessions), "the gateway did not see the disconnect"


def test_an_exception_in_the_block_still_releases_everything(sim, cfg):
    with pytest.raises(ZeroDivisionError), dataBlob("failing", config=cfg) as data:
        conn = data.ib_conn
        client_id = conn.client_id()
        assert leased_ids(cfg) == [client_id] and client_id in sim.sessions
        _ = 1 / 0

    assert conn.state is ConnectionState.CLOSED and not conn.ib.isConnected()
    assert leased_ids(cfg) == []
    assert eventually(lambda: client_id not in sim.sessions), "the gateway did not see the disconnect"
    # the freed id is handed out again
    with dataBlob("again", config=cfg) as data:
        assert data.ib_conn.client_id() == client_id


def test_an_injected_connection_is_used_but_not_closed(sim, conn, cfg):
    with dataBlob("injected", config=cfg, ib_conn=conn) as data:
        assert data.ib_conn is conn
        contracts = data.broker_futures_contract
        assert contracts.get_actual_expiry_date_for_single_contract(SP500_JUN25) == dt.date(2025, 6, 20)
    assert conn.is_connected() and conn.state is ConnectionState.CONNECTED
    assert conn.ib.reqCurrentTime() is not None
    assert list(sim.sessions) == [conn.client_id()]
    assert leased_ids(cfg) == []  # the blob leased nothing


def test_two_blobs_at_once_get_different_client_ids(sim, cfg):
    with dataBlob("first", config=cfg) as first, dataBlob("second", config=cfg) as second:
        ids = first.ib_conn.client_id(), second.ib_conn.client_id()
        assert ids[0] != ids[1]
        assert leased_ids(cfg) == sorted(ids)
        assert set(sim.sessions) == set(ids)
        names = {lease.client_id: lease.process_name for lease in first.db_ib_broker_client_id.list_leases()}
        assert names == {ids[0]: "first", ids[1]: "second"}
    assert leased_ids(cfg) == []
    assert eventually(lambda: sim.sessions == {})


def test_closing_is_idempotent_and_a_closed_blob_refuses_broker_objects(sim, cfg):
    data = dataBlob("closed", config=cfg)
    _ = data.broker_futures_contract_price
    data.close()
    data.close()
    assert leased_ids(cfg) == []
    for name in ("broker_futures_contract_price", "broker_futures_contract", "broker_fx_prices"):
        with pytest.raises(RuntimeError, match="closed"):
            getattr(data, name)


@pytest.mark.parametrize("name", ["ib_conn", "db_futures_contract_price", "metadata_store", "db_ib_broker_client_id"])
def test_a_closed_blob_opens_nothing_new(sim, cfg, name):
    # Opening a resource after close() would leak it: nothing would ever close it again.
    data = dataBlob("closed", config=cfg)
    data.close()
    with pytest.raises(RuntimeError, match="closed"):
        getattr(data, name)
    assert sim.stats["connections"] == 0
    assert leased_ids(cfg) == []


def test_prices_from_the_broker_go_to_the_configured_price_store(sim, cfg, tmp_path):
    key = contract_prices_key("SP500", "20250600", "D")
    with dataBlob("seed", config=cfg) as data:
        prices = data.broker_futures_contract_price.get_prices_for_contract_object(SP500_JUN25)
        assert len(prices) > 100
        result = data.db_futures_contract_price.merge(key, prices)
        assert result.changed
        stored = data.db_futures_contract_price.read(key)
    assert (tmp_path / "prices").is_dir() and any((tmp_path / "prices").rglob("*.parquet"))
    pd.testing.assert_frame_equal(stored, pd.DataFrame(prices), check_dtype=False, check_freq=False, check_names=False)

    connections = sim.stats["connections"]
    with dataBlob("read", config=cfg) as data:
        again = data.db_futures_contract_price.read(key)
        assert data.db_futures_contract_price.keys("futures/SP500/") == [key]
    pd.testing.assert_frame_equal(again, stored)
    assert sim.stats["connections"] == connections  # reading stored prices needs no gateway


def test_embedded_gateway_pattern(tmp_path):
    # What the production scripts do: `ib_gateway: ibsim` starts the simulator for the blob.
    config = test_config(tmp_path, 4001, ib_gateway="ibsim", data_folder=str(tmp_path / "data"))
    with gateway_for(config) as connect_config, dataBlob("embedded", config=connect_config) as data:
        assert connect_config.ib_port != 4001
        conn = data.ib_conn
        assert conn.is_connected() and conn.account == connect_config.broker_account
        assert leased_ids(connect_config) == [conn.client_id()]
    assert conn.state is ConnectionState.CLOSED
    assert leased_ids(config) == []
    assert (tmp_path / "data" / "ibsim.state.json").is_file()


def test_a_failed_connect_leaves_no_lease_behind(sims, tmp_path):
    sim = sims()
    config = test_config(tmp_path, sim.port)
    sim.stop_in_thread()
    with dataBlob("unreachable", config=config) as data, pytest.raises(IBNotConnected, match="refused"):
        _ = data.broker_futures_contract_price
    assert leased_ids(config) == []


def test_a_requested_client_id_is_used_when_free(sim, cfg):
    with dataBlob("fixed", config=cfg, client_id=150) as data:
        assert data.ib_conn.client_id() == 150
        assert leased_ids(cfg) == [150] and 150 in sim.sessions
        with dataBlob("same", config=cfg, client_id=150) as other:
            assert other.ib_conn.client_id() == cfg.ib_idoffset  # taken: the lowest free id instead
    assert leased_ids(cfg) == []
