"""The metadata store (client ids, orders, pacing books): MongoDB if configured, else SQLite.

store = open_metadata_store(config)     # config.mongo_host set -> MongoDB, else SQLite file
client_ids = store.client_id_data()     # an ibBrokerClientIdData
orders = store.order_data()             # an OrderStore (broker orders and their fills)
books = store.pacing_books("host:4001") # historical pacing books shared by processes (PacingBooks)
queue = store.work_queue("seed:...")    # items handed out under leases to several workers (WorkQueue)
lines = store.market_data_lines("host:4001")  # the login's market-data line slots (LineBooks)
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from sysbrokers.IB.client.ib_client_id import ibBrokerClientIdData
from sysbrokers.IB.market_data_lines import LineBooks
from sysbrokers.IB.pacing import PacingBooks
from sysdata.config.configdata import Config, get_production_config
from sysdata.mongodb.mongo_connection import mongoDb
from sysdata.mongodb.mongo_IB_client_id import mongoIbBrokerClientIdData
from sysdata.mongodb.mongo_market_data_lines import MongoLineBooks
from sysdata.mongodb.mongo_pacing_books import MongoPacingBooks
from sysdata.mongodb.mongo_work_queue import MongoWorkQueue
from sysdata.orders.mongo_order_store import MongoOrderStore
from sysdata.orders.order_store import OrderStore
from sysdata.orders.sqlite_order_store import SqliteOrderStore
from sysdata.production.work_queue import WorkQueue
from sysdata.sqlite.sqlite_connection import sqliteDb
from sysdata.sqlite.sqlite_IB_client_id import sqliteIbBrokerClientIdData
from sysdata.sqlite.sqlite_market_data_lines import SqliteLineBooks
from sysdata.sqlite.sqlite_pacing_books import SqlitePacingBooks
from sysdata.sqlite.sqlite_work_queue import SqliteWorkQueue


class MetadataStore(ABC):
    """One database holding the process metadata; each kind of data is one accessor."""

    kind: str

    def __init__(self, config: Config) -> None:
        self.config = config

    @abstractmethod
    def client_id_data(
        self,
        idoffset: int | None = None,
        lease_seconds: float | None = None,
        process_name: str | None = None,
        log: logging.Logger | logging.LoggerAdapter | None = None,
    ) -> ibBrokerClientIdData:
        """The IB client-id tracker kept in this store."""

    @abstractmethod
    def order_data(self) -> OrderStore:
        """The broker orders and their fills kept in this store."""

    @abstractmethod
    def pacing_books(self, gateway: str) -> PacingBooks:
        """Historical pacing books of one gateway login, shared by every process using this store."""

    @abstractmethod
    def work_queue(self, name: str) -> WorkQueue:
        """A work queue shared by every process using this store."""

    @abstractmethod
    def market_data_lines(self, gateway: str) -> LineBooks:
        """The market-data line slots of one gateway login, shared by every process using this store."""

    @abstractmethod
    def describe(self) -> str:
        """Where the data lives, without credentials."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


class MongoMetadataStore(MetadataStore):
    kind = "mongo"

    def __init__(self, mongo_db: mongoDb, config: Config) -> None:
        super().__init__(config)
        self.mongo_db = mongo_db

    def client_id_data(self, idoffset=None, lease_seconds=None, process_name=None, log=None) -> ibBrokerClientIdData:
        return mongoIbBrokerClientIdData(
            mongo_db=self.mongo_db,
            idoffset=idoffset,
            lease_seconds=lease_seconds,
            config=self.config,
            process_name=process_name,
            log=log,
        )

    def order_data(self) -> OrderStore:
        return MongoOrderStore(self.mongo_db)

    def pacing_books(self, gateway: str) -> PacingBooks:
        return MongoPacingBooks(self.mongo_db, gateway)

    def work_queue(self, name: str) -> WorkQueue:
        return MongoWorkQueue(self.mongo_db, name)

    def market_data_lines(self, gateway: str) -> LineBooks:
        return MongoLineBooks(self.mongo_db, gateway)

    def describe(self) -> str:
        return repr(self.mongo_db)

    def close(self) -> None:
        self.mongo_db.close()


class SqliteMetadataStore(MetadataStore):
    kind = "sqlite"

    def __init__(self, sqlite_db: sqliteDb, config: Config) -> None:
        super().__init__(config)
        self.sqlite_db = sqlite_db

    def client_id_data(self, idoffset=None, lease_seconds=None, process_name=None, log=None) -> ibBrokerClientIdData:
        return sqliteIbBrokerClientIdData(
            sqlite_db=self.sqlite_db,
            idoffset=idoffset,
            lease_seconds=lease_seconds,
            config=self.config,
            process_name=process_name,
            log=log,
        )

    def order_data(self) -> OrderStore:
        return SqliteOrderStore(self.sqlite_db)

    def pacing_books(self, gateway: str) -> PacingBooks:
        return SqlitePacingBooks(self.sqlite_db, gateway)

    def work_queue(self, name: str) -> WorkQueue:
        return SqliteWorkQueue(self.sqlite_db, name)

    def market_data_lines(self, gateway: str) -> LineBooks:
        return SqliteLineBooks(self.sqlite_db, gateway)

    def describe(self) -> str:
        return f"SQLite file {self.sqlite_db.path}"

    def close(self) -> None:
        self.sqlite_db.close()


def open_metadata_store(config: Config | None = None) -> MetadataStore:
    """MongoDB when `mongo_host` is set, otherwise the SQLite file at `sqlite_path`."""
    config = config or get_production_config()
    if config.mongo_host:
        return MongoMetadataStore(mongoDb(config=config), config)
    return SqliteMetadataStore(sqliteDb(config.sqlite_path), config)
