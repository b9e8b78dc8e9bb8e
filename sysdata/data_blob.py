"""`dataBlob`: what a production process starts with — config, client id, connection, data objects.

    with dataBlob(log_name="seed-prices") as data:
        prices = data.broker_futures_contract_price.get_prices_for_contract_object(contract)
        data.db_futures_contract_price.merge(key, prices)

Everything is opened lazily on first use and released on exit, also when an exception leaves
the block: the IB connection is closed and its client id released, stores are closed. Attributes
are explicit properties (no names derived from class names).
"""

from __future__ import annotations

import logging
from typing import Any

from sysdata.config.configdata import Config, get_production_config


class dataBlob:  # noqa: N801 - pysystemtrade's public name
    def __init__(
        self,
        log_name: str = "dataBlob",
        config: Config | None = None,
        ib_conn: Any = None,
        metadata_store: Any = None,
        price_store: Any = None,
        client_id: int | None = None,
    ):
        self.log_name = log_name
        self.log = logging.getLogger(log_name)
        self._config = config
        self._ib_conn = ib_conn
        self._own_ib_conn = ib_conn is None
        self._metadata_store = metadata_store
        self._own_metadata_store = metadata_store is None
        self._price_store = price_store
        self._own_price_store = price_store is None
        self._client_id = client_id
        self._objects: dict[str, Any] = {}
        self._closed = False

    # ------------------------------------------------------------------ config
    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = get_production_config()
        return self._config

    # ------------------------------------------------------------------ stores
    @property
    def metadata_store(self):
        """MongoDB when `mongo_host` is configured, else the embedded SQLite file."""
        self._check_open()
        if self._metadata_store is None:
            from sysdata.metadata_store import open_metadata_store

            self._metadata_store = open_metadata_store(self.config)
        return self._metadata_store

    @property
    def db_ib_broker_client_id(self):
        """The client-id leases (pysystemtrade's `data.db_ib_broker_client_id`)."""
        return self._lazy("client_ids", lambda: self.metadata_store.client_id_data(process_name=self.log_name))

    @property
    def db_futures_contract_price(self):
        """The price store (`price_store` URL: parquet by default, ArcticDB optionally)."""
        self._check_open()
        if self._price_store is None:
            from sysdata.prices import open_price_store

            self._price_store = open_price_store(self.config.price_store)
        return self._price_store

    # --------------------------------------------------------------- broker
    @property
    def ib_conn(self):
        """The IB connection, opened on first use with a client id leased from the metadata store."""
        self._check_open()
        if self._ib_conn is None:
            from sysbrokers.IB.ib_connection import connectionIB

            self._ib_conn = connectionIB(
                self._client_id,
                config=self.config,
                client_id_data=self.db_ib_broker_client_id,
                log_name=self.log_name,
            )
        return self._ib_conn

    @property
    def broker_futures_contract_price(self):
        from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData

        return self._lazy("prices", lambda: ibFuturesContractPriceData(self.ib_conn, self, log=self.log))

    @property
    def broker_futures_contract(self):
        from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData

        return self._lazy("contracts", lambda: ibFuturesContractData(self.ib_conn, self, log=self.log))

    @property
    def broker_futures_instrument(self):
        from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData

        return self._lazy("instruments", lambda: ibFuturesInstrumentData(self.ib_conn, self, log=self.log))

    @property
    def broker_fx_prices(self):
        from sysbrokers.IB.ib_spot_FX_data import ibFxPricesData

        return self._lazy("fx", lambda: ibFxPricesData(self.ib_conn, self, log=self.log))

    @property
    def broker_contract_position(self):
        """`ibContractPositionData`: current futures positions at IB."""
        from sysbrokers.IB.ib_position_data import ibContractPositionData

        return self._lazy("positions", lambda: ibContractPositionData(self.ib_conn, self, log=self.log))

    @property
    def broker_capital(self):
        """`ibCapitalData` on the blob's connection: capital, margin, what-if margin."""
        from sysbrokers.IB.ib_capital_data import ibCapitalData

        return self._lazy("capital", lambda: ibCapitalData(self.ib_conn, self, log=self.log))

    @property
    def db_orders(self):
        """The broker orders and their fills (`OrderStore`) in the metadata store."""
        return self._lazy("db_orders", lambda: self.metadata_store.order_data())

    @property
    def broker_orders(self):
        """`ibOrdersData`: places, matches, modifies and cancels orders; records into `db_orders`."""
        from sysbrokers.IB.ib_orders_data import ibOrdersData

        return self._lazy("orders", lambda: ibOrdersData(self.ib_conn, self, log=self.log, order_store=self.db_orders))

    # ------------------------------------------------- pysystemtrade's other broker classes
    @property
    def broker_execution_stack(self):
        """`ibExecutionStackData`: `broker_orders` with pysystemtrade's sentinels (`missing_order`)."""
        from sysbrokers.IB.ib_orders import ibExecutionStackData

        return self._lazy("execution_stack", lambda: ibExecutionStackData(self.ib_conn, self, log=self.log))

    @property
    def broker_static(self):
        """`ibStaticData`: client id, account, broker name."""
        from sysbrokers.IB.ib_static_data import ibStaticData

        return self._lazy("static", lambda: ibStaticData(self.ib_conn, self, log=self.log))

    @property
    def broker_fx_handling(self):
        """`ibFxHandlingData`: cash per currency, FX market orders."""
        from sysbrokers.IB.ib_fx_handling import ibFxHandlingData

        return self._lazy("fx_handling", lambda: ibFxHandlingData(self.ib_conn, self, log=self.log))

    @property
    def broker_futures_contract_commission(self):
        """`ibFuturesContractCommissionData`: commission per contract from what-if orders."""
        from sysbrokers.IB.ib_broker_commissions import ibFuturesContractCommissionData

        return self._lazy("commissions", lambda: ibFuturesContractCommissionData(self.ib_conn, self, log=self.log))

    def add_class_list(self, class_list: list[type], use_prefix: str | None = None) -> None:
        """pysystemtrade's `data.add_class_list([...])`: each class is reachable under its
        pysystemtrade name (`ibFuturesContractPriceData` -> `broker_futures_contract_price`)."""
        for cls in class_list:
            self.add_class_object(cls, use_prefix=use_prefix)

    def add_class_object(self, class_object: type, use_prefix: str | None = None) -> str:
        """Make `class_object` available as `data.<its pysystemtrade name>`; returns the name.

        A name this blob has a property for is that property (one object, opened lazily); another
        `ib*Data` class is built as pysystemtrade's blob builds it, `cls(ib_conn, data, log=...)`.
        Stores (`mongo*`, `parquet*`, `csv*`, `arctic*`) come from the configuration here, not classes.
        """
        name = pysystemtrade_attribute_name(class_object.__name__, use_prefix)
        if isinstance(getattr(type(self), name, None), property):
            return name
        if not class_object.__name__.startswith("ib"):
            raise ValueError(
                f"{class_object.__name__}: stores are set by the configuration (metadata_store, price_store), "
                "not added by class"
            )
        self._lazy(f"class:{name}", lambda: class_object(self.ib_conn, self, log=self.log))
        return name

    def __getattr__(self, name: str):
        objects = self.__dict__.get("_objects", {})
        if f"class:{name}" in objects:
            return objects[f"class:{name}"]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ---------------------------------------------------------------- lifecycle
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"dataBlob {self.log_name!r} is closed")

    def _lazy(self, name: str, make):
        self._check_open()
        if name not in self._objects:
            self._objects[name] = make()
        return self._objects[name]

    def close(self) -> None:
        """Close the connection (releasing its client id) and the stores this blob opened."""
        if self._closed:
            return
        self._closed = True
        errors = []
        if self._own_ib_conn and self._ib_conn is not None:
            try:
                self._ib_conn.close_connection()
            except Exception as exc:  # keep closing the rest
                errors.append(exc)
        if self._own_price_store and self._price_store is not None:
            try:
                self._price_store.close()
            except Exception as exc:
                errors.append(exc)
        if self._own_metadata_store and self._metadata_store is not None:
            try:
                self._metadata_store.close()
            except Exception as exc:
                errors.append(exc)
        self._objects.clear()
        if errors:
            self.log.error("errors while closing dataBlob %r: %s", self.log_name, errors)

    def __enter__(self) -> dataBlob:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_SOURCE_PREFIXES = {"ib": "broker", "mongo": "db", "arctic": "db", "csv": "db", "parquet": "db", "sqlite": "db"}


def pysystemtrade_attribute_name(class_name: str, use_prefix: str | None = None) -> str:
    """pysystemtrade's blob naming: `ibFuturesContractPriceData` -> `broker_futures_contract_price`."""
    import re

    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", class_name)
    if len(words) < 2 or words[-1] != "Data":
        raise ValueError(f"{class_name}: pysystemtrade's data classes are named <source>...Data")
    source = words[0].lower()
    prefix = use_prefix or _SOURCE_PREFIXES.get(source)
    if prefix is None:
        raise ValueError(f"{class_name}: unknown source {source!r} (one of {', '.join(_SOURCE_PREFIXES)})")
    return "_".join([prefix, *(word.lower() for word in words[1:-1])])
