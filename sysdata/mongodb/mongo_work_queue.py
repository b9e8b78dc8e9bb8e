"""Work queues in MongoDB, shared by the processes of several machines (see
sysdata/production/work_queue.py).

    queue = MongoWorkQueue(mongoDb(config=config), "seed:2025-03-04:9f2c")

Collection `WorkItems` holds one document per item; collection `WorkClaims` one per claim, with a
unique index on (queue, item, attempt). A worker claims attempt k+1 of an item by inserting that
claim: of two workers racing for the same item only one insert succeeds, on every MongoDB-wire
server (FerretDB's find-and-modify is not atomic; see mongo_IB_client_id.py). The item document
is then updated by the only holder of the new attempt.
"""

from __future__ import annotations

import time
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from sysdata.mongodb.mongo_connection import mongoDb
from sysdata.production.work_queue import Claim

ITEMS = "WorkItems"
CLAIMS = "WorkClaims"


class MongoWorkQueue:
    def __init__(self, mongo_db: mongoDb, name: str) -> None:
        self.name = name
        self._items = mongo_db.collection(ITEMS)
        self._claims = mongo_db.collection(CLAIMS)
        self._items.create_index([("queue", ASCENDING), ("item", ASCENDING)], unique=True)
        self._claims.create_index([("queue", ASCENDING), ("item", ASCENDING), ("attempt", ASCENDING)], unique=True)

    def add(self, items: list[str]) -> int:
        last = self._items.find_one({"queue": self.name}, sort=[("seq", -1)])
        seq = last["seq"] if last else 0
        added = 0
        for item in items:
            seq += 1
            document = {"queue": self.name, "item": item, "seq": seq, "attempt": 0, "owner": "", "expires": 0.0}
            try:
                self._items.insert_one({**document, "done": False})
                added += 1
            except DuplicateKeyError:
                continue
        return added

    def claim(self, owner: str, lease_seconds: float, now: float | None = None) -> Claim | None:
        while True:
            now = time.time() if now is None else now
            query = {
                "queue": self.name,
                "done": False,
                "$or": [{"attempt": 0}, {"expires": {"$lt": now}}],
            }
            candidates = list(self._items.find(query, {"item": 1, "attempt": 1}).sort("seq", ASCENDING).limit(8))
            if not candidates:
                return None
            for doc in candidates:
                claim = Claim(doc["item"], int(doc["attempt"]) + 1, owner)
                try:
                    self._claims.insert_one({"queue": self.name, "item": claim.item, "attempt": claim.attempt})
                except DuplicateKeyError:
                    continue  # another worker took this attempt
                self._items.update_one(
                    {"queue": self.name, "item": claim.item, "attempt": claim.attempt - 1},
                    {"$set": {"attempt": claim.attempt, "owner": owner, "expires": now + lease_seconds}},
                )
                return claim
            now = None  # all taken meanwhile: look again

    def renew(self, claim: Claim, lease_seconds: float, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        result = self._items.update_one(
            {"queue": self.name, "item": claim.item, "attempt": claim.attempt, "done": False},
            {"$set": {"expires": now + lease_seconds}},
        )
        return result.matched_count == 1

    def done(self, claim: Claim, result: dict[str, Any]) -> bool:
        update = self._items.update_one(
            {"queue": self.name, "item": claim.item, "attempt": claim.attempt, "done": False},
            {"$set": {"done": True, "result": result}},
        )
        return update.matched_count == 1

    def counts(self) -> dict[str, int]:
        docs = list(self._items.find({"queue": self.name}, {"attempt": 1, "done": 1}))
        done = sum(1 for d in docs if d["done"])
        pending = sum(1 for d in docs if not d["done"] and d["attempt"] == 0)
        return {"pending": pending, "leased": len(docs) - done - pending, "done": done}

    def results(self) -> dict[str, dict[str, Any]]:
        docs = self._items.find({"queue": self.name, "done": True}).sort("seq", ASCENDING)
        return {d["item"]: d["result"] for d in docs}
