"""Client-id allocation throughput: allocate + release cycles per second, per store.

    python bench/bench_client_ids.py                      # SQLite file and a FerretDB it starts
    python bench/bench_client_ids.py --stores sqlite --ops 2000
    python bench/bench_client_ids.py --mongo-url mongodb://127.0.0.1:27017/

FerretDB is found or built as in the tests (tests/fixtures/ferretdb.py; env FERRETDB_BIN).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from sysbrokers.IB.client.ib_client_id import ibBrokerClientIdData  # noqa: E402
from sysdata.mongodb.mongo_connection import mongoDb  # noqa: E402
from sysdata.mongodb.mongo_IB_client_id import mongoIbBrokerClientIdData  # noqa: E402
from sysdata.sqlite.sqlite_connection import sqliteDb  # noqa: E402
from sysdata.sqlite.sqlite_IB_client_id import sqliteIbBrokerClientIdData  # noqa: E402


def open_ids(kind: str, location: str, database: str) -> ibBrokerClientIdData:
    if kind == "sqlite":
        return sqliteIbBrokerClientIdData(sqlite_db=sqliteDb(location), idoffset=100, lease_seconds=60)
    return mongoIbBrokerClientIdData(mongo_db=mongoDb(database, location), idoffset=100, lease_seconds=60)


def cycles(kind: str, location: str, database: str, ops: int, barrier=None) -> tuple[float, float]:
    """Run `ops` allocate+release cycles; returns (start, end) wall-clock times."""
    ids = open_ids(kind, location, database)
    ids.return_valid_client_id()  # warm up the connection and schema; kept for the whole run
    if barrier is not None:
        barrier.wait()
    start = time.time()
    for _ in range(ops):
        ids.release_clientid(ids.return_valid_client_id())
    return start, time.time()


def run_parallel(kind: str, location: str, database: str, ops: int, processes: int) -> float:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(processes)
        with context.Pool(processes) as pool:
            spans = pool.starmap(cycles, [(kind, location, database, ops, barrier)] * processes, chunksize=1)
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return processes * ops / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="sqlite,mongo", help="comma list of sqlite, mongo")
    parser.add_argument("--ops", type=int, default=500, help="cycles per process")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--mongo-url", help="use this server instead of starting FerretDB")
    args = parser.parse_args(argv)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]

    rows = []
    with ExitStack() as stack:
        work = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-client-ids-"))
        for kind in stores:
            if kind == "sqlite":
                location, database, label = str(Path(work) / "metadata.sqlite"), "", "SQLite file (WAL)"
            elif kind == "mongo":
                if args.mongo_url:
                    location, label = args.mongo_url, "MongoDB wire server"
                else:
                    from tests.fixtures.ferretdb import running_ferretdb

                    location, label = stack.enter_context(running_ferretdb()), "FerretDB 1.24 (SQLite)"
                database = f"bench_{uuid.uuid4().hex[:8]}"
            else:
                parser.error(f"unknown store {kind!r}")
            start, end = cycles(kind, location, database, args.ops)
            single = args.ops / (end - start)
            parallel = run_parallel(kind, location, database, args.ops, args.processes)
            rows.append((label, f"{single:,.0f}", f"{parallel:,.0f}"))
            if kind == "mongo":
                open_ids(kind, location, database).mongo_db.client.drop_database(database)

    header = ("store", "1 process (cycles/s)", f"{args.processes} processes (cycles/s, total)")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    print(f"allocate+release cycles, {args.ops} per process")
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(
        f"reproduce: python bench/bench_client_ids.py --stores {','.join(stores)} --ops {args.ops} --processes {args.processes}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
