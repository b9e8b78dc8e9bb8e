"""Individual futures contracts: an instrument plus a contract date.

    futuresContract("EDOLLAR", "201203")
    futuresContract(futuresInstrument("EDOLLAR"), contractDate("201203"))

`key` is pysystemtrade's "EDOLLAR/20120300". Equality, ordering and hashing use the instrument
code and the contract date only, so a contract carrying IB metadata or a known expiry still equals
(and finds in a dict) the bare contract it came from.
"""

from __future__ import annotations

import functools

from sysobjects.contract_dates import contractDate, expiryDate
from sysobjects.instruments import futuresInstrument, futuresInstrumentWithIBConfigData

__all__ = [
    "futuresContract",
    "get_code_and_id_from_contract_key",
    "get_contract_key_from_code_and_id",
    "listOfFuturesContracts",
]

KEY_SEPARATOR = "/"
REPR_MAX_ITEMS = 10  # a list repr shows at most this many items

InstrumentLike = str | futuresInstrument | futuresInstrumentWithIBConfigData


def get_contract_key_from_code_and_id(instrument_code: str, contract_id: str) -> str:
    return f"{instrument_code}{KEY_SEPARATOR}{contract_id}"


def get_code_and_id_from_contract_key(contract_key: str) -> tuple[str, str]:
    code, sep, contract_id = contract_key.rpartition(KEY_SEPARATOR)
    if not sep or not code or not contract_id:
        raise ValueError(f"not a contract key 'INSTRUMENT/YYYYMMDD': {contract_key!r}")
    return code, contract_id


@functools.total_ordering
class futuresContract:  # noqa: N801 - pysystemtrade's public name
    """One futures contract of one instrument."""

    __slots__ = ("_instrument", "_contract_date")

    def __init__(self, instrument_object: InstrumentLike, contract_date_object: str | contractDate) -> None:
        if isinstance(instrument_object, str):
            instrument_object = futuresInstrument(instrument_object)
        if not isinstance(instrument_object, futuresInstrument | futuresInstrumentWithIBConfigData):
            raise TypeError(f"expected an instrument code or instrument object, got {instrument_object!r}")
        if not instrument_object.instrument_code:
            raise ValueError("a futures contract needs a non-empty instrument code")
        if not isinstance(contract_date_object, contractDate):
            contract_date_object = contractDate(contract_date_object)
        self._instrument = instrument_object
        self._contract_date = contract_date_object

    @classmethod
    def from_key(cls, contract_key: str) -> futuresContract:
        """futuresContract.from_key("EDOLLAR/20120300")."""
        return cls(*get_code_and_id_from_contract_key(contract_key))

    @classmethod
    def from_local_symbol(cls, local_symbol: str) -> futuresContract:
        """futuresContract.from_local_symbol("ESM5") or ("ZN   JUN 25"): through the IB instrument
        config (sysbrokers/IB/contract_names.py; raises its `ContractNameError`)."""
        from sysbrokers.IB.contract_names import contract_from_name  # the broker layer maps IB names

        return contract_from_name(local_symbol)

    @property
    def instrument(self) -> futuresInstrument | futuresInstrumentWithIBConfigData:
        return self._instrument

    @property
    def instrument_code(self) -> str:
        return self._instrument.instrument_code

    @property
    def contract_date(self) -> contractDate:
        return self._contract_date

    @property
    def date_str(self) -> str:
        return self._contract_date.date_str

    @property
    def key(self) -> str:
        return get_contract_key_from_code_and_id(self.instrument_code, self.date_str)

    @property
    def expiry_date(self) -> expiryDate | None:
        return self._contract_date.expiry_date

    def update_expiry_date(self, new_expiry_date: object) -> None:
        self._contract_date.update_expiry_date(new_expiry_date)

    # -- calendar spreads ("20250600_20250900"): pysystemtrade's names --------------------------

    def is_spread_contract(self) -> bool:
        return self._contract_date.is_spread_contract

    def as_list_of_individual_contracts(self) -> list[futuresContract]:
        """One single-date contract per leg (the contract itself when it is not a spread)."""
        return [futuresContract(self._instrument, leg) for leg in self._contract_date.list_of_single_contract_dates]

    def update_expiry_dates_one_at_a_time_with_method(self, method) -> None:
        """Set each leg's expiry to `method(single_leg_contract)` (pysystemtrade's form)."""
        self._contract_date.update_expiry_date([method(leg) for leg in self.as_list_of_individual_contracts()])

    def new_contract_with_replaced_instrument_object(self, new_instrument_object: InstrumentLike) -> futuresContract:
        """The same contract date with another instrument object (e.g. one with IB metadata)."""
        return futuresContract(new_instrument_object, contractDate(self._contract_date))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, futuresContract):
            return NotImplemented
        return self.key == other.key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, futuresContract):
            return NotImplemented
        return (self.instrument_code, self.date_str) < (other.instrument_code, other.date_str)

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return self.key

    def __repr__(self) -> str:
        expiry = "" if self.expiry_date is None else f", expiry {self.expiry_date.as_str()}"
        return f"futuresContract({self.instrument_code!r}, {self.date_str!r}{expiry})"


class listOfFuturesContracts(list):  # noqa: N801 - pysystemtrade's public name
    """A list of futuresContract (normally of one instrument)."""

    def list_of_dates(self) -> list[str]:
        return [contract.date_str for contract in self]

    def list_of_keys(self) -> list[str]:
        return [contract.key for contract in self]

    def __repr__(self) -> str:
        """`<listOfFuturesContracts SP500 x3: 20250321, 20250620, 20250919>`: one instrument's
        contracts by date, several instruments' by key; long lists keep their ends."""
        codes = {contract.instrument_code for contract in self}
        if len(codes) == 1:
            head = f"{next(iter(codes))} x{len(self)}"
            names = [contract.date_str for contract in self]
        else:
            head = f"{len(self)} contracts"
            names = [contract.key for contract in self]
        if len(names) > REPR_MAX_ITEMS:
            names = [*names[: REPR_MAX_ITEMS - 3], "...", *names[-2:]]
        return f"<listOfFuturesContracts {head}: {', '.join(names)}>" if names else "<listOfFuturesContracts empty>"
