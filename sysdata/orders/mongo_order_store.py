"""Orders in MongoDB: collections `broker_orders` (unique `order_reference`) and `broker_fills`
(unique `exec_id`).

Uniqueness comes only from unique indexes and plain inserts, never from findAndModify, which
FerretDB 1.24 runs as a read then a write. Times are stored as fixed-width UTC ISO text rather
than BSON dates, which keep only milliseconds; the text compares and sorts in time order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from sysdata.mongodb.mongo_connection import mongoConnection, mongoDb
from sysdata.orders.order_store import (
    DuplicateOrderReference,
    FillNotFound,
    OrderNotFound,
    OrderStore,
)
from sysobjects.fills import Fill, check_commission, datetime_to_iso, listOfFills
from sysobjects.orders import ACTIVE_STATUS_VALUES, brokerOrder

__all__ = ["FILL_COLLECTION", "ORDER_COLLECTION", "MongoOrderStore"]

ORDER_COLLECTION = "broker_orders"
FILL_COLLECTION = "broker_fills"
_NO_ID = {"_id": 0}
_FILL_ORDER = [("time", ASCENDING), ("exec_id", ASCENDING)]


class MongoOrderStore(OrderStore):
    """`OrderStore` on two MongoDB collections."""

    kind = "mongo"

    def __init__(self, mongo_db: mongoDb) -> None:
        self.mongo_db = mongo_db
        self._orders = mongoConnection(ORDER_COLLECTION, mongo_db)
        self._fills = mongoConnection(FILL_COLLECTION, mongo_db)
        self._orders.create_unique_index("order_reference")
        self._orders.collection.create_index([("perm_id", ASCENDING)])
        self._fills.create_unique_index("exec_id")
        self._fills.collection.create_index([("order_ref", ASCENDING)])

    @property
    def orders(self):
        return self._orders.collection

    @property
    def fills(self):
        return self._fills.collection

    def add_order(self, order: brokerOrder) -> str:
        try:
            self.orders.insert_one(order.as_dict(include_fills=False))
        except DuplicateKeyError:
            raise DuplicateOrderReference(order.order_reference) from None
        for fill in order.fills:
            self.record_fill(order.order_reference, fill)
        return order.order_reference

    def _update_order_record(self, order: brokerOrder) -> None:
        document = order.as_dict(include_fills=False)
        key = {"order_reference": document.pop("order_reference")}
        if order.status.is_active:
            # Only an order that is still active may take an active status.
            still_active = {**key, "status": {"$in": list(ACTIVE_STATUS_VALUES)}}
            if self.orders.update_one(still_active, {"$set": document}).matched_count == 1:
                return
            del document["status"]
        if self.orders.update_one(key, {"$set": document}).matched_count == 0:
            raise OrderNotFound(f"reference {order.order_reference!r}")

    def _get_order_record(self, order_reference: str | None, perm_id: int | None) -> brokerOrder:
        if order_reference is not None:
            query, what = {"order_reference": order_reference}, f"reference {order_reference!r}"
        else:
            query, what = {"perm_id": perm_id}, f"perm id {perm_id}"
        document = self.orders.find_one(query, _NO_ID)
        if document is None:
            raise OrderNotFound(what)
        return brokerOrder.from_dict(document, ())

    def _list_order_records(self, active_only: bool, since: dt.datetime | None) -> list[brokerOrder]:
        query: dict[str, Any] = {}
        if active_only:
            query["status"] = {"$in": list(ACTIVE_STATUS_VALUES)}
        if since is not None:
            query["submit_datetime"] = {"$gte": datetime_to_iso(since)}
        return [brokerOrder.from_dict(document, ()) for document in self.orders.find(query, _NO_ID)]

    def record_fill(self, order_reference: str, fill: Fill) -> bool:
        fill = self._fill_of(order_reference, fill)
        if self.orders.count_documents({"order_reference": order_reference}, limit=1) == 0:
            raise OrderNotFound(f"reference {order_reference!r}")
        try:
            self.fills.insert_one(fill.as_dict())
            return True
        except DuplicateKeyError:
            stored = self.get_fill(fill.exec_id)  # recorded before: it must belong to this order
        self._check_stored_owner(fill.exec_id, stored.order_ref, order_reference)
        if fill.commission_known:
            self.record_commission(fill.exec_id, fill.commission, fill.commission_currency)
        return False

    def record_commission(self, exec_id: str, commission: float, currency: str) -> bool:
        check_commission(commission, currency)
        commission = float(commission)
        different = {
            "exec_id": exec_id,
            "$or": [{"commission": {"$ne": commission}}, {"commission_currency": {"$ne": currency}}],
        }
        update = {"$set": {"commission": commission, "commission_currency": currency}}
        if self.fills.update_one(different, update).matched_count == 1:
            return True
        if self.fills.count_documents({"exec_id": exec_id}, limit=1) == 0:
            raise FillNotFound(exec_id)
        return False

    def _fills_for_order(self, order_reference: str) -> listOfFills:
        return _fill_list(self.fills.find({"order_ref": order_reference}, _NO_ID).sort(_FILL_ORDER))

    def _fills_by_order(self, order_references: list[str]) -> dict[str, listOfFills]:
        by_order: dict[str, listOfFills] = {}
        if not order_references:
            return by_order
        cursor = self.fills.find({"order_ref": {"$in": order_references}}, _NO_ID).sort(_FILL_ORDER)
        for fill in _fill_list(cursor):
            by_order.setdefault(fill.order_ref, listOfFills()).append(fill)
        return by_order

    def get_fill(self, exec_id: str) -> Fill:
        document = self.fills.find_one({"exec_id": exec_id}, _NO_ID)
        if document is None:
            raise FillNotFound(exec_id)
        return Fill.from_dict(document)

    def fills_without_commission(self) -> listOfFills:
        return _fill_list(self.fills.find({"commission": None}, _NO_ID).sort(_FILL_ORDER))

    def delete_order(self, order_reference: str) -> bool:
        self.fills.delete_many({"order_ref": order_reference})
        return self.orders.delete_one({"order_reference": order_reference}).deleted_count == 1

    def __repr__(self) -> str:
        return f"MongoOrderStore({self.mongo_db!r})"


def _fill_list(documents) -> listOfFills:
    return listOfFills(Fill.from_dict(document) for document in documents)
