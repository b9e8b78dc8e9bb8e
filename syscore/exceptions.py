"""pysystemtrade's exception names (`syscore.exceptions`), so both `except` styles work.

    from syscore.exceptions import missingContract, missingData

    try:
        prices = data.broker_futures_contract_price.get_prices_at_frequency_for_contract_object(
            contract, Frequency.Day, return_empty=False
        )
    except missingData:          # also catches this layer's IBNoData
        ...

This layer's typed errors subclass these: `IBNoSecurityDefinition` and `OrderUnknownContract` are
`missingContract`s, `IBNoData` is a `missingData`, `UnknownInstrument` a `missingInstrument`. So
code written for pysystemtrade (`except missingContract:`) and code written for this layer
(`except IBNoSecurityDefinition:`) catch the same failures. `missingOrder` and
`orderCannotBeModified` are the classes `ibOrdersData` raises.
"""

from __future__ import annotations

__all__ = [
    "existingData",
    "missingContract",
    "missingData",
    "missingInstrument",
    "missingOrder",
    "orderCannotBeModified",
]


class missingContract(Exception):  # noqa: N801, N818 - pysystemtrade's public name
    """IB has no (unique, unexpired) contract for the request."""


class missingInstrument(Exception):  # noqa: N801, N818 - pysystemtrade's public name
    """The instrument code is not configured."""


class missingData(Exception):  # noqa: N801, N818 - pysystemtrade's public name
    """The request succeeded but there is no data (no bars, no valid bid/ask in time)."""


class existingData(Exception):  # noqa: N801, N818 - pysystemtrade's public name
    """Data is already there and would be overwritten."""


class missingOrder(LookupError):  # noqa: N801, N818 - pysystemtrade's public name
    """IB reports no order matching this broker order."""


class orderCannotBeModified(RuntimeError):  # noqa: N801, N818 - pysystemtrade's public name
    """The order is not a working limit order IB would accept a modification for."""
