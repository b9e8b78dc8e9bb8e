"""`ibFuturesInstrumentData`: the futures instruments configured for IB (seed 001 "Instruments data").

instruments = ibFuturesInstrumentData(conn)                   # or (conn, data_blob, log=...)
instruments.get_futures_instrument_object_with_IB_data("SP500").ib_data.ib_symbol   # "ES"
instruments.get_instrument_code_from_broker_contract_object(ib_contract)             # "SP500"
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_data_args import data_and_log, data_object_repr, ibAsyncForms
from sysbrokers.IB.ib_instrument_config import load_futures_config
from sysobjects.instruments import futuresInstrumentWithIBConfigData

if TYPE_CHECKING:
    from sysbrokers.IB.client.ib_client import ibClient
    from sysbrokers.IB.ib_instrument_config import FuturesConfig


class ibFuturesInstrumentData(ibAsyncForms):  # noqa: N801 - pysystemtrade's public name
    """Instruments from `ib_config_futures.csv` (plus private overrides); needs no IB request."""

    __repr__ = data_object_repr  # "<ibXxxData on 127.0.0.1:4001 client 999 connected>"

    def __init__(self, ibconnection: connectionIB | None = None, data: Any = None, log: logging.Logger | None = None):
        self.data, log = data_and_log(data, log)
        self._connection = ibconnection
        self._log = log or logging.getLogger("ibFuturesInstrumentData")

    @property
    def ibconnection(self) -> connectionIB | None:
        return self._connection

    def get_list_of_instruments(self) -> list[str]:
        """Instrument codes configured in ib_config_futures.csv (no IB request).

        Example: ib_futures_instrument_data.get_list_of_instruments()  # ['AEX', 'BOBL', ...]
        """
        return load_futures_config().instrument_codes()

    def get_futures_instrument_object_with_IB_data(  # noqa: N802 - pysystemtrade's name
        self, instrument_code: str
    ) -> futuresInstrumentWithIBConfigData:
        """The instrument and its IB metadata; raises `UnknownInstrument` for an unknown code.

        Example: ib_futures_instrument_data.get_futures_instrument_object_with_IB_data("SP500")
        """
        return load_futures_config().get(instrument_code)

    def get_brokers_instrument_code(self, instrument_code: str) -> str:
        """IB's symbol for an instrument code ("EDOLLAR" -> "GE").

        Example: ib_futures_instrument_data.get_brokers_instrument_code("SP500")  # 'ES'
        """
        return load_futures_config().get_brokers_instrument_code(instrument_code)

    def get_instrument_code_from_broker_code(
        self, broker_code: str, ib_exchange: str = "", ib_multiplier: float | str | None = None, trading_class: str = ""
    ) -> str:
        """The instrument code for an IB symbol ("GE" -> "EDOLLAR"); ambiguous symbols need the
        exchange, multiplier or trading class (`AmbiguousBrokerInstrument` says so).

        Example: ib_futures_instrument_data.get_instrument_code_from_broker_code("GE")  # 'EDOLLAR'
        """
        return load_futures_config().instrument_code_from_broker(
            broker_code, ib_exchange, ib_multiplier, trading_class=trading_class
        )

    # ------------------------------------------------------------ pysystemtrade's current API
    def get_instrument_code_from_broker_contract_object(self, broker_contract_object: Any) -> str:
        """The instrument code of an ib_async `Contract` (symbol, exchange, multiplier, trading
        class); `UnknownBrokerInstrument` / `AmbiguousBrokerInstrument` (LookupErrors) if none or several."""
        contract = broker_contract_object
        return self.get_instrument_code_from_broker_code(
            contract.symbol,
            contract.exchange or contract.primaryExchange,
            contract.multiplier or None,
            trading_class=contract.tradingClass,
        )

    def get_instrument_data(self, instrument_code: str) -> futuresInstrumentWithIBConfigData:
        """pysystemtrade's `futuresInstrumentData.get_instrument_data`: the instrument with its IB data."""
        return self.get_futures_instrument_object_with_IB_data(instrument_code)

    @property
    def ib_config(self) -> FuturesConfig:
        """The futures configuration (`FuturesConfig`; pysystemtrade's is a DataFrame of the CSV)."""
        return load_futures_config()

    @property
    def ib_client(self) -> ibClient | None:
        """A plain `ibClient` on this object's connection (None without one)."""
        if self._connection is None:
            return None
        from sysbrokers.IB.client.ib_client import ibClient

        return ibClient(self._connection, self._log)
