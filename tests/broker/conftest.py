"""Fixtures for the broker data layer: an in-process ibsim and connections to it."""

from __future__ import annotations

import pytest

from sysbrokers.IB.client.ib_contracts_client import clear_contract_cache
from sysbrokers.IB.ib_connection import connectionIB
from tests.connection import conns_fixture, sim_fixture, sims_fixture, test_config  # noqa: F401 - fixtures

ACCOUNT = "DU123456"


@pytest.fixture(autouse=True)
def _fresh_contract_cache():
    # Every test gets its own gateway; cached contracts of another gateway must not leak in.
    clear_contract_cache()
    yield
    clear_contract_cache()


@pytest.fixture
def conn(sim, conns, tmp_path) -> connectionIB:
    config = test_config(tmp_path, sim.port)
    return conns(connectionIB(1, ib_ipaddress="127.0.0.1", ib_port=sim.port, account=ACCOUNT, config=config))
