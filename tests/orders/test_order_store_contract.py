"""One contract for the order store, run against SQLite and against a real MongoDB-wire server."""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import uuid

import pymongo
import pytest

from sysdata.config.configdata import load_config
from sysdata.metadata_store import open_metadata_store
from sysdata.mongodb.mongo_connection import mongoDb
from sysdata.orders import ConflictingFill, DuplicateOrderReference, FillNotFound, OrderNotFound, OrderStore
from sysdata.orders.mongo_order_store import FILL_COLLECTION, ORDER_COLLECTION, MongoOrderStore
from sysdata.orders.sqlite_order_store import SqliteOrderStore
from sysdata.sqlite.sqlite_connection import sqliteDb
from sysobjects.fills import UTC, Fill, InvalidFill
from sysobjects.orders import brokerOrder, orderStatus
from tests.fixtures.metadata_stores import StoreSpec, spec_fixture  # noqa: F401 - the `spec` fixture

T0 = dt.datetime(2024, 5, 2, 14, 30, 0, 123456, tzinfo=UTC)


def open_store(spec: StoreSpec) -> OrderStore:
    if spec.kind == "sqlite":
        return SqliteOrderStore(sqliteDb(spec.location))
    return MongoOrderStore(mongoDb(spec.database, spec.location))


@pytest.fixture
def store(spec):
    return open_store(spec)


def make_order(trade: int = 3, reference: str = "", **kwargs) -> brokerOrder:
    kwargs.setdefault("strategy_name", "trend")
    kwargs.setdefault("account", "DU1")
    return brokerOrder("GOLD", "202406", trade, order_reference=reference, **kwargs)


def make_fill(exec_id: str, quantity: int = 1, price: float = 2300.0, seconds: float = 0, **kwargs) -> Fill:
    return Fill(exec_id=exec_id, time=T0 + dt.timedelta(seconds=seconds), quantity=quantity, price=price, **kwargs)


# --- orders ------------------------------------------------------------------------------------


def test_add_and_get_round_trip(store):
    order = make_order(
        -2,
        order_type="LMT",
        limit_price=2315.25,
        ib_order_id=12,
        perm_id=987654321,
        client_id=101,
        con_id=495512557,
        submit_datetime=T0,
        order_id=5,
        parent=1,
        children=[9],
    )
    order.add_fill(make_fill("e1", -1, 2315.25, commission=1.1, commission_currency="USD"))
    assert store.add_order(order) == order.order_reference
    stored = store.get_order_by_reference(order.order_reference)
    assert stored == order
    assert stored.submit_datetime == T0 and stored.submit_datetime.tzinfo is not None
    assert stored.status is orderStatus.PARTIALLY_FILLED and stored.commission == {"USD": 1.1}
    assert store.get_order_by_perm_id(987654321) == order
    assert store.get_fill("e1").time == T0


def test_same_reference_is_refused(store):
    first = make_order(1, "trend/GOLD/abc")
    store.add_order(first)
    with pytest.raises(DuplicateOrderReference) as raised:
        store.add_order(make_order(5, "trend/GOLD/abc"))  # a re-submission with the same reference
    assert raised.value.order_reference == "trend/GOLD/abc"
    assert store.get_order_by_reference("trend/GOLD/abc").trade == 1
    assert len(store.list_orders()) == 1


def test_missing_orders_raise(store):
    with pytest.raises(OrderNotFound):
        store.get_order_by_reference("nope")
    with pytest.raises(OrderNotFound):
        store.get_order_by_perm_id(42)
    with pytest.raises(OrderNotFound):
        store.update_order(make_order())
    with pytest.raises(OrderNotFound):
        store.record_fill("nope", make_fill("e1"))
    with pytest.raises(OrderNotFound):
        store.fills_for_order("nope")
    assert store.delete_order("nope") is False


def test_update_order_stores_status_ids_and_fills(store):
    order = make_order(3)
    store.add_order(order)
    order.mark_submitted(T0)
    order.ib_order_id, order.perm_id, order.client_id, order.con_id = 12, 555, 101, 777
    order.add_fill(make_fill("e1", 1))
    store.update_order(order)
    stored = store.get_order_by_perm_id(555)
    assert stored.order_reference == order.order_reference
    assert (stored.ib_order_id, stored.client_id, stored.con_id) == (12, 101, 777)
    assert stored.status is orderStatus.PARTIALLY_FILLED and stored.filled_quantity == 1
    assert stored.broker_tempid == "DU1/101/12"
    order.add_fill(make_fill("e2", 2, seconds=1))
    store.update_order(order)
    stored = store.get_order_by_reference(order.order_reference)
    assert stored.status is orderStatus.FILLED and [f.exec_id for f in stored.fills] == ["e1", "e2"]


def test_done_status_is_never_made_active_again(store):
    order = make_order(2)
    store.add_order(order)
    order.status = orderStatus.CANCELLED
    store.update_order(order)
    stale = make_order(2, order.order_reference, status="submitted", perm_id=31)  # from a slower process
    store.update_order(stale)
    stored = store.get_order_by_reference(order.order_reference)
    assert stored.status is orderStatus.CANCELLED and stored.perm_id == 31  # other fields still updated
    order.status = orderStatus.REJECTED
    store.update_order(order)
    assert store.get_order_by_reference(order.order_reference).status is orderStatus.REJECTED


def test_list_orders_active_and_since(store):
    created = make_order(1, "a/created")
    early = make_order(1, "b/early", submit_datetime=T0)
    late = make_order(1, "c/late", submit_datetime=T0 + dt.timedelta(hours=1))
    done = make_order(1, "d/done", submit_datetime=T0 + dt.timedelta(minutes=30), status="filled")
    for order in (late, created, done, early):
        store.add_order(order)
    store.record_fill("d/done", make_fill("d1"))
    refs = [order.order_reference for order in store.list_orders()]
    assert refs == ["b/early", "d/done", "c/late", "a/created"]  # by submission, unsubmitted last
    assert [o.order_reference for o in store.list_orders(active_only=True)] == ["b/early", "c/late", "a/created"]
    since = dt.datetime(2024, 5, 2, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4)))  # = 15:00 UTC
    assert [o.order_reference for o in store.list_orders(since=since)] == ["d/done", "c/late"]
    assert [o.order_reference for o in store.list_orders(active_only=True, since=since)] == ["c/late"]
    [listed_done] = [o for o in store.list_orders() if o.order_reference == "d/done"]
    assert listed_done.filled_quantity == 1 and listed_done.fills[0].exec_id == "d1"


def test_delete_order_removes_its_fills(store):
    order = make_order(2, "x/1")
    store.add_order(order)
    store.record_fill("x/1", make_fill("e1"))
    assert store.delete_order("x/1") is True
    with pytest.raises(FillNotFound):
        store.get_fill("e1")
    store.add_order(make_order(2, "x/1"))  # the reference is free again
    assert store.fills_for_order("x/1") == []


# --- fills and commissions ---------------------------------------------------------------------


def test_record_fill_is_idempotent_by_exec_id(store):
    store.add_order(make_order(3, "r/1"))
    assert store.record_fill("r/1", make_fill("e1", 1, 2300.0)) is True
    assert store.record_fill("r/1", make_fill("e1", 1, 2300.0)) is False
    assert store.record_fill("r/1", make_fill("e2", 2, 2301.0, seconds=2)) is True
    fills = store.fills_for_order("r/1")
    assert [(f.exec_id, f.quantity, f.order_ref) for f in fills] == [("e1", 1, "r/1"), ("e2", 2, "r/1")]
    order = store.get_order_by_reference("r/1")
    assert order.filled_quantity == 3 and order.average_fill_price == pytest.approx((2300 + 2 * 2301) / 3)


def test_unknown_commission_stays_unknown_until_reported(store):
    store.add_order(make_order(2, "c/1"))
    store.record_fill("c/1", make_fill("e1"))
    store.record_fill("c/1", make_fill("e2", seconds=1, commission=0.0, commission_currency="USD"))
    assert store.get_fill("e1").commission is None  # not 0.0
    assert store.get_fill("e2").commission == 0.0
    assert [f.exec_id for f in store.fills_without_commission()] == ["e1"]
    assert store.get_order_by_reference("c/1").commission is None

    assert store.record_commission("e1", 2.35, "USD") is True
    assert store.record_commission("e1", 2.35, "USD") is False  # idempotent
    assert store.fills_without_commission() == []
    assert store.get_order_by_reference("c/1").commission == {"USD": 2.35}
    assert store.record_commission("e1", 2.40, "USD") is True  # a corrected report replaces it
    with pytest.raises(FillNotFound):
        store.record_commission("missing", 1.0, "USD")
    with pytest.raises(InvalidFill):
        store.record_commission("e1", 1.0, "")


def test_repeated_execution_merges_a_later_commission(store):
    store.add_order(make_order(1, "m/1"))
    assert store.record_fill("m/1", make_fill("e1")) is True
    assert store.record_fill("m/1", make_fill("e1", commission=1.5, commission_currency="GBP")) is False
    assert store.get_fill("e1").commission == 1.5 and store.get_fill("e1").commission_currency == "GBP"
    assert store.record_fill("m/1", make_fill("e1")) is False  # an unknown one never erases it
    assert store.get_fill("e1").commission == 1.5


def test_multi_currency_commissions(store):
    store.add_order(make_order(3, "mc/1"))
    store.record_fill("mc/1", make_fill("e1", commission=1.0, commission_currency="USD"))
    store.record_fill("mc/1", make_fill("e2", seconds=1, commission=0.5, commission_currency="EUR"))
    store.record_fill("mc/1", make_fill("e3", seconds=2, commission=-0.2, commission_currency="USD"))
    assert store.get_order_by_reference("mc/1").commission == {"USD": pytest.approx(0.8), "EUR": 0.5}


def test_execution_of_another_order_is_refused(store):
    store.add_order(make_order(1, "o/1"))
    store.add_order(make_order(1, "o/2"))
    store.record_fill("o/1", make_fill("e1"))
    with pytest.raises(ConflictingFill):
        store.record_fill("o/2", make_fill("e1"))
    with pytest.raises(ConflictingFill):
        store.record_fill("o/2", make_fill("e9", order_ref="o/1"))
    assert store.fills_for_order("o/2") == []


# --- several processes -------------------------------------------------------------------------

FILLS = 50
ORDERS = 20


def _record_all(spec: StoreSpec, barrier) -> int:
    store = open_store(spec)
    barrier.wait()
    return sum(store.record_fill("p/1", make_fill(f"exec-{n:03d}", 1, 100.0 + n, seconds=n)) for n in range(FILLS))


def _add_all(spec: StoreSpec, barrier, worker: int) -> list[str]:
    store = open_store(spec)
    barrier.wait()
    won = []
    for n in range(ORDERS):
        with contextlib.suppress(DuplicateOrderReference):  # another process won this reference
            won.append(store.add_order(make_order(worker + 1, f"p/{n:02d}")))
    return won


def _in_processes(function, args_list):
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(len(args_list), timeout=120)  # a failed worker fails the others, no hang
        with context.Pool(len(args_list)) as pool:
            return pool.starmap(function, [(args[0], barrier, *args[1:]) for args in args_list], chunksize=1)


@pytest.mark.slow
def test_four_processes_record_the_same_fills_once(spec):
    store = open_store(spec)
    store.add_order(make_order(FILLS, "p/1"))
    inserted = _in_processes(_record_all, [(spec,)] * 4)
    assert sum(inserted) == FILLS  # each execution was new to exactly one process
    fills = store.fills_for_order("p/1")
    assert [f.exec_id for f in fills] == [f"exec-{n:03d}" for n in range(FILLS)]
    assert store.get_order_by_reference("p/1").filled_quantity == FILLS


@pytest.mark.slow
def test_four_processes_adding_the_same_references_one_wins_each(spec):
    results = _in_processes(_add_all, [(spec, worker) for worker in range(4)])
    won = [reference for result in results for reference in result]
    assert sorted(won) == [f"p/{n:02d}" for n in range(ORDERS)]  # every reference won exactly once
    store = open_store(spec)
    for worker, result in enumerate(results):
        for reference in result:  # the stored order is the winner's
            assert store.get_order_by_reference(reference).trade == worker + 1
    assert len(store.list_orders()) == ORDERS


# --- backend specifics and the metadata store --------------------------------------------------


def test_mongo_uses_unique_indexes(mongo_url):
    database = f"test_{uuid.uuid4().hex[:12]}"
    client = pymongo.MongoClient(mongo_url)
    try:
        store = open_store(StoreSpec("mongo", mongo_url, database))
        store.add_order(make_order(1, "u/1"))
        for name, key in ((ORDER_COLLECTION, "order_reference"), (FILL_COLLECTION, "exec_id")):
            indexes = client[database][name].index_information().values()
            assert any(index.get("unique") and index["key"][0][0] == key for index in indexes)
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            client[database][ORDER_COLLECTION].insert_one({"order_reference": "u/1"})
    finally:
        client.drop_database(database)
        client.close()


def test_metadata_store_hands_out_the_order_store(tmp_path):
    config = load_config(private_dir=tmp_path, overrides={"data_folder": str(tmp_path)})
    with open_metadata_store(config) as store:
        orders = store.order_data()
        assert isinstance(orders, SqliteOrderStore)
        orders.add_order(make_order(1, "meta/1"))
    with open_metadata_store(config) as store:
        assert store.order_data().get_order_by_reference("meta/1").trade == 1
