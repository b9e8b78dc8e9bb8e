"""Prometheus metrics of one production process: one registry per process, low-cardinality labels.

    from sysdata.production.process_metrics import process_metrics, record_prices_written

    metrics = process_metrics()              # the process-wide ProcessMetrics (created on first use)
    record_prices_written(250, store="parquet")   # hooks: cheap, safe to call from any thread
    record_pacing_wait(1.5)
    metrics.exposition()                     # bytes in Prometheus text format (what /metrics serves)

The connection-level metrics (state, reconnects, IB errors, requests, orders, subscriptions) are
filled by `sysbrokers.IB.ib_metrics.watch_connection(conn)`; `sysproduction.ops_http` serves the
registry over HTTP. This module depends on nothing but `prometheus_client`, so that the broker
layer and the stores (sysdata) can call its hooks without importing either of those.
Metric names and example alert rules: docs/operations.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.registry import Collector

disable_created_metrics()  # no `*_created` series: they double the output and nobody alerts on them

PREFIX = "ibfutures"
# Seconds; IB requests range from a few ms (contract details) to tens of seconds (paced history).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
REQUEST_KINDS = ("contract_details", "history", "snapshot", "order", "account", "other")
ORDER_EVENTS = ("placed", "modified", "cancelled", "rejected", "filled")


class ProcessMetrics:
    """The metric objects of one process, in a `CollectorRegistry` of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests_in_flight = Gauge(
            f"{PREFIX}_ib_requests_in_flight", "IB requests sent and not yet answered", ["kind"], registry=r
        )
        self.request_seconds = Histogram(
            f"{PREFIX}_ib_request_duration_seconds",
            "Time from sending an IB request to its answer (orders: to the first order status)",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.request_failures = Counter(
            f"{PREFIX}_ib_request_failures", "IB requests that ended with an error or a time-out", ["kind"], registry=r
        )
        self.pacing_wait_seconds = Counter(
            f"{PREFIX}_pacing_wait_seconds", "Seconds spent waiting for IB's historical-data pacing", registry=r
        )
        self.pacing_violations = Counter(
            f"{PREFIX}_pacing_violations", "IB pacing violations received (162 pacing, 100, 420)", registry=r
        )
        self.orders = Counter(
            f"{PREFIX}_orders", "Order events seen on this process's connection", ["event"], registry=r
        )
        self.lease_renewals = Counter(
            f"{PREFIX}_client_id_lease_renewals", "Client-id lease renewals (heartbeats) that succeeded", registry=r
        )
        self.lease_failures = Counter(
            f"{PREFIX}_client_id_lease_failures",
            "Client-id lease renewals that failed or found the lease lost",
            registry=r,
        )
        self.price_rows_written = Counter(
            f"{PREFIX}_price_rows_written", "Price rows written to the price store", ["store"], registry=r
        )
        self.price_write_errors = Counter(
            f"{PREFIX}_price_write_errors", "Failed writes to the price store", ["store"], registry=r
        )
        self.start_time = Gauge(f"{PREFIX}_process_start_time_seconds", "Unix time the process started", registry=r)
        self.start_time.set_to_current_time()
        for kind in REQUEST_KINDS:  # present from the first scrape, so rate() and alerts see 0
            self.requests_in_flight.labels(kind)
            self.request_seconds.labels(kind)
            self.request_failures.labels(kind)
        for event in ORDER_EVENTS:
            self.orders.labels(event)

    def add_collector(self, collector: Collector) -> None:
        """Register a collector whose values are read at scrape time (e.g. a connection's)."""
        self.registry.register(collector)

    def remove_collector(self, collector: Collector) -> None:
        self.registry.unregister(collector)

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


_LOCK = threading.Lock()
_PROCESS: ProcessMetrics | None = None


def process_metrics() -> ProcessMetrics:
    """The process-wide metrics, created on first use."""
    global _PROCESS
    with _LOCK:
        if _PROCESS is None:
            _PROCESS = ProcessMetrics()
        return _PROCESS


def reset_process_metrics() -> ProcessMetrics:
    """A fresh process-wide registry (tests run many 'processes' in one interpreter)."""
    global _PROCESS
    with _LOCK:
        _PROCESS = ProcessMetrics()
        return _PROCESS


def request_kind(what: str) -> str:
    """Map a request's description (`run_request(..., what)`) to one of `REQUEST_KINDS`."""
    text = what.lower()
    if text.startswith("historical") or "head time" in text or "bars of" in text:
        return "history"
    if text.startswith("quote") or "snapshot" in text or "tick" in text:
        return "snapshot"
    if "contract" in text or text.startswith("fx pair") or "instrument" in text:
        return "contract_details"
    if "order" in text or "execution" in text or "what-if" in text or "what if" in text:
        return "order"
    if "account" in text or "position" in text or "pnl" in text or "summary" in text:
        return "account"
    return "other"


# --- hooks for code that must not know about the HTTP side --------------------------------------


def record_pacing_wait(seconds: float) -> None:
    """Call where the historical pacer made a request wait (`seconds` > 0 counted)."""
    if seconds > 0:
        process_metrics().pacing_wait_seconds.inc(seconds)


def record_pacing_violation() -> None:
    """Call when IB answered a request with a pacing violation (the connection counts IB's own)."""
    process_metrics().pacing_violations.inc()


def record_prices_written(rows: int, store: str = "parquet") -> None:
    """Call after a successful price-store write of `rows` rows; `store` is the backend name."""
    if rows > 0:
        process_metrics().price_rows_written.labels(store).inc(rows)


def record_price_write_error(store: str = "parquet") -> None:
    """Call when a price-store write failed."""
    process_metrics().price_write_errors.labels(store).inc()


def record_lease_renewal(ok: bool) -> None:
    """Called by the client-id heartbeat after each renewal attempt."""
    metrics = process_metrics()
    (metrics.lease_renewals if ok else metrics.lease_failures).inc()


def scrape_values(text: str, names: Iterable[str] | None = None) -> dict[tuple[str, tuple], float]:
    """Parse Prometheus text into {(sample name, sorted label items): value} (tests, bench)."""
    from prometheus_client.parser import text_string_to_metric_families

    wanted = set(names) if names is not None else None
    values: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if wanted is None or sample.name in wanted or family.name in wanted:
                values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


Hook = Callable[..., None]
__all__ = [
    "ORDER_EVENTS",
    "REQUEST_KINDS",
    "ProcessMetrics",
    "process_metrics",
    "record_lease_renewal",
    "record_pacing_violation",
    "record_pacing_wait",
    "record_price_write_error",
    "record_prices_written",
    "request_kind",
    "reset_process_metrics",
    "scrape_values",
]
