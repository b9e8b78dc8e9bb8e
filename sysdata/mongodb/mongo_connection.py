"""MongoDB connection details resolved from the configuration (pymongo 4).

`mongo_host` may be a plain host name or a full `mongodb://` / `mongodb+srv://` URL; in the
latter case `mongo_port` is ignored, as in pysystemtrade. `mongo_options` (a mapping of
connection-string options: replicaSet, w, wTimeoutMS, retryWrites, readPreference, tls, authSource,
...) is passed to `MongoClient` and wins over the same option in the URL. Credentials never appear
in `repr`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from sysdata.config.configdata import Config, get_production_config

MONGO_URL_PREFIXES = ("mongodb://", "mongodb+srv://")
DEFAULT_MONGO_PORT = 27017
_CREDENTIALS = re.compile(r"(mongodb(?:\+srv)?://)[^@/]*@")
_SECRET_OPTION_WORDS = ("password", "secret", "key")  # e.g. tlsCertificateKeyFilePassword


class MongoNotConfigured(RuntimeError):
    """`mongo_host` is not set: this installation keeps its metadata in SQLite."""


def clean_mongo_host(host: str) -> str:
    """`host` with any user:password part of a URL masked."""
    return _CREDENTIALS.sub(r"\1***:***@", host)


def mongo_defaults(
    mongo_db: str | None = None,
    mongo_host: str | None = None,
    mongo_port: int | None = None,
    config: Config | None = None,
) -> tuple[str, str, int]:
    """(database name, host, port): each argument given wins, else the configuration."""
    if mongo_port is None and mongo_host is not None and mongo_host.startswith(MONGO_URL_PREFIXES):
        mongo_port = DEFAULT_MONGO_PORT  # unused: the URL says where to connect
    if mongo_db is None or mongo_host is None or mongo_port is None:
        config = config or get_production_config()
        mongo_db = config.mongo_db if mongo_db is None else mongo_db
        mongo_host = config.mongo_host if mongo_host is None else mongo_host
        mongo_port = config.mongo_port if mongo_port is None else mongo_port
    if not mongo_host:
        raise MongoNotConfigured("mongo_host is not set in the configuration (the metadata store is SQLite)")
    return mongo_db, mongo_host, int(mongo_port)


class mongoDb:  # noqa: N801 - pysystemtrade's public name
    """One MongoDB database. The client is created lazily and again after a fork."""

    def __init__(
        self,
        mongo_database_name: str | None = None,
        mongo_host: str | None = None,
        mongo_port: int | None = None,
        config: Config | None = None,
        server_selection_timeout_ms: int = 5000,
        mongo_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.database_name, self._host, self.port = mongo_defaults(mongo_database_name, mongo_host, mongo_port, config)
        self.server_selection_timeout_ms = server_selection_timeout_ms
        if mongo_options is None:
            # From the configuration, unless the caller named the server outright (tests, tools).
            explicit = None not in (mongo_database_name, mongo_host) and config is None
            mongo_options = {} if explicit else (config or get_production_config()).mongo_options
        self.options: dict[str, Any] = dict(mongo_options)
        self._client: MongoClient | None = None
        self._client_pid = 0

    @property
    def host(self) -> str:
        """The host or URL with credentials masked."""
        return clean_mongo_host(self._host)

    @property
    def client(self) -> MongoClient:
        # A MongoClient must not cross a fork: its sockets and monitor threads belong to the parent.
        if self._client is None or self._client_pid != os.getpid():
            self._client = self._new_client()
            self._client_pid = os.getpid()
        return self._client

    @property
    def db(self) -> Database:
        return self.client[self.database_name]

    def collection(self, name: str) -> Collection:
        return self.db[name]

    def ping(self) -> None:
        """Raise if the server cannot be reached within the selection timeout."""
        self.client.admin.command("ping")

    def close(self) -> None:
        if self._client is not None and self._client_pid == os.getpid():
            self._client.close()
        self._client = None

    def _new_client(self) -> MongoClient:
        options: dict[str, Any] = {"serverSelectionTimeoutMS": self.server_selection_timeout_ms, "appname": "ibfutures"}
        given = {name.lower() for name in self.options}  # pymongo option names are case-insensitive
        options = {name: value for name, value in options.items() if name.lower() not in given}
        options.update(self.options, tz_aware=True)
        if self._host.startswith(MONGO_URL_PREFIXES):
            return MongoClient(self._host, **options)
        return MongoClient(host=self._host, port=self.port, **options)

    def __repr__(self) -> str:
        text = f"Mongodb database: host {self.host}, port {self.port}, db name {self.database_name}"
        if self.options:
            shown = {
                name: "***" if any(word in name.lower() for word in _SECRET_OPTION_WORDS) else value
                for name, value in self.options.items()
            }
            text += f", options {shown}"
        return text


class mongoConnection:  # noqa: N801 - pysystemtrade's public name
    """One collection of a `mongoDb`, with helpers for unique indexes."""

    def __init__(self, collection_name: str, mongo_db: mongoDb | None = None) -> None:
        self.mongo_db = mongo_db or mongoDb()
        self.collection_name = collection_name

    @property
    def collection(self) -> Collection:
        return self.mongo_db.collection(self.collection_name)

    def create_unique_index(self, key: str) -> None:
        self.collection.create_index([(key, ASCENDING)], unique=True)

    def __repr__(self) -> str:
        return f"mongoConnection({self.collection_name!r}, {self.mongo_db!r})"
