"""`ibFuturesInstrumentData`: the futures instruments configured for IB (seed 001 "Instruments data")."""

from __future__ import annotations

import logging

from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_instrument_config import load_futures_config
from sysobjects.instruments import futuresInstrumentWithIBConfigData


class ibFuturesInstrumentData:  # noqa: N801 - pysystemtrade's public name
    """Instruments from `ib_config_futures.csv` (plus private overrides); needs no IB request."""

    def __init__(self, ibconnection: connectionIB | None = None, log: logging.Logger | None = None):
        self._connection = ibconnection
        self._log = log or logging.getLogger("ibFuturesInstrumentData")

    @property
    def ibconnection(self) -> connectionIB | None:
        return self._connection

    def get_list_of_instruments(self) -> list[str]:
        return load_futures_config().instrument_codes()

    def get_futures_instrument_object_with_IB_data(  # noqa: N802 - pysystemtrade's name
        self, instrument_code: str
    ) -> futuresInstrumentWithIBConfigData:
        """The instrument and its IB metadata; raises `UnknownInstrument` for an unknown code."""
        return load_futures_config().get(instrument_code)

    def get_brokers_instrument_code(self, instrument_code: str) -> str:
        """IB's symbol for an instrument code ("EDOLLAR" -> "GE")."""
        return load_futures_config().get_brokers_instrument_code(instrument_code)

    def get_instrument_code_from_broker_code(
        self, broker_code: str, ib_exchange: str = "", ib_multiplier: float | str | None = None, trading_class: str = ""
    ) -> str:
        """The instrument code for an IB symbol ("GE" -> "EDOLLAR"); ambiguous symbols need the
        exchange, multiplier or trading class (`AmbiguousBrokerInstrument` says so)."""
        return load_futures_config().instrument_code_from_broker(
            broker_code, ib_exchange, ib_multiplier, trading_class=trading_class
        )
