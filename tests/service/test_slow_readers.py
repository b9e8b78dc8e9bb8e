"""A slow reader never slows the others: bounded per-reader queues with drop_oldest (counted in
/metrics) or disconnect (with a reason), against ibsim with real sockets that stop reading."""

from __future__ import annotations

import asyncio
import socket
import time

import aiohttp
import pytest

from sysproduction.mds import sse
from tests.service.conftest import ES, SSEReader, metric_values, run

SMALL = {"queue_size": 4, "write_buffer_bytes": 2048, "socket_send_buffer": 4096}


def stalled_reader(service) -> socket.socket:
    """A reader that asks for the stream, then never reads (a tiny receive buffer fills at once)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect(("127.0.0.1", service.port))
    sock.sendall(f"GET /quotes?contract={ES} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


def drain(sock: socket.socket, seconds: float = 1.0) -> bytes:
    """What the stalled reader is sent when it reads at last (for `seconds`, or to EOF / reset)."""
    sock.settimeout(0.3)
    chunks = []
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except (TimeoutError, ConnectionResetError):
        pass
    return b"".join(chunks)


async def read_while(readers: list[SSEReader], until, limit: float = 20.0) -> None:
    """Keep the fast readers reading until `until()` (awaited) is true."""
    stop = asyncio.Event()

    async def consume(reader: SSEReader) -> None:
        while not stop.is_set():
            if await reader.event() is None:
                return

    tasks = [asyncio.ensure_future(consume(r)) for r in readers]
    try:
        async with asyncio.timeout(limit):
            while not await until():
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def contiguous(reader: SSEReader) -> bool:
    ids = [e["id"] for e in reader.received if e["id"] is not None]
    return len(ids) > 10 and ids == list(range(ids[0], ids[0] + len(ids)))


@pytest.mark.parametrize("policy", ["drop_oldest", "disconnect"])
def test_a_stalled_reader_does_not_slow_the_others(stack, policy):
    sim, conn, service = stack(policy=policy, **SMALL)
    counter = (
        "ibfutures_mds_events_dropped_total"
        if policy == "drop_oldest"
        else "ibfutures_mds_slow_reader_disconnects_total"
    )

    closers: list[socket.socket] = []

    async def scenario():
        async with aiohttp.ClientSession() as session:
            fast = [await SSEReader(session, f"{service.url}/quotes?contract={ES}").open() for _ in range(3)]
            await asyncio.gather(*(r.events(2, "quote") for r in fast))
            slow = stalled_reader(service)
            closers.append(slow)

            async def policy_applied() -> bool:
                return (await metric_values(service))[(counter, ())] >= 1

            await read_while(fast, policy_applied)
            readers_now = service.hub.readers
            before = [len(r.received) for r in fast]
            await read_while(fast, lambda: _true_after(0.5))
            after = [len(r.received) for r in fast]
            values = await metric_values(service)
            # It reads at last, while the others go on reading.
            reading = asyncio.ensure_future(asyncio.to_thread(drain, slow))
            await read_while(fast, lambda: _done(reading))
            got = reading.result()
            for reader in fast:
                reader.close()
        return fast, got, readers_now, before, after, values

    try:
        fast, got, readers_now, before, after, values = run(conn, scenario(), timeout=40)
    finally:
        for sock in closers:
            sock.close()
    assert all(contiguous(r) for r in fast)  # every event, none dropped, in order
    assert all(b > a for a, b in zip(before, after, strict=True))  # and still flowing
    sent = sse.parse(got.split(b"\r\n\r\n", 1)[-1].decode(errors="replace"))
    ids = [int(e["id"]) for e in sent if "id" in e]
    if policy == "drop_oldest":
        assert values[("ibfutures_mds_events_dropped_total", ())] >= 1
        assert readers_now == 4  # still connected
        assert any(b - a > 1 for a, b in zip(ids, ids[1:], strict=False))  # it sees the gap in the ids
    else:
        assert values[("ibfutures_mds_slow_reader_disconnects_total", ())] == 1
        assert values[("ibfutures_mds_events_dropped_total", ())] == 0
        assert readers_now == 3  # the slow one was disconnected
        assert len(ids) < 200  # what its buffers held before it stalled, nothing after


async def _true_after(seconds: float) -> bool:
    await asyncio.sleep(seconds)
    return True


async def _done(task: asyncio.Future) -> bool:
    return task.done()
