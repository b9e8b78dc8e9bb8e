"""Item 2 (issue item 4): pysystemtrade's exception names and sentinels, with this layer's
typed errors as subclasses, so both `except` styles catch the same failures."""

from __future__ import annotations

import pytest

from sysbrokers.IB.ib_errors import IBNoData, IBNoSecurityDefinition
from sysbrokers.IB.order_checks import OrderUnknownContract
from syscore.exceptions import missingContract, missingData, missingInstrument, missingOrder, orderCannotBeModified
from sysexecution.orders.named_order_objects import missing_order
from sysobjects.contracts import futuresContract
from sysobjects.exceptions import UnknownInstrument


def test_typed_errors_are_pysystemtrades_exceptions():
    assert issubclass(IBNoSecurityDefinition, missingContract)
    assert issubclass(OrderUnknownContract, missingContract)
    assert issubclass(IBNoData, missingData)
    assert issubclass(UnknownInstrument, missingInstrument) and issubclass(UnknownInstrument, LookupError)
    from sysbrokers.IB import ib_orders_data

    assert ib_orders_data.missingOrder is missingOrder
    assert ib_orders_data.orderCannotBeModified is orderCannotBeModified
    assert repr(missing_order) == "missing order"


def test_both_except_styles_against_ibsim(data):
    contracts = data.broker_futures_contract
    gone = futuresContract("EDOLLAR", "201203")
    with pytest.raises(missingContract):
        contracts.get_contract_object_with_IB_data(gone)
    with pytest.raises(IBNoSecurityDefinition):
        contracts.get_contract_object_with_IB_data(gone)
    with pytest.raises(missingInstrument):
        data.broker_futures_instrument.get_futures_instrument_object_with_IB_data("NOT_AN_INSTRUMENT")
    with pytest.raises(missingData):
        data.broker_futures_contract_price.get_prices_at_frequency_for_potentially_expired_contract_object(
            futuresContract("SP500", "202412"), "1min"
        )
