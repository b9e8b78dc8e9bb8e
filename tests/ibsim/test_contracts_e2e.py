"""reqContractDetails through ib_async: FUT by symbol, month, localSymbol, conId; CONTFUT; CASH."""

from __future__ import annotations

from ib_async import Contract, Forex, Future


def test_all_listed_months_of_a_product(ib):
    details = ib.reqContractDetails(Future("ES", exchange="CME"))
    months = [d.contract.lastTradeDateOrContractMonth for d in details]
    assert len(details) >= 4
    assert months == sorted(months)
    assert "20250321" in months and "20250620" in months
    es = next(d for d in details if d.contract.lastTradeDateOrContractMonth == "20250620")
    assert es.contract.localSymbol == "ESM5"
    assert es.contract.tradingClass == "ES"
    assert es.contract.multiplier == "50"
    assert es.contract.currency == "USD"
    assert es.minTick == 0.25
    assert es.timeZoneId == "US/Central"
    assert es.contractMonth == "202506"
    assert es.tradingHours and es.liquidHours
    assert es.contract.conId > 0


def test_by_month_local_symbol_and_con_id_agree(ib):
    by_month = ib.reqContractDetails(Future("ES", "202506", "CME"))
    assert len(by_month) == 1
    con_id = by_month[0].contract.conId
    by_local = ib.reqContractDetails(Future(localSymbol="ESM5", exchange="CME"))
    by_con_id = ib.reqContractDetails(Contract(conId=con_id))
    assert [d.contract.conId for d in by_local] == [con_id]
    assert [d.contract.conId for d in by_con_id] == [con_id]
    assert by_con_id[0].contract.localSymbol == "ESM5"


def test_qualify_contracts(ib):
    contract = Future("ZN", "202506", "CBOT")
    [qualified] = ib.qualifyContracts(contract)
    assert qualified.conId > 0
    assert qualified.localSymbol == "ZN   JUN 25"
    assert qualified.multiplier == "1000"


def test_unknown_contract_is_error_200(ib):
    errors = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append((code, text))
    assert ib.reqContractDetails(Future("NOPE", exchange="CME")) == []
    assert (200, "No security definition has been found for the request") in errors


def test_expired_contracts_need_include_expired(ib):
    # ESZ4 expired in December 2024: only visible with includeExpired, as at IB.
    assert ib.reqContractDetails(Future("ES", "202412", "CME")) == []
    expired = ib.reqContractDetails(Future("ES", "202412", "CME", includeExpired=True))
    assert [d.contract.localSymbol for d in expired] == ["ESZ4"]
    # Contracts that expired long ago are gone even with includeExpired.
    assert ib.reqContractDetails(Future("ES", "202006", "CME", includeExpired=True)) == []


def test_contfut_returns_the_front_month(ib):
    [front] = ib.reqContractDetails(Contract(secType="CONTFUT", symbol="ES", exchange="CME"))
    assert front.contract.secType == "CONTFUT"
    assert front.contract.lastTradeDateOrContractMonth == "20250321"


def test_price_magnifier_and_exchange_specifics(ib):
    [corn] = ib.reqContractDetails(Future("ZC", "202507", "CBOT"))
    assert corn.priceMagnifier == 100
    assert corn.contract.localSymbol == "ZC   JUL 25"
    bund = ib.reqContractDetails(Future("GBL", exchange="EUREX"))
    assert bund and all(d.contract.currency == "EUR" for d in bund)
    assert all(d.contract.tradingClass == "FGBL" for d in bund)


def test_spot_fx_pair(ib):
    [eurusd] = ib.reqContractDetails(Forex("EURUSD"))
    assert eurusd.contract.secType == "CASH"
    assert eurusd.contract.localSymbol == "EUR.USD"
    assert eurusd.contract.exchange == "IDEALPRO"
    assert ib.reqContractDetails(Contract(secType="CASH", symbol="USD", currency="EUR", exchange="IDEALPRO")) == []


def test_listing_moves_with_the_simulated_date(sim_factory, connect):
    import datetime as dt

    later = sim_factory(start=dt.datetime(2025, 4, 1, 15, tzinfo=dt.UTC))
    ib = connect(later)
    months = [d.contract.lastTradeDateOrContractMonth for d in ib.reqContractDetails(Future("ES", exchange="CME"))]
    assert "20250321" not in months  # H5 has expired by April
    assert months[0] == "20250620"
