"""One contract for the login's market-data line budget, on SQLite and a real MongoDB-wire server."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

import pytest

from sysbrokers.IB.market_data_lines import IBMarketDataLinesExhausted, LineBooks, MarketDataLines
from sysdata.mongodb.mongo_connection import mongoDb
from sysdata.mongodb.mongo_market_data_lines import MongoLineBooks
from sysdata.sqlite.sqlite_connection import sqliteDb
from sysdata.sqlite.sqlite_market_data_lines import SqliteLineBooks
from tests.fixtures.metadata_stores import StoreSpec, spec_fixture  # noqa: F401 - the `spec` fixture

GATEWAY = "testhost:4001"


def open_books(spec: StoreSpec, gateway: str = GATEWAY) -> LineBooks:
    if spec.kind == "sqlite":
        return SqliteLineBooks(sqliteDb(spec.location), gateway)
    return MongoLineBooks(mongoDb(spec.database, spec.location), gateway)


def test_the_budget_is_shared_and_a_refusal_names_the_limit_and_the_holders(spec):
    one = MarketDataLines(open_books(spec), budget=3, gateway=GATEWAY)
    other = MarketDataLines(open_books(spec), budget=3, gateway=GATEWAY)  # another process
    lines = [one.acquire("ES quotes"), one.acquire("NQ quotes"), other.acquire("ZN quotes")]
    assert sorted(line.slot for line in lines) == [0, 1, 2]
    with pytest.raises(IBMarketDataLinesExhausted) as refused:
        other.acquire("GC quotes")
    message = str(refused.value)
    assert "GC quotes" in message and "all 3 lines" in message and "ib_market_data_lines" in message
    assert f"pid {os.getpid()}: 2" in message and "(this process): 1" in message
    one.release(lines[0])
    assert other.acquire("GC quotes").slot == 0
    assert MarketDataLines(open_books(spec, "elsewhere:4001"), budget=3).acquire("ES quotes").slot == 0


def test_a_caller_can_wait_for_a_line(spec):
    one = MarketDataLines(open_books(spec), budget=1, gateway=GATEWAY)
    line = one.acquire("ES quotes")
    threading.Timer(0.3, one.release, args=(line,)).start()
    started = time.monotonic()
    assert MarketDataLines(open_books(spec), budget=1).acquire("NQ quotes", wait=5).slot == 0
    assert 0.2 < time.monotonic() - started < 4


def _hold(spec: StoreSpec, count: int, ready) -> None:
    lines = MarketDataLines(open_books(spec), budget=count, gateway=GATEWAY, lease_seconds=0.6)
    for i in range(count):
        lines.acquire(f"line {i}")
    ready.set()
    time.sleep(60)  # until killed; the lease is renewed meanwhile


@pytest.mark.slow
def test_lines_of_a_killed_process_are_freed_when_its_leases_expire(spec):
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold, args=(spec, 2, ready))
    holder.start()
    assert ready.wait(30)
    time.sleep(1.0)  # longer than the lease: only renewals keep the lines held
    mine = MarketDataLines(open_books(spec), budget=2, gateway=GATEWAY)
    with pytest.raises(IBMarketDataLinesExhausted, match=f"pid {holder.pid}: 2"):
        mine.acquire("ES quotes")
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(timeout=10)
    assert mine.acquire("ES quotes", wait=5) and mine.acquire("NQ quotes", wait=5)
    mine.close()
    assert MarketDataLines(open_books(spec), budget=2).acquire("ZN quotes").slot in (0, 1)
