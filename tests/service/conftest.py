"""Fixtures for the market-data service tests: ibsim over loopback, a connection, the service on
the connection's loop, and a small SSE client (aiohttp) that reads events as a browser would."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import aiohttp
import pytest

from sysdata.production.process_metrics import reset_process_metrics, scrape_values
from sysproduction.mds import MarketDataService, sse
from tests.connection import (  # noqa: F401 - fixtures
    conns_fixture,
    fresh_contract_cache_fixture,
    open_conn,
    sims_fixture,
)
from tests.ibsim.conftest import FAST

# Ticks every 20 ms; at speed 20 the simulated market moves on (nearly) every tick.
QUICK = dataclasses.replace(FAST, tick_interval=0.02)
ES = "SP500/202506"


@pytest.fixture(autouse=True)
def fresh_metrics():
    yield reset_process_metrics()
    reset_process_metrics()


@pytest.fixture
def stack(sims, conns, tmp_path):
    """`stack(**service_kwargs)` -> (sim, conn, service): everything stopped afterwards."""
    started: list[tuple[Any, MarketDataService]] = []

    def start(sim_overrides: dict | None = None, conn_overrides: dict | None = None, **kwargs):
        sim = sims(**{"speed": 20, "timing": QUICK, **(sim_overrides or {})})
        conn = open_conn(
            sim, conns, tmp_path, **{"price_store": f"parquet://{tmp_path}/prices", **(conn_overrides or {})}
        )
        service = MarketDataService(conn, port=kwargs.pop("port", 0), **kwargs)
        conn.run_sync(service.start_async())
        started.append((conn, service))
        return sim, conn, service

    yield start
    for conn, service in started:
        if conn.ib is not None:
            conn.run_sync(service.stop_async())


def run(conn, coro, timeout: float = 20.0):
    """Run `coro` on the connection's loop (where the service runs), bounded."""
    return conn.run_sync(asyncio.wait_for(coro, timeout))


class SSEReader:
    """One reader of an SSE endpoint over a real socket: `await reader.events(5)`."""

    def __init__(self, session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None) -> None:
        self.session, self.url, self.headers = session, url, headers or {}
        self.response: aiohttp.ClientResponse | None = None
        self.received: list[dict[str, Any]] = []
        self.retry: int | None = None

    async def open(self) -> SSEReader:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=None)
        self.response = await self.session.get(self.url, headers=self.headers, timeout=timeout)
        return self

    async def event(self) -> dict[str, Any] | None:
        """The next event (comments and `retry:` skipped); None when the stream ended."""
        assert self.response is not None
        while True:
            try:
                block = await self.response.content.readuntil(b"\n\n")
            except (aiohttp.ClientPayloadError, ValueError, asyncio.IncompleteReadError):
                return None
            if not block:
                return None
            for item in sse.parse(block.decode()):
                if "retry" in item:
                    self.retry = int(item["retry"])
                if "event" in item:
                    event = {
                        "id": int(item["id"]) if "id" in item else None,
                        "event": item["event"],
                        "data": json.loads(item.get("data", "null")),
                    }
                    self.received.append(event)
                    return event

    async def events(self, count: int, kind: str | None = None) -> list[dict[str, Any]]:
        found = []
        while len(found) < count:
            event = await self.event()
            if event is None:
                break
            if kind is None or event["event"] == kind:
                found.append(event)
        return found

    def close(self) -> None:
        if self.response is not None:
            self.response.close()


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    """GET `url`: (status, JSON body or text, headers)."""
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers or {}) as response:
        text = await response.text()
        body: Any = text
        if response.content_type == "application/json":
            body = json.loads(text)
        return response.status, body, dict(response.headers)


async def metric_values(service: MarketDataService) -> dict:
    status, text, _ = await get(service.url + "/metrics")
    assert status == 200
    return scrape_values(text)


def market_subscriptions(sim) -> int:
    """reqMktData subscriptions the gateway holds right now (all clients)."""
    return sim.call(lambda: len(sim.all_market_subscriptions()))
