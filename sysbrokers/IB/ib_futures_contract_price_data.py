"""`ibFuturesContractPriceData`: futures prices from IB (seed 001 "Futures price data").

prices = ibFuturesContractPriceData(conn)                    # or (conn, data_blob, log=...)
prices.get_prices_at_frequency_for_contract_object(contract, Frequency.Hour)
ticker = prices.get_ticker_object_for_contract(contract)     # live bid/ask (ibTickerObject)
prices.cancel_market_data_for_contract(contract)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from sysbrokers.IB.client.ib_price_client import TickSnapshot, ibPriceClient
from sysbrokers.IB.contract_resolution import ResolvedSpread, resolve_spread
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_data_args import ibDataObject
from sysbrokers.IB.ib_instrument_config import load_futures_config
from sysbrokers.IB.ib_ticker import ibSpreadTickerObject, ibTickerObject
from sysbrokers.IB.stream_guard import guarded_bars, guarded_quotes
from sysbrokers.IB.stream_stats import relays_itself
from syscore.exceptions import missingContract, missingData
from sysexecution.tick_data import dataFrameOfRecentTicks, oneTick
from sysobjects.contracts import futuresContract, listOfFuturesContracts
from sysobjects.futures_per_contract_prices import Frequency, futuresContractPrices

if TYPE_CHECKING:
    from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
    from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData


class ibFuturesContractPriceData(ibDataObject):  # noqa: N801 - pysystemtrade's public name
    """Historical bars, tick snapshots and streams of futures contracts. IB can't be written to."""

    client_class = ibPriceClient
    _client: ibPriceClient

    def __init__(self, ibconnection: connectionIB, data: Any = None, log: logging.Logger | None = None):
        super().__init__(ibconnection, data, log)
        self._tickers: dict[str, list[ibTickerObject]] = {}  # live tickers by contract key

    def get_instruments_with_price_data(self) -> list[str]:
        """Instruments configured in ib_config_futures.csv.

        Example: ibfuturesdata.get_instruments_with_price_data()  # ['AEX', 'BOBL', ...]
        """
        return load_futures_config().instrument_codes()

    def contract_dates_with_price_data_for_instrument_code(
        self, instrument_code: str, allow_expired: bool = False
    ) -> list[str]:
        """IB expiries (YYYYMMDD) of the instrument's contracts, nearest first.

        Example: ibfuturesdata.contract_dates_with_price_data_for_instrument_code("SP500")  # ['20250321', ...]
        """
        return self._client.broker_get_futures_contract_list(instrument_code, allow_expired)

    def get_prices_for_contract_object(self, contract_object: futuresContract) -> futuresContractPrices:
        """Daily OPEN, HIGH, LOW, FINAL, VOLUME of a contract (UTC index, session dates).

        Example: ibfuturesdata.get_prices_for_contract_object(futuresContract("SP500", "202506"))
        """
        return self.get_prices_at_frequency_for_contract_object(contract_object, Frequency.Day)

    def get_prices_at_frequency_for_contract_object(
        self,
        contract_object: futuresContract,
        frequency: Frequency | str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        return_empty: bool = False,
    ) -> futuresContractPrices:
        """Bars of one contract; `IBNoData` (a `missingData`) when IB has none and
        `IBNoSecurityDefinition` (a `missingContract`) when IB has no such contract — or, with
        `return_empty=True`, empty prices for both (pysystemtrade's default is True, this layer's False)."""
        return self._or_empty(
            lambda: self._client.broker_get_historical_futures_data_for_contract(
                contract_object, Frequency(frequency), start=start, end=end
            ),
            frequency,
            return_empty,
        )

    def get_prices_at_frequency_for_potentially_expired_contract_object(
        self,
        contract_object: futuresContract | None = None,
        frequency: Frequency | str = Frequency.Day,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        *,
        contract: futuresContract | None = None,
        freq: Frequency | str | None = None,
        return_empty: bool = False,
    ) -> futuresContractPrices:
        """As `get_prices_at_frequency_for_contract_object`, also for expired contracts (IB keeps
        them about two years; older ones raise `IBNoData`). pysystemtrade's keyword names
        `contract=` and `freq=` are accepted too."""
        contract_object = contract_object if contract_object is not None else contract
        if contract_object is None:
            raise TypeError("a contract is needed (contract_object, or pysystemtrade's contract=)")
        frequency = Frequency(freq if freq is not None else frequency)
        return self._or_empty(
            lambda: self._client.broker_get_historical_futures_data_for_contract(
                contract_object, frequency, allow_expired=True, start=start, end=end
            ),
            frequency,
            return_empty,
        )

    @staticmethod
    def _or_empty(download, frequency: Frequency | str, return_empty: bool) -> futuresContractPrices:
        try:
            return download()
        except (missingData, missingContract):
            # As pysystemtrade: with return_empty, no bars or no such contract is empty prices.
            if not return_empty:
                raise
            return futuresContractPrices.create_empty(Frequency(frequency))

    def get_tick_snapshot_for_contract_object(self, contract_object: futuresContract) -> TickSnapshot:
        """Bid, ask, sizes and last now (delayed when live data is not permitted)."""
        return self._client.broker_get_tick_snapshot(contract_object)

    def stream_quotes(self, contract_object: futuresContract) -> AsyncIterator[TickSnapshot]:
        """`async for quote in data.stream_quotes(contract):` — survives reconnects; never hangs
        silently: an unknown contract, a permission error (market-data type `live`) or a gateway
        that sends nothing within `stream_first_data_seconds` raises (sysbrokers/IB/stream_guard.py)."""
        return guarded_quotes(self._client, contract_object)

    def stream_bars(self, contract_object: futuresContract, bar_size: str = "5 secs", keep_up_to_date: bool = False):
        """`async for bar in data.stream_bars(contract):` — 5-second bars, or keepUpToDate bars. An
        unknown contract or a permission error (market-data type `live`) raises at once
        (sysbrokers/IB/stream_guard.py); a silent stream while its market is open is reported stale."""
        return guarded_bars(self._client, contract_object, bar_size, keep_up_to_date)

    # ------------------------------------------- roll-aware and tick-by-tick streams (docs/streaming.md)
    @relays_itself
    def stream_front_month_quotes(self, instrument_code: str, **kwargs: Any):
        """`async for event in data.stream_front_month_quotes("NASDAQ"):` — `QuoteEvent`s of the
        front month and a `RollEvent` at each roll; never ends by itself (front_month_stream.py)."""
        from sysbrokers.IB.front_month_stream import stream_front_month_quotes

        return stream_front_month_quotes(self._connection, instrument_code, **kwargs)

    @relays_itself
    def stream_front_month_bars(self, instrument_code: str, bar_size: str = "5 secs", **kwargs: Any):
        """Completed bars of the front month (`BarEvent`) and `RollEvent`s."""
        from sysbrokers.IB.front_month_stream import stream_front_month_bars

        return stream_front_month_bars(self._connection, instrument_code, bar_size, **kwargs)

    @relays_itself
    def stream_front_month_trades(self, instrument_code: str, tick_type: str = "AllLast", **kwargs: Any):
        """Tick-by-tick data of the front month (`TradeEvent`, `BidAskEvent`, `MidPointEvent`) and `RollEvent`s."""
        from sysbrokers.IB.front_month_stream import stream_front_month_trades

        return stream_front_month_trades(self._connection, instrument_code, tick_type, **kwargs)

    @relays_itself
    def stream_contract_quotes(self, contract_object: futuresContract):
        """`QuoteEvent`s of one contract (a `futuresContract` or a name such as "ESM5")."""
        from sysbrokers.IB.front_month_stream import stream_contract_quotes

        return stream_contract_quotes(self._connection, contract_object)

    @relays_itself
    def stream_contract_bars(self, contract_object: futuresContract, bar_size: str = "5 secs"):
        """Completed `BarEvent`s of one contract (5-second real-time bars, aggregated for longer sizes)."""
        from sysbrokers.IB.front_month_stream import stream_contract_bars

        return stream_contract_bars(self._connection, contract_object, bar_size)

    @relays_itself
    def stream_trades(self, contract_object: futuresContract, tick_type: str = "AllLast"):
        """Tick-by-tick trades of one contract (`TradeEvent`; AllLast, or Last)."""
        from sysbrokers.IB.front_month_stream import stream_contract_trades

        return stream_contract_trades(self._connection, contract_object, tick_type)

    @relays_itself
    def stream_bid_ask(self, contract_object: futuresContract):
        """Tick-by-tick BidAsk ticks of one contract (`BidAskEvent`)."""
        from sysbrokers.IB.front_month_stream import stream_contract_ticks

        return stream_contract_ticks(self._connection, contract_object, "BidAsk")

    @relays_itself
    def stream_midpoint(self, contract_object: futuresContract):
        """Tick-by-tick MidPoint ticks of one contract (`MidPointEvent`)."""
        from sysbrokers.IB.front_month_stream import stream_contract_ticks

        return stream_contract_ticks(self._connection, contract_object, "MidPoint")

    # ------------------------------------------------------------ pysystemtrade's current API
    @property
    def futures_contract_data(self) -> ibFuturesContractData:
        """The blob's `broker_futures_contract` (or one on this connection without a blob)."""
        if self.data is not None:
            return self.data.broker_futures_contract
        from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData

        return self._own("_contract_data", lambda: ibFuturesContractData(self._connection, log=self._client.log))

    @property
    def futures_instrument_data(self) -> ibFuturesInstrumentData:
        """The blob's `broker_futures_instrument` (or one on this connection without a blob)."""
        if self.data is not None:
            return self.data.broker_futures_instrument
        from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData

        return self._own("_instrument_data", lambda: ibFuturesInstrumentData(self._connection, log=self._client.log))

    def _own(self, name: str, make):
        if name not in self.__dict__:
            self.__dict__[name] = make()
        return self.__dict__[name]

    def get_list_of_instrument_codes_with_merged_price_data(self) -> list[str]:
        """Instruments configured for IB (pysystemtrade's name of `get_instruments_with_price_data`)."""
        return self.get_instruments_with_price_data()

    def contracts_with_merged_price_data_for_instrument_code(
        self, instrument_code: str, allow_expired: bool = True
    ) -> listOfFuturesContracts:
        """The contracts IB lists for the instrument, dated by IB's expiry (YYYYMMDD), nearest first."""
        dates = self.contract_dates_with_price_data_for_instrument_code(instrument_code, allow_expired=allow_expired)
        return listOfFuturesContracts(futuresContract(instrument_code, date) for date in dates)

    def has_merged_price_data_for_contract(self, futures_contract: futuresContract) -> bool:
        """True if IB has the (unexpired) contract: prices can be asked for."""
        try:
            self._client.resolve(futures_contract)
        except (missingContract, LookupError):
            return False
        return True

    def get_contracts_with_merged_price_data(self) -> listOfFuturesContracts:
        """Refused, as in pysystemtrade's IB class: listing every contract of every instrument would
        be hundreds of IB requests. Ask per instrument (`contracts_with_merged_price_data_for_instrument_code`)."""
        raise NotImplementedError("Do not use get_contracts_with_merged_price_data with IB: ask per instrument")

    def _quoted(self, futures_contract: futuresContract, trade: Any) -> tuple[Any, float | None]:
        return _quoted_contract(self._client, futures_contract, trade)

    def get_ticker_object_for_order(self, order: Any) -> ibTickerObject:
        """A live ticker for the order's contract, sided by the order's trade (pysystemtrade's
        `contractOrder`, or this layer's `brokerOrder`)."""
        contract, qty = _contract_and_qty_of_order(order)
        return self.get_ticker_object_for_contract_and_trade_qty(contract, qty)

    def get_ticker_object_for_contract(self, futures_contract: futuresContract) -> ibTickerObject:
        return self.get_ticker_object_for_contract_and_trade_qty(futures_contract)

    def get_ticker_object_for_contract_and_trade_qty(
        self, futures_contract: futuresContract, trade_list_for_multiple_legs: Any = None
    ) -> ibTickerObject:
        """A live ticker (streaming market data kept by the connection supervisor) whose side is
        the sign of the trade; one subscription per contract, shared by its tickers until
        `cancel_market_data_for_contract`."""
        found, qty = self._quoted(futures_contract, trade_list_for_multiple_legs)
        key = futures_contract.key
        live = [t for t in self._tickers.get(key, []) if t.active]
        if live:
            handle = live[0].handle
        else:
            handle = self._connection.supervisor.subscribe_market_data(found.contract)
        ticker = _ticker_class(found)(handle, self._connection, found.price_magnifier, qty=qty)
        self._tickers[key] = [*live, ticker]
        return ticker

    def cancel_market_data_for_contract(self, futures_contract: futuresContract) -> None:
        """End the contract's market-data subscription at the gateway (nothing if there is none)."""
        for ticker in self._tickers.pop(futures_contract.key, []):
            ticker.cancel()

    def cancel_market_data_for_order(self, order: Any) -> None:
        contract, _ = _contract_and_qty_of_order(order)
        self.cancel_market_data_for_contract(contract)

    def get_recent_bid_ask_tick_data_for_contract_object(
        self, futures_contract: futuresContract, max_ticks: int = 200, max_seconds: float = 10.0
    ) -> dataFrameOfRecentTicks:
        """pysystemtrade's recent ticks: up to `max_ticks` valid quote updates within `max_seconds`,
        as a `dataFrameOfRecentTicks` (bid_price, ask_price, bid_size, ask_size; UTC index)."""
        found, _ = self._quoted(futures_contract, None)
        handle = self._connection.supervisor.subscribe_market_data(found.contract)
        ticker = _ticker_class(found)(handle, self._connection, found.price_magnifier)
        times: list[Any] = []
        ticks: list[oneTick] = []

        def record(_handle) -> None:
            tick = oneTick(ticker.bid(), ticker.ask(), ticker.bid_size(), ticker.ask_size())
            if tick.is_valid and len(ticks) < max_ticks:
                times.append(ticker.tick_time())
                ticks.append(tick)

        handle.updateEvent += record
        try:
            self._connection.wait_until(lambda: len(ticks) >= max_ticks, max_seconds)
        finally:
            handle.updateEvent -= record
            handle.cancel()
        return dataFrameOfRecentTicks.from_ticks(times, ticks)


def _quoted_contract(client: Any, contract: futuresContract, trade: Any) -> tuple[Any, float | None]:
    """The resolved contract to quote (a calendar spread's IB BAG, legs resolved one by one) and
    the ticker's signed quantity (a spread's: the number of combos, signed like its first leg)."""
    if not contract.is_spread_contract():
        return client.resolve(contract), _single_leg_qty(trade)
    legs = None if trade is None or isinstance(trade, int | float) else list(trade)
    spread = resolve_spread(contract, legs, client.resolve)
    return spread, (spread.quantity if legs is not None else None)


def _ticker_class(found: Any) -> type[ibTickerObject]:
    return ibSpreadTickerObject if isinstance(found, ResolvedSpread) else ibTickerObject


def _single_leg_qty(trade: Any) -> float | None:
    """The signed quantity of a one-leg trade (an int, or pysystemtrade's one-element tradeQuantity)."""
    if trade is None:
        return None
    if isinstance(trade, int | float):
        return trade
    legs = list(trade)
    if len(legs) != 1:
        raise missingContract(
            f"a single contract takes one quantity, not {len(legs)}: trade {legs} (a spread contract has a date per leg)"
        )
    return legs[0]


def _contract_and_qty_of_order(order: Any) -> tuple[futuresContract, float | None]:
    contract = getattr(order, "futures_contract", None)
    if contract is None:
        date = order.contract_date
        dates = getattr(date, "list_of_date_str", None) or [getattr(date, "date_str", date)]
        contract = futuresContract(order.instrument_code, "_".join(dates))
    trade = getattr(order, "trade", None)
    if contract.is_spread_contract():
        return contract, trade  # type: ignore[return-value]  # the per-leg list: resolved with the contract
    return contract, _single_leg_qty(trade)
