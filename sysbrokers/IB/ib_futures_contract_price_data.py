"""`ibFuturesContractPriceData`: futures prices from IB (seed 001 "Futures price data")."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator

from sysbrokers.IB.client.ib_price_client import TickSnapshot, ibPriceClient
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_instrument_config import load_futures_config
from sysobjects.contracts import futuresContract
from sysobjects.futures_per_contract_prices import Frequency, futuresContractPrices


class ibFuturesContractPriceData:  # noqa: N801 - pysystemtrade's public name
    """Historical bars, tick snapshots and streams of futures contracts. IB can't be written to."""

    def __init__(self, ibconnection: connectionIB, log: logging.Logger | None = None):
        self._connection = ibconnection
        self._client = ibPriceClient(ibconnection, log)

    @property
    def ibconnection(self) -> connectionIB:
        return self._connection

    @property
    def ib_client(self) -> ibPriceClient:
        return self._client

    def get_instruments_with_price_data(self) -> list[str]:
        """Instruments configured in ib_config_futures.csv."""
        return load_futures_config().instrument_codes()

    def contract_dates_with_price_data_for_instrument_code(
        self, instrument_code: str, allow_expired: bool = False
    ) -> list[str]:
        """IB expiries (YYYYMMDD) of the instrument's contracts, nearest first."""
        return self._client.broker_get_futures_contract_list(instrument_code, allow_expired)

    def get_prices_for_contract_object(self, contract_object: futuresContract) -> futuresContractPrices:
        """Daily OPEN, HIGH, LOW, FINAL, VOLUME of a contract (UTC index, session dates)."""
        return self.get_prices_at_frequency_for_contract_object(contract_object, Frequency.Day)

    def get_prices_at_frequency_for_contract_object(
        self,
        contract_object: futuresContract,
        frequency: Frequency | str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> futuresContractPrices:
        return self._client.broker_get_historical_futures_data_for_contract(
            contract_object, frequency, start=start, end=end
        )

    def get_prices_at_frequency_for_potentially_expired_contract_object(
        self,
        contract_object: futuresContract,
        frequency: Frequency | str = Frequency.Day,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> futuresContractPrices:
        """As `get_prices_at_frequency_for_contract_object`, also for expired contracts (IB keeps
        them about two years; older ones raise `IBNoData`)."""
        return self._client.broker_get_historical_futures_data_for_contract(
            contract_object, frequency, allow_expired=True, start=start, end=end
        )

    def get_tick_snapshot_for_contract_object(self, contract_object: futuresContract) -> TickSnapshot:
        """Bid, ask, sizes and last now (delayed when live data is not permitted)."""
        return self._client.broker_get_tick_snapshot(contract_object)

    def stream_quotes(self, contract_object: futuresContract) -> AsyncIterator[TickSnapshot]:
        """`async for quote in data.stream_quotes(contract):` — survives reconnects."""
        return self._client.stream_quotes(contract_object)

    def stream_bars(self, contract_object: futuresContract, bar_size: str = "5 secs", keep_up_to_date: bool = False):
        """`async for bar in data.stream_bars(contract):` — 5-second bars, or keepUpToDate bars."""
        return self._client.stream_bars(contract_object, bar_size, keep_up_to_date)
