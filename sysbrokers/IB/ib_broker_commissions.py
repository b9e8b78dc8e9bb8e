"""`ibFuturesContractCommissionData`: IB's commission per contract, from a what-if order.

    commissions = ibFuturesContractCommissionData(conn, data_blob, log=log)
    commissions.get_commission_for_contract(futuresContract("SP500", "202506"))   # 2.25 USD

As pysystemtrade: a what-if order for 10 contracts (nothing is placed), IB's commission / 10,
in IB's commission currency. Needs a connection that may trade (what-if orders are orders).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_data_args import data_and_log, data_object_repr, ibAsyncForms
from syscore.exceptions import missingData
from sysobjects.contracts import futuresContract
from sysobjects.orders import brokerOrder
from sysobjects.positions import currencyValue

__all__ = ["ibFuturesContractCommissionData"]

SIZE_OF_TEST_TRADE = 10
TEST_COMMISSION_STRATEGY = "testCommmission"  # pysystemtrade's spelling
_UNSET_DOUBLE = 1.7976931348623157e308


class ibFuturesContractCommissionData(ibAsyncForms):  # noqa: N801 - pysystemtrade's public name
    """Commission estimates from IB's what-if orders."""

    __repr__ = data_object_repr  # "<ibXxxData on 127.0.0.1:4001 client 999 connected>"

    def __init__(self, ibconnection: connectionIB, data: Any = None, log: logging.Logger | None = None):
        self.data, self._log = data_and_log(data, log)
        self._connection = ibconnection
        self._stack = None

    @property
    def ibconnection(self) -> connectionIB:
        return self._connection

    @property
    def execution_stack(self):
        """The blob's `broker_execution_stack` (or one on this connection without a blob)."""
        if self.data is not None:
            return self.data.broker_execution_stack
        if self._stack is None:
            from sysbrokers.IB.ib_orders import ibExecutionStackData

            self._stack = ibExecutionStackData(self._connection, log=self._log)
        return self._stack

    def get_commission_for_contract(self, futures_contract: futuresContract) -> currencyValue:
        """Commission for one contract; `missingData` if IB gives no commission (untradeable)."""
        order = brokerOrder(
            futures_contract.instrument_code,
            futures_contract.date_str,
            SIZE_OF_TEST_TRADE,
            strategy_name=TEST_COMMISSION_STRATEGY,
        )
        state = self.execution_stack.what_if_order(order).trade
        commission = _amount(state.commission)
        if commission is None:
            commission = _amount(state.maxCommission)  # IB sometimes sends only the range
        if commission is None or not state.commissionCurrency:
            raise missingData(f"IB gave no commission for {futures_contract.key} (is it tradeable?)")
        return currencyValue(state.commissionCurrency, commission / SIZE_OF_TEST_TRADE)


def _amount(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or number >= _UNSET_DOUBLE:
        return None
    return number
