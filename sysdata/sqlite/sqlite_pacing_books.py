"""Historical pacing books in the embedded SQLite database, shared by the processes of a machine.

    books = SqlitePacingBooks(sqliteDb("data/metadata.sqlite"), gateway="myhost:4001")
    pacer = HistoricalPacer(limits, clock=time.time, books=books)   # see sysbrokers/IB/pacing.py

Table `ib_pacing_bookings`, one row per historical request sent to a gateway login. Reading the
books, deciding and booking happen in one `BEGIN IMMEDIATE` transaction, so two processes never
both take the last free slot. Bookings of a process that died stay until they leave IB's windows,
which is exactly how long the gateway still counts them.
"""

from __future__ import annotations

from collections.abc import Hashable

from sysbrokers.IB.pacing import (
    Clock,
    PacingLimits,
    StoredBooking,
    booking_keys,
    longest_window,
    request_weight,
    wait_for,
)
from sysdata.sqlite.sqlite_connection import sqliteDb

TABLE = "ib_pacing_bookings"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway TEXT NOT NULL,
    request_key TEXT NOT NULL,
    contract_key TEXT NOT NULL,
    weight INTEGER NOT NULL,
    booked REAL NOT NULL          -- seconds since the epoch; moved to the answer's arrival
);
CREATE INDEX IF NOT EXISTS {TABLE}_by_gateway ON {TABLE} (gateway, booked);
"""


class SqlitePacingBooks:
    """`PacingBooks` for one gateway login in one SQLite table."""

    def __init__(self, sqlite_db: sqliteDb, gateway: str) -> None:
        self.sqlite_db = sqlite_db
        self.gateway = gateway
        sqlite_db.execute_script(_SCHEMA)

    def reserve(
        self, request_key: Hashable, contract_key: Hashable, what: str, limits: PacingLimits, clock: Clock
    ) -> tuple[float, int | None]:
        request, contract = booking_keys(request_key, contract_key, what)
        weight = request_weight(what)
        with self.sqlite_db.write_transaction() as conn:
            now = clock()  # the write lock is ours: no other process books before we do
            conn.execute(
                f"DELETE FROM {TABLE} WHERE gateway = ? AND booked < ?", (self.gateway, now - longest_window(limits))
            )
            rows = conn.execute(
                f"SELECT request_key, contract_key, weight, booked FROM {TABLE} WHERE gateway = ?", (self.gateway,)
            ).fetchall()
            wait = wait_for((StoredBooking(*row) for row in rows), request, contract, weight, limits, now)
            if wait > 0:
                return wait, None
            cursor = conn.execute(
                f"INSERT INTO {TABLE} (gateway, request_key, contract_key, weight, booked) VALUES (?,?,?,?,?)",
                (self.gateway, request, contract, weight, now),
            )
            return 0.0, cursor.lastrowid

    def confirm(self, booking: int, now: float) -> None:
        with self.sqlite_db.write_transaction() as conn:
            conn.execute(f"UPDATE {TABLE} SET booked = ? WHERE id = ? AND booked < ?", (now, booking, now))

    def bookings(self) -> list[StoredBooking]:
        """Every booking still kept for this gateway (for tests and `describe`)."""
        rows = self.sqlite_db.query(
            f"SELECT request_key, contract_key, weight, booked FROM {TABLE} WHERE gateway = ? ORDER BY booked",
            (self.gateway,),
        )
        return [StoredBooking(*row) for row in rows]
