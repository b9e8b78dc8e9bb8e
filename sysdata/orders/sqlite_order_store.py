"""Orders in the embedded SQLite database: tables `broker_orders` (PRIMARY KEY order_reference)
and `broker_fills` (PRIMARY KEY exec_id).

Every write runs in one `BEGIN IMMEDIATE` transaction, so its checks and its insert or update
cannot interleave with another process's. Times are fixed-width UTC ISO text, which compares
and sorts in time order.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from sysdata.orders.order_store import (
    DuplicateOrderReference,
    FillNotFound,
    OrderNotFound,
    OrderStore,
)
from sysdata.sqlite.sqlite_connection import sqliteDb
from sysobjects.fills import Fill, check_commission, datetime_to_iso, listOfFills
from sysobjects.orders import ACTIVE_STATUS_VALUES, brokerOrder

__all__ = ["FILL_TABLE", "ORDER_TABLE", "SqliteOrderStore"]

ORDER_TABLE = "broker_orders"
FILL_TABLE = "broker_fills"
_FILL_COLUMNS = tuple(Fill.__dataclass_fields__)  # exec_id, time, quantity, price, order_ref, ...
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {ORDER_TABLE} (
    order_reference TEXT PRIMARY KEY,
    perm_id INTEGER,
    status TEXT NOT NULL,
    submit_datetime TEXT,      -- UTC ISO-8601, fixed width
    document TEXT NOT NULL     -- the rest of the order as JSON (brokerOrder.as_dict)
);
CREATE INDEX IF NOT EXISTS {ORDER_TABLE}_perm_id ON {ORDER_TABLE} (perm_id);
CREATE TABLE IF NOT EXISTS {FILL_TABLE} (
    exec_id TEXT PRIMARY KEY,
    time TEXT NOT NULL,        -- UTC ISO-8601, fixed width
    quantity INTEGER NOT NULL,
    price REAL NOT NULL,
    order_ref TEXT NOT NULL,
    perm_id INTEGER,
    account TEXT NOT NULL,
    con_id INTEGER,
    order_id INTEGER,
    client_id INTEGER,
    exchange TEXT NOT NULL,
    commission REAL,           -- NULL until the commission report arrives
    commission_currency TEXT
);
CREATE INDEX IF NOT EXISTS {FILL_TABLE}_order_ref ON {FILL_TABLE} (order_ref);
"""
_ACTIVE = f"({', '.join(repr(value) for value in ACTIVE_STATUS_VALUES)})"
_FILL_SELECT = f"SELECT {', '.join(_FILL_COLUMNS)} FROM {FILL_TABLE}"
_FILL_ORDER = "ORDER BY time, exec_id"
_FILL_INSERT = (
    f"INSERT OR IGNORE INTO {FILL_TABLE} ({', '.join(_FILL_COLUMNS)}) VALUES ({', '.join('?' * len(_FILL_COLUMNS))})"
)


class SqliteOrderStore(OrderStore):
    """`OrderStore` on two SQLite tables."""

    kind = "sqlite"

    def __init__(self, sqlite_db: sqliteDb) -> None:
        self.sqlite_db = sqlite_db
        with sqlite_db.write_transaction() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def add_order(self, order: brokerOrder) -> str:
        with self.sqlite_db.write_transaction() as conn:
            sql = f"INSERT OR IGNORE INTO {ORDER_TABLE} VALUES (?, ?, ?, ?, ?)"
            if conn.execute(sql, _order_row(order)).rowcount != 1:
                raise DuplicateOrderReference(order.order_reference)
            for fill in order.fills:
                _insert_fill(conn, self._fill_of(order.order_reference, fill))
        return order.order_reference

    def _update_order_record(self, order: brokerOrder) -> None:
        reference, perm_id, status, submitted, document = _order_row(order)
        # A done status stays done: an active status only replaces an active one.
        sql = f"""UPDATE {ORDER_TABLE} SET perm_id = ?, submit_datetime = ?, document = ?,
            status = CASE WHEN ? IN {_ACTIVE} AND status NOT IN {_ACTIVE} THEN status ELSE ? END
            WHERE order_reference = ?"""
        with self.sqlite_db.write_transaction() as conn:
            if conn.execute(sql, (perm_id, submitted, document, status, status, reference)).rowcount != 1:
                raise OrderNotFound(f"reference {reference!r}")

    def _get_order_record(self, order_reference: str | None, perm_id: int | None) -> brokerOrder:
        if order_reference is not None:
            where, value, what = "order_reference = ?", order_reference, f"reference {order_reference!r}"
        else:
            where, value, what = "perm_id = ?", perm_id, f"perm id {perm_id}"
        rows = self.sqlite_db.query(f"SELECT status, document FROM {ORDER_TABLE} WHERE {where} LIMIT 1", (value,))
        if not rows:
            raise OrderNotFound(what)
        return _order_from_row(rows[0])

    def _list_order_records(self, active_only: bool, since: dt.datetime | None) -> list[brokerOrder]:
        conditions, params = [], []
        if active_only:
            conditions.append(f"status IN {_ACTIVE}")
        if since is not None:
            conditions.append("submit_datetime >= ?")
            params.append(datetime_to_iso(since))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self.sqlite_db.query(f"SELECT status, document FROM {ORDER_TABLE}{where}", params)
        return [_order_from_row(row) for row in rows]

    def record_fill(self, order_reference: str, fill: Fill) -> bool:
        fill = self._fill_of(order_reference, fill)
        with self.sqlite_db.write_transaction() as conn:
            known = conn.execute(f"SELECT 1 FROM {ORDER_TABLE} WHERE order_reference = ?", (order_reference,))
            if known.fetchone() is None:
                raise OrderNotFound(f"reference {order_reference!r}")
            return _insert_fill(conn, fill)

    def record_commission(self, exec_id: str, commission: float, currency: str) -> bool:
        check_commission(commission, currency)
        with self.sqlite_db.write_transaction() as conn:
            return _set_commission(conn, exec_id, float(commission), currency)

    def _fills_for_order(self, order_reference: str) -> listOfFills:
        rows = self.sqlite_db.query(f"{_FILL_SELECT} WHERE order_ref = ? {_FILL_ORDER}", (order_reference,))
        return _fill_list(rows)

    def _fills_by_order(self, order_references: list[str]) -> dict[str, listOfFills]:
        by_order: dict[str, listOfFills] = {}
        if not order_references:
            return by_order
        # One JSON parameter instead of one "?" per order: no limit on the number of orders.
        sql = f"{_FILL_SELECT} WHERE order_ref IN (SELECT value FROM json_each(?)) {_FILL_ORDER}"
        for fill in _fill_list(self.sqlite_db.query(sql, (json.dumps(order_references),))):
            by_order.setdefault(fill.order_ref, listOfFills()).append(fill)
        return by_order

    def get_fill(self, exec_id: str) -> Fill:
        rows = self.sqlite_db.query(f"{_FILL_SELECT} WHERE exec_id = ?", (exec_id,))
        if not rows:
            raise FillNotFound(exec_id)
        return Fill.from_dict(dict(rows[0]))

    def fills_without_commission(self) -> listOfFills:
        return _fill_list(self.sqlite_db.query(f"{_FILL_SELECT} WHERE commission IS NULL {_FILL_ORDER}"))

    def delete_order(self, order_reference: str) -> bool:
        with self.sqlite_db.write_transaction() as conn:
            conn.execute(f"DELETE FROM {FILL_TABLE} WHERE order_ref = ?", (order_reference,))
            sql = f"DELETE FROM {ORDER_TABLE} WHERE order_reference = ?"
            return conn.execute(sql, (order_reference,)).rowcount == 1

    def __repr__(self) -> str:
        return f"SqliteOrderStore({self.sqlite_db!r})"


def _order_row(order: brokerOrder) -> tuple:
    document = order.as_dict(include_fills=False)
    return (
        order.order_reference,
        order.perm_id,
        document.pop("status"),  # the column is the one stored status
        document["submit_datetime"],
        json.dumps(document),
    )


def _order_from_row(row: sqlite3.Row) -> brokerOrder:
    return brokerOrder.from_dict({**json.loads(row["document"]), "status": row["status"]}, ())


def _insert_fill(conn: sqlite3.Connection, fill: Fill) -> bool:
    """Insert `fill` unless its exec id is stored; then only merge a known commission."""
    document = fill.as_dict()
    if conn.execute(_FILL_INSERT, [document[column] for column in _FILL_COLUMNS]).rowcount == 1:
        return True
    stored = conn.execute(f"SELECT order_ref FROM {FILL_TABLE} WHERE exec_id = ?", (fill.exec_id,)).fetchone()
    OrderStore._check_stored_owner(fill.exec_id, stored["order_ref"], fill.order_ref)
    if fill.commission_known:
        _set_commission(conn, fill.exec_id, fill.commission, fill.commission_currency)
    return False


def _set_commission(conn: sqlite3.Connection, exec_id: str, commission: float, currency: str) -> bool:
    sql = f"""UPDATE {FILL_TABLE} SET commission = ?, commission_currency = ?
        WHERE exec_id = ? AND (commission IS NOT ? OR commission_currency IS NOT ?)"""
    if conn.execute(sql, (commission, currency, exec_id, commission, currency)).rowcount == 1:
        return True
    if conn.execute(f"SELECT 1 FROM {FILL_TABLE} WHERE exec_id = ?", (exec_id,)).fetchone() is None:
        raise FillNotFound(exec_id)
    return False


def _fill_list(rows: list[sqlite3.Row]) -> listOfFills:
    return listOfFills(Fill.from_dict(dict(row)) for row in rows)
