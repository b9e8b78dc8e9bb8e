"""futuresContract and the instrument objects: keys, equality, hashing, IB metadata."""

import pytest

from sysobjects.contract_dates import contractDate
from sysobjects.contracts import (
    futuresContract,
    get_code_and_id_from_contract_key,
    listOfFuturesContracts,
)
from sysobjects.exceptions import InvalidContractDate
from sysobjects.instruments import (
    futuresInstrument,
    futuresInstrumentWithIBConfigData,
    ibInstrumentConfigData,
)

CORN_IB = ibInstrumentConfigData("ZC", "CBOT", "USD", 5000.0, 100.0, False, "ZC")


def test_key_and_accessors():
    contract = futuresContract("EDOLLAR", "201203")
    assert contract.instrument_code == "EDOLLAR"
    assert contract.date_str == "20120300"
    assert contract.key == "EDOLLAR/20120300"
    assert contract.contract_date == contractDate("201203")
    assert contract.expiry_date is None
    assert str(contract) == "EDOLLAR/20120300"
    assert repr(contract) == "futuresContract('EDOLLAR', '20120300')"


def test_built_from_objects_equals_built_from_strings():
    from_objects = futuresContract(futuresInstrument("EDOLLAR"), contractDate("201203"))
    assert from_objects == futuresContract("EDOLLAR", "201203")
    assert hash(from_objects) == hash(futuresContract("EDOLLAR", "20120300"))
    assert from_objects != futuresContract("EDOLLAR", "201206")
    assert from_objects != futuresContract("SOFR", "201203")


def test_hashable_and_usable_as_dict_key():
    prices = {futuresContract("CORN", "202507"): 1}
    with_expiry = futuresContract("CORN", "202507")
    with_expiry.update_expiry_date("20250714")
    assert prices[with_expiry] == 1
    assert len({futuresContract("CORN", "202507"), with_expiry, futuresContract("CORN", "202509")}) == 2


def test_expiry_shows_in_repr():
    contract = futuresContract("CORN", "202507")
    contract.update_expiry_date("20250714")
    assert contract.expiry_date.as_str() == "20250714"
    assert "expiry 20250714" in repr(contract)


def test_contract_with_ib_metadata_equals_the_bare_contract():
    bare = futuresContract("CORN", "202507")
    with_ib = bare.new_contract_with_replaced_instrument_object(
        futuresInstrumentWithIBConfigData(futuresInstrument("CORN"), CORN_IB)
    )
    assert with_ib == bare
    assert with_ib.instrument.ib_data.ib_symbol == "ZC"
    assert with_ib.key == "CORN/20250700"


def test_replacing_the_instrument_copies_the_date():
    bare = futuresContract("CORN", "202507")
    other = bare.new_contract_with_replaced_instrument_object("CORN")
    other.update_expiry_date("20250714")
    assert bare.expiry_date is None


def test_sorting():
    contracts = [
        futuresContract("SOFR", "202512"),
        futuresContract("CORN", "202509"),
        futuresContract("CORN", "202507"),
    ]
    assert [c.key for c in sorted(contracts)] == ["CORN/20250700", "CORN/20250900", "SOFR/20251200"]


def test_from_key_round_trip():
    contract = futuresContract.from_key("SP500_micro/20250300")
    assert contract == futuresContract("SP500_micro", "202503")
    assert get_code_and_id_from_contract_key("VIX/20250319") == ("VIX", "20250319")
    with pytest.raises(ValueError):
        futuresContract.from_key("no-separator")


def test_bad_inputs():
    with pytest.raises(InvalidContractDate):
        futuresContract("EDOLLAR", "201213")
    with pytest.raises(ValueError):
        futuresContract("", "201203")
    with pytest.raises(TypeError):
        futuresContract(42, "201203")


def test_list_of_contracts():
    contracts = listOfFuturesContracts([futuresContract("CORN", "202507"), futuresContract("CORN", "20250714")])
    assert contracts.list_of_dates() == ["20250700", "20250714"]
    assert contracts.list_of_keys() == ["CORN/20250700", "CORN/20250714"]


def test_instrument_objects():
    instrument = futuresInstrument("CORN")
    assert instrument.key == "CORN"
    assert instrument == futuresInstrument("CORN")
    assert hash(instrument) == hash(futuresInstrument("CORN"))
    assert futuresInstrument.create_from_dict(instrument.as_dict()) == instrument
    assert futuresInstrument("").empty()
    with_ib = futuresInstrumentWithIBConfigData(instrument, CORN_IB)
    assert with_ib.instrument_code == "CORN"
    assert with_ib.broker_symbol == "ZC"
    assert with_ib.meta_data is CORN_IB


def test_ib_data_aliases_and_effective_multiplier():
    assert CORN_IB.effective_multiplier == 50.0
    assert CORN_IB.ib_multiplier_str == "5000"
    assert (CORN_IB.symbol, CORN_IB.exchange, CORN_IB.currency) == ("ZC", "CBOT", "USD")
    assert (CORN_IB.ibMultiplier, CORN_IB.priceMagnifier, CORN_IB.ignoreWeekly) == (5000.0, 100.0, False)
    blank = ibInstrumentConfigData("TFM", "ENDEX", "EUR", None)
    assert blank.effective_multiplier is None
    assert blank.ibMultiplier == ""
    assert blank.ib_multiplier_str == ""
    assert ibInstrumentConfigData("X", "CME", ib_multiplier=0.5).ib_multiplier_str == "0.5"
