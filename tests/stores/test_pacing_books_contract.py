"""One contract for shared historical pacing books, run against SQLite and a real MongoDB-wire server.

The books decide with the same rules as the in-memory pacer (tests/broker/test_pacing.py); here:
what one process books, another sees; a dead process's bookings count until they leave IB's
windows; several processes booking at once never overfill a window; confirm moves a booking.
"""

from __future__ import annotations

import multiprocessing
import time

import pytest

from ibsim.pacing import HistoricalPacer as GatewayPacer
from ibsim.pacing import PacingRules
from sysbrokers.IB.pacing import HistoricalPacer, PacingBooks, PacingLimits
from sysdata.mongodb.mongo_connection import mongoDb
from sysdata.mongodb.mongo_pacing_books import MongoPacingBooks
from sysdata.sqlite.sqlite_connection import sqliteDb
from sysdata.sqlite.sqlite_pacing_books import SqlitePacingBooks
from tests.fixtures.metadata_stores import StoreSpec, spec_fixture  # noqa: F401 - the `spec` fixture

GATEWAY = "testhost:4001"
LIMITS = PacingLimits(
    identical_window=15.0,
    same_contract_window=2.0,
    same_contract_max=5,
    global_window=600.0,
    global_max=6,
    margin=0.001,
)


def open_books(spec: StoreSpec, gateway: str = GATEWAY) -> PacingBooks:
    if spec.kind == "sqlite":
        return SqlitePacingBooks(sqliteDb(spec.location), gateway)
    return MongoPacingBooks(mongoDb(spec.database, spec.location), gateway)


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_second_process_sees_the_first_ones_bookings(spec):
    clock = FakeClock()
    first = HistoricalPacer(LIMITS, clock=clock, books=open_books(spec))
    second = HistoricalPacer(LIMITS, clock=clock, books=open_books(spec))  # another process, same login
    for i in range(3):
        assert first.acquire(("r", i), "ES", "TRADES", sleep=clock.sleep)[0] == 0
    for i in range(3):
        assert second.acquire(("s", i), "NQ", "TRADES", sleep=clock.sleep)[0] == 0
    # Six requests in the window: the seventh waits for the first to leave it, whoever sends it.
    waited, _ = second.acquire(("s", 9), "ZN", "TRADES", sleep=clock.sleep)
    assert waited == pytest.approx(600.0, abs=0.01)
    # The identical-request rule across processes too.
    clock.now += 1.0
    waited, _ = first.acquire(("s", 9), "ZN", "TRADES", sleep=clock.sleep)
    assert waited == pytest.approx(14.0, abs=0.01)


def test_other_gateways_do_not_count(spec):
    clock = FakeClock()
    one = HistoricalPacer(LIMITS, clock=clock, books=open_books(spec, "a:4001"))
    other = HistoricalPacer(LIMITS, clock=clock, books=open_books(spec, "b:4001"))
    for i in range(6):
        one.acquire(("r", i), f"C{i}", "TRADES", sleep=clock.sleep)
    assert other.acquire(("r", 0), "C0", "TRADES", sleep=clock.sleep)[0] == 0


def test_a_killed_processes_bookings_count_until_they_expire(spec):
    clock = FakeClock()
    dead = HistoricalPacer(LIMITS, clock=clock, books=open_books(spec))
    for i in range(6):
        dead.acquire(("r", i), f"C{i}", "TRADES", sleep=clock.sleep)  # never confirmed: the process died
    del dead
    clock.now += 300.0
    successor = HistoricalPacer(LIMITS, clock=clock, books=open_books(spec))
    waited, _ = successor.acquire(("new", 0), "ES", "TRADES", sleep=clock.sleep)
    assert waited == pytest.approx(300.0, abs=0.01)
    # Expired bookings are forgotten: a window later nothing is left of the dead process.
    clock.now += 601.0
    successor.confirm(successor.acquire(("new", 1), "ES", "TRADES", sleep=clock.sleep)[1])
    assert [b.request_key for b in successor.books.bookings()] == [repr(("new", 1))]


def test_confirm_moves_a_booking_to_the_answer(spec):
    clock = FakeClock()
    pacer = HistoricalPacer(LIMITS, clock=clock, books=open_books(spec))
    _, booking = pacer.acquire("r", "ES", "TRADES", sleep=clock.sleep)
    clock.now += 3.0
    pacer.confirm(booking)
    clock.now += 1.0
    # Identical request: 15 s from the answer (3 s after sending), not from the send.
    waited, _ = pacer.acquire("r", "ES", "TRADES", sleep=clock.sleep)
    assert waited == pytest.approx(14.0, abs=0.01)


def test_bid_ask_counts_twice_in_shared_books(spec):
    clock = FakeClock()
    pacer = HistoricalPacer(LIMITS, clock=clock, books=open_books(spec))
    for i in range(3):
        assert pacer.acquire(("r", i), f"C{i}", "BID_ASK", sleep=clock.sleep)[0] == 0
    assert pacer.acquire(("r", 9), "C9", "TRADES", sleep=clock.sleep)[0] == pytest.approx(600.0, abs=0.01)


def _book_many(spec: StoreSpec, worker: int, count: int, start_at: float, out) -> None:
    limits = PacingLimits(
        identical_window=0.5,
        same_contract_window=0.2,
        same_contract_max=5,
        global_window=1.0,
        global_max=10,
        margin=0.005,
    )
    pacer = HistoricalPacer(limits, clock=time.time, books=open_books(spec))
    while time.time() < start_at:
        time.sleep(0.001)
    stamps = []
    for i in range(count):
        _, booking = pacer.acquire((worker, i), f"C{i % 3}", "TRADES")
        stamps.append((time.time(), (worker, i), f"C{i % 3}"))  # the gateway receives it ...
        pacer.confirm(booking)  # ... and answers
    out.put(stamps)


@pytest.mark.slow
def test_four_processes_booking_at_once_never_overfill_a_window(spec):
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start_at = time.time() + 3.0  # every child is up and racing from the same moment
    workers = [context.Process(target=_book_many, args=(spec, w, 8, start_at, out)) for w in range(4)]
    for worker in workers:
        worker.start()
    stamps = sorted(stamp for _ in workers for stamp in out.get(timeout=60))
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert len(stamps) == 32
    # Replayed in time order against the gateway's own books (same rules): nothing is refused.
    rules = PacingRules(identical_window=0.5, same_contract_window=0.2, global_window=1.0, global_max=10)
    gateway = GatewayPacer(rules)
    for when, key, contract in stamps:
        assert gateway.check(key, (contract,), "TRADES", when) is None
    # ... and the 32 requests took at least three full windows: the limit was shared.
    assert stamps[-1][0] - stamps[0][0] >= 2.9
