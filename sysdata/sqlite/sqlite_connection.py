"""The embedded metadata database: one SQLite file in WAL mode, safe across processes.

Writers use `BEGIN IMMEDIATE`, which takes the database's write lock before reading, so a
read-check-write inside one transaction cannot interleave with another process's; the busy
timeout makes the others wait for the lock instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sysdata.config.configdata import Config, get_production_config

DEFAULT_BUSY_TIMEOUT_SECONDS = 30.0


class sqliteDb:  # noqa: N801 - named like pysystemtrade's mongoDb
    """One SQLite database file, created on demand. One connection per process, shared by threads."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        busy_timeout_seconds: float = DEFAULT_BUSY_TIMEOUT_SECONDS,
        config: Config | None = None,
    ) -> None:
        if path is None:
            path = (config or get_production_config()).sqlite_path
        self.path = Path(path).expanduser()
        self.busy_timeout_seconds = busy_timeout_seconds
        self._connection: sqlite3.Connection | None = None
        self._connection_pid = 0
        self._lock = threading.RLock()

    @property
    def connection(self) -> sqlite3.Connection:
        # A connection must not cross a fork; a child opens its own.
        if self._connection is None or self._connection_pid != os.getpid():
            self._connection = self._open()
            self._connection_pid = os.getpid()
        return self._connection

    @contextmanager
    def write_transaction(self) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` ... `COMMIT`, rolled back on error."""
        with self._lock:
            conn = self.connection
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.connection.execute(sql, params).fetchall()

    def execute_script(self, sql: str) -> None:
        with self._lock:
            self.connection.executescript(sql)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._connection_pid == os.getpid():
                self._connection.close()
            self._connection = None

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout_seconds,
            isolation_level=None,  # autocommit; transactions are explicit
            check_same_thread=False,  # guarded by self._lock (heartbeat threads)
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_seconds * 1000)}")
        self._use_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")  # durable enough with WAL, much faster
        return conn

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """Switch a new database file to WAL mode (a setting stored in the file, made once).

        Switching needs the file to itself, and SQLite answers "database is locked" at once,
        without waiting out the busy timeout, when another process is opening the same new file
        at that moment (several processes started together on a fresh machine). So wait and
        retry here, within the busy timeout.
        """
        deadline = time.monotonic() + self.busy_timeout_seconds
        delay = 0.005
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                    return
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower()
                if mode == "wal":
                    return
                problem = f"SQLite kept journal mode {mode!r} instead of WAL for {self.path}"
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                problem = f"{exc} (switching {self.path} to WAL)"
            if time.monotonic() + delay > deadline:
                raise sqlite3.OperationalError(problem)
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def __repr__(self) -> str:
        return f"sqliteDb({str(self.path)!r})"
