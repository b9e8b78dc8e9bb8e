"""IB client ids in the embedded SQLite database: table `ib_client_ids`, PRIMARY KEY on the id."""

from __future__ import annotations

import datetime as dt
import logging

from sysbrokers.IB.client.ib_client_id import ibBrokerClientIdData
from sysdata.config.configdata import Config
from sysdata.production.broker_client_id import (
    UTC,
    ClientIdLease,
    Clock,
    LeaseOwner,
    utc_now,
)
from sysdata.sqlite.sqlite_connection import sqliteDb

TABLE = "ib_client_ids"
_COLUMNS = "client_id, pid, host, process_name, token, acquired, heartbeat, expires, refused"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    client_id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    process_name TEXT NOT NULL,
    token TEXT NOT NULL,
    acquired REAL NOT NULL,   -- seconds since the epoch, UTC
    heartbeat REAL NOT NULL,
    expires REAL NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0
);
"""
_OWNED = "client_id = ? AND pid = ? AND host = ? AND token = ?"


class SqliteLeaseTable:
    """`LeaseTable` on one SQLite table."""

    def __init__(self, sqlite_db: sqliteDb) -> None:
        self.sqlite_db = sqlite_db
        with sqlite_db.write_transaction() as conn:
            conn.execute(_SCHEMA)

    def try_acquire(self, lease: ClientIdLease, now: dt.datetime, take_over: bool = True) -> bool:
        with self.sqlite_db.write_transaction() as conn:
            if take_over:  # inside the same write transaction as the insert, so atomic with it
                conn.execute(f"DELETE FROM {TABLE} WHERE client_id = ? AND expires <= ?", (lease.client_id, _ts(now)))
            cursor = conn.execute(f"INSERT OR IGNORE INTO {TABLE} ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", _row(lease))
            return cursor.rowcount == 1

    def expiry_by_id(self) -> dict[int, dt.datetime]:
        rows = self.sqlite_db.query(f"SELECT client_id, expires FROM {TABLE}")
        return {row[0]: dt.datetime.fromtimestamp(row[1], UTC) for row in rows}

    def extend(self, client_id: int, owner: LeaseOwner, heartbeat: dt.datetime, expires: dt.datetime) -> bool:
        with self.sqlite_db.write_transaction() as conn:
            sql = f"UPDATE {TABLE} SET heartbeat = ?, expires = ? WHERE {_OWNED}"
            return conn.execute(sql, (_ts(heartbeat), _ts(expires), *_owner_key(client_id, owner))).rowcount == 1

    def replace_owned(self, client_id: int, owner: LeaseOwner, lease: ClientIdLease) -> bool:
        with self.sqlite_db.write_transaction() as conn:
            if conn.execute(f"DELETE FROM {TABLE} WHERE {_OWNED}", _owner_key(client_id, owner)).rowcount != 1:
                return False
            conn.execute(f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", _row(lease))
            return True

    def delete(self, client_id: int, owner: LeaseOwner | None) -> bool:
        with self.sqlite_db.write_transaction() as conn:
            if owner is None:
                return conn.execute(f"DELETE FROM {TABLE} WHERE client_id = ?", (client_id,)).rowcount == 1
            return conn.execute(f"DELETE FROM {TABLE} WHERE {_OWNED}", _owner_key(client_id, owner)).rowcount == 1

    def delete_all(self) -> int:
        with self.sqlite_db.write_transaction() as conn:
            return conn.execute(f"DELETE FROM {TABLE}").rowcount

    def delete_expired(self, now: dt.datetime) -> int:
        with self.sqlite_db.write_transaction() as conn:
            return conn.execute(f"DELETE FROM {TABLE} WHERE expires <= ?", (_ts(now),)).rowcount

    def all_leases(self) -> list[ClientIdLease]:
        rows = self.sqlite_db.query(f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY client_id")
        return [_from_row(row) for row in rows]


class sqliteIbBrokerClientIdData(ibBrokerClientIdData):  # noqa: N801 - named like the Mongo class
    """IB client ids tracked in the embedded SQLite database."""

    def __init__(
        self,
        sqlite_db: sqliteDb | None = None,
        idoffset: int | None = None,
        log: logging.Logger | logging.LoggerAdapter | None = None,
        lease_seconds: float | None = None,
        config: Config | None = None,
        refused_hold_seconds: float | None = None,
        process_name: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.sqlite_db = sqlite_db or sqliteDb(config=config)
        super().__init__(
            SqliteLeaseTable(self.sqlite_db),
            idoffset=idoffset,
            lease_seconds=lease_seconds,
            config=config,
            refused_hold_seconds=refused_hold_seconds,
            process_name=process_name,
            log=log,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"sqliteIbBrokerClientIdData({self.sqlite_db!r}, idoffset={self.idoffset})"


def _ts(moment: dt.datetime) -> float:
    return moment.timestamp()


def _owner_key(client_id: int, owner: LeaseOwner) -> tuple[int, int, str, str]:
    return (client_id, owner.pid, owner.host, owner.token)


def _row(lease: ClientIdLease) -> tuple:
    return (
        lease.client_id,
        lease.pid,
        lease.host,
        lease.process_name,
        lease.token,
        _ts(lease.acquired),
        _ts(lease.heartbeat),
        _ts(lease.expires),
        int(lease.refused),
    )


def _from_row(row) -> ClientIdLease:
    def when(seconds: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(seconds, UTC)

    return ClientIdLease(
        client_id=row["client_id"],
        pid=row["pid"],
        host=row["host"],
        process_name=row["process_name"],
        acquired=when(row["acquired"]),
        heartbeat=when(row["heartbeat"]),
        expires=when(row["expires"]),
        token=row["token"],
        refused=bool(row["refused"]),
    )
