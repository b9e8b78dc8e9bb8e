"""`ibExecutionStackData`: pysystemtrade's broker-order class, over this layer's `ibOrdersData`.

    stack = ibExecutionStackData(conn, data_blob, log=log)
    control = stack.put_order_on_stack(broker_order)        # ibOrderWithControls, or missing_order
    if stack.match_db_broker_order_to_order_from_brokers(broker_order) is missing_order: ...
    stack.what_if_order(broker_order).trade.commission      # IB's estimate, nothing placed
    stack.put_order_on_stack(brokerOrder("SP500", "20250600_20250900", [-1, 1]))  # a roll: ONE BAG order

The same implementation as `ibOrdersData` (sysbrokers/IB/ib_orders_data.py); only pysystemtrade's
conventions differ: "no such order" and "refused before sending" are the `missing_order`
sentinel instead of None and an `OrderRefused` exception, and pysystemtrade's extra names exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sysbrokers.IB.client.ib_orders_client import ibOrderWithControls
from sysbrokers.IB.ib_orders_data import ibOrdersData
from sysbrokers.IB.ib_translate_broker_order_objects import ibcontractWithLegs, tradeWithContract
from sysbrokers.IB.order_checks import OrderRefused
from syscore.constants import arg_not_supplied, supplied
from syscore.exceptions import orderCannotBeModified
from sysexecution.orders.named_order_objects import missing_order
from sysobjects.orders import brokerOrder

if TYPE_CHECKING:
    from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
    from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData

__all__ = ["ibExecutionStackData", "ibcontractWithLegs", "tradeWithContract"]


class ibExecutionStackData(ibOrdersData):  # noqa: N801 - pysystemtrade's public name
    """`ibOrdersData` with pysystemtrade's sentinels and names."""

    @property
    def traded_object_store(self) -> dict[str, ibOrderWithControls]:
        """The control objects of this process's orders, by order reference."""
        return self._controls

    @property
    def futures_contract_data(self) -> ibFuturesContractData:
        if self.data is not None:
            return self.data.broker_futures_contract
        from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData

        return ibFuturesContractData(self.ibconnection)

    @property
    def futures_instrument_data(self) -> ibFuturesInstrumentData:
        if self.data is not None:
            return self.data.broker_futures_instrument
        from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData

        return ibFuturesInstrumentData(self.ibconnection)

    def get_list_of_broker_orders_with_account_id(self, account_id: Any = arg_not_supplied) -> list[brokerOrder]:
        """IB's futures orders of the day for `account_id` (default: every account)."""
        return self.get_list_of_broker_orders(account_id if supplied(account_id) else "")

    def put_order_on_stack(self, broker_order: brokerOrder):
        """As `ibOrdersData.put_order_on_stack`; an order refused before sending is `missing_order`."""
        try:
            return super().put_order_on_stack(broker_order)
        except OrderRefused as exc:
            self._log.warning("order %s not placed: %s", broker_order.order_reference, exc)
            return missing_order

    def match_db_broker_order_to_order_from_brokers(self, broker_order: brokerOrder):
        matched = super().match_db_broker_order_to_order_from_brokers(broker_order)
        return missing_order if matched is None else matched

    def match_db_broker_order_to_control_order_from_brokers(self, broker_order: brokerOrder):
        matched = super().match_db_broker_order_to_control_order_from_brokers(broker_order)
        return missing_order if matched is None else matched

    def cancel_order_on_stack(self, broker_order: brokerOrder):
        cancelled = super().cancel_order_on_stack(broker_order)
        return missing_order if cancelled is None else cancelled

    def what_if_order(self, broker_order: brokerOrder) -> tradeWithContract:
        """IB's margin and commission for the order, nothing placed: `.trade` is the `OrderState`
        (`commission`, `commissionCurrency`, `initMarginChange`, ... as IB sends them)."""
        state = self.broker_what_if_order(broker_order)
        _, resolved = self.ib_client._quantity_and_contract(broker_order)
        legs = [leg.contract for leg in getattr(resolved, "legs", ())]
        return tradeWithContract(ibcontractWithLegs(resolved.contract, legs), state)

    def check_order_can_be_modified_given_control_object_throw_error_if_not(
        self, broker_order_with_controls: ibOrderWithControls
    ) -> None:
        if not self.check_order_can_be_modified_given_control_object(broker_order_with_controls):
            control = broker_order_with_controls
            raise orderCannotBeModified(
                f"order {control.order.order_reference!r} is {control.ib_status or 'unknown'}: cannot be modified"
            )

    def get_status_for_control_object(self, broker_order_with_controls: ibOrderWithControls) -> str:
        """IB's own status string ("Submitted", "Filled", ...)."""
        self._refresh(broker_order_with_controls)
        return broker_order_with_controls.ib_status
