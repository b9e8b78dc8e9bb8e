"""pysystemtrade's trade wrappers: `tradeWithContract` and `ibcontractWithLegs`.

    twc = ibExecutionStackData(conn).what_if_order(broker_order)
    twc.trade.commission, twc.ib_contract.localSymbol

A `tradeWithContract` pairs an ib_async Trade (or a what-if `OrderState`) with the contract it
is for. For a calendar spread the contract is IB's BAG and `legs` holds the legs' contracts;
single futures and FX pairs have no legs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ib_async import Contract

__all__ = ["ibcontractWithLegs", "tradeWithContract"]


@dataclass
class ibcontractWithLegs:  # noqa: N801 - pysystemtrade's public name
    """An IB contract and, for a calendar spread (a BAG), its legs' contracts."""

    ibcontract: Contract
    legs: list = field(default_factory=list)


@dataclass
class tradeWithContract:  # noqa: N801 - pysystemtrade's public name
    """An ib_async Trade (or, for a what-if order, its `OrderState`) with the contract it is for."""

    ibcontract_with_legs: ibcontractWithLegs
    trade: Any

    @property
    def ib_contract(self) -> Contract:
        return self.ibcontract_with_legs.ibcontract
