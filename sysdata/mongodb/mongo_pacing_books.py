"""Historical pacing books in MongoDB, shared by every process on every machine using one gateway login.

    books = MongoPacingBooks(mongoDb(config=config), gateway="gw1.example:4001")
    pacer = HistoricalPacer(limits, clock=time.time, books=books)   # see sysbrokers/IB/pacing.py

Collection `IBPacingBookings`, one document per request, numbered per gateway with a unique
index on (gateway, seq). A process reads the books, decides, and inserts its booking with the
next number; if another process booked in between, the insert fails on the unique index and
the decision is made again with that booking in view. The unique index is the one atomic step
every MongoDB-wire server gives (see mongo_IB_client_id.py on FerretDB). Clocks of the machines
must agree (NTP) to well within IB's 2-second window.
"""

from __future__ import annotations

from collections.abc import Hashable

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from sysbrokers.IB.pacing import (
    Clock,
    PacingLimits,
    StoredBooking,
    booking_keys,
    longest_window,
    request_weight,
    wait_for,
)
from sysdata.mongodb.mongo_connection import mongoDb

PACING_COLLECTION = "IBPacingBookings"
_FIELDS = {"_id": 0, "seq": 1, "request_key": 1, "contract_key": 1, "weight": 1, "booked": 1}


class MongoPacingBooks:
    """`PacingBooks` for one gateway login in one MongoDB collection."""

    def __init__(self, mongo_db: mongoDb, gateway: str, collection_name: str = PACING_COLLECTION) -> None:
        self.gateway = gateway
        self._collection = mongo_db.collection(collection_name)
        self._collection.create_index([("gateway", ASCENDING), ("seq", ASCENDING)], unique=True)

    def reserve(
        self, request_key: Hashable, contract_key: Hashable, what: str, limits: PacingLimits, clock: Clock
    ) -> tuple[float, tuple[str, int] | None]:
        request, contract = booking_keys(request_key, contract_key, what)
        weight = request_weight(what)
        docs = list(self._collection.find({"gateway": self.gateway}, _FIELDS).sort("seq", DESCENDING))
        now = clock()
        last_seq = docs[0]["seq"] if docs else 0
        horizon = now - longest_window(limits)
        live = [_booking(doc) for doc in docs if doc["booked"] >= horizon]
        wait = wait_for(live, request, contract, weight, limits, now)
        if wait > 0:
            return wait, None
        document = {
            "gateway": self.gateway,
            "seq": last_seq + 1,
            "request_key": request,
            "contract_key": contract,
            "weight": weight,
            "booked": now,
        }
        try:
            self._collection.insert_one(document)
        except DuplicateKeyError:
            return 0.0, None  # another process booked first: decide again with its booking in view
        return 0.0, (last_seq + 1, horizon)

    def confirm(self, booking: tuple[int, float], now: float) -> None:
        seq, horizon = booking
        self._collection.update_one(
            {"gateway": self.gateway, "seq": seq, "booked": {"$lt": now}}, {"$set": {"booked": now}}
        )
        # Forget what no rule looks at any more (after the request, off its path); the booking
        # just confirmed keeps the numbering going.
        self._collection.delete_many({"gateway": self.gateway, "booked": {"$lt": horizon}, "seq": {"$lt": seq}})

    def bookings(self) -> list[StoredBooking]:
        docs = self._collection.find({"gateway": self.gateway}, _FIELDS).sort("booked", ASCENDING)
        return [_booking(doc) for doc in docs]


def _booking(doc: dict) -> StoredBooking:
    return StoredBooking(doc["request_key"], doc["contract_key"], int(doc["weight"]), float(doc["booked"]))
