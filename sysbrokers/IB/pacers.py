"""One historical pacer per gateway login and process, with its books shared through the metadata store.

    pacer = pacer_for(conn)          # what every ibPriceClient of `conn` uses
    waited, booking = pacer.acquire(request_key, contract_key, "TRADES", sleep=conn.sleep)
    clear_pacers()                   # forget them (tests), closing the stores they opened

IB paces per login, not per process. With `ib_pacing_shared` (the default) the pacer's books live
in the metadata store — SQLite on one machine, MongoDB across machines — so processes seeding at
once share IB's limits, and a process started after a crash knows the requests its predecessor
sent within IB's windows. With it off, each process keeps its books in memory.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import Any

from sysbrokers.IB.pacing import HistoricalPacer, PacingLimits

_pacers: dict[tuple, HistoricalPacer] = {}
_stores: dict[tuple, Any] = {}


def gateway_login_key(address: tuple[str, int]) -> str:
    """The name the shared books use for a gateway: "host:port", a loopback host named by this machine."""
    host, port = address
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return f"{socket.gethostname() if loopback else host}:{port}"


def pacer_for(connection: Any) -> HistoricalPacer:
    """The pacer of `connection`'s gateway (config keys `ib_pacing_scale`, `ib_pacing_shared`,
    `ib_pacing_profile`)."""
    config = connection.config
    gateway = gateway_login_key(connection.address)
    store_key = (config.mongo_host, config.mongo_db, config.sqlite_path) if config.ib_pacing_shared else None
    key = (gateway, config.ib_pacing_scale, config.ib_pacing_profile, store_key)
    pacer = _pacers.get(key)
    if pacer is None:
        limits = PacingLimits().scaled(config.ib_pacing_scale)
        if store_key is None:
            pacer = HistoricalPacer(limits, profile=config.ib_pacing_profile)
        else:
            store = _stores.get(store_key)
            if store is None:
                from sysdata.metadata_store import open_metadata_store  # the layer's only way to storage

                store = _stores[store_key] = open_metadata_store(config)
            # Shared books compare bookings of several processes: a clock they all agree on.
            pacer = HistoricalPacer(
                limits, clock=time.time, books=store.pacing_books(gateway), profile=config.ib_pacing_profile
            )
        _pacers[key] = pacer
    return pacer


def pacers() -> list[HistoricalPacer]:
    """The pacers of this process."""
    return list(_pacers.values())


def clear_pacers() -> None:
    """Forget every pacer and close the metadata stores opened for them."""
    _pacers.clear()
    for store in _stores.values():
        store.close()
    _stores.clear()
