"""Seeding with several worker processes, on one machine or several, through a shared work queue.

    python -m sysproduction.seed_price_data_from_IB --workers 4            # this machine: 4 workers
    python -m sysproduction.seed_price_data_from_IB --workers 4 --queue nightly-2025-03-04   # the same on each host

The coordinating process lists the contracts (one request per instrument) and queues one item
per contract and frequency in the metadata store's work queue (`work_queue`). Each worker is a
process of its own with its own client id; it claims items under a lease, renews the lease while
it downloads, and marks each item done with its part of the summary. Each run has a queue of its
own, unless `--queue NAME` names one: started on several hosts with the same arguments and the
same `--queue` (and a MongoDB metadata store), every host queues the same items (adding is
idempotent) and all workers take from the one queue. When its workers have ended, the
coordinator takes any item left behind (a killed worker's, once its lease has expired) and
prints one summary aggregated over the whole queue. The pacing books are shared as always, so
the workers together stay within IB's limits of the login.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable

from sysbrokers.IB.ib_errors import IBError
from sysdata.config.configdata import Config
from sysdata.data_blob import dataBlob
from sysdata.production.work_queue import Claim, WorkQueue
from sysobjects.futures_per_contract_prices import Frequency
from sysproduction.price_updates import UpdateSummary, contract_for, update_contract
from sysproduction.script_runner import stop_point

log = logging.getLogger("seed_workers")
DEFAULT_LEASE_SECONDS = 120.0


def queue_name() -> str:
    """A queue of its own for one run; hosts sharing a run pass the same `--queue` instead."""
    return f"seed:{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}:{uuid.uuid4().hex[:8]}"


def queue_items(
    data: dataBlob, instrument_codes: list[str], frequencies: tuple[Frequency, ...], summary: UpdateSummary
) -> list[str]:
    """One item "CODE/YYYYMM00/FREQ" per listed contract and frequency, in the single-process order."""
    client = data.broker_futures_contract.ib_client
    items = []
    for code in instrument_codes:
        summary.instrument(code)  # in the summary even when IB lists no contract
        try:
            listed = client.listed_contracts(code, allow_expired=True)
        except IBError as exc:
            summary.errors.append((code, str(exc)))
            continue
        for contract in listed:
            for frequency in frequencies:
                items.append(f"{code}/{contract_for(code, contract).date_str}/{frequency.value}")
    return items


def work(
    data: dataBlob,
    queue: WorkQueue,
    since: dt.datetime | None,
    lease_seconds: float,
    owner: str | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Claim and do items until none is left to take; returns how many this process did."""
    owner = owner or f"{socket.gethostname()}:{os.getpid()}"
    client = data.broker_futures_contract.ib_client
    done = 0
    while not stop() and (claim := queue.claim(owner, lease_seconds)) is not None:
        stop_point()  # a safe point: interrupted here, the claim's lease runs out and another worker takes it
        code, month, frequency = claim.item.split("/")
        summary = UpdateSummary()
        with _renewing(queue, claim, lease_seconds):
            listed = [
                c for c in client.listed_contracts(code, allow_expired=True) if contract_for(code, c).date_str == month
            ]
            if listed:
                update_contract(data, code, listed[0], Frequency(frequency), summary, since)
            else:
                summary.errors.append((claim.item, "IB no longer lists this contract"))
        if queue.done(claim, _to_result(summary)):
            done += 1
        else:
            log.warning("%s: lease lost while working (taken over); its result is not counted", claim.item)
    return done


def aggregate(queue: WorkQueue, instruments: int, listing: UpdateSummary) -> UpdateSummary:
    """One summary over every item of the queue (all hosts), plus the coordinator's listing errors."""
    total = UpdateSummary(instruments=instruments)
    total.merge(listing)
    for result in queue.results().values():
        total.merge(UpdateSummary(**result))
    return total


def run_with_workers(
    data: dataBlob,
    instrument_codes: list[str],
    frequencies: tuple[Frequency, ...],
    since: dt.datetime | None,
    workers: int,
    worker_command: list[str],
    name: str | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> UpdateSummary:
    """Queue the job, start `workers` processes (`worker_command` + the queue's name), wait for
    them, finish what they left, and return the summary of the whole queue."""
    listing = UpdateSummary()
    items = queue_items(data, instrument_codes, frequencies, listing)
    name = name or queue_name()
    queue = data.metadata_store.work_queue(name)
    added = queue.add(items)
    log.info("work queue %s: %d items (%d new); starting %d workers", name, len(items), added, workers)
    started = [subprocess.Popen([*worker_command, name]) for _ in range(workers)]
    for process in started:
        while process.poll() is None:
            data.ib_conn.sleep(0.2)  # keep this connection serviced while waiting
        if process.returncode:
            log.warning("worker %d ended with status %d; its items go to others", process.pid, process.returncode)
    # Items a killed worker (here or on another host) left behind: taken once their leases expire.
    while (counts := queue.counts())["pending"] or counts["leased"]:
        if not work(data, queue, since, lease_seconds):
            data.ib_conn.sleep(min(1.0, lease_seconds / 4))
    return aggregate(queue, len(instrument_codes), listing)


class _renewing:
    """Renew a claim's lease from a thread of its own while the item is being worked on."""

    def __init__(self, queue: WorkQueue, claim: Claim, lease_seconds: float) -> None:
        self._queue, self._claim, self._lease = queue, claim, lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-renewal", daemon=True)

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._lease / 3):
            if not self._queue.renew(self._claim, self._lease):
                return


def _to_result(summary: UpdateSummary) -> dict:
    result = dataclasses.asdict(summary)
    result["errors"] = [tuple(error) for error in summary.errors]
    return result


def worker_main(config: Config, queue: str, gateway: str, since: dt.datetime | None, lease_seconds: float) -> int:
    """One worker process: connect to `gateway` ("host:port"), do items of `queue` until none is left."""
    host, port = gateway.rsplit(":", 1)
    config = dataclasses.replace(config, ib_gateway="external", ib_ipaddress=host, ib_port=int(port))
    with dataBlob("seed_worker", config=config) as data:
        done = work(data, data.metadata_store.work_queue(queue), since, lease_seconds)
    log.info("worker %d: %d items", os.getpid(), done)
    return 0


def worker_command(gateway: str, since: dt.datetime | None, lease_seconds: float) -> list[str]:
    command = [sys.executable, "-m", "sysproduction.seed_price_data_from_IB", "--worker-gateway", gateway]
    if since is not None:
        command += ["--since", since.strftime("%Y-%m-%d")]
    return [*command, "--lease-seconds", str(lease_seconds), "--worker"]
