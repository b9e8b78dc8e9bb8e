"""Fixtures that start the simulated gateway in-process on a free loopback port."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from ib_async import IB

from ibsim import IBSim, PacingRules, SimConfig, Timing

UTC = dt.UTC
# Tuesday 4 March 2025, 09:00 in Chicago: CME equity futures in their regular session.
OPEN_MARKET = dt.datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
# Saturday 8 March 2025: every futures market is closed.
CLOSED_MARKET = dt.datetime(2025, 3, 8, 15, 0, tzinfo=UTC)

FAST = Timing(
    tick_interval=0.05,
    order_step_interval=0.05,
    keep_up_to_date_interval=0.3,
    account_update_interval=0.5,
    pnl_interval=0.2,
    farm_notice_delay=0.01,
    commission_delay=0.02,
)


def make_config(**overrides) -> SimConfig:
    settings = dict(
        port=0,
        start=OPEN_MARKET,
        speed=1.0,
        pacing=PacingRules(enabled=False),
        timing=FAST,
    )
    settings.update(overrides)
    return SimConfig(**settings)


@pytest.fixture
def sim_factory():
    """Start gateways with chosen settings; all are stopped (and checked for leaks) afterwards."""
    started: list[IBSim] = []

    def start(**overrides) -> IBSim:
        sim = IBSim(make_config(**overrides)).start_in_thread()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop_in_thread()
        assert not sim.connections, "connections left open after stop"
    leaked = [t for t in threading.enumerate() if t.name == "ibsim"]
    assert not leaked, f"ibsim threads still running: {leaked}"


@pytest.fixture
def sim(sim_factory) -> IBSim:
    return sim_factory()


@pytest.fixture
def connect():
    """Connect ib_async clients to a gateway; all are disconnected afterwards."""
    clients: list[IB] = []

    def open_client(sim: IBSim, client_id: int = 1, **kwargs) -> IB:
        ib = IB()
        ib.connect("127.0.0.1", sim.port, clientId=client_id, timeout=kwargs.pop("timeout", 10), **kwargs)
        clients.append(ib)
        return ib

    yield open_client
    for ib in clients:
        ib.disconnect()


@pytest.fixture
def ib(sim, connect) -> IB:
    return connect(sim)


def wait_until(ib: IB, predicate, timeout: float = 5.0, step: float = 0.02) -> bool:
    """Let ib_async process messages until `predicate()` is true or the time is up."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        try:
            ib.sleep(step)
        except ConnectionError:  # ib_async raises from sleep() when its socket closes
            time.sleep(step)
    return bool(predicate())
