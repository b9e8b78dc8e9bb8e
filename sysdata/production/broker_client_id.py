"""Broker client-id allocation as leases, with pysystemtrade's public method names.

Each id in use is one row/document with a unique key on the id: allocating is "insert the
candidate; if the key exists, take it over only if its lease has expired; else try the next
candidate". The storage primitives live in a `LeaseTable` (MongoDB or SQLite) that the
`brokerClientIdData` object is composed with; the allocation policy lives here, once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from sysdata.production.process_metrics import record_lease_renewal

UTC = dt.UTC
MAX_CLIENT_ID = 2**31 - 1
FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=UTC)  # legacy pysystemtrade locks never expire
_REFRESH_AFTER_FAILURES = 16  # re-read the ids in use after this many lost races in a row
_MAX_ATTEMPTS = 10_000

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


class ClientIdError(RuntimeError):
    """No client id could be allocated."""


@dataclass(frozen=True)
class LeaseOwner:
    """Who holds a lease: the process (pid on host) and a token unique to this process's life."""

    pid: int
    host: str
    token: str


_owner_cache: dict[int, LeaseOwner] = {}

# The host name recorded in leases: socket.gethostname(), unless this variable names another (a
# container whose host name is a random id, or tests that play several machines on one).
LEASE_HOST_ENV = "IBFUTURES_LEASE_HOST"


def lease_host() -> str:
    """The host name this process records in its leases (env IBFUTURES_LEASE_HOST, else the OS's)."""
    return os.environ.get(LEASE_HOST_ENV) or socket.gethostname()


def current_owner() -> LeaseOwner:
    """This process's identity; a forked child gets its own token because its pid differs."""
    pid = os.getpid()
    owner = _owner_cache.get(pid)
    if owner is None:
        owner = LeaseOwner(pid=pid, host=lease_host(), token=uuid.uuid4().hex)
        _owner_cache.clear()
        _owner_cache[pid] = owner
    return owner


def default_process_name() -> str:
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"


@dataclass(frozen=True)
class ClientIdLease:
    """One client id in use. Times are tz-aware UTC; `refused` marks an id the gateway rejected."""

    client_id: int
    pid: int
    host: str
    process_name: str
    acquired: dt.datetime
    heartbeat: dt.datetime
    expires: dt.datetime
    token: str = ""
    refused: bool = False

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires <= now

    def is_owned_by(self, owner: LeaseOwner) -> bool:
        return (self.pid, self.host, self.token) == (owner.pid, owner.host, owner.token)

    def state(self, now: dt.datetime) -> str:
        if self.is_expired(now):
            return "expired"
        return "refused" if self.refused else "active"


class LeaseTable(Protocol):
    """Storage primitives for leases. Each call must be atomic on its own."""

    def try_acquire(self, lease: ClientIdLease, now: dt.datetime, take_over: bool = True) -> bool:
        """Store `lease` if its id is free, or (if `take_over`) its lease expired by `now`.

        Never replaces a live lease. `take_over=False` skips the expiry check, which costs a
        query on some servers, when the caller believes the id was simply free.
        """
        ...

    def expiry_by_id(self) -> dict[int, dt.datetime]:
        """Every stored id and when its lease expires (a hint for picking candidates)."""
        ...

    def extend(self, client_id: int, owner: LeaseOwner, heartbeat: dt.datetime, expires: dt.datetime) -> bool:
        """Move heartbeat/expiry forward if `owner` still holds the id."""
        ...

    def replace_owned(self, client_id: int, owner: LeaseOwner, lease: ClientIdLease) -> bool:
        """Overwrite the lease on `client_id` with `lease` if `owner` still holds it."""
        ...

    def delete(self, client_id: int, owner: LeaseOwner | None) -> bool:
        """Delete the id's lease; with an owner, only if that owner holds it."""
        ...

    def delete_all(self) -> int: ...

    def delete_expired(self, now: dt.datetime) -> int: ...

    def all_leases(self) -> list[ClientIdLease]:
        """Every stored lease, sorted by client id."""
        ...


class brokerClientIdData:  # noqa: N801 - pysystemtrade's public name
    """Allocate, renew and release broker client ids stored in a `LeaseTable`."""

    def __init__(
        self,
        lease_table: LeaseTable,
        idoffset: int = 0,
        lease_seconds: float = 60.0,
        refused_hold_seconds: float | None = None,
        process_name: str | None = None,
        log: logging.Logger | logging.LoggerAdapter | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be > 0")
        self.lease_table = lease_table
        self.idoffset = int(idoffset)
        self.lease_seconds = float(lease_seconds)
        # A refused id is held by a connection we cannot see; keep everyone off it for a while.
        self.refused_hold_seconds = float(refused_hold_seconds or 5 * lease_seconds)
        self.process_name = process_name or default_process_name()
        self.log = log or logging.getLogger(__name__)
        self.clock = clock
        self._refused_ids: set[int] = set()

    # --- pysystemtrade's interface ---------------------------------------------------------

    def return_valid_client_id(self, clientid_to_try: int | None = None) -> int:
        """Lock and return `clientid_to_try` if it is free, else the lowest free id >= idoffset."""
        if clientid_to_try is not None:
            _check_client_id(clientid_to_try)
            if self._try_lock(clientid_to_try):
                return clientid_to_try
            self.log.info("IB client ID %d is in use, allocating another", clientid_to_try)
        return self._lock_lowest_free(self.idoffset)

    def release_clientid(self, clientid: int) -> bool:
        """Free `clientid` if this process still holds it; returns whether it was freed."""
        released = self.lease_table.delete(int(clientid), current_owner())
        if released:
            self.log.debug("Released IB client ID %d", clientid)
        elif clientid in self._refused_ids:
            self.log.debug("IB client ID %d stays held back after the gateway refused it", clientid)
        else:
            self.log.warning("IB client ID %d was not held by this process; nothing released", clientid)
        return released

    def clear_all_clientids(self) -> int:
        """Delete every lease, whoever holds it. Running processes may then collide."""
        count = self.lease_table.delete_all()
        self.log.critical("Cleared all %d IB client IDs: any process still running may break", count)
        return count

    def get_list_of_clientids(self) -> list[int]:
        """Ids currently leased (not expired), sorted."""
        now = self.clock()
        return sorted(cid for cid, expires in self.lease_table.expiry_by_id().items() if expires > now)

    # --- leases ------------------------------------------------------------------------------

    def list_leases(self) -> list[ClientIdLease]:
        """All stored leases including expired ones, sorted by id."""
        return self.lease_table.all_leases()

    def heartbeat(self, clientid: int) -> bool:
        """Extend this process's lease on `clientid`; False if it has lost the id."""
        now = self.clock()
        expires = now + dt.timedelta(seconds=self.lease_seconds)
        return self.lease_table.extend(int(clientid), current_owner(), now, expires)

    def clear_clientid(self, clientid: int) -> bool:
        """Delete the lease on one id whoever holds it (operator action)."""
        return self.lease_table.delete(int(clientid), None)

    def clear_expired_clientids(self) -> int:
        """Delete expired leases (they would be taken over anyway; this tidies listings)."""
        return self.lease_table.delete_expired(self.clock())

    # --- the gateway refused an id (error 326) -----------------------------------------------

    def mark_refused(self, clientid: int) -> None:
        """Record that the gateway refused `clientid` (326: in use there although free here).

        The id is kept out of allocation for `refused_hold_seconds`, then becomes free again.
        Our own lease on it, if any, is converted; a live lease of another process is left alone.
        """
        now = self.clock()
        quarantine = ClientIdLease(
            client_id=int(clientid),
            pid=0,
            host="",
            process_name=f"refused by gateway (seen by {self.process_name})",
            acquired=now,
            heartbeat=now,
            expires=now + dt.timedelta(seconds=self.refused_hold_seconds),
            refused=True,
        )
        if not self.lease_table.replace_owned(int(clientid), current_owner(), quarantine):
            self.lease_table.try_acquire(quarantine, now)
        self._refused_ids.add(int(clientid))
        self.log.warning(
            "IB client ID %d refused by the gateway; held back for %.0f s", clientid, self.refused_hold_seconds
        )

    def next_after_refused(self, refused_clientid: int) -> int:
        """Mark `refused_clientid` refused and lock another id: the retry path after error 326."""
        self.mark_refused(refused_clientid)
        return self.return_valid_client_id()

    @contextmanager
    def leased_client_id(self, clientid_to_try: int | None = None) -> Iterator[int]:
        """`with data.leased_client_id() as client_id:` releases the id on exit."""
        clientid = self.return_valid_client_id(clientid_to_try)
        try:
            yield clientid
        finally:
            self.release_clientid(clientid)

    def start_heartbeat(
        self, clientid: int, interval_seconds: float, on_lost: Callable[[int], None] | None = None
    ) -> ClientIdHeartbeat:
        """Renew the lease on `clientid` every `interval_seconds` in a daemon thread."""
        keeper = ClientIdHeartbeat(self, int(clientid), interval_seconds, on_lost)
        keeper.start()
        return keeper

    # --- allocation ------------------------------------------------------------------------

    def _try_lock(self, clientid: int, take_over: bool = True) -> bool:
        now = self.clock()
        owner = current_owner()
        lease = ClientIdLease(
            client_id=clientid,
            pid=owner.pid,
            host=owner.host,
            process_name=self.process_name,
            acquired=now,
            heartbeat=now,
            expires=now + dt.timedelta(seconds=self.lease_seconds),
            token=owner.token,
        )
        locked = self.lease_table.try_acquire(lease, now, take_over)
        if locked:
            self.log.debug("Locked IB client ID %d", clientid)
        return locked

    def _lock_lowest_free(self, start: int) -> int:
        attempts = 0
        while attempts < _MAX_ATTEMPTS:
            now = self.clock()
            expiry = self.lease_table.expiry_by_id()
            busy = {cid for cid, expires in expiry.items() if expires > now}
            candidate = start
            for _ in range(_REFRESH_AFTER_FAILURES):
                while candidate in busy:
                    candidate += 1
                if candidate > MAX_CLIENT_ID:
                    raise ClientIdError(f"no free client id between {start} and {MAX_CLIENT_ID}")
                # Absent from the snapshot means free: if the insert fails, another process has
                # just taken it, so there is no expired lease to take over.
                if self._try_lock(candidate, take_over=candidate in expiry):
                    return candidate
                busy.add(candidate)  # another process won this one; the unique key said so
                attempts += 1
        raise ClientIdError(f"could not lock a client id after {attempts} attempts")


class ClientIdHeartbeat:
    """Daemon thread renewing one lease; calls `on_lost(client_id)` once if the lease is lost."""

    def __init__(
        self, data: brokerClientIdData, client_id: int, interval_seconds: float, on_lost: Callable[[int], None] | None
    ) -> None:
        self.data = data
        self.client_id = client_id
        self.interval_seconds = interval_seconds
        self.on_lost = on_lost
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"client-id-heartbeat-{client_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                alive = self.data.heartbeat(self.client_id)
            except Exception:  # a store hiccup must not kill the thread; the next beat retries
                record_lease_renewal(False)
                self.data.log.exception("Heartbeat for IB client ID %d failed", self.client_id)
                continue
            record_lease_renewal(alive)
            if not alive:
                self.lost = True
                self.data.log.error("Lost the lease on IB client ID %d", self.client_id)
                if self.on_lost is not None:
                    self.on_lost(self.client_id)
                return


def _check_client_id(value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_CLIENT_ID:
        raise ValueError(f"client id must be an integer between 0 and {MAX_CLIENT_ID}, got {value!r}")
