"""Market-data lines of a gateway login in the embedded SQLite database (see
sysbrokers/IB/market_data_lines.py).

    books = SqliteLineBooks(sqliteDb("data/metadata.sqlite"), gateway="myhost:4001")

Table `ib_market_data_lines`, PRIMARY KEY (gateway, slot): taking a slot happens inside
`BEGIN IMMEDIATE`, after dropping the slots whose leases expired.
"""

from __future__ import annotations

from sysbrokers.IB.market_data_lines import LineHolder
from sysdata.sqlite.sqlite_connection import sqliteDb

TABLE = "ib_market_data_lines"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    gateway TEXT NOT NULL,
    slot INTEGER NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    token TEXT NOT NULL,
    what TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (gateway, slot)
);
"""
_HOLDER = "host = ? AND pid = ? AND token = ?"


class SqliteLineBooks:
    def __init__(self, sqlite_db: sqliteDb, gateway: str) -> None:
        self.sqlite_db = sqlite_db
        self.gateway = gateway
        sqlite_db.execute_script(_SCHEMA)

    def take(self, budget: int, holder: LineHolder, what: str, expires: float, now: float) -> int | None:
        with self.sqlite_db.write_transaction() as conn:
            conn.execute(f"DELETE FROM {TABLE} WHERE gateway = ? AND expires < ?", (self.gateway, now))
            used = {row[0] for row in conn.execute(f"SELECT slot FROM {TABLE} WHERE gateway = ?", (self.gateway,))}
            free = next((slot for slot in range(budget) if slot not in used), None)
            if free is None:
                return None
            conn.execute(
                f"INSERT INTO {TABLE} (gateway, slot, host, pid, token, what, expires) VALUES (?,?,?,?,?,?,?)",
                (self.gateway, free, holder.host, holder.pid, holder.token, what, expires),
            )
            return free

    def renew(self, holder: LineHolder, expires: float) -> int:
        with self.sqlite_db.write_transaction() as conn:
            sql = f"UPDATE {TABLE} SET expires = ? WHERE gateway = ? AND {_HOLDER}"
            return conn.execute(sql, (expires, self.gateway, holder.host, holder.pid, holder.token)).rowcount

    def give_back(self, holder: LineHolder, slot: int) -> None:
        with self.sqlite_db.write_transaction() as conn:
            sql = f"DELETE FROM {TABLE} WHERE gateway = ? AND slot = ? AND {_HOLDER}"
            conn.execute(sql, (self.gateway, slot, holder.host, holder.pid, holder.token))

    def holders(self, now: float) -> dict[LineHolder, int]:
        rows = self.sqlite_db.query(
            f"SELECT host, pid, token, COUNT(*) FROM {TABLE} WHERE gateway = ? AND expires >= ? "
            "GROUP BY host, pid, token",
            (self.gateway, now),
        )
        return {LineHolder(row[0], row[1], row[2]): row[3] for row in rows}
