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


@pytest.fixture(name="lines")
def lines_fixture(spec):
    """`lines(budget, gateway=..., **kwargs)`: a MarketDataLines on `spec`'s store, closed afterwards
    (so no renewal thread outlives the test or its database server)."""
    made: list[MarketDataLines] = []

    def make(budget: int, gateway: str = GATEWAY, **kwargs) -> MarketDataLines:
        made.append(MarketDataLines(open_books(spec, gateway), budget=budget, gateway=gateway, **kwargs))
        return made[-1]

    yield make
    for lines in made:
        lines.close()


def test_the_budget_is_shared_and_a_refusal_names_the_limit_and_the_holders(spec, lines):
    one = lines(3)
    other = lines(3)  # another process
    taken = [one.acquire("ES quotes"), one.acquire("NQ quotes"), other.acquire("ZN quotes")]
    assert sorted(line.slot for line in taken) == [0, 1, 2]
    with pytest.raises(IBMarketDataLinesExhausted) as refused:
        other.acquire("GC quotes")
    message = str(refused.value)
    assert "GC quotes" in message and "all 3 lines" in message and "ib_market_data_lines" in message
    assert f"pid {os.getpid()}: 2" in message and "(this process): 1" in message
    one.release(taken[0])
    assert other.acquire("GC quotes").slot == 0
    assert lines(3, "elsewhere:4001").acquire("ES quotes").slot == 0


def test_a_caller_can_wait_for_a_line(spec, lines):
    one = lines(1)
    line = one.acquire("ES quotes")
    threading.Timer(0.3, one.release, args=(line,)).start()
    started = time.monotonic()
    assert lines(1).acquire("NQ quotes", wait=5).slot == 0
    assert 0.2 < time.monotonic() - started < 4


def _hold(spec: StoreSpec, count: int, ready) -> None:
    lines = MarketDataLines(open_books(spec), budget=count, gateway=GATEWAY, lease_seconds=0.6)
    for i in range(count):
        lines.acquire(f"line {i}")
    ready.set()
    time.sleep(60)  # until killed; the lease is renewed meanwhile


@pytest.mark.slow
def test_lines_of_a_killed_process_are_freed_when_its_leases_expire(spec, lines):
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold, args=(spec, 2, ready))
    holder.start()
    assert ready.wait(30)
    time.sleep(1.0)  # longer than the lease: only renewals keep the lines held
    mine = lines(2)
    with pytest.raises(IBMarketDataLinesExhausted, match=f"pid {holder.pid}: 2"):
        mine.acquire("ES quotes")
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(timeout=10)
    assert mine.acquire("ES quotes", wait=5) and mine.acquire("NQ quotes", wait=5)
    mine.close()
    assert lines(2).acquire("ZN quotes").slot in (0, 1)


def test_a_failed_renewal_is_logged_and_retried_not_fatal(tmp_path, caplog):
    books = SqliteLineBooks(sqliteDb(tmp_path / "metadata.sqlite"), GATEWAY)
    renew, calls = books.renew, []

    def flaky_renew(holder, expires):
        calls.append(expires)
        if len(calls) == 1:
            raise ConnectionError("store away for a moment")
        return renew(holder, expires)

    books.renew = flaky_renew
    held = MarketDataLines(books, budget=1, gateway=GATEWAY, lease_seconds=0.3)
    try:
        held.acquire("ES quotes")
        deadline = time.monotonic() + 5
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(calls) >= 3  # the renewal thread went on after the failure
        assert "renewing 1 market-data line(s) failed: store away" in caplog.text
        assert books.holders(time.time()) == {held.holder: 1}  # still held
    finally:
        held.close()
