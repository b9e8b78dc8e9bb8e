"""/health, /ready and /metrics over HTTP for a long-running process, on ib_async's event loop.

    from sysproduction.ops_http import start_ops_server

    server = start_ops_server(conn, process_name="stack_handler")   # None when ops_http_port is null
    server.url                           # e.g. http://127.0.0.1:9101
    ...                                  # served whenever the event loop runs (conn.sleep, requests)
    server.stop()

    # inside an asyncio program:
    server = await start_ops_server_async(conn, process_name="md_service")
    await server.stop_async()

Opt-in by configuration: `ops_http_port` (null = off, 0 = any free port) on `ops_http_host`
(127.0.0.1 by default). The server runs on the connection's event loop (aiohttp), so it costs no
thread; a synchronous process serves requests while the loop runs, which in these processes is
nearly all the time (requests, `conn.sleep`, order waits). A process without a connection yet can
start the server with `conn=None` and `server.attach(conn)` later. Endpoints: docs/operations.md.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from ib_async import util
from prometheus_client import CONTENT_TYPE_LATEST

from sysbrokers.IB.ib_metrics import WatchedConnection, watch_connection
from sysdata.config.configdata import Config
from sysdata.production.process_metrics import ProcessMetrics, process_metrics

if TYPE_CHECKING:
    from sysbrokers.IB.ib_connection import connectionIB


class OpsServer:
    """An aiohttp server answering /health, /ready and /metrics for one process."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        process_name: str = "process",
        metrics: ProcessMetrics | None = None,
        watched: WatchedConnection | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.process_name = process_name
        self.metrics = metrics or process_metrics()
        self.watched = watched
        self.started = time.monotonic()
        self.not_ready_override: str | None = None  # e.g. "shutting down"
        self._runner: web.AppRunner | None = None

    # -------------------------------------------------------------- lifecycle
    async def start_async(self) -> OpsServer:
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/ready", self._ready)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        if runner.addresses:  # the port actually bound (port 0 = any free port)
            self.port = runner.addresses[0][1]
        self._runner = runner
        return self

    def start(self) -> OpsServer:
        """Start from synchronous code (on ib_async's loop)."""
        return util.getLoop().run_until_complete(self.start_async())

    async def stop_async(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def stop(self) -> None:
        loop = util.getLoop()
        if self._runner is None or loop.is_closed():
            return
        if loop.is_running():
            loop.create_task(self.stop_async())
        else:
            loop.run_until_complete(self.stop_async())

    def attach(self, conn: connectionIB) -> WatchedConnection:
        """Report on `conn` (watching it for metrics if nobody did yet)."""
        self.watched = watch_connection(conn, self.metrics)
        return self.watched

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -------------------------------------------------------------- handlers
    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "alive",
            "process": self.process_name,
            "pid": os.getpid(),
            "uptime_seconds": round(time.monotonic() - self.started, 3),
        }
        if self.watched is None:
            body.update(state="no connection", connected=False)
        else:
            body.update(self.watched.health())
        return body

    def not_ready_reason(self) -> str | None:
        if self.not_ready_override is not None:
            return self.not_ready_override
        if self.watched is None:
            return "no connection to the gateway yet"
        return self.watched.not_ready_reason()

    async def _health(self, request: web.Request) -> web.Response:
        return _json(200, self.health())

    async def _ready(self, request: web.Request) -> web.Response:
        reason = self.not_ready_reason()
        if reason is None:
            return _json(200, {"ready": True})
        return _json(503, {"ready": False, "reason": reason})

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, text=json.dumps(body, default=str), content_type="application/json")


def _server_for(
    conn: connectionIB | None, config: Config | None, process_name: str, port: int | None
) -> OpsServer | None:
    config = config or (conn.config if conn is not None else None)
    if config is None:
        from sysdata.config.configdata import get_production_config

        config = get_production_config()
    port = config.ops_http_port if port is None else port
    if port is None:
        return None
    server = OpsServer(config.ops_http_host, port, process_name)
    if conn is not None:
        server.attach(conn)
    return server


def start_ops_server(
    conn: connectionIB | None,
    config: Config | None = None,
    process_name: str = "process",
    port: int | None = None,
) -> OpsServer | None:
    """Start the server if `ops_http_port` (or `port`) is set; None otherwise (off by default)."""
    server = _server_for(conn, config, process_name, port)
    return server.start() if server is not None else None


async def start_ops_server_async(
    conn: connectionIB | None,
    config: Config | None = None,
    process_name: str = "process",
    port: int | None = None,
) -> OpsServer | None:
    server = _server_for(conn, config, process_name, port)
    return await server.start_async() if server is not None else None


__all__ = ["OpsServer", "start_ops_server", "start_ops_server_async"]
