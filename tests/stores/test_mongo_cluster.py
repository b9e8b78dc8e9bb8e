"""MongoDB as a production cluster: connection-string options from the config, and two processes on
different "hosts" sharing client-id leases and order storage on a real MongoDB-wire server (FerretDB)."""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import uuid

import pymongo
import pytest
from pymongo.read_preferences import ReadPreference

from sysdata.config.configdata import ConfigError, load_config
from sysdata.metadata_store import open_metadata_store
from sysdata.mongodb.mongo_connection import mongoDb
from sysdata.orders import DuplicateOrderReference
from sysdata.production.broker_client_id import LEASE_HOST_ENV, lease_host
from sysobjects.fills import UTC, Fill
from sysobjects.orders import brokerOrder

CLUSTER_OPTIONS = {
    "replicaSet": "rs0",
    "w": "majority",
    "wTimeoutMS": 5000,
    "journal": True,
    "retryWrites": True,
    "retryReads": True,
    "readPreference": "primaryPreferred",
    "readConcernLevel": "majority",
    "tls": True,
    "authSource": "admin",
}
# What a single FerretDB (no replica set, no TLS) accepts from the same family of options.
LIVE_OPTIONS = {"w": 1, "wTimeoutMS": 5000, "retryWrites": True, "readPreference": "primaryPreferred", "appname": "t"}
HOSTS = ("trading-box-a", "trading-box-b")
IDS_PER_PROCESS = 25
ORDERS = 20
FILLS = 30
T0 = dt.datetime(2024, 5, 2, 14, 30, tzinfo=UTC)


def cluster_config(tmp_path, **overrides):
    return load_config(private_dir=tmp_path, overrides=overrides)


# --- configuration -------------------------------------------------------------------------------


def test_mongo_options_pass_through_to_the_client(tmp_path):
    # Loopback addresses with a closed port: the client's monitor threads never leave the machine.
    config = cluster_config(tmp_path, mongo_host="127.0.0.1", mongo_port=9, mongo_options=CLUSTER_OPTIONS)
    assert dict(config.mongo_options) == CLUSTER_OPTIONS
    database = mongoDb(config=config)
    options = database.client.options  # no operation is run: nothing needs to answer
    assert options.replica_set_name == "rs0"
    assert options.write_concern.document == {"w": "majority", "wtimeout": 5000, "j": True}
    assert options.retry_writes is True and options.retry_reads is True
    assert options.read_preference == ReadPreference.PRIMARY_PREFERRED
    assert options.read_concern.level == "majority"
    assert options.pool_options._ssl_context is not None  # tls on
    assert database.client.codec_options.tz_aware is True  # fixed by the layer
    assert "replicaSet" in repr(database)
    database.close()


def test_mongo_options_win_over_the_url_and_secrets_stay_out_of_repr(tmp_path):
    url = "mongodb://user:pw@127.0.0.1:9,127.0.0.2:9/?replicaSet=old&w=1"
    options = {"replicaSet": "rs0", "tlsCertificateKeyFilePassword": "hush"}
    config = cluster_config(tmp_path, mongo_host=url, mongo_options=options)
    database = mongoDb(config=config)
    assert database.client.options.replica_set_name == "rs0"
    assert database.client.options.write_concern.document == {"w": 1}  # from the URL
    assert "hush" not in repr(database) and "pw" not in repr(database)
    database.close()


@pytest.mark.parametrize(
    "options, key, message",
    [
        ({"readPreference": "sometimes"}, "mongo_options.readPreference", "valid value for readPreference"),
        ({"replicaset_name": "rs0"}, "mongo_options.replicaset_name", "connection-string option"),
        ({"w": 1.5}, "mongo_options.w", "valid value for w"),
        ({"tz_aware": False}, "mongo_options.tz_aware", "fixed"),
        ("replicaSet=rs0", "mongo_options", "a mapping"),
    ],
)
def test_bad_mongo_options_give_one_line_naming_the_key(tmp_path, options, key, message):
    (tmp_path / "private_config.yaml").write_text(f"mongo_host: 127.0.0.1\nmongo_options: {options!r}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(private_dir=tmp_path)
    assert raised.value.key == key and raised.value.line == 2
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert str(raised.value).startswith(f"{tmp_path / 'private_config.yaml'}:2: key '{key}':")


def test_lease_host_is_injectable(monkeypatch):
    monkeypatch.setenv(LEASE_HOST_ENV, "box-7")
    assert lease_host() == "box-7"
    monkeypatch.delenv(LEASE_HOST_ENV)
    assert lease_host() == os.uname().nodename


# --- two processes, two "hosts", one FerretDB ----------------------------------------------------


def _make_order(worker: int, reference: str) -> brokerOrder:
    return brokerOrder("GOLD", "202406", worker + 1, order_reference=reference, strategy_name="trend", account="DU1")


def _host_process(mongo_url: str, database: str, private_dir: str, host: str, worker: int, barrier) -> dict:
    """One process playing one machine: leases, orders and fills against the shared database."""
    os.environ[LEASE_HOST_ENV] = host
    overrides = {"mongo_host": mongo_url, "mongo_db": database, "mongo_options": LIVE_OPTIONS}
    config = load_config(private_dir=private_dir, overrides=overrides)
    with open_metadata_store(config) as store:
        client_ids = store.client_id_data(process_name=f"worker-{worker}")
        orders = store.order_data()
        options = store.mongo_db.client.options
        assert options.read_preference == ReadPreference.PRIMARY_PREFERRED and options.retry_writes
        barrier.wait()
        ids = [client_ids.return_valid_client_id() for _ in range(IDS_PER_PROCESS)]
        won = []
        for n in range(ORDERS):
            with contextlib.suppress(DuplicateOrderReference):  # the other host won this reference
                won.append(orders.add_order(_make_order(worker, f"cluster/{n:02d}")))
        barrier.wait()  # every order exists now; both record the same executions
        inserted = 0
        for n in range(FILLS):
            fill = Fill(exec_id=f"exec-{n:03d}", time=T0 + dt.timedelta(seconds=n), quantity=1, price=2300.0 + n)
            inserted += orders.record_fill("cluster/00", fill)
        barrier.wait()  # both have allocated: try to free and renew the other host's ids
        others = [lease.client_id for lease in client_ids.list_leases() if lease.host != host]
        stolen = sum(client_ids.release_clientid(cid) for cid in others)
        renewed = sum(client_ids.heartbeat(cid) for cid in others)
        own_renewed = sum(client_ids.heartbeat(cid) for cid in ids)
        barrier.wait()
        return {"ids": ids, "won": won, "fills": inserted, "stolen": stolen, "renewed": renewed, "own": own_renewed}


@pytest.mark.slow
def test_two_hosts_share_leases_and_orders_on_mongo(mongo_url, tmp_path):
    database = f"test_{uuid.uuid4().hex[:12]}"
    context = multiprocessing.get_context("spawn")
    try:
        with context.Manager() as manager:
            barrier = manager.Barrier(2, timeout=120)
            with context.Pool(2) as pool:
                args = [(mongo_url, database, str(tmp_path), host, n, barrier) for n, host in enumerate(HOSTS)]
                results = pool.starmap(_host_process, args, chunksize=1)

        all_ids = [cid for result in results for cid in result["ids"]]
        assert sorted(all_ids) == list(range(100, 100 + 2 * IDS_PER_PROCESS))  # distinct, no gaps
        assert [result["stolen"] for result in results] == [0, 0]  # nobody freed the other's ids
        assert [result["renewed"] for result in results] == [0, 0]  # nor renewed them
        assert [result["own"] for result in results] == [IDS_PER_PROCESS] * 2

        client = pymongo.MongoClient(mongo_url)
        try:
            leases = list(client[database]["IBClientTracker"].find({}, {"_id": 0}))
            assert len(leases) == 2 * IDS_PER_PROCESS
            for result, host in zip(results, HOSTS, strict=True):  # each lease names its own machine
                assert {lease["host"] for lease in leases if lease["client_id"] in result["ids"]} == {host}
            orders = list(client[database]["broker_orders"].find({}, {"_id": 0}))
            fills = list(client[database]["broker_fills"].find({}, {"_id": 0}))
        finally:
            client.close()

        won = [reference for result in results for reference in result["won"]]
        assert sorted(won) == [f"cluster/{n:02d}" for n in range(ORDERS)]  # each reference won once
        assert sorted(order["order_reference"] for order in orders) == sorted(won)
        for worker, result in enumerate(results):  # the stored order is its winner's
            stored = {o["order_reference"]: o["trade"] for o in orders}
            assert all(stored[reference] == worker + 1 for reference in result["won"])
        assert sum(result["fills"] for result in results) == FILLS  # each execution recorded once
        assert sorted(fill["exec_id"] for fill in fills) == [f"exec-{n:03d}" for n in range(FILLS)]
    finally:
        client = pymongo.MongoClient(mongo_url)
        client.drop_database(database)
        client.close()
