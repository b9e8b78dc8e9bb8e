"""One contract for work queues, run against SQLite and a real MongoDB-wire server."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from sysdata.mongodb.mongo_connection import mongoDb
from sysdata.mongodb.mongo_work_queue import MongoWorkQueue
from sysdata.production.work_queue import WorkQueue
from sysdata.sqlite.sqlite_connection import sqliteDb
from sysdata.sqlite.sqlite_work_queue import SqliteWorkQueue
from tests.fixtures.metadata_stores import StoreSpec, spec_fixture  # noqa: F401 - the `spec` fixture

T0 = 1_700_000_000.0


def open_queue(spec: StoreSpec, name: str = "seed:test") -> WorkQueue:
    if spec.kind == "sqlite":
        return SqliteWorkQueue(sqliteDb(spec.location), name)
    return MongoWorkQueue(mongoDb(spec.database, spec.location), name)


def test_items_are_handed_out_once_in_order_and_adding_is_idempotent(spec):
    queue = open_queue(spec)
    assert queue.add(["a", "b", "c"]) == 3
    assert queue.add(["b", "c", "d"]) == 1  # another host queueing the same job adds only what is new
    taken = [queue.claim("w1", 60, now=T0).item for _ in range(4)]
    assert taken == ["a", "b", "c", "d"]
    assert queue.claim("w1", 60, now=T0) is None
    assert queue.counts() == {"pending": 0, "leased": 4, "done": 0}
    assert open_queue(spec, "other").claim("w1", 60, now=T0) is None  # queues are separate


def test_a_dead_workers_item_is_taken_over_and_its_late_result_is_refused(spec):
    queue = open_queue(spec)
    queue.add(["a"])
    dead = queue.claim("dead", 10, now=T0)
    assert queue.claim("alive", 10, now=T0 + 5) is None  # still leased
    assert queue.renew(dead, 10, now=T0 + 5)  # renewed: now until T0 + 15
    assert queue.claim("alive", 10, now=T0 + 12) is None
    taken = queue.claim("alive", 10, now=T0 + 16)
    assert taken is not None and taken.item == "a" and taken.attempt == dead.attempt + 1
    assert not queue.renew(dead, 10, now=T0 + 17) and not queue.done(dead, {"bars": 1})
    assert queue.done(taken, {"bars": 2})
    assert not queue.done(taken, {"bars": 3})  # done once
    assert queue.results() == {"a": {"bars": 2}}
    assert queue.counts() == {"pending": 0, "leased": 0, "done": 1}
    assert queue.claim("alive", 10, now=T0 + 100) is None  # a done item is never handed out again


def _drain(spec: StoreSpec, worker: int, start_at: float, out) -> None:
    queue = open_queue(spec)
    while time.time() < start_at:
        time.sleep(0.001)
    taken = []
    while (claim := queue.claim(f"w{worker}", 60)) is not None:
        taken.append(claim.item)
        assert queue.done(claim, {"worker": worker})
    out.put(taken)


@pytest.mark.slow
def test_four_processes_draining_one_queue_take_each_item_once(spec):
    items = [f"item{i:03d}" for i in range(60)]
    open_queue(spec).add(items)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start_at = time.time() + 3.0
    workers = [context.Process(target=_drain, args=(spec, w, start_at, out)) for w in range(4)]
    for worker in workers:
        worker.start()
    taken = [item for _ in workers for item in out.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert sorted(taken) == items  # every item once, none twice
    assert open_queue(spec).counts() == {"pending": 0, "leased": 0, "done": 60}
