"""pysystemtrade's order sentinels, compared with `is`.

    from sysexecution.orders.named_order_objects import missing_order

    order = data_broker.match_db_broker_order_to_order_from_brokers(broker_order)
    if order is missing_order:
        ...

Returned by the pysystemtrade-form classes (`ibExecutionStackData`, `dataBroker`); this layer's
own `ibOrdersData` returns None or raises a typed error instead.
"""

from __future__ import annotations

from syscore.constants import named_object

__all__ = ["missing_order", "no_children", "no_order_id", "no_parent"]

missing_order = named_object("missing order")
no_order_id = named_object("no order ID")
no_children = named_object("no_children")
no_parent = named_object("no parent")
