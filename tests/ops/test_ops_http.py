"""/metrics, /health and /ready scraped over a real socket while ibsim restarts, orders fill and
streams stall."""

from __future__ import annotations

import json

import aiohttp
import pytest

from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_orders_data import ibOrdersData
from sysdata.production.process_metrics import record_pacing_wait, record_prices_written, scrape_values
from sysobjects.contracts import futuresContract
from sysobjects.orders import brokerOrder
from sysproduction.ops_http import OpsServer, start_ops_server
from tests.connection import ACCOUNT, open_conn, test_config
from tests.ibsim.conftest import CLOSED_MARKET


def get(conn: connectionIB, url: str) -> tuple[int, str]:
    """GET `url` with an HTTP client on the connection's loop (the server runs there too)."""

    async def fetch() -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.text()

    return conn.run_sync(fetch())


def metrics(conn: connectionIB, server: OpsServer) -> dict:
    status, text = get(conn, server.url + "/metrics")
    assert status == 200
    return scrape_values(text)


def value(values: dict, name: str, **labels) -> float:
    return values[(name, tuple(sorted((k, str(v)) for k, v in labels.items())))]


@pytest.fixture
def serve(conns):
    servers: list[OpsServer] = []

    def start(conn: connectionIB, **kwargs) -> OpsServer:
        server = start_ops_server(conn, port=0, process_name="test", **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_off_by_default(sim, conn):
    assert conn.config.ops_http_port is None
    assert start_ops_server(conn) is None


def test_health_ready_and_metrics_follow_a_gateway_restart(sim, conns, tmp_path, serve):
    conn = open_conn(sim, conns, tmp_path)
    server = serve(conn)
    assert server.host == "127.0.0.1" and server.port > 0

    status, body = get(conn, server.url + "/health")
    health = json.loads(body)
    assert status == 200 and health["state"] == "connected" and health["client_id"] == 1
    assert health["account"] == ACCOUNT and health["gateway"] == f"127.0.0.1:{sim.port}"
    assert health["uptime_seconds"] >= 0 and health["last_error"] is None
    assert get(conn, server.url + "/ready") == (200, '{"ready": true}')
    before = metrics(conn, server)
    assert value(before, "ibfutures_connection_state", state="connected") == 1
    assert value(before, "ibfutures_connects_total") == 1
    assert value(before, "ibfutures_reconnects_total") == 0
    assert 0 <= value(before, "ibfutures_seconds_since_last_gateway_message") < 5

    sim.faults.daily_restart(down_seconds=0.6)
    assert conn.wait_until(lambda: conn.state.value != "connected", timeout=5)
    status, body = get(conn, server.url + "/ready")
    assert status == 503 and json.loads(body)["reason"].startswith("not connected")
    during = metrics(conn, server)
    assert value(during, "ibfutures_connected") == 0 and value(during, "ibfutures_ready") == 0
    assert value(during, "ibfutures_disconnects_total") == 1

    assert conn.wait_until(lambda: conn.get_stats()["reconnects"] == 1, timeout=10)
    after = metrics(conn, server)
    assert value(after, "ibfutures_reconnects_total") == 1
    assert value(after, "ibfutures_connects_total") == 2
    assert value(after, "ibfutures_connection_state", state="connected") == 1
    assert value(after, "ibfutures_connection_state", state="reconnecting") == 0
    assert get(conn, server.url + "/ready")[0] == 200


def test_orders_requests_and_hooks_move_the_counters(sim, conns, tmp_path, serve):
    conn = open_conn(sim, conns, tmp_path)
    server = serve(conn)
    orders = ibOrdersData(conn)
    try:
        order = brokerOrder("SP500", "202506", 1, strategy_name="ops")
        control = orders.put_order_on_stack(order)
        assert orders.wait_for_order(control, "commissions")
        far = brokerOrder("SP500", "202506", 1, order_type="LMT", limit_price=100.0, strategy_name="ops")
        resting = orders.put_order_on_stack(far)
        assert orders.wait_for_order(resting, "acknowledged")
        orders.cancel_order_on_stack(far)
        assert orders.wait_for_order(resting, "done")
        sim.faults.reject_next_orders(1)
        rejected = orders.put_order_on_stack(brokerOrder("SP500", "202506", 1, strategy_name="ops"))
        assert orders.wait_for_order(rejected, "done")
    finally:
        orders.close()
    record_pacing_wait(1.5)
    record_prices_written(250, store="parquet")
    values = metrics(conn, server)
    assert value(values, "ibfutures_orders_total", event="placed") == 3
    assert value(values, "ibfutures_orders_total", event="filled") == 1
    assert value(values, "ibfutures_orders_total", event="cancelled") == 1
    assert value(values, "ibfutures_orders_total", event="rejected") == 1
    assert value(values, "ibfutures_fills_awaiting_commission") == 0
    assert value(values, "ibfutures_ib_request_duration_seconds_count", kind="contract_details") >= 1
    assert value(values, "ibfutures_ib_request_duration_seconds_count", kind="order") >= 3
    assert value(values, "ibfutures_ib_requests_in_flight", kind="contract_details") == 0
    assert value(values, "ibfutures_pacing_wait_seconds_total") == 1.5
    assert value(values, "ibfutures_price_rows_written_total", store="parquet") == 250
    assert value(values, "ibfutures_ib_errors_total", code="202") >= 1
    assert value(values, "ibfutures_client_id_lease_renewals_total") == 0  # explicit id: no lease


def test_lease_renewals_are_counted(sim, conns, tmp_path, serve):
    config = test_config(tmp_path, sim.port)
    conn = conns(connectionIB(config))  # client id from the SQLite store: heartbeats every 0.2 s
    server = serve(conn)
    conn.sleep(0.7)
    assert value(metrics(conn, server), "ibfutures_client_id_lease_renewals_total") >= 2


def _stream(conn: connectionIB):
    from sysbrokers.IB.client.ib_contracts_client import ibContractsClient

    found = ibContractsClient(conn).resolve(futuresContract("SP500", "202506"))
    return conn.supervisor.subscribe_market_data(found.contract)


def test_a_stalled_stream_is_stale_then_recovers(sims, conns, tmp_path, serve):
    sim = sims(speed=20)  # the simulated market moves every 50 ms: a quote update each tick
    conn = open_conn(sim, conns, tmp_path, stream_stale_seconds=0.4)
    server = serve(conn)
    handle = _stream(conn)
    assert conn.wait_until(lambda: handle.updates > 0, timeout=5)
    conn.sleep(0.6)
    values = metrics(conn, server)
    assert value(values, "ibfutures_subscriptions_active") == 1
    assert value(values, "ibfutures_subscriptions_stale") == 0

    sim.faults.connectivity_lost(restore=None)  # 1100: the gateway stops sending ticks
    watch = server.watched.stream_watch
    assert conn.wait_until(lambda: watch.stale(), timeout=5)
    values = metrics(conn, server)
    assert value(values, "ibfutures_subscriptions_stale") == 1
    assert value(values, "ibfutures_stream_stale_events_total") == 1
    status, body = get(conn, server.url + "/ready")
    assert status == 503
    assert json.loads(get(conn, server.url + "/health")[1])["stale_streams"] == ["market_data:ESM5"]

    sim.faults.connectivity_restored("1102")
    assert conn.wait_until(lambda: not watch.stale(), timeout=5)
    assert value(metrics(conn, server), "ibfutures_subscriptions_stale") == 0
    assert get(conn, server.url + "/ready")[0] == 200


def test_a_stream_of_a_closed_market_is_not_stale(sims, conns, tmp_path, serve):
    sim = sims(start=CLOSED_MARKET)
    conn = open_conn(sim, conns, tmp_path, stream_stale_seconds=0.2)
    server = serve(conn)
    _stream(conn)
    conn.sleep(0.8)  # four times the allowance
    watch = server.watched.stream_watch
    assert len(watch.watched()) == 1 and watch.stale() == []
    assert value(metrics(conn, server), "ibfutures_subscriptions_stale") == 0
    assert get(conn, server.url + "/ready")[0] == 200


def test_an_asyncio_process_serves_on_its_own_loop(sim, tmp_path):
    from ib_async import util

    from sysproduction.ops_http import start_ops_server_async

    config = test_config(tmp_path, sim.port)

    async def service() -> tuple[int, dict]:
        conn = await connectionIB.create(7, ib_ipaddress="127.0.0.1", ib_port=sim.port, account=ACCOUNT, config=config)
        server = await start_ops_server_async(conn, process_name="md_service", port=0)
        try:
            async with aiohttp.ClientSession() as session, session.get(server.url + "/health") as response:
                return response.status, await response.json()
        finally:
            await server.stop_async()
            conn.close_connection()

    status, health = util.getLoop().run_until_complete(service())
    assert status == 200 and health["process"] == "md_service" and health["client_id"] == 7


def test_a_broken_farm_degrades_the_state_but_a_flowing_stream_keeps_the_process_ready(sims, conns, tmp_path, serve):
    sim = sims(speed=20)
    conn = open_conn(sim, conns, tmp_path, stream_stale_seconds=0.3)
    server = serve(conn)
    handle = _stream(conn)
    seen = []
    conn.events += seen.append
    sim.faults.farm_notice(2103)  # ibsim restores the farms (2104) shortly after
    assert conn.wait_until(lambda: any(e.state.value == "farms_degraded" for e in seen), timeout=5)
    before = handle.updates
    conn.sleep(0.6)
    assert handle.updates > before and server.watched.stream_watch.stale() == []
    values = metrics(conn, server)
    assert value(values, "ibfutures_ib_errors_total", code="2103") >= 1
    assert get(conn, server.url + "/ready")[0] == 200


def test_a_lost_client_id_lease_makes_the_process_not_ready(sim, conns, tmp_path, serve):
    import subprocess
    import sys
    from pathlib import Path

    config = test_config(tmp_path, sim.port)
    conn = conns(connectionIB(config))
    server = serve(conn)
    assert get(conn, server.url + "/ready")[0] == 200
    take = (  # another process: an operator clears our lease and that process takes the id at once
        "import sys, time; from sysdata.config.configdata import load_config; "
        "from sysdata.metadata_store import open_metadata_store; "
        f"config = load_config(private_dir={str(tmp_path / 'private')!r}, overrides={{'sqlite_path': {config.sqlite_path!r}}}); "
        "ids = open_metadata_store(config).client_id_data(process_name='other'); "
        "print('ready', flush=True); sys.stdin.readline(); "
        f"ids.clear_clientid({conn.client_id()}); "
        f"print(ids.return_valid_client_id({conn.client_id()}), flush=True); time.sleep(30)"
    )
    root = Path(__file__).resolve().parents[2]
    other = subprocess.Popen(
        [sys.executable, "-c", take], cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout.readline().strip() == "ready"
        other.stdin.write("go\n")
        other.stdin.flush()
        assert int(other.stdout.readline()) == conn.client_id()
        assert conn.wait_until(lambda: server.not_ready_reason() is not None, timeout=5)
        status, body = get(conn, server.url + "/ready")
    finally:
        other.kill()
        other.communicate()
    assert status == 503 and f"lost the lease on client id {conn.client_id()}" in json.loads(body)["reason"]
    assert value(metrics(conn, server), "ibfutures_client_id_lease_failures_total") >= 1
