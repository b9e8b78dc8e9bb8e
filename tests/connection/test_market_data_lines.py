"""IB's limit on simultaneous market-data lines is held across processes: a subscription past it
is a typed error naming the limit and who holds the lines, or waits; a killed process's lines
come back. Two real processes against one ibsim over loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ib_async import Future

from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.market_data_lines import IBMarketDataLinesExhausted

from . import conns_fixture, sim_fixture, sims_fixture, test_config  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys, time
from ib_async import Future
from sysbrokers.IB.ib_connection import connectionIB
from tests.connection import test_config
from pathlib import Path
port, folder = int(sys.argv[1]), Path(sys.argv[2])
conn = connectionIB(71, config=test_config(folder, port, ib_market_data_lines=2))
for month in ("202506", "202509"):
    [contract] = conn.ib.qualifyContracts(Future("ES", month, "CME"))
    conn.supervisor.subscribe_market_data(contract)
print("holding", flush=True)
while True:
    conn.sleep(0.2)
"""


def _es(conn: connectionIB, month: str):
    [contract] = conn.ib.qualifyContracts(Future("ES", month, "CME"))
    return contract


@pytest.mark.slow
def test_lines_are_shared_by_processes_and_freed_when_a_holder_dies(sim, conns, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(sim.port), str(tmp_path)],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        conn = conns(connectionIB(72, config=test_config(tmp_path, sim.port, ib_market_data_lines=2)))
        contract = _es(conn, "202512")
        with pytest.raises(IBMarketDataLinesExhausted) as refused:
            conn.supervisor.subscribe_market_data(contract)
        message = str(refused.value)
        assert "all 2 lines" in message and f"pid {holder.pid}: 2" in message and "ESZ5" in message
        assert not conn.supervisor.subscriptions or all(h.contract != contract for h in conn.supervisor.subscriptions)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        started = time.monotonic()
        handle = conn.supervisor.subscribe_market_data(contract, wait_for_line=10)  # the dead holder's leases expire
        assert time.monotonic() - started < 8
        assert conn.wait_until(lambda: handle.updates >= 1, 5)
        second = conn.supervisor.subscribe_market_data(_es(conn, "202506"))
        with pytest.raises(IBMarketDataLinesExhausted, match=r"\(this process\): 2"):
            conn.supervisor.subscribe_market_data(_es(conn, "202509"))
        second.cancel()  # a cancelled subscription gives its line back
        conn.supervisor.subscribe_market_data(_es(conn, "202509"))
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
