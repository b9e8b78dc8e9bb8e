"""Tests of the IB connection layer, all against ibsim over loopback sockets.

Shared helpers: a gateway started on a free port and a configuration pointing at it with short
timeouts and a fast reconnect policy. Test modules import the `*_fixture` functions, which
register the fixtures `sims`, `sim` and `conns`.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from ibsim import IBSim
from sysbrokers.IB.client.ib_contracts_client import clear_contract_cache
from sysbrokers.IB.ib_connection import connectionIB
from sysdata.config.configdata import Config, load_config
from tests.ibsim.conftest import make_config

ACCOUNT = "DU123456"
FAST_RECONNECT = {"initial_delay": 0.1, "max_delay": 0.4, "multiplier": 2.0, "jitter": 0.1, "max_attempts": None}


def start_sim(**overrides) -> IBSim:
    return IBSim(make_config(**overrides)).start_in_thread()


def test_config(tmp_path: Path, port: int, **overrides) -> Config:
    """Defaults + overrides only (an empty private folder), SQLite store under `tmp_path`."""
    private = tmp_path / "private"
    private.mkdir(exist_ok=True)
    settings = {
        "ib_port": port,
        "broker_account": ACCOUNT,
        "ib_connect_timeout": 5,
        "ib_reconnect": FAST_RECONNECT,
        "sqlite_path": str(tmp_path / "metadata.sqlite"),
        "client_id_lease_seconds": 2,
        "client_id_heartbeat_seconds": 0.2,
    }
    settings.update(overrides)
    return load_config(private_dir=private, overrides=settings)


test_config.__test__ = False  # a helper, not a test


def open_conn(sim: IBSim, conns, tmp_path: Path, client_id: int = 1, mode: str = "script", **overrides) -> connectionIB:
    """A tracked connection to `sim` with `test_config` (plus `overrides`).

    `mode="notebook"` builds it while an event loop runs on this thread, as in a Jupyter cell:
    the connection then runs its own "ib-loop" thread, and the test's blocking calls, made from
    this thread, are handed to that loop exactly as a notebook's are (docs/async.md)."""
    config = test_config(tmp_path, sim.port, **overrides)

    def build() -> connectionIB:
        return connectionIB(client_id, ib_ipaddress="127.0.0.1", ib_port=sim.port, account=ACCOUNT, config=config)

    if mode == "notebook":

        async def in_a_cell() -> connectionIB:
            return build()

        conn = asyncio.run(in_a_cell())
        assert conn.mode == "notebook"
        return conns(conn)
    return conns(build())


@pytest.fixture(name="fresh_contract_cache", autouse=True)
def fresh_contract_cache_fixture():
    """Every test gets its own gateway; cached contracts of another gateway must not leak in.

    Autouse where imported (the broker and orders conftests).
    """
    clear_contract_cache()
    yield
    clear_contract_cache()


@pytest.fixture(name="conn")
def conn_fixture(sim, conns, tmp_path) -> connectionIB:
    return open_conn(sim, conns, tmp_path)


@pytest.fixture(name="sims")
def sims_fixture():
    """Start gateways with `sims(**overrides)`; all are stopped afterwards."""
    started: list[IBSim] = []

    def start(**overrides) -> IBSim:
        sim = start_sim(**overrides)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop_in_thread()
    assert not [t for t in threading.enumerate() if t.name == "ibsim"], "ibsim thread left running"


@pytest.fixture(name="sim")
def sim_fixture(sims) -> IBSim:
    return sims()


@pytest.fixture(name="conns")
def conns_fixture():
    """Track connections so every test closes them, even when it fails."""
    opened = []

    def track(conn):
        opened.append(conn)
        return conn

    yield track
    for conn in opened:
        conn.close_connection()
