"""pysystemtrade's broker factory: the broker data classes a `dataBlob` adds.

    from sysbrokers.broker_factory import get_broker_class_list
    data.add_class_list(get_broker_class_list(data))
    data.broker_execution_stack, data.broker_static, data.broker_fx_handling, ...

`broker_factory_func` in the configuration names the function returning the list (default
`sysbrokers.broker_factory.get_ib_class_list`), as in pysystemtrade.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["get_broker_class_list", "get_ib_class_list"]

DEFAULT_FACTORY = "sysbrokers.broker_factory.get_ib_class_list"


def get_broker_class_list(data: Any = None) -> list[type]:
    """The classes of the configured broker (`broker_factory_func`, default IB's)."""
    name = DEFAULT_FACTORY
    config = getattr(data, "config", None)
    if config is not None:
        name = _config_value(config, "broker_factory_func") or DEFAULT_FACTORY
    module_name, _, func_name = name.rpartition(".")
    return getattr(importlib.import_module(module_name), func_name)()


def get_ib_class_list() -> list[type]:
    from sysbrokers.IB.ib_broker_commissions import ibFuturesContractCommissionData
    from sysbrokers.IB.ib_capital_data import ibCapitalData
    from sysbrokers.IB.ib_contract_position_data import ibContractPositionData
    from sysbrokers.IB.ib_futures_contract_price_data import ibFuturesContractPriceData
    from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
    from sysbrokers.IB.ib_fx_handling import ibFxHandlingData
    from sysbrokers.IB.ib_Fx_prices_data import ibFxPricesData
    from sysbrokers.IB.ib_instruments_data import ibFuturesInstrumentData
    from sysbrokers.IB.ib_orders import ibExecutionStackData
    from sysbrokers.IB.ib_static_data import ibStaticData

    return [
        ibFxPricesData,
        ibFuturesContractPriceData,
        ibFuturesContractData,
        ibContractPositionData,
        ibExecutionStackData,
        ibStaticData,
        ibCapitalData,
        ibFuturesInstrumentData,
        ibFxHandlingData,
        ibFuturesContractCommissionData,
    ]


def _config_value(config: Any, key: str) -> Any:
    get_element = getattr(config, "get_element_or_default", None)
    if get_element is not None:
        return get_element(key, None)  # pysystemtrade keys live beside this layer's own
    return getattr(config, key, None)
