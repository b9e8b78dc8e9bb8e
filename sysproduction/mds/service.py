"""`MarketDataService`: the aiohttp application of the market-data service, on ib_async's loop.

    service = await MarketDataService(conn, config).start_async()   # binds market_data_service_host:port
    service.url                                                      # http://127.0.0.1:8765
    ...
    await service.stop_async()

Endpoints, event formats, the slow-reader policy, authentication and restart behaviour are in
docs/market_data_service.md. In short: `GET /quotes` and `GET /bars` (`contract=` or
`instrument=`) are Server-Sent Events from the hub (one IB subscription per topic, shared by all
its readers); `GET /chain`, `GET /history` (JSON or CSV; the price store first, else IB within the
shared pacing), `GET /status`, `GET /` (the status page), `/health`, `/ready`, `/metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import functools
import hmac
import io
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from sysbrokers.IB.ib_errors import IBError, IBNoSecurityDefinition
from sysdata.config.configdata import Config, ConfigError, is_loopback_host
from sysdata.production.process_metrics import PREFIX
from sysobjects.contracts import futuresContract
from sysproduction.mds import requests as rq
from sysproduction.mds import sse
from sysproduction.mds.hub import Hub, TopicKey
from sysproduction.mds.upstream import contract_name, encode, open_upstream, parse_contract_name
from sysproduction.ops_http import OpsServer

if TYPE_CHECKING:
    from sysbrokers.IB.ib_connection import connectionIB

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
OPEN_PATHS = ("/health", "/ready")  # probes need no token
UTC = dt.UTC


class MarketDataService:
    """Market data of one IB connection served over HTTP/SSE (see the module docstring)."""

    def __init__(
        self,
        conn: connectionIB,
        config: Config | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        token: str | None = None,
        queue_size: int | None = None,
        policy: str | None = None,
        max_history_days: float | None = None,
        price_store: Any = None,
        keepalive_seconds: float = 15.0,
        retry_ms: int = 2000,
        ring_size: int = 512,
        write_buffer_bytes: int = 16 * 1024,
        socket_send_buffer: int | None = 32 * 1024,
    ) -> None:
        config = config or conn.config
        self.conn = conn
        self.config = config
        self.host = host or config.market_data_service_host
        self.port = config.market_data_service_port if port is None else port
        self.token = token if token is not None else config.market_data_service_token
        check_binding(self.host, self.token, config)
        self.max_history_days = float(max_history_days or config.market_data_service_max_history_days)
        self.keepalive_seconds = keepalive_seconds
        self.retry_ms = retry_ms
        self.write_buffer_bytes = write_buffer_bytes
        self.socket_send_buffer = socket_send_buffer
        self.hub = Hub(
            lambda key: open_upstream(conn, key),
            encode,
            queue_size=queue_size or config.market_data_service_queue,
            policy=policy or config.market_data_service_slow_reader_policy,
            ring_size=ring_size,
        )
        self.ops = OpsServer(self.host, self.port, process_name="market_data_service")
        self.ops.attach(conn)
        self._price_store = price_store
        self._runner: web.AppRunner | None = None
        self._keepalive: asyncio.Future | None = None
        self._collector = _HubCollector(self.hub)
        self._prices: Any = None
        self.app = self._build_app()

    # -------------------------------------------------------------- lifecycle
    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors, self._auth])
        routes = [
            ("/", self._index),
            ("/status", self._status),
            ("/quotes", self._quotes),
            ("/bars", self._bars),
            ("/chain", self._chain),
            ("/history", self._history),
            ("/health", self._health),
            ("/ready", self._ready),
            ("/metrics", self._metrics),
        ]
        for path, handler in routes:
            app.router.add_get(path, handler)
        return app

    async def start_async(self) -> MarketDataService:
        # Measure the gateway's clock offset now: measured lazily by two streams at once, ib_async's
        # single 'currentTime' request slot would leave one of them unanswered.
        if self.conn.is_connected():
            await self.conn.now_async()
        self.ops.metrics.add_collector(self._collector)
        self.conn.supervisor.add_listener(self._on_connection_event)
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        if runner.addresses:
            self.port = runner.addresses[0][1]
        self._runner = runner
        self._keepalive = asyncio.ensure_future(self._keep_alive())
        log.info("market-data service on %s", self.url)
        return self

    async def stop_async(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.conn.supervisor.remove_listener(self._on_connection_event)
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
        await self.hub.close()
        await runner.cleanup()
        with contextlib.suppress(Exception):
            self.ops.metrics.remove_collector(self._collector)
        if self._price_store is not None and hasattr(self._price_store, "close"):
            with contextlib.suppress(Exception):
                self._price_store.close()

    async def _keep_alive(self) -> None:
        """Every `keepalive_seconds`, idle readers send a comment: proxies keep the connection and
        a reader that went away is noticed (its write fails)."""
        while True:
            await asyncio.sleep(self.keepalive_seconds)
            self.hub.wake_idle()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _on_connection_event(self, event: Any) -> None:
        self.hub.broadcast(
            "status",
            {
                "state": event.state.value,
                "event": event.kind.value,
                "code": event.code,
                "text": event.text,
                "time": event.time.isoformat(timespec="milliseconds"),
            },
        )

    # ------------------------------------------------------------- middleware
    @web.middleware
    async def _errors(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        try:
            return await handler(request)
        except rq.RequestError as exc:
            return _json(exc.status, exc.body)
        except web.HTTPException as exc:
            if exc.status >= 400:
                return _json(exc.status, {"error": exc.reason, "parameter": None})
            raise
        except IBError as exc:
            return _json(502, {"error": str(exc), "parameter": None, "ib_code": getattr(exc, "code", None)})

    @web.middleware
    async def _auth(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        if self.token is None or request.path in OPEN_PATHS:
            return await handler(request)
        given = ""
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        else:  # EventSource cannot send headers: the status page passes the token in the query
            given = request.query.get("access_token", "")
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            return _json(
                401,
                {"error": "a bearer token is required (Authorization: Bearer ...)", "parameter": "access_token"},
                headers={"WWW-Authenticate": 'Bearer realm="market_data_service"'},
            )
        return await handler(request)

    # ----------------------------------------------------------------- health
    async def _health(self, request: web.Request) -> web.Response:
        body = self.ops.health()
        body["readers"] = self.hub.readers
        body["streams"] = len(self.hub.topics)
        return _json(200, body)

    async def _ready(self, request: web.Request) -> web.Response:
        reason = self.ops.not_ready_reason()
        if reason is None:
            return _json(200, {"ready": True})
        return _json(503, {"ready": False, "reason": reason})

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.ops.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _status(self, request: web.Request) -> web.Response:
        health = self.ops.health()
        return _json(
            200,
            {
                "state": health.get("state"),
                "connected": health.get("connected"),
                "ready": self.ops.not_ready_reason() is None,
                "gateway": health.get("gateway"),
                "streams": [topic.describe() for topic in self.hub.topics.values()],
                "readers": self.hub.readers,
                "events_dropped": self.hub.stats["dropped"],
                "slow_reader_policy": self.hub.policy,
                "queue_size": self.hub.queue_size,
            },
        )

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=(STATIC / "index.html").read_text(encoding="utf-8"), content_type="text/html")

    # ----------------------------------------------------------------- targets
    def _instrument(self, code: str, parameter: str = "instrument") -> str:
        from sysobjects.front_month import load_instrument_rules

        if code not in load_instrument_rules() or code not in _configured_instruments():
            raise rq.RequestError(404, parameter, f"unknown instrument {code!r}")
        return code

    async def _contract(self, name: str) -> tuple[futuresContract, Any]:
        """The contract named `name` and IB's resolution of it (404 naming `contract` if none)."""
        try:
            contract = parse_contract_name(name)
        except (ValueError, LookupError) as exc:
            raise rq.RequestError(400, "contract", str(exc)) from None
        self._instrument(contract.instrument_code, "contract")
        try:
            found = await self._price_data().ib_client.resolve_async(contract)
        except IBNoSecurityDefinition as exc:
            raise rq.RequestError(404, "contract", f"no contract {name!r} at IB: {exc}") from None
        return contract, found

    def _price_data(self) -> Any:
        if self._prices is None:
            from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData

            self._prices = ibFuturesContractPriceData(self.conn)
        return self._prices

    async def _target(self, request: web.Request) -> tuple[str, str]:
        """("contract", "SP500/202506") or ("instrument", "SP500") of a request."""
        contract = request.query.get("contract")
        instrument = request.query.get("instrument")
        if (contract is None) == (instrument is None):
            raise rq.RequestError(400, "contract", "give exactly one of contract= or instrument=")
        if instrument is not None:
            return "instrument", self._instrument(instrument)
        parsed, _ = await self._contract(contract)
        return "contract", contract_name(parsed)

    # ------------------------------------------------------------------ streams
    async def _quotes(self, request: web.Request) -> web.StreamResponse:
        target, name = await self._target(request)
        return await self._stream(request, TopicKey("quotes", target, name))

    async def _bars(self, request: web.Request) -> web.StreamResponse:
        rq.stream_bar_size(request.query.get("bar_size"))
        target, name = await self._target(request)
        return await self._stream(request, TopicKey("bars", target, name))

    async def _stream(self, request: web.Request, key: TopicKey) -> web.StreamResponse:
        last_id = rq.last_event_id(request.headers.get("Last-Event-ID"), request.query.get("last_event_id"))
        response = web.StreamResponse(
            headers={"Content-Type": sse.CONTENT_TYPE, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        transport = request.transport
        if transport is not None:
            transport.set_write_buffer_limits(high=self.write_buffer_bytes)
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    if self.socket_send_buffer:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.socket_send_buffer)
        reader = None
        blocked = False
        limit = self.write_buffer_bytes
        chunked = "chunked" in response.headers.get("Transfer-Encoding", "").lower()  # HTTP/1.1

        def on_policy_close() -> None:
            if blocked and transport is not None:
                transport.abort()  # it reads nothing: no point in queueing a goodbye

        def sink(frame: bytes) -> bool:
            """Write `frame` now when the socket is keeping up (HTTP/1.1: as one chunk)."""
            if transport is None or transport.is_closing() or transport.get_write_buffer_size() > limit:
                return False
            transport.write(b"%x\r\n%b\r\n" % (len(frame), frame) if chunked else frame)
            return True

        try:
            await response.write(sse.retry(self.retry_ms) + sse.comment(f"{key.label}"))  # headers go too
            reader = await self.hub.join(key, last_id)
            reader.on_close = on_policy_close
            reader.sink = sink
            while reader.closed is None:
                entries = await reader.take()
                if entries:
                    await response.write(b"".join(entry.frame for entry in entries))
                elif reader.closed is None:
                    await response.write(sse.comment("keepalive"))
                # Flow control of our own: a reader whose socket takes nothing more waits here while
                # the hub keeps filling (and trimming) its queue; the others are not affected.
                while transport is not None and transport.get_write_buffer_size() > self.write_buffer_bytes:
                    if transport.is_closing() or reader.closed is not None:
                        break
                    blocked = True
                    await asyncio.sleep(0.02)
                blocked = False
            if reader.closed is not None and transport is not None and not transport.is_closing():
                goodbye = sse.frame(None, "close", {"reason": reader.closed, "stream": key.label})
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(response.write(goodbye), 1.0)
        except (ConnectionError, asyncio.CancelledError, RuntimeError):
            pass  # the reader went away
        finally:
            if reader is not None:
                reader.sink = None
                self.hub.leave(reader)
        return response

    # -------------------------------------------------------------------- chain
    async def _chain(self, request: web.Request) -> web.Response:
        from sysbrokers.IB.contract_resolution import instrument_pattern, resolved
        from sysobjects.front_month import front_month, load_instrument_rules

        code = request.query.get("instrument")
        if code is None:
            raise rq.RequestError(400, "instrument", "instrument= is required")
        self._instrument(code)
        client = self._price_data().ib_client
        instrument = client.instrument_with_ib_data(code)
        pattern = instrument_pattern(instrument)
        details = await client.request_async(
            lambda: self.conn.ib.reqContractDetailsAsync(pattern), f"contracts of {code}", pattern
        )
        trading_class = instrument.ib_data.trading_class
        listed = sorted(
            (resolved(d) for d in details if not trading_class or d.contract.tradingClass == trading_class),
            key=lambda r: r.expiry_key,
        )
        now = await self.conn.now_async()
        rules = load_instrument_rules()[code]
        front = front_month(rules, now)
        expiries = []
        for found in listed:
            month = found.details.contractMonth or found.expiry_key[:6]
            expiries.append(
                {
                    "contract": f"{code}/{month}",
                    "local_symbol": found.contract.localSymbol,
                    "expiry": found.expiry_key,
                    "last_trade_utc": found.expiry_utc.isoformat() if found.expiry_utc else None,
                    "con_id": found.contract.conId,
                }
            )
        front_name = f"{code}/{front.contract_id}"
        front_symbol = next((e["local_symbol"] for e in expiries if e["contract"] == front_name), None)
        next_front = front_month(rules, front.roll_utc)
        return _json(
            200,
            {
                "instrument": code,
                "as_of": now.isoformat(),
                "expiries": expiries,
                "front_month": {
                    "contract": front_name,
                    "local_symbol": front_symbol,
                    "last_trade_date": front.last_trade_date.isoformat(),
                    "roll_date": front.roll_utc.date().isoformat(),
                    "roll_utc": front.roll_utc.isoformat(),
                    "next_contract": f"{code}/{next_front.contract_id}",
                },
            },
        )

    # ------------------------------------------------------------------ history
    async def _history(self, request: web.Request) -> web.Response:
        query = request.query
        frequency = rq.history_frequency(query.get("bar_size"))
        fmt = rq.output_format(query.get("format"))
        target, name = await self._target(request)
        if target == "instrument":
            from sysobjects.front_month import front_month, load_instrument_rules

            front = front_month(load_instrument_rules()[name], await self.conn.now_async())
            contract, _ = await self._contract(f"{name}/{front.contract_id}")
        else:
            contract = parse_contract_name(name)
        now = await self.conn.now_async()
        start, end = rq.history_range(query.get("start"), query.get("end"), frequency, now, self.max_history_days)
        bars, source = await self._read_history(contract, frequency, start, end)
        label = contract_name(contract)
        rows = [
            {
                "time": stamp.isoformat(),
                "open": _float(row.get("OPEN")),
                "high": _float(row.get("HIGH")),
                "low": _float(row.get("LOW")),
                "close": _float(row.get("FINAL")),
                "volume": _float(row.get("VOLUME")),
            }
            for stamp, row in zip(bars.index, bars.to_dict("records"), strict=True)
        ]
        headers = {"X-Source": source}
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, ["time", "open", "high", "low", "close", "volume"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            return web.Response(text=out.getvalue(), content_type="text/csv", headers=headers)
        body = {
            "contract": label,
            "bar_size": frequency.value,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "source": source,
            "bars": rows,
        }
        return _json(200, body, headers=headers)

    async def _read_history(
        self, contract: futuresContract, frequency: Any, start: dt.datetime, end: dt.datetime
    ) -> tuple[Any, str]:
        """Stored bars when the price store has any in [start, end]; else IB's (paced, shared)."""
        import pandas as pd

        from sysdata.prices import contract_prices_key

        key = contract_prices_key(contract.instrument_code, contract.date_str, frequency.value)
        store = self._store()
        stored = await asyncio.to_thread(store.read, key, pd.Timestamp(start), pd.Timestamp(end))
        if len(stored):
            return stored, "store"
        prices = self._price_data()
        try:
            # A blocking, paced download run in a worker thread (its IB calls are submitted to the loop).
            fetched = await asyncio.to_thread(
                prices.get_prices_at_frequency_for_contract_object, contract, frequency, start, end, return_empty=True
            )
        except IBNoSecurityDefinition as exc:
            raise rq.RequestError(404, "contract", str(exc)) from None
        if len(fetched):
            fetched = fetched[(fetched.index >= pd.Timestamp(start)) & (fetched.index <= pd.Timestamp(end))]
        return fetched, "ib"

    def _store(self) -> Any:
        if self._price_store is None:
            from sysdata.prices import open_price_store

            self._price_store = open_price_store(self.config.price_store)
        return self._price_store


def check_binding(host: str, token: str | None, config: Config) -> None:
    """A `ConfigError` when the service would listen beyond loopback without a token."""
    if token is None and not is_loopback_host(host):
        raise ConfigError(
            f"market_data_service_token is required when the service binds to {host} (beyond loopback)",
            source=config.sources.get("market_data_service_host", "<arguments>"),
            key="market_data_service_token",
        )


class _HubCollector:
    """The hub's figures at scrape time (readers, streams, events, drops)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self):
        hub = self.hub
        readers = GaugeMetricFamily(
            f"{PREFIX}_mds_readers", "Readers connected to the market-data service", labels=["stream"]
        )
        upstreams = GaugeMetricFamily(
            f"{PREFIX}_mds_upstreams", "Upstream IB subscriptions held by the market-data service", labels=["stream"]
        )
        for kind in ("quotes", "bars"):
            topics = [t for t in hub.topics.values() if t.key.kind == kind]
            readers.add_metric([kind], sum(len(t.readers) for t in topics))
            upstreams.add_metric([kind], len(topics))
        yield readers
        yield upstreams
        counters = {
            "events_published": ("published", "Events published by the market-data service's streams"),
            "events_dropped": ("dropped", "Events dropped from slow readers' queues (drop_oldest policy)"),
            "slow_reader_disconnects": (
                "slow_disconnects",
                "Readers disconnected for being too slow (disconnect policy)",
            ),
            "readers_joined": ("readers_joined", "Readers that connected to a stream"),
            "upstreams_opened": ("upstreams_opened", "Upstream subscriptions opened (first reader of a stream)"),
        }
        for name, (stat, text) in counters.items():
            counter = CounterMetricFamily(f"{PREFIX}_mds_{name}", text)
            counter.add_metric([], hub.stats[stat])
            yield counter


@functools.cache
def _configured_instruments() -> frozenset[str]:
    from sysbrokers.IB.ib_instrument_config import load_futures_config

    return frozenset(load_futures_config().instrument_codes())


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN -> null


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(sse._clean(body), default=str), content_type="application/json", headers=headers
    )


__all__ = ["MarketDataService", "check_binding"]
