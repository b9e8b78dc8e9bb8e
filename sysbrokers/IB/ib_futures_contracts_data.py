"""`ibFuturesContractData`: futures contracts at IB (seed 001 "Contracts data")."""

from __future__ import annotations

import datetime as dt
import logging

from sysbrokers.IB.client.ib_contracts_client import ibContractsClient
from sysbrokers.IB.ib_connection import connectionIB
from sysobjects.contract_dates import expiryDate
from sysobjects.contracts import futuresContract


class ibFuturesContractData:  # noqa: N801 - pysystemtrade's public name
    """Contract-level facts from IB: the resolved contract, expiry, tick size, trading hours."""

    def __init__(self, ibconnection: connectionIB, log: logging.Logger | None = None):
        self._connection = ibconnection
        self._client = ibContractsClient(ibconnection, log)

    @property
    def ibconnection(self) -> connectionIB:
        return self._connection

    @property
    def ib_client(self) -> ibContractsClient:
        return self._client

    def get_contract_object_with_IB_data(  # noqa: N802 - pysystemtrade's name
        self, futures_contract: futuresContract, allow_expired: bool = False
    ) -> futuresContract:
        """The contract with its instrument's IB metadata and its real expiry date from IB.

        Raises `IBNoSecurityDefinition` (IB lists nothing), `AmbiguousContract` (several matches the
        configuration does not separate) or `UnknownInstrument` (not configured).
        """
        instrument = self._client.instrument_with_ib_data(futures_contract.instrument_code)
        found = self._client.resolve(futures_contract, allow_expired=allow_expired)
        contract = futures_contract.new_contract_with_replaced_instrument_object(instrument)
        contract.update_expiry_date(found.expiry_date)
        return contract

    def get_actual_expiry_date_for_single_contract(
        self, futures_contract: futuresContract, allow_expired: bool = False
    ) -> expiryDate:
        return self._client.broker_get_single_contract_expiry_date(futures_contract, allow_expired)

    def get_min_tick_size_for_contract(self, futures_contract: futuresContract) -> float:
        """Minimum price move in the layer's price units (IB's minTick divided by the magnifier)."""
        return self._client.ib_get_min_tick_size(futures_contract)

    def get_price_magnifier_for_contract(self, futures_contract: futuresContract) -> int:
        return self._client.ib_get_price_magnifier(futures_contract)

    def get_trading_hours_for_contract(
        self, futures_contract: futuresContract
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """Coming trading sessions as UTC (start, end) pairs, narrowed by the trading-hours overrides."""
        return self._client.ib_get_trading_hours(futures_contract)

    def is_contract_okay_to_trade(self, futures_contract: futuresContract, now: dt.datetime | None = None) -> bool:
        now = now or self._connection.now()
        return any(start <= now < end for start, end in self.get_trading_hours_for_contract(futures_contract))

    def get_list_of_contract_dates_for_instrument_code(
        self, instrument_code: str, allow_expired: bool = False
    ) -> list[str]:
        """The IB expiries (YYYYMMDD) of the instrument's contracts, nearest first."""
        return self._client.broker_get_futures_contract_list(instrument_code, allow_expired)
