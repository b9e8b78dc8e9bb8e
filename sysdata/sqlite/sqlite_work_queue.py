"""Work queues in the embedded SQLite database (see sysdata/production/work_queue.py).

    queue = SqliteWorkQueue(sqliteDb("data/metadata.sqlite"), "seed:2025-03-04:9f2c")

Table `work_items`, one row per item; claims happen inside `BEGIN IMMEDIATE`, so two processes
never hold the same item.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sysdata.production.work_queue import Claim
from sysdata.sqlite.sqlite_connection import sqliteDb

TABLE = "work_items"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    queue TEXT NOT NULL,
    item TEXT NOT NULL,
    seq INTEGER NOT NULL,            -- order of adding
    attempt INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT '',
    expires REAL NOT NULL DEFAULT 0, -- seconds since the epoch
    done INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (queue, item)
);
"""


class SqliteWorkQueue:
    def __init__(self, sqlite_db: sqliteDb, name: str) -> None:
        self.sqlite_db = sqlite_db
        self.name = name
        sqlite_db.execute_script(_SCHEMA)

    def add(self, items: list[str]) -> int:
        with self.sqlite_db.write_transaction() as conn:
            first = conn.execute(f"SELECT COALESCE(MAX(seq), 0) FROM {TABLE} WHERE queue = ?", (self.name,)).fetchone()
            rows = [(self.name, item, first[0] + i + 1) for i, item in enumerate(items)]
            before = conn.total_changes
            conn.executemany(f"INSERT OR IGNORE INTO {TABLE} (queue, item, seq) VALUES (?, ?, ?)", rows)
            return conn.total_changes - before

    def claim(self, owner: str, lease_seconds: float, now: float | None = None) -> Claim | None:
        with self.sqlite_db.write_transaction() as conn:
            now = time.time() if now is None else now
            row = conn.execute(
                f"SELECT item, attempt FROM {TABLE} WHERE queue = ? AND done = 0 AND (attempt = 0 OR expires < ?) "
                "ORDER BY seq LIMIT 1",
                (self.name, now),
            ).fetchone()
            if row is None:
                return None
            claim = Claim(row[0], row[1] + 1, owner)
            conn.execute(
                f"UPDATE {TABLE} SET attempt = ?, owner = ?, expires = ? WHERE queue = ? AND item = ?",
                (claim.attempt, owner, now + lease_seconds, self.name, claim.item),
            )
            return claim

    def renew(self, claim: Claim, lease_seconds: float, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        with self.sqlite_db.write_transaction() as conn:
            cursor = conn.execute(
                f"UPDATE {TABLE} SET expires = ? WHERE queue = ? AND item = ? AND attempt = ? AND done = 0",
                (now + lease_seconds, self.name, claim.item, claim.attempt),
            )
            return cursor.rowcount == 1

    def done(self, claim: Claim, result: dict[str, Any]) -> bool:
        with self.sqlite_db.write_transaction() as conn:
            cursor = conn.execute(
                f"UPDATE {TABLE} SET done = 1, result = ? WHERE queue = ? AND item = ? AND attempt = ? AND done = 0",
                (json.dumps(result, sort_keys=True), self.name, claim.item, claim.attempt),
            )
            return cursor.rowcount == 1

    def counts(self) -> dict[str, int]:
        rows = self.sqlite_db.query(
            f"SELECT SUM(done = 0 AND attempt = 0), SUM(done = 0 AND attempt > 0), SUM(done) FROM {TABLE} "
            "WHERE queue = ?",
            (self.name,),
        )
        pending, leased, done = (int(value or 0) for value in rows[0])
        return {"pending": pending, "leased": leased, "done": done}

    def results(self) -> dict[str, dict[str, Any]]:
        rows = self.sqlite_db.query(
            f"SELECT item, result FROM {TABLE} WHERE queue = ? AND done = 1 ORDER BY seq", (self.name,)
        )
        return {row[0]: json.loads(row[1]) for row in rows}
