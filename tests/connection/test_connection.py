"""connectionIB against ibsim: the seed's snippets, config forms, failures, client ids, read-only."""

from __future__ import annotations

import datetime as dt
import socket
import time

import pytest
from ib_async import IB, Future, MarketOrder

from sysbrokers.IB.connection_supervisor import ConnectionState, EventKind
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_errors import IBAccountNotManaged, IBClientIdInUse, IBNotConnected, IBReadOnlyError
from sysdata.sqlite.sqlite_connection import sqliteDb
from sysdata.sqlite.sqlite_IB_client_id import sqliteIbBrokerClientIdData

from . import ACCOUNT, conns_fixture, sim_fixture, sims_fixture, test_config  # noqa: F401 - fixtures

# Seed 001, "Making a connection" and "Creating and closing connection objects", verbatim apart
# from the port. `false` is how the seed spells False; it is defined for the snippet below.
SEED_MAKING_A_CONNECTION = (
    "from sysbrokers.IB.ib_connection import connectionIB\n"
    'conn = connectionIB( 999, ib_ipaddress = "127.0.0.1", ib_port=4001, ib_readonly=false, account="U999999")'
)
SEED_CREATING = (
    "from sysbrokers.IB.ib_connection import connectionIB\n"
    'conn = connectionIB(1, ib_ipaddress = "127.0.0.1", ib_port=4001, ib_readonly=false, account="U123456")'
)


def run_seed(snippet: str, port: int) -> connectionIB:
    namespace = {"false": False}
    exec(snippet.replace("4001", str(port)), namespace)
    return namespace["conn"]


def store_for(config) -> sqliteIbBrokerClientIdData:
    """A second view of the client-id store, as another process would see it."""
    return sqliteIbBrokerClientIdData(sqlite_db=sqliteDb(config.sqlite_path), config=config)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def es_future(conn: connectionIB):
    [es] = conn.ib.qualifyContracts(Future("ES", "202506", "CME"))
    return es


# --- the seed's snippets --------------------------------------------------------------------


def test_seed_making_a_connection_snippet(sims, conns):
    sim = sims(accounts=("U999999", "U123456"))
    conn = conns(run_seed(SEED_MAKING_A_CONNECTION, sim.port))
    assert repr(conn) == f"IB broker connection{{'ipaddress': '127.0.0.1', 'port': {sim.port}, 'client': 999}}"
    assert isinstance(conn.ib, IB) and conn.ib.isConnected()
    assert conn.client_id() == 999
    assert conn.account == "U999999"
    assert conn.ib.positions() == []
    assert 999 in sim.sessions
    conn.close_connection()
    assert not conn.ib.isConnected()
    assert _wait(lambda: 999 not in sim.sessions)
    conn.close_connection()  # idempotent


def test_seed_creating_and_using_a_connection(sims, conns):
    sim = sims(accounts=("U999999", "U123456"))
    conn = conns(run_seed(SEED_CREATING, sim.port))
    assert repr(conn).endswith("'client': 1}")
    es = es_future(conn)
    trade = conn.ib.placeOrder(es, MarketOrder("BUY", 2, account="U123456"))
    assert conn.wait_until(lambda: trade.orderStatus.status == "Filled", 5)
    conn.ib.reqPositions()
    assert [(p.account, p.contract.conId, p.position) for p in conn.ib.positions()] == [("U123456", es.conId, 2)]
    conn.close_connection()


def test_context_manager_closes(sim, tmp_path):
    config = test_config(tmp_path, sim.port)
    with connectionIB(5, config=config) as conn:
        assert conn.ib.isConnected()
        assert conn.state is ConnectionState.CONNECTED
    assert not conn.ib.isConnected()
    assert conn.state is ConnectionState.CLOSED
    assert _wait(lambda: 5 not in sim.sessions)


def test_values_not_passed_come_from_config(sim, tmp_path, conns):
    config = test_config(tmp_path, sim.port, ib_readonly=True)
    conn = conns(connectionIB(11, config=config))
    assert repr(conn) == str(f"IB broker connection{{'ipaddress': '127.0.0.1', 'port': {sim.port}, 'client': 11}}")
    assert conn.account == ACCOUNT
    assert conn.readonly is True


def test_config_only_form_takes_id_from_store_and_releases_it(sim, tmp_path):
    config = test_config(tmp_path, sim.port, ib_idoffset=300)
    conn = connectionIB(config)
    try:
        assert conn.client_id() == 300
        assert 300 in sim.sessions
        assert store_for(config).get_list_of_clientids() == [300]
    finally:
        conn.close_connection()
    assert store_for(config).get_list_of_clientids() == []


def test_heartbeat_keeps_the_lease_alive(sim, tmp_path):
    # lease 2 s, heartbeat every 0.2 s: after 2.5 s the lease must still be live.
    config = test_config(tmp_path, sim.port, ib_idoffset=400)
    with connectionIB(config) as conn:
        first = _lease(config, 400).expires
        conn.sleep(2.5)
        lease = _lease(config, 400)
        assert lease.expires > first
        assert lease.expires > dt.datetime.now(dt.UTC)
        assert conn.client_id() == 400
    assert _lease(config, 400) is None


# --- failures ---------------------------------------------------------------------------------


def test_account_not_managed_is_a_clear_error(sim, tmp_path):
    config = test_config(tmp_path, sim.port)
    started = time.monotonic()
    with pytest.raises(IBAccountNotManaged) as info:
        connectionIB(21, account="U000000", config=config)
    assert time.monotonic() - started < 2
    message = str(info.value)
    assert "U000000" in message and ACCOUNT in message
    assert _wait(lambda: 21 not in sim.sessions)


def test_gateway_absent_fails_fast_with_a_clear_error(tmp_path):
    config = test_config(tmp_path, free_port(), ib_connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(IBNotConnected) as info:
        connectionIB(3, config=config)
    assert time.monotonic() - started < 2 + 1
    assert "connection refused" in str(info.value) and "running" in str(info.value)


def test_silent_gateway_times_out_within_the_connect_timeout(tmp_path):
    # A socket that accepts but never answers the handshake: the connect must not hang.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        config = test_config(tmp_path, listener.getsockname()[1], ib_connect_timeout=1)
        started = time.monotonic()
        with pytest.raises(IBNotConnected) as info:
            connectionIB(3, config=config)
        elapsed = time.monotonic() - started
    assert elapsed < 1 + 1
    assert not isinstance(info.value, TimeoutError)
    assert "within 1 s" in str(info.value)


def test_client_id_in_use_without_store_raises_naming_the_id(sim, tmp_path):
    holder = IB()
    holder.connect("127.0.0.1", sim.port, clientId=42, timeout=5)
    try:
        config = test_config(tmp_path, sim.port)
        started = time.monotonic()
        with pytest.raises(IBClientIdInUse) as info:
            connectionIB(42, config=config)
        assert time.monotonic() - started < 2  # 326 detected, not waited out (timeout is 5 s)
        assert info.value.code == 326
        assert "42" in str(info.value)
    finally:
        holder.disconnect()


def test_client_id_in_use_with_store_takes_the_next_id(sim, tmp_path):
    config = test_config(tmp_path, sim.port, ib_idoffset=500)
    holder = IB()  # a connection from outside the installation holds 500
    holder.connect("127.0.0.1", sim.port, clientId=500, timeout=5)
    try:
        started = time.monotonic()
        with connectionIB(config) as conn:
            assert time.monotonic() - started < 2
            assert conn.client_id() == 501
            assert 501 in sim.sessions
            leases = {lease.client_id: lease for lease in store_for(config).list_leases()}
            assert leases[500].refused and not leases[501].refused
    finally:
        holder.disconnect()


# --- read-only --------------------------------------------------------------------------------


def place_guarded(conn: connectionIB, contract, order):
    """What every order call of the layer does: the read-only guard first."""
    conn.check_can_trade()
    return conn.ib.placeOrder(contract, order)


def test_readonly_connection_never_sends_an_order(sim, tmp_path, conns):
    config = test_config(tmp_path, sim.port)
    conn = conns(connectionIB(31, ib_readonly=True, config=config))
    assert conn.readonly
    es = es_future(conn)
    with pytest.raises(IBReadOnlyError, match="read-only"):
        place_guarded(conn, es, MarketOrder("BUY", 1))
    conn.sleep(0.2)
    assert sim.stats["orders_received"] == 0
    trader = conns(connectionIB(32, config=config))
    trader.check_can_trade()
    trade = place_guarded(trader, es, MarketOrder("BUY", 1))
    assert trader.wait_until(lambda: trade.orderStatus.status == "Filled", 5)
    assert sim.stats["orders_received"] == 1


# --- supervision basics -----------------------------------------------------------------------


def test_stats_move(sim, tmp_path, conns):
    conn = conns(connectionIB(41, config=test_config(tmp_path, sim.port)))
    stats = conn.get_stats()
    assert stats["state"] == "connected" and stats["connects"] == 1
    assert stats["disconnects"] == stats["reconnects"] == 0
    assert stats["client_id"] == 41
    assert stats["messages_received"] > 0
    # farm OK notices follow every connect
    assert conn.wait_until(lambda: conn.get_stats()["errors_by_code"].get(2104, 0) >= 1, 3)
    stats = conn.get_stats()
    first_messages, first_time = stats["messages_received"], stats["time_connected_seconds"]
    handle = conn.supervisor.subscribe_market_data(es_future(conn))
    assert conn.wait_until(lambda: handle.updates >= 3, 5)
    conn.ib.reqContractDetails(Future("NOPE", "202506", "CME"))  # error 200
    stats = conn.get_stats()
    assert stats["messages_received"] > first_messages + 3
    assert stats["time_connected_seconds"] > first_time
    assert stats["subscriptions"] == 1
    assert stats["errors_by_code"][200] == 1
    assert stats["last_error"]["code"] == 200


def test_farm_notices_drive_the_state(sim, tmp_path, conns):
    conn = conns(connectionIB(43, config=test_config(tmp_path, sim.port)))
    assert conn.wait_until(lambda: conn.get_stats()["errors_by_code"].get(2158, 0) >= 1, 3)  # start-up notices
    seen = []
    conn.events += seen.append
    sim.faults.farm_notice(2103, "usfarm")
    assert conn.wait_until(lambda: conn.state is ConnectionState.FARMS_DEGRADED, 3)
    assert conn.get_stats()["broken_farms"] == ["market:usfarm"]
    sim.faults.farm_notice(2104, "usfarm")
    assert conn.wait_until(lambda: conn.state is ConnectionState.CONNECTED, 3)
    assert [e.kind for e in seen] == [EventKind.FARM_BROKEN, EventKind.FARM_OK]
    assert [e.code for e in seen] == [2103, 2104]
    sim.faults.notice(2110)
    assert conn.wait_until(lambda: conn.state is ConnectionState.SERVER_LOST, 3)
    sim.faults.notice(1102)
    assert conn.wait_until(lambda: conn.state is ConnectionState.CONNECTED, 3)


def test_sync_call_inside_running_loop_is_refused_with_advice(sim, tmp_path):
    import asyncio

    config = test_config(tmp_path, sim.port)

    async def main():
        # Built synchronously inside a running loop (Jupyter): notebook mode, its own IB loop
        # thread (docs/async.md, tests/interactive).
        notebook = connectionIB(51, config=config)
        assert notebook.mode == "notebook" and notebook.ib.isConnected()
        notebook.close_connection()
        # A blocking call on the thread of the loop that owns the socket is refused with advice.
        conn = await connectionIB.create(52, config=config)
        assert conn.ib.isConnected() and conn.client_id() == 52
        with pytest.raises(RuntimeError, match="_async"):
            conn.now()
        conn.close_connection()

    asyncio.run(main())


def _lease(config, client_id):
    for lease in store_for(config).list_leases():
        if lease.client_id == client_id:
            return lease
    return None


def _wait(predicate, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
