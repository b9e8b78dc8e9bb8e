"""Positions and capital as the broker reports them, in pysystemtrade's shapes.

    contractPosition(2, futuresContract("SP500", "20250620"))   # position first, as pysystemtrade
    listOfContractPositions([...]).sum_for_contract()
    currencyValue("USD", 1_000_000.0)
    listOfCurrencyValues([...]).as_dict()

Broker-neutral: nothing here talks to IB. `unknownBrokerPosition` keeps what IB said about a
position the instrument configuration cannot name, so it can be reported instead of dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from sysobjects.contracts import futuresContract

__all__ = [
    "contractPosition",
    "currencyValue",
    "listOfContractPositions",
    "listOfCurrencyValues",
    "unknownBrokerPosition",
    "whatIfMargin",
]


# -- positions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class contractPosition:  # noqa: N801 - pysystemtrade's public name
    """A signed position (contracts) in one futures contract."""

    position: int
    contract: futuresContract

    @property
    def instrument_code(self) -> str:
        return self.contract.instrument_code

    @property
    def date_str(self) -> str:
        return self.contract.date_str

    @property
    def contract_date(self) -> str:
        return self.contract.date_str

    @property
    def key(self) -> str:
        return self.contract.key

    def __repr__(self) -> str:
        return f"{self.contract.key}:{self.position}"


class listOfContractPositions(list):  # noqa: N801 - pysystemtrade's public name
    """A list of `contractPosition`, possibly several per contract until `sum_for_contract()`."""

    def sum_for_contract(self) -> listOfContractPositions:
        """One position per contract (summed, e.g. across accounts), zeros dropped, sorted."""
        totals: dict[futuresContract, int] = {}
        for item in self:
            totals[item.contract] = totals.get(item.contract, 0) + item.position
        return listOfContractPositions(
            contractPosition(position, contract) for contract, position in sorted(totals.items()) if position != 0
        )

    def unique_list_of_instruments(self) -> list[str]:
        return sorted({item.instrument_code for item in self})

    def positions_for_instrument(self, instrument_code: str) -> listOfContractPositions:
        return listOfContractPositions(item for item in self if item.instrument_code == instrument_code)

    def position_for_instrument(self, instrument_code: str) -> int:
        """Net position across all contracts of the instrument."""
        return sum(item.position for item in self if item.instrument_code == instrument_code)

    def position_for_contract(self, contract: futuresContract) -> int:
        """Net position in `contract` (0 if none); the contract date must match exactly."""
        return sum(item.position for item in self if item.contract == contract)

    def as_pd_df(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "instrument_code": [item.instrument_code for item in self],
                "contract_date": [item.date_str for item in self],
                "position": [item.position for item in self],
            }
        )

    def __repr__(self) -> str:
        return f"listOfContractPositions({list.__repr__(self)})"


@dataclass(frozen=True)
class unknownBrokerPosition:  # noqa: N801 - pysystemtrade style name
    """A futures position at the broker that no configured instrument matches."""

    account: str
    symbol: str
    expiry: str
    multiplier: str
    exchange: str
    currency: str
    trading_class: str
    con_id: int
    position: float
    reason: str

    def __str__(self) -> str:
        where = f" on {self.exchange}" if self.exchange else ""
        return (
            f"{self.account}: {self.position:g} x {self.symbol} {self.expiry} (multiplier {self.multiplier or '?'}, "
            f"trading class {self.trading_class or '?'}{where}, conId {self.con_id}): {self.reason}"
        )


# -- capital -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class currencyValue:  # noqa: N801 - pysystemtrade's public name
    """An amount of money in one currency."""

    currency: str
    value: float

    def __repr__(self) -> str:
        return f"{self.value:.2f} {self.currency}"


class listOfCurrencyValues(list):  # noqa: N801 - pysystemtrade's public name
    """A list of `currencyValue`, at most one per currency when built by the broker layer."""

    @classmethod
    def from_dict(cls, values: Mapping[str, float]) -> listOfCurrencyValues:
        return cls(currencyValue(ccy, float(value)) for ccy, value in sorted(values.items()))

    def as_dict(self) -> dict[str, float]:
        """{currency: value}, summing repeated currencies."""
        out: dict[str, float] = {}
        for item in self:
            out[item.currency] = out.get(item.currency, 0.0) + item.value
        return out

    def currencies(self) -> list[str]:
        return sorted({item.currency for item in self})

    def value_for_currency(self, currency: str) -> float:
        """The amount in `currency`; KeyError names the currencies present when it is absent."""
        values = self.as_dict()
        if currency not in values:
            raise KeyError(f"no value in {currency}; currencies present: {', '.join(sorted(values)) or 'none'}")
        return values[currency]

    def total_in_base(self, rates: Mapping[str, float]) -> float:
        """Sum converted with `rates` (base units per unit of each currency, as IB's ExchangeRate)."""
        missing = sorted(c for c in self.currencies() if c not in rates)
        if missing:
            raise KeyError(f"no exchange rate for {', '.join(missing)}")
        return math.fsum(item.value * rates[item.currency] for item in self)

    def __repr__(self) -> str:
        return f"listOfCurrencyValues({list.__repr__(self)})"


@dataclass(frozen=True)
class whatIfMargin:  # noqa: N801 - pysystemtrade style name
    """The broker's estimate of what an order would do to margin, without placing it.

    Margin and equity figures are in the account's base currency (`currency`); the commission is
    in `commission_currency`. A figure the broker did not report is None.
    """

    account: str
    contract: futuresContract
    quantity: int
    currency: str
    init_margin_before: float | None
    init_margin_change: float | None
    init_margin_after: float | None
    maint_margin_before: float | None
    maint_margin_change: float | None
    maint_margin_after: float | None
    equity_with_loan_before: float | None
    equity_with_loan_change: float | None
    equity_with_loan_after: float | None
    commission: float | None
    commission_currency: str
    warning_text: str = ""

    @property
    def initial_margin(self) -> float | None:
        """The change in initial margin: the usual answer to "what margin does this order need?"."""
        return self.init_margin_change

    @property
    def maintenance_margin(self) -> float | None:
        return self.maint_margin_change

    def __repr__(self) -> str:
        """`<whatIfMargin +2 SP500/20250600 (DU123456): initial margin +33000 USD, ...>`"""

        def amount(value: float | None) -> str:
            return "?" if value is None else f"{value:+,.2f}"

        commission = "" if self.commission is None else f", commission {self.commission:g} {self.commission_currency}"
        warning = f", warning {self.warning_text!r}" if self.warning_text else ""
        return (
            f"<whatIfMargin {self.quantity:+d} {self.contract.key} ({self.account}): initial margin "
            f"{amount(self.init_margin_change)} {self.currency}, maintenance {amount(self.maint_margin_change)} "
            f"{self.currency}{commission}{warning}>"
        )


def sum_currency_values(groups: Iterable[Mapping[str, float]]) -> listOfCurrencyValues:
    """Add several {currency: value} mappings (e.g. one per account) into one list."""
    totals: dict[str, float] = {}
    for group in groups:
        for ccy, value in group.items():
            totals[ccy] = totals.get(ccy, 0.0) + value
    return listOfCurrencyValues.from_dict(totals)
