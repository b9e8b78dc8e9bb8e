"""Handshake, start-up sync and robustness, with the real ib_async client over a socket."""

from __future__ import annotations

import contextlib
import socket
import struct
import time

import pytest
from ib_async import IB

from .conftest import OPEN_MARKET, wait_until


def test_connect_is_prompt_and_synced(sim, connect):
    started = time.monotonic()
    ib = connect(sim, client_id=7)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"IB.connect took {elapsed:.2f}s"
    assert ib.isConnected()
    assert ib.client.serverVersion() == 178
    assert ib.managedAccounts() == ["DU123456"]
    assert ib.client.clientId == 7
    # The start-up requests were answered: account values arrived for the single account.
    assert any(v.tag == "NetLiquidation" for v in ib.accountValues())
    assert sim.sessions[7].api_started


def test_farm_notices_follow_start_api(sim):
    ib = IB()
    notices = []
    ib.errorEvent += lambda req_id, code, text, contract: notices.append((req_id, code, text))
    ib.connect("127.0.0.1", sim.port, clientId=3, timeout=10)
    try:
        # as a real gateway: market data farms OK, the idle HMDS farm inactive (2107), sec-def OK
        assert wait_until(ib, lambda: {2104, 2107, 2158} <= {c for _, c, _ in notices})
        assert all(req_id == -1 for req_id, _, _ in notices)
        assert any(t == "Market data farm connection is OK:usfarm" for _, _, t in notices)
    finally:
        ib.disconnect()


def test_current_time_is_the_simulated_clock(sim, ib):
    now = ib.reqCurrentTime()
    assert abs((now - OPEN_MARKET).total_seconds()) < 30


def test_duplicate_client_id_gets_326_and_is_closed(sim, connect):
    connect(sim, client_id=5)
    second = IB()
    errors = []
    second.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    with pytest.raises((TimeoutError, ConnectionError)):
        second.connect("127.0.0.1", sim.port, clientId=5, timeout=2)
    assert 326 in errors
    assert not second.isConnected()
    # The first client is untouched.
    assert sim.sessions[5].api_started and not sim.sessions[5].closed


def test_client_id_is_free_again_after_disconnect(sim, connect):
    first = connect(sim, client_id=9)
    first.disconnect()
    assert wait_until(first, lambda: 9 not in sim.sessions, timeout=3)
    again = connect(sim, client_id=9)
    assert again.isConnected()


def test_several_clients_at_once(sim, connect):
    clients = [connect(sim, client_id=i) for i in range(1, 6)]
    assert all(c.isConnected() for c in clients)
    assert sorted(sim.sessions) == [1, 2, 3, 4, 5]


def _handshake(port: int, versions: bytes = b"v157..178") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"API\0" + struct.pack(">I", len(versions)) + versions)
    return sock


def _read_frame(sock: socket.socket) -> list[str]:
    header = b""
    while len(header) < 4:
        chunk = sock.recv(4 - len(header))
        if not chunk:
            raise ConnectionError("closed")
        header += chunk
    (size,) = struct.unpack(">I", header)
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            raise ConnectionError("closed")
        body += chunk
    return body.decode().split("\0")[:-1]


def _frame(*fields: str) -> bytes:
    body = "".join(f + "\0" for f in fields).encode()
    return struct.pack(">I", len(body)) + body


def _closed(sock: socket.socket, timeout: float = 3.0) -> bool:
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionError, OSError):
        return True
    except TimeoutError:
        return False


def test_version_negotiation(sim):
    sock = _handshake(sim.port, b"v100..176")
    assert _read_frame(sock)[0] == "176"
    sock.close()
    sock = _handshake(sim.port, b"v100..226 +PACEAPI")
    reply = _read_frame(sock)
    assert reply[0] == "178" and len(reply) == 2
    sock.close()


def test_client_whose_minimum_is_too_new_is_refused(sim):
    sock = _handshake(sim.port, b"v201..226")
    assert _closed(sock)


def test_client_older_than_the_implemented_layouts_is_refused(sim):
    sock = _handshake(sim.port, b"v100..165")
    assert _closed(sock)


@pytest.mark.parametrize(
    "payload",
    [
        b"GARBAGE-NOT-API",
        b"API\0" + struct.pack(">I", 0),
        b"API\0" + struct.pack(">I", 0x7FFFFFFF) + b"v1",
        b"API\0" + struct.pack(">I", 5) + b"hello",
        bytes(range(256)),
    ],
    ids=["no-prefix", "zero-length", "huge-length", "bad-version", "binary"],
)
def test_malformed_handshake_closes_only_that_connection(sim, connect, payload):
    ib = connect(sim, client_id=1)
    sock = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    sock.sendall(payload)
    assert _closed(sock)
    # The server and the well-behaved client carry on.
    assert ib.reqCurrentTime() is not None
    assert ib.isConnected()


def test_bad_messages_after_handshake_never_crash_the_server(sim, connect):
    ib = connect(sim, client_id=1)
    sock = _handshake(sim.port)
    assert _read_frame(sock)[0] == "178"
    sock.sendall(_frame("71", "2", "42", ""))
    # unknown id, non-numeric id, bad field values, truncated messages
    sock.sendall(_frame("9999", "1", "2"))
    sock.sendall(_frame("abc", "1"))
    sock.sendall(_frame("9", "8", "notanint", "0", "ES", "FUT"))
    sock.sendall(_frame("20", "1"))
    sock.sendall(
        _frame("3", "77", "0", "ES", "FUT", "202506", "0", "", "50", "CME", "", "USD", "", "", "", "", "BUY", "lots")
    )
    sock.sendall(_frame("49", "1"))  # a valid reqCurrentTime after all that
    got = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        fields = _read_frame(sock)
        got.append(fields)
        if fields[0] == "49":
            break
    assert any(f[0] == "49" for f in got), got
    assert any(f[0] == "4" and f[3] == "320" for f in got), "bad field values are reported as error 320"
    # A wrong length prefix in the middle of a session closes only that connection.
    sock.sendall(struct.pack(">I", 0xFFFFFFF0) + b"xx")
    assert _closed(sock)
    assert ib.reqCurrentTime() is not None


def test_messages_before_start_api_are_ignored(sim):
    sock = _handshake(sim.port)
    _read_frame(sock)
    sock.sendall(_frame("49", "1"))
    sock.sendall(_frame("71", "2", "11", ""))
    fields = _read_frame(sock)
    assert fields[0] == "15"  # managedAccounts comes first; the early request was dropped
    assert _read_frame(sock)[0] == "9"
    sock.close()


def test_stop_closes_clients_and_leaves_no_threads(sim_factory, connect):
    import threading

    sim = sim_factory()
    ib = connect(sim, client_id=1)
    sim.stop_in_thread()
    with contextlib.suppress(ConnectionError):  # ib_async reports the closed socket by raising from sleep()
        wait_until(ib, lambda: not ib.isConnected(), timeout=5)
    assert not ib.isConnected()
    assert not [t for t in threading.enumerate() if t.name == "ibsim"]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", sim.port), timeout=1)


def test_invalid_account_code_is_a_321_not_a_crash(sim):
    sock = _handshake(sim.port)
    _read_frame(sock)
    sock.sendall(_frame("71", "2", "13", ""))
    sock.sendall(_frame("6", "2", "1", "NOT-MY-ACCOUNT"))
    deadline = time.monotonic() + 5
    codes = []
    while time.monotonic() < deadline and "321" not in codes:
        fields = _read_frame(sock)
        if fields[0] == "4":
            codes.append(fields[3])
    assert "321" in codes and "322" not in codes
    sock.close()
