"""Fixtures: an in-process ibsim, a connection to it, and a dataBlob on that connection."""

import pytest

from sysdata.data_blob import dataBlob
from tests.connection import (  # noqa: F401 - fixtures
    conn_fixture,
    conns_fixture,
    fresh_contract_cache_fixture,
    sim_fixture,
    sims_fixture,
    test_config,
)


@pytest.fixture(name="data")
def data_fixture(sim, conn, tmp_path):
    """pysystemtrade's `data`: a blob on the test's connection (the blob does not close it), with
    its price store under `tmp_path`."""
    config = test_config(tmp_path, sim.port, price_store=f"parquet://{tmp_path / 'prices'}")
    with dataBlob("compat", config=config, ib_conn=conn) as blob:
        yield blob
