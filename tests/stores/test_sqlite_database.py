"""The embedded SQLite database file: several processes opening a new one at the same moment.

On a fresh machine the stack handler, the price job and an IPython session may all create the
metadata file together. Switching a new file to WAL mode needs it to itself, and SQLite refuses
at once ("database is locked") rather than waiting; before the fix about one start in twelve
failed that way with four processes.
"""

from __future__ import annotations

import multiprocessing

import pytest

from sysdata.orders.sqlite_order_store import SqliteOrderStore
from sysdata.sqlite.sqlite_connection import sqliteDb
from sysdata.sqlite.sqlite_IB_client_id import SqliteLeaseTable

PROCESSES = 4
TRIALS = 60


def _open_new_file(path: str, barrier) -> str:
    barrier.wait()
    db = sqliteDb(path)
    SqliteOrderStore(db)
    SqliteLeaseTable(db)
    return db.query("PRAGMA journal_mode")[0][0]


@pytest.mark.slow
def test_processes_creating_the_database_together_all_succeed(tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(PROCESSES) as pool:
        for trial in range(TRIALS):
            barrier = manager.Barrier(PROCESSES, timeout=60)
            path = str(tmp_path / f"metadata-{trial}.sqlite")
            modes = pool.starmap(_open_new_file, [(path, barrier)] * PROCESSES, chunksize=1)
            assert modes == ["wal"] * PROCESSES, f"trial {trial}"


def test_a_database_already_in_wal_mode_opens_without_switching(tmp_path):
    path = tmp_path / "metadata.sqlite"
    first = sqliteDb(path)
    SqliteOrderStore(first)
    with first.write_transaction():  # another connection holds the write lock meanwhile
        second = sqliteDb(path, busy_timeout_seconds=0.2)
        assert second.query("PRAGMA journal_mode")[0][0] == "wal"
    first.close()
    second.close()
