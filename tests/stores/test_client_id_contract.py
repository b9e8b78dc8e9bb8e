"""One contract for IB client-id leases, run against SQLite and against a real MongoDB-wire server."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pymongo
import pytest

from sysdata.config.configdata import load_config
from sysdata.metadata_store import MongoMetadataStore, SqliteMetadataStore, open_metadata_store
from sysdata.mongodb.mongo_connection import clean_mongo_host, mongoDb
from sysdata.mongodb.mongo_IB_client_id import CLIENT_ID_COLLECTION, mongoIbBrokerClientIdData
from sysdata.production.broker_client_id import UTC, ClientIdLease, brokerClientIdData, current_owner
from sysdata.sqlite.sqlite_connection import sqliteDb
from sysdata.sqlite.sqlite_IB_client_id import sqliteIbBrokerClientIdData
from sysproduction import clientids
from tests.fixtures.ferretdb import FerretDBError, ferretdb_binary, running_ferretdb
from tests.fixtures.metadata_stores import StoreSpec, spec_fixture  # noqa: F401 - the `spec` fixture

REPO_ROOT = Path(__file__).resolve().parents[2]
OFFSET = 100


def open_ids(spec: StoreSpec, lease_seconds: float = 60.0, **kwargs) -> brokerClientIdData:
    if spec.kind == "sqlite":
        return sqliteIbBrokerClientIdData(
            sqlite_db=sqliteDb(spec.location), idoffset=OFFSET, lease_seconds=lease_seconds, **kwargs
        )
    return mongoIbBrokerClientIdData(
        mongo_db=mongoDb(spec.database, spec.location), idoffset=OFFSET, lease_seconds=lease_seconds, **kwargs
    )


def plant_foreign_lease(ids: brokerClientIdData, client_id: int, seconds_left: float) -> ClientIdLease:
    """A lease held by another process (another host), expiring in `seconds_left` (may be < 0)."""
    now = dt.datetime.now(UTC)
    lease = ClientIdLease(
        client_id=client_id,
        pid=999_999,
        host="elsewhere",
        process_name="other",
        acquired=now - dt.timedelta(seconds=60),
        heartbeat=now - dt.timedelta(seconds=60),
        expires=now + dt.timedelta(seconds=seconds_left),
        token="foreign",
    )
    assert ids.lease_table.try_acquire(lease, now)
    return lease


# --- allocation, release, listing ------------------------------------------------------------


def test_allocates_upwards_from_offset(spec):
    ids = open_ids(spec)
    assert [ids.return_valid_client_id() for _ in range(3)] == [100, 101, 102]
    assert ids.get_list_of_clientids() == [100, 101, 102]


def test_gap_is_reused(spec):
    ids = open_ids(spec)
    for _ in range(4):
        ids.return_valid_client_id()
    assert ids.release_clientid(101)
    assert ids.return_valid_client_id() == 101
    assert ids.return_valid_client_id() == 104


def test_requested_id_is_honoured_else_lowest_free(spec):
    ids = open_ids(spec)
    assert ids.return_valid_client_id(150) == 150
    assert ids.return_valid_client_id(7) == 7  # below the offset is allowed, as in pysystemtrade
    assert ids.return_valid_client_id(150) == 100
    assert ids.get_list_of_clientids() == [7, 100, 150]
    with pytest.raises(ValueError):
        ids.return_valid_client_id(-1)


def test_release_and_clear(spec):
    ids = open_ids(spec)
    first, second = ids.return_valid_client_id(), ids.return_valid_client_id()
    assert ids.release_clientid(first) is True
    assert ids.release_clientid(first) is False
    assert ids.get_list_of_clientids() == [second]
    ids.return_valid_client_id()
    assert ids.clear_all_clientids() == 2
    assert ids.get_list_of_clientids() == []
    assert ids.list_leases() == []


def test_clear_one_and_expired(spec):
    ids = open_ids(spec)
    mine = ids.return_valid_client_id()
    plant_foreign_lease(ids, 200, seconds_left=-1)
    plant_foreign_lease(ids, 201, seconds_left=60)
    assert ids.clear_expired_clientids() == 1
    assert [lease.client_id for lease in ids.list_leases()] == [mine, 201]
    assert ids.clear_clientid(201) is True  # whoever holds it
    assert ids.clear_clientid(201) is False
    assert ids.get_list_of_clientids() == [mine]


def test_lease_records_owner_and_times(spec):
    ids = open_ids(spec, lease_seconds=30, process_name="unit-test")
    before = dt.datetime.now(UTC)
    client_id = ids.return_valid_client_id()
    [lease] = ids.list_leases()
    owner = current_owner()
    assert (lease.client_id, lease.pid, lease.host, lease.process_name) == (
        client_id,
        os.getpid(),
        owner.host,
        "unit-test",
    )
    assert lease.is_owned_by(owner) and not lease.refused
    for moment in (lease.acquired, lease.heartbeat, lease.expires):
        assert moment.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=1) <= lease.acquired <= dt.datetime.now(UTC)
    assert abs((lease.expires - lease.acquired).total_seconds() - 30) < 0.01
    assert lease.state(dt.datetime.now(UTC)) == "active"


def test_release_by_non_owner_does_nothing(spec):
    ids = open_ids(spec)
    plant_foreign_lease(ids, 100, seconds_left=60)
    assert ids.release_clientid(100) is False
    assert ids.heartbeat(100) is False
    assert ids.get_list_of_clientids() == [100]
    assert ids.return_valid_client_id() == 101


def test_context_manager_releases(spec):
    ids = open_ids(spec)
    with ids.leased_client_id() as client_id:
        assert ids.get_list_of_clientids() == [client_id]
    assert ids.get_list_of_clientids() == []


# --- expiry, takeover, heartbeat -------------------------------------------------------------


def test_expired_lease_is_taken_over_and_not_before(spec):
    ids = open_ids(spec)
    plant_foreign_lease(ids, 100, seconds_left=0.6)
    assert ids.return_valid_client_id(100) == 101
    time.sleep(0.7)
    assert ids.get_list_of_clientids() == [101]
    assert ids.return_valid_client_id() == 100
    [lease, _] = ids.list_leases()
    assert lease.client_id == 100 and lease.is_owned_by(current_owner())


def test_heartbeat_extends_the_lease(spec):
    ids = open_ids(spec, lease_seconds=1.0)
    client_id = ids.return_valid_client_id()
    first_expiry = ids.list_leases()[0].expires
    time.sleep(0.6)
    assert ids.heartbeat(client_id) is True
    time.sleep(0.6)  # past the first expiry, inside the extended one
    assert ids.list_leases()[0].expires > first_expiry + dt.timedelta(seconds=0.5)
    assert ids.get_list_of_clientids() == [client_id]
    assert open_ids(spec).return_valid_client_id(client_id) != client_id
    ids.clear_clientid(client_id)
    assert ids.heartbeat(client_id) is False


def test_heartbeat_thread_keeps_lease_and_reports_loss(spec):
    ids = open_ids(spec, lease_seconds=0.6)
    client_id = ids.return_valid_client_id()
    lost: list[int] = []
    keeper = ids.start_heartbeat(client_id, interval_seconds=0.15, on_lost=lost.append)
    try:
        time.sleep(1.0)
        assert ids.get_list_of_clientids() == [client_id]
        ids.clear_clientid(client_id)
        deadline = time.monotonic() + 2
        while not lost and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lost == [client_id] and keeper.lost
    finally:
        keeper.stop()


# --- the gateway refuses an id (error 326) ---------------------------------------------------


def test_refused_id_is_held_back_then_freed(spec):
    ids = open_ids(spec, refused_hold_seconds=0.6)
    refused = ids.return_valid_client_id()
    replacement = ids.next_after_refused(refused)
    assert replacement == refused + 1
    lease = ids.list_leases()[0]
    assert (lease.client_id, lease.refused, lease.pid) == (refused, True, 0)
    assert ids.release_clientid(refused) is False  # not ours any more: the gateway has it
    assert ids.return_valid_client_id() == refused + 2
    time.sleep(0.7)
    assert ids.return_valid_client_id() == refused


def test_mark_refused_on_free_and_foreign_ids(spec):
    ids = open_ids(spec, refused_hold_seconds=60)
    ids.mark_refused(100)  # never held here: still kept out of allocation
    plant_foreign_lease(ids, 101, seconds_left=60)
    ids.mark_refused(101)  # another process's live lease is left alone
    by_id = {lease.client_id: lease for lease in ids.list_leases()}
    assert by_id[100].refused and not by_id[101].refused and by_id[101].token == "foreign"
    assert ids.return_valid_client_id() == 102


# --- several processes -----------------------------------------------------------------------


def _allocate_many(spec: StoreSpec, count: int, barrier) -> list[int]:
    ids = open_ids(spec)
    barrier.wait()
    return [ids.return_valid_client_id() for _ in range(count)]


@pytest.mark.slow
def test_eight_processes_allocate_400_distinct_ids(spec):
    ids = open_ids(spec)
    for client_id in range(100, 140):  # locks left by crashed processes: taken over concurrently
        plant_foreign_lease(ids, client_id, seconds_left=-5)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(8, timeout=120)  # a failed worker fails the others, no hang
        with context.Pool(8) as pool:
            results = pool.starmap(_allocate_many, [(spec, 50, barrier)] * 8, chunksize=1)
    allocated = [client_id for result in results for client_id in result]
    assert len(allocated) == 400
    assert len(set(allocated)) == 400
    assert sorted(allocated) == list(range(100, 500))  # lowest free first: no holes
    assert ids.get_list_of_clientids() == list(range(100, 500))
    assert all(lease.pid != 999_999 for lease in ids.list_leases())


_CRASHING_CHILD = """
import sys, time
from tests.stores.test_client_id_contract import StoreSpec, open_ids
ids = open_ids(StoreSpec(*sys.argv[1:4]), lease_seconds=float(sys.argv[4]))
print(ids.return_valid_client_id(), flush=True)
time.sleep(60)
"""


@pytest.mark.slow
def test_crashed_process_id_is_free_after_expiry_only(spec):
    lease_seconds = 2.0
    child = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_CHILD, spec.kind, spec.location, spec.database, str(lease_seconds)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        crashed_id = int(child.stdout.readline())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    ids = open_ids(spec)
    [lease] = ids.list_leases()
    assert (lease.client_id, lease.pid) == (crashed_id, child.pid)
    assert ids.return_valid_client_id(crashed_id) != crashed_id  # still leased to the dead process
    time.sleep(max(0.0, (lease.expires - dt.datetime.now(UTC)).total_seconds()) + 0.1)
    assert crashed_id not in ids.get_list_of_clientids()
    assert ids.return_valid_client_id(crashed_id) == crashed_id


# --- MongoDB specifics, the store factory and the CLI -----------------------------------------


def test_mongo_reads_pysystemtrade_locks_and_uses_unique_index(mongo_url):
    database = f"test_{uuid.uuid4().hex[:12]}"
    client = pymongo.MongoClient(mongo_url)
    try:
        ids = open_ids(StoreSpec("mongo", mongo_url, database))
        collection = client[database][CLIENT_ID_COLLECTION]
        assert any(index.get("unique") for index in collection.index_information().values())
        collection.insert_one({"client_id": 100})  # as written by pysystemtrade: never expires
        [legacy] = ids.list_leases()
        assert legacy.client_id == 100 and legacy.expires.year == 9999
        assert ids.return_valid_client_id() == 101
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            collection.insert_one({"client_id": 101})
    finally:
        client.drop_database(database)
        client.close()


def test_mongo_repr_hides_credentials():
    db = mongoDb("production", "mongodb://trader:s3cret@127.0.0.1:27018/admin")
    assert "s3cret" not in repr(db) and "trader" not in repr(db)
    assert clean_mongo_host("mongodb+srv://u:p@cluster0.example.net") == "mongodb+srv://***:***@cluster0.example.net"
    assert clean_mongo_host("10.0.0.5") == "10.0.0.5"


def test_factory_picks_store_from_config(tmp_path, mongo_url):
    database = f"test_{uuid.uuid4().hex[:12]}"
    sqlite_config = load_config(private_dir=tmp_path, overrides={"data_folder": str(tmp_path)})
    with open_metadata_store(sqlite_config) as store:
        assert isinstance(store, SqliteMetadataStore)
        assert store.sqlite_db.path == tmp_path / "metadata.sqlite"
        assert store.client_id_data().return_valid_client_id() == 100
    mongo_config = load_config(private_dir=tmp_path, overrides={"mongo_host": mongo_url, "mongo_db": database})
    try:
        with open_metadata_store(mongo_config) as store:
            assert isinstance(store, MongoMetadataStore)
            assert store.mongo_db.database_name == database
            assert store.client_id_data().return_valid_client_id() == 100
    finally:
        pymongo.MongoClient(mongo_url).drop_database(database)


def test_cli_lists_and_clears(tmp_path, capsys):
    (tmp_path / "private_config.yaml").write_text(f"data_folder: {tmp_path}\n")
    config = load_config(private_dir=tmp_path)
    ids = open_metadata_store(config).client_id_data(process_name="worker")
    ids.return_valid_client_id()
    ids.return_valid_client_id()
    plant_foreign_lease(ids, 300, seconds_left=-1)

    assert clientids.main(["--private-dir", str(tmp_path), "list"]) == 0
    out = capsys.readouterr().out
    assert "3 lease(s)" in out and "worker" in out and "expired" in out
    assert "ID" in out.splitlines()[1] and "300" in out

    assert clientids.main(["--private-dir", str(tmp_path), "clear", "--expired"]) == 0
    assert ids.get_list_of_clientids() == [100, 101]
    assert clientids.main(["--private-dir", str(tmp_path), "clear", "--id", "101"]) == 0
    assert clientids.main(["--private-dir", str(tmp_path), "clear", "--id", "101"]) == 1
    assert clientids.main(["--private-dir", str(tmp_path), "clear"]) == 0
    assert ids.list_leases() == []
    capsys.readouterr()
    (tmp_path / "private_config.yaml").write_text("ib_port: -1\n")
    assert clientids.main(["--private-dir", str(tmp_path), "list"]) == 2
    assert "ib_port" in capsys.readouterr().err


def test_ferretdb_fixture_fails_loudly(monkeypatch, tmp_path):
    with pytest.raises(FerretDBError, match="exited"), running_ferretdb(Path("/bin/false")):
        pytest.fail("a server that exits at once must not be handed out")
    monkeypatch.setenv("FERRETDB_BIN", str(tmp_path / "missing"))
    with pytest.raises(FerretDBError, match="FERRETDB_BIN"):
        ferretdb_binary()
