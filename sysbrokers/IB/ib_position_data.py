"""`ibContractPositionData`: futures positions at IB as `futuresContract`s (seed 001 "Position data").

    ib_contract_position_data = ibContractPositionData(conn)
    ib_contract_position_data.get_all_current_positions_as_list_with_contract_objects()

Each IB futures position is named by the instrument configuration (IB symbol, multiplier,
trading class, exchange) and dated by IB's expiry, as pysystemtrade does: SP500 June 2025 is
`futuresContract("SP500", "20250620")` with that expiry set. Positions no configured instrument
matches are logged as a warning and kept in a separate list, never dropped silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ib_async import Position

from sysbrokers.IB.client.ib_positions_client import ibPositionsClient
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_data_args import data_and_log, data_object_repr, ibAsyncForms
from sysbrokers.IB.ib_errors import IBNoSecurityDefinition
from sysbrokers.IB.ib_instrument_config import FuturesConfig, load_futures_config
from sysobjects.contract_dates import expiryDate
from sysobjects.contracts import futuresContract
from sysobjects.exceptions import AmbiguousBrokerInstrument, InvalidExpiryDate, UnknownBrokerInstrument
from sysobjects.positions import contractPosition, listOfContractPositions, unknownBrokerPosition

if TYPE_CHECKING:
    from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
    from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData


@dataclass
class brokerPositions:  # noqa: N801 - pysystemtrade style name
    """What IB holds: positions the configuration names, and those it cannot."""

    known: listOfContractPositions = field(default_factory=listOfContractPositions)
    unknown: list[unknownBrokerPosition] = field(default_factory=list)


class ibContractPositionData(ibAsyncForms):  # noqa: N801 - pysystemtrade's public name
    """Current futures positions at IB (the broker only knows the present: no history)."""

    __repr__ = data_object_repr  # "<ibXxxData on 127.0.0.1:4001 client 999 connected>"

    def __init__(
        self,
        ibconnection: connectionIB,
        data: Any = None,
        log: logging.Logger | None = None,
        futures_config: FuturesConfig | None = None,
    ):
        self.data, log = data_and_log(data, log)  # (conn, data_blob, log=...) as pysystemtrade's blob calls it
        self._connection = ibconnection
        self._log = log or logging.getLogger("ibContractPositionData")
        self._client = ibPositionsClient(ibconnection, self._log)
        self._futures_config = futures_config

    @property
    def ibconnection(self) -> connectionIB:
        return self._connection

    @property
    def ib_client(self) -> ibPositionsClient:
        return self._client

    @property
    def futures_contract_data(self) -> ibFuturesContractData:
        """The blob's `broker_futures_contract` (or one on this connection without a blob)."""
        if self.data is not None:
            return self.data.broker_futures_contract
        from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData

        return ibFuturesContractData(self._connection, log=self._log)

    @property
    def futures_instrument_data(self) -> ibFuturesInstrumentData:
        """The blob's `broker_futures_instrument` (or one on this connection without a blob)."""
        if self.data is not None:
            return self.data.broker_futures_instrument
        from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData

        return ibFuturesInstrumentData(self._connection, log=self._log)

    @property
    def futures_config(self) -> FuturesConfig:
        return self._futures_config or load_futures_config()

    # ------------------------------------------------------------ pysystemtrade API
    def get_all_current_positions_as_list_with_contract_objects(
        self, account_id: str | None = None
    ) -> listOfContractPositions:
        """Futures positions per contract, summed over accounts (None = every managed account).

        Positions in instruments the configuration does not know are left out with a warning;
        `get_positions_with_unknowns` returns them too.

        Example: ib_contract_position_data.get_all_current_positions_as_list_with_contract_objects()  # [SP500/20250600:2]
        """
        found = self.get_positions_with_unknowns(account_id)
        for item in found.unknown:
            self._log.warning("IB position not in the instrument configuration, left out: %s", item)
        return found.known

    def get_all_current_positions_by_account(self) -> dict[str, listOfContractPositions]:
        """{account: its futures positions} for every managed account holding any."""
        by_account: dict[str, listOfContractPositions] = {}
        known, _ = self._read(None)
        for account, item in known:
            by_account.setdefault(account, listOfContractPositions()).append(item)
        return {account: positions.sum_for_contract() for account, positions in sorted(by_account.items())}

    def get_positions_with_unknowns(self, account_id: str | None = None) -> brokerPositions:
        """Known positions (summed per contract) and the IB positions no instrument matches."""
        known, unknown = self._read(account_id)
        return brokerPositions(listOfContractPositions(item for _, item in known).sum_for_contract(), unknown)

    def get_unknown_positions(self, account_id: str | None = None) -> list[unknownBrokerPosition]:
        return self.get_positions_with_unknowns(account_id).unknown

    # ----------------------------------------------------------------- internals
    def _read(self, account_id: str | None) -> tuple[list[tuple[str, contractPosition]], list[unknownBrokerPosition]]:
        """(account, position) pairs the configuration names, unsummed; and the unknown positions."""
        known: list[tuple[str, contractPosition]] = []
        unknown: list[unknownBrokerPosition] = []
        for row in self._client.broker_get_futures_positions(account_id):
            try:
                known.append((row.account, self._contract_position(row)))
            except _Unmatched as exc:
                unknown.append(_unknown(row, str(exc)))
        return known, unknown

    def _contract_position(self, row: Position) -> contractPosition:
        ib_contract = row.contract
        code = self._instrument_code(row)
        expiry = self._expiry(row)
        contract = futuresContract(code, expiry.as_str())
        contract.update_expiry_date(expiry)
        quantity = float(row.position)
        if not quantity.is_integer():
            raise _Unmatched(f"fractional futures position {quantity:g} in conId {ib_contract.conId}")
        return contractPosition(int(quantity), contract)

    def _instrument_code(self, row: Position) -> str:
        c = row.contract
        config = self.futures_config
        try:
            return config.instrument_code_from_broker(
                c.symbol, c.exchange, c.multiplier or None, trading_class=c.tradingClass
            )
        except (UnknownBrokerInstrument, AmbiguousBrokerInstrument) as first:
            # Position rows may lack the exchange or carry another one: ask for the contract's
            # valid exchanges, as pysystemtrade's reverse lookup does.
            details = self._details(c.conId)
            if details is None:
                raise _Unmatched(str(first)) from None
            exchange = details.contract.exchange or c.exchange
            try:
                return config.instrument_code_from_broker(
                    c.symbol,
                    exchange,
                    c.multiplier or details.contract.multiplier or None,
                    valid_exchanges=details.validExchanges,
                    trading_class=c.tradingClass or details.contract.tradingClass,
                )
            except (UnknownBrokerInstrument, AmbiguousBrokerInstrument) as second:
                raise _Unmatched(str(second)) from None

    def _expiry(self, row: Position) -> expiryDate:
        text = row.contract.lastTradeDateOrContractMonth
        expiry = _expiry_or_none(text)
        if expiry is None:
            # Only a contract month ("202506"): the real expiry is in the contract details.
            details = self._details(row.contract.conId)
            if details is not None:
                expiry = _expiry_or_none(details.contract.lastTradeDateOrContractMonth)
        if expiry is None:
            raise _Unmatched(f"no expiry date for conId {row.contract.conId} (IB sent {text!r})")
        return expiry

    def _details(self, con_id: int):
        try:
            return self._client.ib_contract_details_for_con_id(con_id)
        except IBNoSecurityDefinition:
            return None


class _Unmatched(Exception):
    """A position that cannot be turned into a `contractPosition` (the reason is the message)."""


def _unknown(row: Position, reason: str) -> unknownBrokerPosition:
    c = row.contract
    return unknownBrokerPosition(
        account=row.account,
        symbol=c.symbol,
        expiry=c.lastTradeDateOrContractMonth,
        multiplier=c.multiplier,
        exchange=c.exchange,
        currency=c.currency,
        trading_class=c.tradingClass,
        con_id=c.conId,
        position=float(row.position),
        reason=reason,
    )


def _expiry_or_none(text: str) -> expiryDate | None:
    try:
        return expiryDate.from_str(text)
    except InvalidExpiryDate:
        return None
