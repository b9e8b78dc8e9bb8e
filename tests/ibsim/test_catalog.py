"""Products, expiry rules, contract listing, conIds and client-contract matching."""

from __future__ import annotations

import csv
import datetime as dt
from types import SimpleNamespace

import pytest

from ibsim import catalog as catmod
from ibsim.catalog import Catalog, load_products

UTC = dt.UTC
D = dt.date

SPEC_SYMBOLS = {
    ("ES", "CME"),
    ("NQ", "CME"),
    ("MES", "CME"),
    ("ZN", "CBOT"),
    ("ZF", "CBOT"),
    ("ZT", "CBOT"),
    ("ZB", "CBOT"),
    ("UB", "CBOT"),
    ("GE", "CME"),
    ("SOFR3", "CME"),
    ("GC", "COMEX"),
    ("SI", "COMEX"),
    ("HG", "COMEX"),
    ("CL", "NYMEX"),
    ("NG", "NYMEX"),
    ("ZC", "CBOT"),
    ("ZS", "CBOT"),
    ("ZW", "CBOT"),
    ("HE", "CME"),
    ("VIX", "CFE"),
    ("EUR", "CME"),
    ("JPY", "CME"),
    ("GBP", "CME"),
    ("GBL", "EUREX"),
    ("GBM", "EUREX"),
    ("GBS", "EUREX"),
    ("ESTX50", "EUREX"),
    ("DAX", "EUREX"),
    ("EBM", "MATIF"),
    ("DA", "CME"),
}
FX_PAIRS = [
    "EUR.USD",
    "GBP.USD",
    "USD.JPY",
    "AUD.USD",
    "USD.CHF",
    "USD.CAD",
    "EUR.GBP",
    "EUR.JPY",
]


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def q(**fields) -> SimpleNamespace:
    """A client contract with only the given fields set."""
    return SimpleNamespace(**fields)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def contract(catalog: Catalog, symbol: str, year: int, month: int):
    return catalog.instrument(catalog.product(symbol, sec_type="FUT"), year, month)


# ------------------------------------------------------------------------------ products


def test_packaged_products_cover_the_spec_and_fx(catalog):
    futures = {k for k, p in catalog.products.items() if p.sec_type == "FUT"}
    assert futures == SPEC_SYMBOLS
    for pair in FX_PAIRS:
        product = catalog.products[(pair, "IDEALPRO")]
        assert product.sec_type == "CASH" and f"{product.symbol}.{product.currency}" == pair
        assert product.min_tick == (0.005 if pair.endswith("JPY") else 0.00005)
    assert catalog.fx_pair("EUR", "USD").con_id == 12087792
    assert catalog.fx_pair("USD", "EUR") is None


def test_product_units_follow_ib(catalog):
    corn = catalog.product("ZC", sec_type="FUT")
    assert (corn.price_magnifier, corn.min_tick, corn.multiplier) == (100, 0.25, "5000")
    assert 300 < corn.base_price < 700  # cents per bushel
    assert catalog.product("SI", sec_type="FUT").trading_class == "SIL"  # the 1000 oz contract is class SIL at IB
    assert catalog.product("SOFR3").trading_class == "SR3"
    assert catalog.product("VIX").time_zone_id == "US/Central"
    assert catalog.product("GBL").time_zone_id == "MET"
    for product in catalog.products.values():
        assert product.maint_margin <= product.initial_margin
        assert len(product.market_rule_id.split(",")) == len(product.valid_exchanges.split(","))


def test_load_products_names_row_and_column_of_bad_data(tmp_path):
    with catmod.DEFAULT_PRODUCTS_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[2]["min_tick"] = "abc"
    path = tmp_path / "bad.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValueError, match=r"row 4: column 'min_tick'"):
        load_products(path)
    rows[2]["min_tick"] = "0.25"
    rows[5]["last_trade_rule"] = "fifth_of_never"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValueError, match=r"row 7 \(ZT\): column 'last_trade_rule'"):
        load_products(path)


# ------------------------------------------------------------------------------ expiry rules

REAL_LAST_TRADE_DATES = [
    ("ES", 2026, 6, D(2026, 6, 18)),  # Juneteenth Friday -> Thursday
    ("ES", 2025, 6, D(2025, 6, 20)),
    ("ES", 2023, 12, D(2023, 12, 15)),
    ("NQ", 2026, 6, D(2026, 6, 18)),
    ("ZN", 2024, 3, D(2024, 3, 19)),  # Good Friday is the last day of March 2024
    ("ZN", 2025, 6, D(2025, 6, 18)),
    ("ZF", 2024, 3, D(2024, 3, 28)),
    ("ZT", 2024, 12, D(2024, 12, 31)),
    ("GE", 2022, 12, D(2022, 12, 19)),
    ("SOFR3", 2024, 12, D(2025, 3, 18)),
    ("GC", 2024, 12, D(2024, 12, 27)),
    ("CL", 2023, 12, D(2023, 11, 20)),
    ("CL", 2025, 1, D(2024, 12, 19)),  # 25th is Christmas: 4 business days before
    ("NG", 2024, 12, D(2024, 11, 26)),
    ("ZC", 2025, 7, D(2025, 7, 14)),
    ("HE", 2024, 12, D(2024, 12, 13)),
    ("VIX", 2024, 11, D(2024, 11, 20)),
    ("VIX", 2025, 6, D(2025, 6, 18)),
    ("EUR", 2025, 2, D(2025, 2, 14)),  # Presidents' Day
    ("EUR", 2025, 3, D(2025, 3, 17)),
    ("GBL", 2024, 3, D(2024, 3, 7)),
    ("GBL", 2025, 6, D(2025, 6, 6)),
    ("ESTX50", 2024, 3, D(2024, 3, 15)),
]


@pytest.mark.parametrize("symbol, year, month, expected", REAL_LAST_TRADE_DATES)
def test_last_trade_rules_match_real_dates(catalog, symbol, year, month, expected):
    assert contract(catalog, symbol, year, month).last_trade_date == expected


# DC (Class III milk) and EBM last trade dates from real IB Gateway contractData recordings.
REAL_DC = {
    "DCH4": "20240402",
    "DCJ4": "20240430",
    "DCK4": "20240604",
    "DCM4": "20240702",
    "DCN4": "20240730",
    "DCQ4": "20240904",
    "DCU4": "20241001",
    "DCV4": "20241029",
    "DCX4": "20241203",
    "DCZ4": "20241231",
    "DCF5": "20250204",
    "DCG5": "20250304",
    "DCH5": "20250401",
    "DCJ5": "20250429",
    "DCK5": "20250603",
    "DCM5": "20250701",
    "DCN5": "20250729",
    "DCQ5": "20250903",
    "DCU5": "20250930",
    "DCV5": "20251104",
}
REAL_EBM = {
    "EBMK4": "20240510",
    "EBMU4": "20240910",
    "EBMZ4": "20241210",
    "EBMH5": "20250310",
    "EBMK5": "20250512",
    "EBMU5": "20250910",
    "EBMZ5": "20251210",
    "EBMH6": "20260310",
    "EBMK6": "20260511",
    "EBMU6": "20260910",
    "EBMZ6": "20261210",
}


def test_dairy_and_milling_wheat_match_recorded_gateway(catalog):
    milk = catalog.instruments_for(catalog.product("DA"), D(2024, 3, 26))
    assert [i.local_symbol for i in milk][:20] == list(REAL_DC)
    assert len(milk) == 24 and milk[-1].local_symbol == "DCG6"
    assert {i.local_symbol: f"{i.last_trade_date:%Y%m%d}" for i in milk[:20]} == REAL_DC
    assert f"{milk[0].real_expiration_date:%Y%m%d}" == "20240403"
    assert f"{milk[9].real_expiration_date:%Y%m%d}" == "20250102"
    assert milk[0].expiry_utc == utc(2024, 4, 2, 17, 10)  # IB sends 20240402-17:10:00
    wheat = catalog.instruments_for(catalog.product("EBM"), D(2024, 3, 27))
    assert len(wheat) == 12 and wheat[-1].local_symbol == "EBMH7"
    assert {i.local_symbol: f"{i.last_trade_date:%Y%m%d}" for i in wheat[:11]} == REAL_EBM
    assert wheat[0].expiry_utc == utc(2024, 5, 10, 16, 30)


def test_last_trade_date_string_as_ib_sends_it(catalog):
    esm5 = contract(catalog, "ES", 2025, 6)
    assert esm5.last_trade_date_str == "20250620 08:30 US/Central"
    assert esm5.expiry_utc == utc(2025, 6, 20, 13, 30)
    assert contract(catalog, "ES", 2025, 12).expiry_utc == utc(2025, 12, 19, 14, 30)


# ------------------------------------------------------------------------------ symbols, conIds

CSV_LOCAL_SYMBOLS = [
    ("ES", 2023, 12, "ESZ3"),
    ("NQ", 2024, 12, "NQZ4"),
    ("MES", 2023, 3, "MESH3"),
    ("ZN", 2024, 3, "ZN   MAR 24"),
    ("ZB", 2019, 9, "ZB   SEP 19"),
    ("ZC", 2025, 7, "ZC   JUL 25"),
    ("ZW", 2026, 3, "ZW   MAR 26"),
    ("ZS", 2026, 3, "ZSH6"),
    ("GC", 2024, 12, "GCZ4"),
    ("CL", 2023, 12, "CLZ3"),
    ("EUR", 2023, 12, "6EZ3"),
    ("GBP", 2023, 12, "6BZ3"),
    ("GBL", 2019, 12, "FGBL DEC 19"),
    ("ESTX50", 2023, 12, "FESX DEC 23"),
    ("EBM", 2024, 5, "EBMK4"),
    ("DA", 2024, 3, "DCH4"),
    ("SOFR3", 2025, 12, "SR3Z5"),
    ("VIX", 2025, 12, "VXZ5"),
    ("HE", 2025, 12, "HEZ5"),
]


@pytest.mark.parametrize("symbol, year, month, expected", CSV_LOCAL_SYMBOLS)
def test_local_symbols_equal_ib_examples(catalog, symbol, year, month, expected):
    assert contract(catalog, symbol, year, month).local_symbol == expected


def test_con_ids_unique_and_decodable_2015_to_2030(catalog):
    seen: dict[int, str] = {}
    for product in catalog.products.values():
        if product.sec_type == "CASH":
            seen[catalog.instruments_for(product)[0].con_id] = product.trading_class
        if product.sec_type != "FUT":
            continue
        for year in range(2015, 2031):
            for month in range(1, 13):
                inst = catalog.instrument(product, year, month)
                if inst is None:
                    continue
                assert 400_000_000 <= inst.con_id < 800_000_000
                assert inst.con_id not in seen, (
                    inst.local_symbol,
                    seen.get(inst.con_id),
                )
                seen[inst.con_id] = f"{product.symbol} {inst.contract_month}"
                assert catalog.by_con_id(inst.con_id) == inst
    assert len(seen) > 3000
    assert catalog.by_con_id(12087792).local_symbol == "EUR.USD"
    assert catalog.by_con_id(123) is None


# ------------------------------------------------------------------------------ listing


def listed(catalog, symbol, as_of, include_expired=False):
    product = catalog.product(symbol, sec_type="FUT")
    return [i.local_symbol for i in catalog.instruments_for(product, as_of, include_expired)]


def test_listing_moves_with_the_simulated_date(catalog):
    assert listed(catalog, "ES", D(2025, 3, 4)) == [
        "ESH5",
        "ESM5",
        "ESU5",
        "ESZ5",
        "ESH6",
    ]
    assert listed(catalog, "ES", D(2025, 3, 25)) == [
        "ESM5",
        "ESU5",
        "ESZ5",
        "ESH6",
        "ESM6",
    ]
    with_expired = listed(catalog, "ES", D(2025, 3, 25), include_expired=True)
    assert with_expired[-6:] == ["ESH5", "ESM5", "ESU5", "ESZ5", "ESH6", "ESM6"]
    assert with_expired[0] == "ESM3"  # ESH3 (2023-03-17) is more than two years old
    # With a datetime the contract is gone from its expiry instant.
    assert listed(catalog, "ES", utc(2025, 3, 21, 13, 29))[0] == "ESH5"
    assert listed(catalog, "ES", utc(2025, 3, 21, 13, 30))[0] == "ESM5"


def test_cme_fx_lists_serial_months(catalog):
    months = listed(catalog, "EUR", D(2025, 3, 4))
    assert months[:6] == ["6EH5", "6EJ5", "6EK5", "6EM5", "6EN5", "6EU5"]
    assert len(months) == 8 + 3


def test_delisted_eurodollar_answers_history_only(catalog):
    assert listed(catalog, "GE", D(2025, 3, 4)) == []
    assert listed(catalog, "GE", D(2025, 3, 4), include_expired=True) == [
        "GEH3",
        "GEM3",
    ]
    assert listed(catalog, "GE", D(2026, 1, 1), include_expired=True) == []
    gez2 = contract(catalog, "GE", 2022, 12)
    assert catalog.by_con_id(gez2.con_id) == gez2  # historical lookups still work
    assert contract(catalog, "GE", 2023, 9) is None


def test_front_month(catalog):
    assert catalog.front_month("ES", "CME", utc(2025, 3, 21, 13)).local_symbol == "ESH5"
    assert catalog.front_month("ES", "", utc(2025, 3, 21, 14)).local_symbol == "ESM5"
    assert catalog.front_month("EUR", "CME", D(2025, 3, 4)).local_symbol == "6EH5"
    assert catalog.front_month("GE", "CME", D(2025, 3, 4)) is None
    today = Catalog(today_fn=lambda: utc(2025, 3, 4, 15))
    assert today.front_month("ES").local_symbol == "ESH5"


# ------------------------------------------------------------------------------ matching

NOW = utc(2025, 3, 4, 15)


def symbols(found):
    return [i.local_symbol for i in found]


def test_match_by_con_id_alone(catalog):
    esu5 = contract(catalog, "ES", 2025, 9)
    assert catalog.match(q(con_id=esu5.con_id), NOW, False) == [esu5]
    assert catalog.match(q(conId=esu5.con_id, secType="FUT"), NOW, False) == [esu5]
    old = contract(catalog, "ES", 2024, 12)
    assert catalog.match(q(con_id=old.con_id), NOW, False) == []
    assert catalog.match(q(con_id=old.con_id), NOW, True) == [old]
    assert catalog.match(q(con_id=999), NOW, True) == []


def test_match_by_local_symbol_alone(catalog):
    assert symbols(catalog.match(q(sec_type="FUT", local_symbol="ZN   JUN 25"), NOW, False)) == ["ZN   JUN 25"]
    assert symbols(catalog.match(q(localSymbol="DCJ5", secType="FUT"), NOW, False)) == ["DCJ5"]
    assert catalog.match(q(sec_type="FUT", local_symbol="ZN JUN 25"), NOW, False) == []


def test_match_symbol_only_returns_every_listed_month(catalog):
    found = catalog.match(q(symbol="ES", sec_type="FUT", exchange="CME"), NOW, False)
    assert symbols(found) == ["ESH5", "ESM5", "ESU5", "ESZ5", "ESH6"]
    assert symbols(catalog.match(q(symbol="ES", sec_type="FUT"), NOW, False)) == symbols(found)


def test_match_by_month_and_last_trade_date(catalog):
    by_month = catalog.match(
        q(
            symbol="ES",
            sec_type="FUT",
            exchange="GLOBEX",
            last_trade_date_or_contract_month="202506",
        ),
        NOW,
        False,
    )
    assert symbols(by_month) == ["ESM5"]
    by_day = catalog.match(
        q(symbol="ES", sec_type="FUT", lastTradeDateOrContractMonth="20250620"),
        NOW,
        False,
    )
    assert by_day == by_month
    crude = catalog.match(
        q(symbol="CL", sec_type="FUT", last_trade_date_or_contract_month="202505"),
        NOW,
        False,
    )
    assert [(i.contract_month, i.last_trade_date) for i in crude] == [("202505", D(2025, 4, 22))]
    assert (
        catalog.match(
            q(
                symbol="ES",
                sec_type="FUT",
                last_trade_date_or_contract_month="20250621",
            ),
            NOW,
            False,
        )
        == []
    )


def test_match_filters_and_aliases(catalog):
    assert symbols(catalog.match(q(symbol="ZN", sec_type="FUT", exchange="ECBOT"), NOW, False))[0] == "ZN   MAR 25"
    assert symbols(catalog.match(q(symbol="GC", sec_type="FUT", exchange="NYMEX"), NOW, False))[0] == "GCH5"
    assert catalog.match(q(symbol="ES", sec_type="FUT", exchange="EUREX"), NOW, False) == []
    assert catalog.match(q(symbol="SI", sec_type="FUT", multiplier="5000"), NOW, False) == []
    assert len(catalog.match(q(symbol="SI", sec_type="FUT", multiplier="1000.0"), NOW, False)) == 24
    assert symbols(catalog.match(q(sec_type="FUT", trading_class="FGBL"), NOW, False)) == [
        "FGBL MAR 25",
        "FGBL JUN 25",
        "FGBL SEP 25",
    ]
    assert catalog.match(q(sec_type="FUT"), NOW, False) == []
    assert catalog.match(q(symbol="NOPE", sec_type="FUT"), NOW, False) == []


def test_match_cash_pairs(catalog):
    eurusd = catalog.fx_pair("EUR", "USD")
    assert catalog.match(
        q(symbol="EUR", sec_type="CASH", currency="USD", exchange="IDEALPRO"),
        NOW,
        False,
    ) == [eurusd]
    assert catalog.match(q(sec_type="CASH", local_symbol="EUR.USD"), NOW, False) == [eurusd]
    assert catalog.match(q(symbol="USD", sec_type="CASH", currency="EUR"), NOW, False) == []
    assert len(catalog.match(q(symbol="EUR", sec_type="CASH"), NOW, False)) == 3


def test_contfut_resolves_to_front_month(catalog):
    found = catalog.match(q(symbol="ES", sec_type="CONTFUT", exchange="CME"), NOW, False)
    assert symbols(found) == ["ESH5"]
    assert catalog.front_month_for(q(symbol="DA", sec_type="CONTFUT"), utc(2024, 3, 20)).local_symbol == "DCH4"


# ------------------------------------------------------------------------------ details


def test_details_carry_contract_data_fields(catalog):
    dch4 = contract(catalog, "DA", 2024, 3)
    info = catalog.details(dch4, utc(2024, 3, 26, 9, 36, 20))
    assert (info.market_name, info.long_name, info.time_zone_id) == (
        "DC",
        "MILK CLASS III INDEX",
        "US/Central",
    )
    assert (info.contract_month, info.last_trade_date, info.real_expiration_date) == (
        "202403",
        "20240402",
        "20240403",
    )
    assert (info.under_con_id, info.under_symbol, info.under_sec_type) == (
        36555530,
        "DA",
        "IND",
    )
    assert (info.market_rule_ids, info.valid_exchanges, info.min_size) == (
        "32",
        "CME",
        "1",
    )
    assert info.trading_hours.startswith("20240325:1700-20240326:1600;")
    assert "LMT" in info.order_types.split(",")
    fx = catalog.details(catalog.fx_pair("USD", "JPY"), NOW)
    assert (fx.contract_month, fx.last_trade_date, fx.min_tick, fx.market_name) == (
        "",
        "",
        0.005,
        "USD.JPY",
    )
