"""Prometheus metrics of IB connections: state, reconnects, errors, requests, orders, streams.

    from sysbrokers.IB.ib_metrics import watch_connection

    watched = watch_connection(conn)            # once per connection; idempotent
    watched.stream_watch.stale()                # the connection's StreamWatch (stale streams)
    process_metrics().exposition()              # now includes the connection's metrics

Counters kept by the supervisor (connects, reconnects, errors by code, messages) are read at
scrape time, so they are exact and cost nothing between scrapes. Requests in flight and their
latency come from the connection's `RequestWatch`; order events from ib_async's order events;
stale streams from a `StreamWatch`. Every label is low-cardinality: connection state, request
kind, order event, IB error code. Names and alert rules: docs/operations.md.
"""

from __future__ import annotations

import collections
import time
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from sysbrokers.IB.connection_supervisor import ConnectionState, EventKind
from sysbrokers.IB.ib_errors import IBPacingViolation, classify
from sysbrokers.IB.reset_windows import window_at
from sysbrokers.IB.stream_watch import StreamWatch
from sysdata.production.process_metrics import PREFIX, ProcessMetrics, process_metrics, request_kind

if TYPE_CHECKING:
    from sysbrokers.IB.ib_connection import connectionIB

DEFAULT_STALE_SECONDS = 60.0
_REJECT_STATUSES = {"Inactive"}
_CANCEL_STATUSES = {"Cancelled", "ApiCancelled"}
_COUNTERS = (
    ("connects", "Successful connects to the gateway (first connect and reconnects)"),
    ("reconnects", "Reconnects after the socket to the gateway closed"),
    ("disconnects", "Times the socket to the gateway closed unasked"),
    ("reconnect_attempts", "Reconnect attempts, successful or not"),
    ("resubscriptions", "Streams re-issued after a reconnect or 1101"),
    ("messages_received", "Messages decoded from the gateway"),
)


class WatchedConnection:
    """The metric hooks of one connection (returned by `watch_connection`)."""

    def __init__(self, conn: connectionIB, metrics: ProcessMetrics, stale_seconds: float) -> None:
        self.conn = conn
        self.metrics = metrics
        self.stream_watch = StreamWatch(conn, max_silence=stale_seconds)
        self._started: dict[int, tuple[str, float]] = {}  # id(WatchedRequest) -> (kind, t0)
        self._orders_sent: dict[tuple[int, int], float] = {}  # (clientId, orderId) -> t0
        self._done: collections.OrderedDict[tuple[int, int], str] = collections.OrderedDict()
        self._wrap_request_watch()
        ib = conn.ib
        ib.newOrderEvent += self._on_new_order
        ib.orderModifyEvent += self._on_modify
        ib.orderStatusEvent += self._on_status
        ib.errorEvent += self._on_error
        conn.events += self._on_connection_event
        self.lease_lost: str | None = None  # another process may be given our client id
        self.retire: Any = None  # set by the collector: called once the connection is closed

    # ------------------------------------------------------------- requests
    def _wrap_request_watch(self) -> None:
        watch = self.conn.request_watch
        start, finish = watch.start, watch.finish
        in_flight, latency, failures = (
            self.metrics.requests_in_flight,
            self.metrics.request_seconds,
            self.metrics.request_failures,
        )
        started = self._started

        def timed_start(loop, what, contract, limit, delayed_allowed):
            request = start(loop, what, contract, limit, delayed_allowed)
            kind = request_kind(what)
            started[id(request)] = (kind, time.perf_counter())
            in_flight.labels(kind).inc()
            return request

        def timed_finish(request) -> None:
            finish(request)
            entry = started.pop(id(request), None)
            if entry is not None:
                kind, t0 = entry
                in_flight.labels(kind).dec()
                if request.failure is None:
                    latency.labels(kind).observe(time.perf_counter() - t0)
                else:
                    failures.labels(kind).inc()

        watch.start, watch.finish = timed_start, timed_finish  # instance attributes: this watch only

    # --------------------------------------------------------------- orders
    def _on_new_order(self, trade: Any) -> None:
        self.metrics.orders.labels("placed").inc()
        self._orders_sent[_order_key(trade)] = time.perf_counter()

    def _on_modify(self, trade: Any) -> None:
        self.metrics.orders.labels("modified").inc()

    def _on_status(self, trade: Any) -> None:
        key = _order_key(trade)
        t0 = self._orders_sent.pop(key, None)
        if t0 is not None:
            self.metrics.request_seconds.labels("order").observe(time.perf_counter() - t0)
        status = trade.orderStatus.status
        if key in self._done:
            return
        if status == "Filled":
            event = "filled"
        elif status in _REJECT_STATUSES:
            event = "rejected"
        elif status in _CANCEL_STATUSES:
            code = trade.log[-1].errorCode if trade.log else 0
            event = "cancelled" if code in (0, 202) else "rejected"
        else:
            return
        self._done[key] = event
        while len(self._done) > 10_000:
            self._done.popitem(last=False)
        self.metrics.orders.labels(event).inc()

    def _on_error(self, req_id: int, code: int, text: str, contract: Any) -> None:
        if classify(code, text) is IBPacingViolation:
            self.metrics.pacing_violations.inc()

    def _on_connection_event(self, event: Any) -> None:
        if event.kind == EventKind.CLOSED:
            self.close()
        elif event.kind == EventKind.CLIENT_ID_LOST:
            self.lease_lost = event.text

    def close(self) -> None:
        """Stop watching (the connection closed); its counters stay in the totals."""
        ib = self.conn.ib
        ib.newOrderEvent -= self._on_new_order
        ib.orderModifyEvent -= self._on_modify
        ib.orderStatusEvent -= self._on_status
        ib.errorEvent -= self._on_error
        self.stream_watch.stop()
        if self.retire is not None:
            retire, self.retire = self.retire, None
            retire(self)

    # --------------------------------------------------------------- health
    def health(self) -> dict[str, Any]:
        """What /health reports: state, uptime, gateway, client id, account, last error."""
        conn = self.conn
        stats = conn.get_stats()
        last = stats.get("last_error")
        if last is not None:
            last = {**last, "time": last["time"].isoformat() if hasattr(last["time"], "isoformat") else last["time"]}
        window = _window(conn)
        return {
            "state": stats["state"],
            "connected": conn.is_connected(),
            "gateway": f"{conn.address[0]}:{conn.address[1]}",
            "client_id": conn.client_id(),
            "account": conn.account,
            "readonly": conn.readonly,
            "seconds_since_last_message": _since_last_message(conn),
            "reconnects": stats["reconnects"],
            "subscriptions": stats["subscriptions"],
            "stale_streams": [_label(h) for h in self.stream_watch.stale()],
            "reset_window": window.region if window is not None else None,
            "last_error": last,
        }

    def not_ready_reason(self) -> str | None:
        """None when ready: connected, account managed, no required stream stale."""
        conn = self.conn
        state = conn.state
        window = _window(conn)
        inside = f" (inside the {window.region} reset window)" if window is not None else ""
        if state == ConnectionState.CLOSED:
            return "connection closed"
        if state not in (ConnectionState.CONNECTED, ConnectionState.FARMS_DEGRADED) or not conn.is_connected():
            return f"not connected: {state.value}{inside}"
        managed = conn.ib.managedAccounts()
        if conn.account and conn.account not in managed:
            return f"account {conn.account} is not managed by the gateway (managed: {', '.join(managed) or 'none'})"
        if self.lease_lost:
            return f"{self.lease_lost}: another process may connect with it"
        stale = self.stream_watch.required_stale()
        if stale:
            return "stale streams: " + ", ".join(_label(h) for h in stale)
        return None


class _ConnectionsCollector:
    """Reads every watched connection at scrape time (one collector per registry)."""

    def __init__(self) -> None:
        self.watched: list[WatchedConnection] = []
        self.retired: list[dict[str, Any]] = []  # final stats of closed connections (counters go on)
        self.last: WatchedConnection | None = None

    def add(self, watched: WatchedConnection) -> None:
        watched.retire = self._retire
        self.watched.append(watched)
        self.last = watched

    def _retire(self, watched: WatchedConnection) -> None:
        if watched in self.watched:
            self.watched.remove(watched)
            stats = watched.conn.get_stats()
            final = {name: stats[name] for name, _ in _COUNTERS}
            final.update(errors_by_code=stats["errors_by_code"], stale_events=watched.stream_watch.stale_events)
            self.retired.append(final)

    def collect(self) -> Iterator[Metric]:
        watched = list(self.watched)
        primary = watched[-1] if watched else self.last
        state = GaugeMetricFamily(
            f"{PREFIX}_connection_state", "1 for the connection's current state", labels=["state"]
        )
        current = primary.conn.state if primary is not None else None
        for member in ConnectionState:
            state.add_metric([member.value], 1.0 if member == current else 0.0)
        yield state
        yield GaugeMetricFamily(
            f"{PREFIX}_connected",
            "1 while connected to the gateway",
            value=float(bool(primary and primary.conn.is_connected())),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_ready",
            "1 while /ready answers 200",
            value=float(bool(primary and primary.not_ready_reason() is None)),
        )
        window = _window(primary.conn) if primary is not None else None
        yield GaugeMetricFamily(
            f"{PREFIX}_in_reset_window",
            "1 inside one of IB's configured reset windows",
            value=float(window is not None),
        )
        since = _since_last_message(primary.conn) if primary is not None else None
        yield GaugeMetricFamily(
            f"{PREFIX}_seconds_since_last_gateway_message",
            "Seconds since the last message from the gateway (-1 before any)",
            value=-1.0 if since is None else since,
        )
        live = [w.conn.get_stats() for w in watched]
        stats = live + self.retired
        for name, doc in _COUNTERS:
            yield CounterMetricFamily(f"{PREFIX}_{name}", doc, value=float(sum(s[name] for s in stats)))
        errors = CounterMetricFamily(f"{PREFIX}_ib_errors", "IB error and notice messages by code", labels=["code"])
        by_code: collections.Counter = collections.Counter()
        for s in stats:
            by_code.update(s["errors_by_code"])
        for code, count in sorted(by_code.items()):
            errors.add_metric([str(code)], float(count))
        yield errors
        yield GaugeMetricFamily(
            f"{PREFIX}_subscriptions_active",
            "Streams held by the supervisor",
            value=float(sum(s["subscriptions"] for s in live)),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_subscriptions_stale",
            "Streams silent too long while their market is open",
            value=float(sum(len(w.stream_watch.stale()) for w in watched)),
        )
        yield CounterMetricFamily(
            f"{PREFIX}_stream_stale_events",
            "Times a stream went stale",
            value=float(
                sum(w.stream_watch.stale_events for w in watched) + sum(r["stale_events"] for r in self.retired)
            ),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_fills_awaiting_commission",
            "Executions whose commission report has not arrived",
            value=float(sum(_fills_awaiting_commission(w.conn) for w in watched)),
        )


_WATCHED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def watched_connection(conn: connectionIB) -> WatchedConnection | None:
    """The `WatchedConnection` of `conn`, if `watch_connection` was called for it."""
    return _WATCHED.get(conn)


def watch_connection(
    conn: connectionIB, metrics: ProcessMetrics | None = None, stale_seconds: float | None = None
) -> WatchedConnection:
    """Feed `conn`'s metrics into `metrics` (the process-wide registry by default); idempotent."""
    existing = _WATCHED.get(conn)
    if existing is not None:
        return existing
    metrics = metrics or process_metrics()
    collector = getattr(metrics, "_connections_collector", None)
    if collector is None:
        collector = _ConnectionsCollector()
        metrics.add_collector(collector)
        metrics._connections_collector = collector  # type: ignore[attr-defined]
    if stale_seconds is None:
        stale_seconds = float(getattr(conn.config, "stream_stale_seconds", DEFAULT_STALE_SECONDS))
    watched = WatchedConnection(conn, metrics, stale_seconds)
    collector.add(watched)
    _WATCHED[conn] = watched
    if conn._loop is not None:
        watched.stream_watch.start()
    return watched


def _window(conn: connectionIB):
    windows = conn.supervisor.reset_windows
    return window_at(conn.supervisor.clock(), windows) if windows else None


def _since_last_message(conn: connectionIB) -> float | None:
    last = getattr(conn.ib.wrapper, "time", None)  # time.time() of the last data from the socket
    if not last or last != last:  # 0 / NaN before any message
        return None
    return max(0.0, time.time() - last)


def _fills_awaiting_commission(conn: connectionIB) -> int:
    if conn.state == ConnectionState.CLOSED:
        return 0
    waiting = 0
    for fill in conn.ib.fills():
        report = fill.commissionReport
        if report is None or report.execId != fill.execution.execId:
            waiting += 1
    return waiting


def _order_key(trade: Any) -> tuple[int, int]:
    return trade.order.clientId, trade.order.orderId


def _label(handle: Any) -> str:
    contract = handle.contract
    return f"{handle.kind.value}:{getattr(contract, 'localSymbol', '') or getattr(contract, 'symbol', '?')}"
