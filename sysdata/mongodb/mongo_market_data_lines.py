"""Market-data lines of a gateway login in MongoDB, shared across machines (see
sysbrokers/IB/market_data_lines.py).

    books = MongoLineBooks(mongoDb(config=config), gateway="gw1.example:4001")

Collection `IBMarketDataLines`, one document per line in use, unique on (gateway, slot): of two
processes taking the same free slot only one insert succeeds (the one atomic step every
MongoDB-wire server gives); the other tries the next free slot.
"""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from sysbrokers.IB.market_data_lines import LineHolder
from sysdata.mongodb.mongo_connection import mongoDb

LINES_COLLECTION = "IBMarketDataLines"


class MongoLineBooks:
    def __init__(self, mongo_db: mongoDb, gateway: str, collection_name: str = LINES_COLLECTION) -> None:
        self.gateway = gateway
        self._collection = mongo_db.collection(collection_name)
        self._collection.create_index([("gateway", ASCENDING), ("slot", ASCENDING)], unique=True)

    def take(self, budget: int, holder: LineHolder, what: str, expires: float, now: float) -> int | None:
        self._collection.delete_many({"gateway": self.gateway, "expires": {"$lt": now}})
        used = {doc["slot"] for doc in self._collection.find({"gateway": self.gateway}, {"slot": 1})}
        for slot in (s for s in range(budget) if s not in used):
            document = {"gateway": self.gateway, "slot": slot, **_holder(holder), "what": what, "expires": expires}
            try:
                self._collection.insert_one(document)
            except DuplicateKeyError:
                continue  # taken a moment ago by another process
            return slot
        return None

    def renew(self, holder: LineHolder, expires: float) -> int:
        result = self._collection.update_many(
            {"gateway": self.gateway, **_holder(holder)}, {"$set": {"expires": expires}}
        )
        return result.matched_count

    def give_back(self, holder: LineHolder, slot: int) -> None:
        self._collection.delete_one({"gateway": self.gateway, "slot": slot, **_holder(holder)})

    def holders(self, now: float) -> dict[LineHolder, int]:
        counts: dict[LineHolder, int] = {}
        for doc in self._collection.find({"gateway": self.gateway, "expires": {"$gte": now}}):
            holder = LineHolder(doc["host"], int(doc["pid"]), doc["token"])
            counts[holder] = counts.get(holder, 0) + 1
        return counts


def _holder(holder: LineHolder) -> dict:
    return {"host": holder.host, "pid": holder.pid, "token": holder.token}
