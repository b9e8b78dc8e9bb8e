"""`ibFuturesContractData`: futures contracts at IB (seed 001 "Contracts data").

contracts = ibFuturesContractData(conn)                       # or (conn, data_blob, log=...)
contracts.get_contract_object_with_IB_data(futuresContract("SP500", "202506"))
contracts.get_trading_hours_for_contract(contract).okay_to_trade_now()
contracts.less_than_N_hours_of_trading_left_for_contract(contract, N_hours=1.0)
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sysbrokers.IB.client.ib_contracts_client import ibContractsClient
from sysbrokers.IB.ib_data_args import ibDataObject
from sysobjects.contract_dates import expiryDate
from sysobjects.contracts import futuresContract
from sysobjects.trading_hours import listOfTradingHours

if TYPE_CHECKING:
    from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData


class ibFuturesContractData(ibDataObject):  # noqa: N801 - pysystemtrade's public name
    """Contract-level facts from IB: the resolved contract, expiry, tick size, trading hours."""

    client_class = ibContractsClient
    _client: ibContractsClient

    def get_contract_object_with_IB_data(  # noqa: N802 - pysystemtrade's name
        self, futures_contract: futuresContract, allow_expired: bool = False
    ) -> futuresContract:
        """The contract with its instrument's IB metadata and its real expiry date from IB.

        Raises `IBNoSecurityDefinition` (IB lists nothing), `AmbiguousContract` (several matches the
        configuration does not separate) or `UnknownInstrument` (not configured).

        Example: ib_futures_contract_data.get_contract_object_with_IB_data(futuresContract("SP500", "202506"))
        """
        instrument = self._client.instrument_with_ib_data(futures_contract.instrument_code)
        if futures_contract.is_spread_contract():  # a calendar spread: each leg's real expiry
            contract = futures_contract.new_contract_with_replaced_instrument_object(instrument)
            contract.update_expiry_dates_one_at_a_time_with_method(
                lambda leg: self._client.resolve(leg, allow_expired=allow_expired).expiry_date
            )
            return contract
        found = self._client.resolve(futures_contract, allow_expired=allow_expired)
        contract = futures_contract.new_contract_with_replaced_instrument_object(instrument)
        contract.update_expiry_date(found.expiry_date)
        return contract

    def get_actual_expiry_date_for_single_contract(
        self, futures_contract: futuresContract, allow_expired: bool = True
    ) -> expiryDate:
        """The contract's last trade date at IB. A fact about the contract, so by default also for
        one that has expired (IB lists them for about two years).

        Example: ib_futures_contract_data.get_actual_expiry_date_for_single_contract(contract)  # expiryDate(2025, 6, 20)
        """
        return self._client.broker_get_single_contract_expiry_date(futures_contract, allow_expired)

    def get_min_tick_size_for_contract(self, futures_contract: futuresContract) -> float:
        """Minimum price move in the layer's price units (IB's minTick divided by the magnifier).

        Example: ib_futures_contract_data.get_min_tick_size_for_contract(contract)  # 0.25
        """
        return self._client.ib_get_min_tick_size(futures_contract)

    def get_price_magnifier_for_contract(self, futures_contract: futuresContract) -> int:
        return self._client.ib_get_price_magnifier(futures_contract)

    def get_trading_hours_for_contract(self, futures_contract: futuresContract) -> listOfTradingHours:
        """Coming trading sessions as UTC (start, end) pairs, narrowed by the trading-hours overrides;
        a `listOfTradingHours` (`okay_to_trade_now()`, `less_than_N_hours_left()`) on the gateway's clock.

        Example: ib_futures_contract_data.get_trading_hours_for_contract(contract)  # listOfTradingHours
        """
        return listOfTradingHours(self._client.ib_get_trading_hours(futures_contract), clock=self._connection.now)

    def less_than_N_hours_of_trading_left_for_contract(  # noqa: N802 - pysystemtrade's name
        self,
        contract_object: futuresContract,
        N_hours: float = 1.0,  # noqa: N803
    ) -> bool:
        """True if the contract trades now and its session closes within `N_hours`."""
        return self.get_trading_hours_for_contract(contract_object).less_than_N_hours_left(N_hours=N_hours)

    @property
    def ib_futures_instrument_data(self) -> ibFuturesInstrumentData:
        """The blob's `broker_futures_instrument` (or one on this connection without a blob)."""
        if self.data is not None:
            return self.data.broker_futures_instrument
        from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData

        return ibFuturesInstrumentData(self._connection)

    def is_contract_okay_to_trade(self, futures_contract: futuresContract, now: dt.datetime | None = None) -> bool:
        now = now or self._connection.now()
        return any(start <= now < end for start, end in self.get_trading_hours_for_contract(futures_contract))

    def get_list_of_contract_dates_for_instrument_code(
        self, instrument_code: str, allow_expired: bool = False
    ) -> list[str]:
        """The IB expiries (YYYYMMDD) of the instrument's contracts, nearest first."""
        return self._client.broker_get_futures_contract_list(instrument_code, allow_expired)
