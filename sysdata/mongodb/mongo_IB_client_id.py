"""IB client ids in MongoDB: collection `IBClientTracker`, one document per id, unique `client_id`.

Taking over an expired lease deletes that expired document and then races on the unique insert,
rather than updating it in place: the unique index is the only guarantee every MongoDB-wire
server gives (FerretDB's findAndModify reads, then writes by `_id`, so two processes could both
"win" an in-place update). On MongoDB itself both ways are atomic.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from pymongo.errors import DuplicateKeyError

from sysbrokers.IB.client.ib_client_id import ibBrokerClientIdData
from sysdata.config.configdata import Config
from sysdata.mongodb.mongo_connection import mongoConnection, mongoDb
from sysdata.production.broker_client_id import (
    FAR_FUTURE,
    UTC,
    ClientIdLease,
    Clock,
    LeaseOwner,
    utc_now,
)

CLIENT_ID_COLLECTION = "IBClientTracker"
KEY = "client_id"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


class MongoLeaseTable:
    """`LeaseTable` on one MongoDB collection."""

    def __init__(self, mongo_db: mongoDb, collection_name: str = CLIENT_ID_COLLECTION) -> None:
        self.connection = mongoConnection(collection_name, mongo_db)
        self.connection.create_unique_index(KEY)

    @property
    def _collection(self):
        return self.connection.collection

    def try_acquire(self, lease: ClientIdLease, now: dt.datetime, take_over: bool = True) -> bool:
        if self._insert(lease):
            return True
        if not take_over:
            return False
        expired = {KEY: lease.client_id, "expires": {"$lte": now}}
        if self._collection.delete_one(expired).deleted_count == 0:
            return False
        return self._insert(lease)  # several processes may get here; the unique key picks one

    def expiry_by_id(self) -> dict[int, dt.datetime]:
        docs = self._collection.find({}, {"_id": 0, KEY: 1, "expires": 1})
        return {int(doc[KEY]): _aware(doc.get("expires"), FAR_FUTURE) for doc in docs}

    def extend(self, client_id: int, owner: LeaseOwner, heartbeat: dt.datetime, expires: dt.datetime) -> bool:
        update = {"$set": {"heartbeat": heartbeat, "expires": expires}}
        return self._collection.update_one(_owned(client_id, owner), update).matched_count == 1

    def replace_owned(self, client_id: int, owner: LeaseOwner, lease: ClientIdLease) -> bool:
        update = {"$set": _to_document(lease)}
        return self._collection.update_one(_owned(client_id, owner), update).matched_count == 1

    def delete(self, client_id: int, owner: LeaseOwner | None) -> bool:
        query = {KEY: client_id} if owner is None else _owned(client_id, owner)
        return self._collection.delete_one(query).deleted_count == 1

    def delete_all(self) -> int:
        return self._collection.delete_many({}).deleted_count

    def delete_expired(self, now: dt.datetime) -> int:
        return self._collection.delete_many({"expires": {"$lte": now}}).deleted_count

    def all_leases(self) -> list[ClientIdLease]:
        docs = self._collection.find({}, {"_id": 0}).sort(KEY, 1)
        return [_from_document(doc) for doc in docs]

    def _insert(self, lease: ClientIdLease) -> bool:
        try:
            self._collection.insert_one(_to_document(lease))
        except DuplicateKeyError:
            return False
        return True


class mongoIbBrokerClientIdData(ibBrokerClientIdData):  # noqa: N801 - pysystemtrade's public name
    """IB client ids tracked in MongoDB (pysystemtrade's class, now lease based)."""

    def __init__(
        self,
        mongo_db: mongoDb | None = None,
        idoffset: int | None = None,
        log: logging.Logger | logging.LoggerAdapter | None = None,
        lease_seconds: float | None = None,
        config: Config | None = None,
        refused_hold_seconds: float | None = None,
        process_name: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.mongo_db = mongo_db or mongoDb(config=config)
        super().__init__(
            MongoLeaseTable(self.mongo_db),
            idoffset=idoffset,
            lease_seconds=lease_seconds,
            config=config,
            refused_hold_seconds=refused_hold_seconds,
            process_name=process_name,
            log=log,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"mongoIbBrokerClientIdData({self.mongo_db!r}, idoffset={self.idoffset})"


def _owned(client_id: int, owner: LeaseOwner) -> dict[str, Any]:
    return {KEY: client_id, "pid": owner.pid, "host": owner.host, "token": owner.token}


def _to_document(lease: ClientIdLease) -> dict[str, Any]:
    return {
        KEY: lease.client_id,
        "pid": lease.pid,
        "host": lease.host,
        "process_name": lease.process_name,
        "token": lease.token,
        "acquired": lease.acquired,
        "heartbeat": lease.heartbeat,
        "expires": lease.expires,
        "refused": lease.refused,
    }


def _aware(value: Any, default: dt.datetime) -> dt.datetime:
    """BSON dates are UTC; a client opened without tz_aware returns them naive."""
    if not isinstance(value, dt.datetime):
        return default
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _from_document(doc: dict[str, Any]) -> ClientIdLease:
    # Documents written by pysystemtrade hold only {client_id: n}: show them as locks that never expire.
    return ClientIdLease(
        client_id=int(doc[KEY]),
        pid=int(doc.get("pid", 0)),
        host=str(doc.get("host", "")),
        process_name=str(doc.get("process_name", "(pysystemtrade lock)")),
        acquired=_aware(doc.get("acquired"), _EPOCH),
        heartbeat=_aware(doc.get("heartbeat"), _EPOCH),
        expires=_aware(doc.get("expires"), FAR_FUTURE),
        token=str(doc.get("token", "")),
        refused=bool(doc.get("refused", False)),
    )
