"""The IB instrument configuration: shipped files, validation messages, private overrides, lookups."""

import csv
import datetime as dt
import textwrap
from pathlib import Path

import pytest

from sysbrokers.IB import ib_instrument_config as cfg
from sysobjects.exceptions import (
    AmbiguousBrokerInstrument,
    InstrumentConfigError,
    UnknownBrokerInstrument,
    UnknownFxCode,
    UnknownInstrument,
)

REPO = Path(__file__).resolve().parents[2]
IBSIM_PRODUCTS = REPO / "ibsim" / "data" / "products.csv"
FUTURES_HEADER = "Instrument,IBSymbol,IBExchange,IBCurrency,IBMultiplier,priceMagnifier,IgnoreWeekly,IBTradingClass"

# (instrument, IB symbol, exchange, currency, multiplier, price magnifier) of the 30 instruments in
# shared/reference/futures-specs.csv (real IB contract specs).
REAL_IB_SPECS = [
    ("SP500", "ES", "CME", "USD", 50, 1),
    ("NASDAQ", "NQ", "CME", "USD", 20, 1),
    ("SP500_micro", "MES", "CME", "USD", 5, 1),
    ("US10", "ZN", "CBOT", "USD", 1000, 1),
    ("US5", "ZF", "CBOT", "USD", 1000, 1),
    ("US2", "ZT", "CBOT", "USD", 2000, 1),
    ("US20", "ZB", "CBOT", "USD", 1000, 1),
    ("US30", "UB", "CBOT", "USD", 1000, 1),
    ("EDOLLAR", "GE", "CME", "USD", 2500, 1),
    ("SOFR", "SOFR3", "CME", "USD", 2500, 1),
    ("GOLD", "GC", "COMEX", "USD", 100, 1),
    ("SILVER", "SI", "COMEX", "USD", 1000, 1),
    ("COPPER", "HG", "COMEX", "USD", 25000, 1),
    ("CRUDE_W", "CL", "NYMEX", "USD", 1000, 1),
    ("GAS_US", "NG", "NYMEX", "USD", 10000, 1),
    ("CORN", "ZC", "CBOT", "USD", 5000, 100),
    ("SOYBEAN", "ZS", "CBOT", "USD", 5000, 100),
    ("WHEAT", "ZW", "CBOT", "USD", 5000, 100),
    ("LEANHOG", "HE", "CME", "USD", 40000, 100),
    ("VIX", "VIX", "CFE", "USD", 1000, 1),
    ("EUR", "EUR", "CME", "USD", 125000, 1),
    ("JPY", "JPY", "CME", "USD", 12500000, 1),
    ("GBP", "GBP", "CME", "USD", 62500, 1),
    ("BUND", "GBL", "EUREX", "EUR", 1000, 1),
    ("BOBL", "GBM", "EUREX", "EUR", 1000, 1),
    ("SHATZ", "GBS", "EUREX", "EUR", 1000, 1),
    ("EUROSTX", "ESTX50", "EUREX", "EUR", 10, 1),
    ("DAX", "DAX", "EUREX", "EUR", 1, 1),
    ("MILLWHEAT", "EBM", "MATIF", "EUR", 50, 1),
    ("MILK", "DA", "CME", "USD", 2000, 1),
]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No private overrides from the developer's machine, and a fresh cache for every test."""
    empty = tmp_path / "no_private"
    empty.mkdir()
    monkeypatch.setenv("PYSYS_PRIVATE_CONFIG_DIR", str(empty))
    cfg.clear_config_cache()
    yield
    cfg.clear_config_cache()


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# -- shipped files -------------------------------------------------------------------------------


def test_shipped_futures_config_matches_real_ib_specs():
    config = cfg.load_futures_config()
    assert len(config) >= len(REAL_IB_SPECS)
    for code, symbol, exchange, currency, multiplier, magnifier in REAL_IB_SPECS:
        ib = config.get(code).ib_data
        assert (ib.ib_symbol, ib.ib_exchange, ib.ib_currency) == (symbol, exchange, currency), code
        assert ib.ib_multiplier == multiplier, code
        assert ib.price_magnifier == magnifier, code


def test_shipped_values_that_need_care():
    config = cfg.load_futures_config()
    assert config.get("CORN").ib_data.effective_multiplier == 50.0  # prices in cents
    assert config.get("SOFR").ib_data.trading_class == "SR3"
    assert config.get("SILVER").ib_data.trading_class == "SIL"  # the 1000 oz contract; see the docs
    assert config.get("VIX").ib_data.ignore_weekly and config.get("GAS_US").ib_data.ignore_weekly
    assert not config.get("SP500").ib_data.ignore_weekly


def _ibsim_products():
    with IBSIM_PRODUCTS.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_futures_row_resolves_in_the_simulator_catalog():
    products = {(p["symbol"], p["exchange"]): p for p in _ibsim_products() if p["sec_type"] == "FUT"}
    for instrument in cfg.load_futures_config():
        ib = instrument.ib_data
        product = products.get((ib.ib_symbol, ib.ib_exchange))
        assert product is not None, instrument.instrument_code
        assert product["currency"] == ib.ib_currency
        assert float(product["multiplier"]) == ib.ib_multiplier
        assert float(product["price_magnifier"]) == ib.price_magnifier
        if ib.trading_class:
            assert product["trading_class"] == ib.trading_class, instrument.instrument_code


def test_every_fx_row_is_an_idealpro_pair_of_the_simulator():
    pairs = {(p["symbol"], p["currency"]) for p in _ibsim_products() if p["sec_type"] == "CASH"}
    fx = cfg.load_spot_fx_config()
    assert {"GBPUSD", "EURUSD", "JPYUSD", "AUDUSD", "CHFUSD", "CADUSD", "EURGBP"} <= set(fx.fx_codes())
    for code in fx.fx_codes():
        config = fx.get(code)
        assert (config.ccy1, config.ccy2) in pairs, code
    assert fx.get("JPYUSD") == cfg.ibFXConfig("USD", "JPY", True)
    assert fx.get("JPYUSD").ib_pair == "USDJPY"
    assert fx.get("GBPUSD") == cfg.ibFXConfig("GBP", "USD", False)


def test_shipped_trading_hours_load_and_follow_daylight_saving():
    hours = cfg.load_trading_hours_overrides()
    corn = hours.for_instrument("CORN")
    winter = corn.sessions_on(dt.date(2025, 1, 6))
    summer = corn.sessions_on(dt.date(2025, 7, 1))
    assert winter == [(dt.datetime(2025, 1, 6, 14, 30, tzinfo=dt.UTC), dt.datetime(2025, 1, 6, 19, 20, tzinfo=dt.UTC))]
    assert summer == [(dt.datetime(2025, 7, 1, 13, 30, tzinfo=dt.UTC), dt.datetime(2025, 7, 1, 18, 20, tzinfo=dt.UTC))]
    assert hours.for_instrument("SP500") is None


@pytest.mark.parametrize(
    ("ib_zone", "iana"),
    [
        ("US/Central", "America/Chicago"),
        ("US/Eastern", "America/New_York"),
        ("MET", "Europe/Berlin"),
        ("GB-Eire", "Europe/London"),
        ("Japan", "Asia/Tokyo"),
        ("Hongkong", "Asia/Hong_Kong"),
    ],
)
def test_time_zone_entries_are_found_by_legacy_and_iana_names(ib_zone, iana):
    hours = cfg.load_trading_hours_overrides()
    assert hours.for_time_zone(ib_zone) is not None
    assert hours.for_time_zone(ib_zone) == hours.for_time_zone(iana)
    assert hours.for_time_zone("Nowhere/Special") is None


def test_module_shortcuts():
    assert cfg.get_instrument_config("CORN").ib_data.ib_symbol == "ZC"
    assert cfg.get_instrument_object_from_config("CORN") == cfg.get_instrument_config("CORN")
    assert "SOFR" in cfg.get_list_of_instruments()
    assert cfg.get_fx_config("GBPUSD").ccy1 == "GBP"
    assert "EURUSD" in cfg.get_list_of_fxcodes()
    assert cfg.load_futures_config().get_brokers_instrument_code("EDOLLAR") == "GE"


def test_loaded_once_per_process():
    assert cfg.load_futures_config() is cfg.load_futures_config()
    first = cfg.load_futures_config()
    cfg.clear_config_cache()
    assert cfg.load_futures_config() is not first


# -- lookups -------------------------------------------------------------------------------------


def test_unknown_instrument_names_code_and_file():
    with pytest.raises(UnknownInstrument) as info:
        cfg.get_instrument_config("CORNN")
    message = str(info.value)
    assert "'CORNN'" in message and "ib_config_futures.csv" in message and "CORN" in message
    assert info.value.instrument_code == "CORNN"
    with pytest.raises(UnknownFxCode, match="XYZUSD"):
        cfg.get_fx_config("XYZUSD")


def test_reverse_lookup_of_shipped_rows():
    config = cfg.load_futures_config()
    assert config.instrument_code_from_broker("GE") == "EDOLLAR"
    assert cfg.get_instrument_code_from_broker_code("ZC", "CBOT", "5000") == "CORN"
    assert config.instrument_code_from_broker("SI", "COMEX", 1000.0) == "SILVER"
    assert config.instrument_code_from_broker("ES", "GLOBEX", "50", valid_exchanges="CME,QBALGO") == "SP500"
    with pytest.raises(UnknownBrokerInstrument, match="multiplier 5000"):
        config.instrument_code_from_broker("SI", "COMEX", "5000")  # the 5000 oz contract is not configured
    with pytest.raises(UnknownBrokerInstrument, match="'XX'"):
        config.instrument_code_from_broker("XX")


def test_reverse_lookup_disambiguates_and_reports_ambiguity(tmp_path):
    path = write(
        tmp_path,
        "futures.csv",
        f"""
        {FUTURES_HEADER}
        AEX,EOE,FTA,EUR,200,1,FALSE,
        AEX_mini,EOE,FTA,EUR,20,1,FALSE,
        GAS_NL,TFM,ENDEX,EUR,,1,FALSE,
        GAS_NL_alt,TFM,ENDEX,EUR,744,1,FALSE,
        VOL,VIX,CFE,USD,1000,1,TRUE,VX
        VOL_weekly,VIX,CFE,USD,1000,1,TRUE,VX01
        """,
    )
    config = cfg.load_futures_config(path, private_dir=False)
    with pytest.raises(AmbiguousBrokerInstrument) as info:
        config.instrument_code_from_broker("EOE", "FTA")
    assert info.value.candidates == ("AEX", "AEX_mini")
    assert config.instrument_code_from_broker("EOE", "FTA", "20") == "AEX_mini"
    # a blank multiplier matches any multiplier; an exact match is preferred
    assert config.instrument_code_from_broker("TFM", "ENDEX", "720") == "GAS_NL"
    assert config.instrument_code_from_broker("TFM", "ENDEX", "744") == "GAS_NL_alt"
    assert config.instrument_code_from_broker("VIX", "CFE", "1000", trading_class="VX01") == "VOL_weekly"
    with pytest.raises(AmbiguousBrokerInstrument):
        config.instrument_code_from_broker("VIX", "CFE", "1000")


def test_pysystemtrade_csv_with_na_currency_and_blank_multiplier(tmp_path):
    path = write(
        tmp_path,
        "pst.csv",
        """
        Instrument,IBSymbol,IBExchange,IBCurrency,IBMultiplier,priceMagnifier,IgnoreWeekly
        CORN,ZC,CBOT,NA,5000,100,FALSE
        GAS_NL,TFM,ENDEX,EUR,,1,FALSE
        """,
    )
    config = cfg.load_futures_config(path, private_dir=False)
    assert config.get("CORN").ib_data.ib_currency == ""
    assert config.get("GAS_NL").ib_data.ib_multiplier is None
    assert config.get("GAS_NL").ib_data.trading_class == ""


# -- malformed files -----------------------------------------------------------------------------

GOOD_ROW = "CORN,ZC,CBOT,USD,5000,100,FALSE,ZC"

MALFORMED_FUTURES = [
    # (file body after the header, line, column, words in the message)
    ("CORN,ZC,CBOT,USD,five thousand,100,FALSE,ZC", 2, "IBMultiplier", "expected a number"),
    ("CORN,,CBOT,USD,5000,100,FALSE,ZC", 2, "IBSymbol", "required"),
    (f"{GOOD_ROW}\n{GOOD_ROW}", 3, "Instrument", "duplicate 'CORN' (first defined on line 2)"),
    ("CORN,ZC,cbot,USD,5000,100,FALSE,ZC", 2, "IBExchange", "exchange code in capitals"),
    ("CORN,ZC,CB OT,USD,5000,100,FALSE,ZC", 2, "IBExchange", "exchange code"),
    ("CORN,ZC,CBOT,USD,5000,100,maybe,ZC", 2, "IgnoreWeekly", "TRUE or FALSE"),
    ("CORN,ZC,CBOT,USD,5000,0,FALSE,ZC", 2, "priceMagnifier", "> 0"),
    ("CORN,ZC,CBOT,USD,5000,-100,FALSE,ZC", 2, "priceMagnifier", "> 0"),
    ("CORN,ZC,CBOT,USD,-5,100,FALSE,ZC", 2, "IBMultiplier", "> 0"),
    ("CORN,ZC,CBOT,USD,inf,100,FALSE,ZC", 2, "IBMultiplier", "> 0"),
    ("CORN,ZC,CBOT,US,5000,100,FALSE,ZC", 2, "IBCurrency", "three-letter currency"),
    ("CORN!,ZC,CBOT,USD,5000,100,FALSE,ZC", 2, "Instrument", "instrument code"),
    ("CORN,ZC,CBOT,USD,5000", 2, "priceMagnifier", "5 fields but the header has 8"),
]


@pytest.mark.parametrize(("body", "line", "column", "words"), MALFORMED_FUTURES)
def test_malformed_futures_rows_name_file_line_and_column(tmp_path, body, line, column, words):
    path = write(tmp_path, "bad_futures.csv", f"{FUTURES_HEADER}\n{body}\n")
    with pytest.raises(InstrumentConfigError) as info:
        cfg.load_futures_config(path, private_dir=False)
    problems = info.value.problems
    assert [(p.file, p.line, p.field) for p in problems] == [(str(path), line, column)]
    assert f"{path}:{line}: column '{column}':" in str(info.value)
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("header", "column", "words"),
    [
        (FUTURES_HEADER.replace("IBMultiplier", "IBMultiplyer"), "IBMultiplyer", "did you mean 'IBMultiplier'"),
        (FUTURES_HEADER.replace(",IgnoreWeekly", ""), "IgnoreWeekly", "required column missing"),
        (FUTURES_HEADER + ",IBSymbol", "IBSymbol", "appears twice"),
    ],
)
def test_malformed_futures_headers_are_reported_on_line_1(tmp_path, header, column, words):
    path = write(tmp_path, "bad_header.csv", f"{header}\n")
    with pytest.raises(InstrumentConfigError) as info:
        cfg.load_futures_config(path, private_dir=False)
    assert any(p.line == 1 and p.field == column and words in p.problem for p in info.value.problems)
    assert f"{path}:1: column '{column}':" in str(info.value)


def test_all_problems_of_a_file_are_reported_together(tmp_path):
    path = write(
        tmp_path,
        "many.csv",
        f"""
        {FUTURES_HEADER}
        CORN,ZC,CBOT,USD,lots,100,FALSE,ZC

        WHEAT,ZW,cbot,USD,5000,0,FALSE,ZW
        SOYBEAN,ZS,CBOT,USD,5000,100,FALSE,ZS
        CORN,ZC,CBOT,USD,5000,100,perhaps,ZC
        """,
    )
    with pytest.raises(InstrumentConfigError) as info:
        cfg.load_futures_config(path, private_dir=False)
    found = {(p.line, p.field) for p in info.value.problems}
    assert found == {
        (2, "IBMultiplier"),
        (4, "IBExchange"),
        (4, "priceMagnifier"),
        (6, "Instrument"),
        (6, "IgnoreWeekly"),
    }
    assert str(info.value).startswith(f"5 problems in {path}")


def test_missing_file_is_reported(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(InstrumentConfigError, match="file not found") as info:
        cfg.load_futures_config(missing, private_dir=False)
    assert info.value.problems[0].file == str(missing)


FX_HEADER = "CODE,CCY1,CCY2,INVERT"


@pytest.mark.parametrize(
    ("body", "line", "column", "words"),
    [
        ("GBPUSD,GBP,USD,MAYBE", 2, "INVERT", "TRUE or FALSE"),
        ("GBPUSD,GBP,USD,", 2, "INVERT", "TRUE or FALSE"),
        ("GBPUS,GBP,USD,NO", 2, "CODE", "six capital letters"),
        ("JPYUSD,USD,JPY,NO", 2, "INVERT", "quoted in USD"),
        ("GBPUSD,GBP,GBP,NO", 2, "CCY2", "same currency"),
        ("GBPUSD,GBP,usd,NO", 2, "CCY2", "three-letter currency"),
        ("GBPUSD,GBP,USD,NO\nGBPUSD,GBP,USD,NO", 3, "CODE", "duplicate 'GBPUSD'"),
    ],
)
def test_malformed_spot_fx_rows(tmp_path, body, line, column, words):
    path = write(tmp_path, "bad_fx.csv", f"{FX_HEADER}\n{body}\n")
    with pytest.raises(InstrumentConfigError) as info:
        cfg.load_spot_fx_config(path, private_dir=False)
    assert [(p.line, p.field) for p in info.value.problems] == [(line, column)]
    assert f"{path}:{line}: column '{column}':" in str(info.value)
    assert words in str(info.value)


MALFORMED_HOURS = [
    # (yaml, line, key, words)
    ("CORN: ['25:00', '13:20']\n", 1, "CORN", "expected a time 'HH:MM'"),
    ("CORN: ['15:00', '14:00']\n", 1, "CORN", "end after it starts"),
    ("CORNN: ['08:30', '13:20']\n", 1, "CORNN", "did you mean 'CORN'"),
    ("CORN:\n  Funday: [['08:30', '13:20']]\n", 2, "CORN.Funday", "not a weekday"),
    ("CORN:\n  zone: Mars/Base\n  hours: ['08:30', '13:20']\n", 2, "CORN.zone", "IANA time zone"),
    ("CORN:\n  zone: America/Chicago\n  hourz: ['08:30', '13:20']\n", 3, "CORN.hourz", "unknown field"),
    ("CORN: ['08:30', '13:20']\nCORN: ['09:00', '10:00']\n", 2, "CORN", "duplicate key"),
    ("CORN: '08:30'\n", 1, "CORN", "expected ['HH:MM', 'HH:MM']"),
    ("CORN:\n  - ['08:30', '13:20']\n  - ['09:00']\n", 3, "CORN[1]", "a session is"),
    ("CORN: [\n", 2, None, "not valid YAML"),
    ("- CORN\n", 1, None, "top level must be a mapping"),
]


@pytest.mark.parametrize(("text", "line", "key", "words"), MALFORMED_HOURS)
def test_malformed_trading_hours_name_file_line_and_key(tmp_path, text, line, key, words):
    path = write(tmp_path, "bad_hours.yaml", text)
    with pytest.raises(InstrumentConfigError) as info:
        cfg.load_trading_hours_overrides(path, private_dir=False, instrument_codes=["CORN", "WHEAT"])
    problems = info.value.problems
    assert [(p.file, p.line, p.field) for p in problems] == [(str(path), line, key)]
    assert words in str(info.value)
    prefix = f"{path}:{line}:" if key is None else f"{path}:{line}: key '{key}':"
    assert prefix in str(info.value)


def test_trading_hours_shapes(tmp_path):
    path = write(
        tmp_path,
        "hours.yaml",
        """
        EDOLLAR:
          Monday:
            - - '15:00'
              - '21:00'
            - - '14:00'
              - '14:05'
          Tuesday:
          - - '16:00'
            - '21:00'
          Wednesday:
            - '17:00'
            - '21:00'
          Saturday: []
        US2:
          - - '19:00'
            - '21:00'
          - - '18:05'
            - '18:10'
        US10:
          - 19:00
          - '24:00'
        US/Central: ['15:00', '20:00']
        """,
    )
    hours = cfg.load_trading_hours_overrides(path, private_dir=False, instrument_codes=["EDOLLAR", "US2", "US10"])
    edollar = hours.for_instrument("EDOLLAR")
    assert edollar.zone == "UTC"
    monday = edollar.sessions_on(dt.date(2025, 3, 3))
    assert [(s.hour, s.minute, e.hour, e.minute) for s, e in monday] == [(14, 0, 14, 5), (15, 0, 21, 0)]
    assert edollar.sessions_on(dt.date(2025, 3, 5))[0][0].hour == 17  # one unnested session
    assert edollar.sessions_on(dt.date(2025, 3, 8)) == []  # Saturday: []
    assert edollar.sessions_on(dt.date(2025, 3, 9)) == []  # Sunday left out
    assert len(hours.for_instrument("US2").sessions_on(dt.date(2025, 3, 9))) == 2  # every day
    us10 = hours.for_instrument("US10").sessions_on(dt.date(2025, 3, 3))
    assert us10 == [(dt.datetime(2025, 3, 3, 19, tzinfo=dt.UTC), dt.datetime(2025, 3, 4, tzinfo=dt.UTC))]
    assert hours.for_time_zone("America/Chicago").sessions_on(dt.date(2025, 3, 3))[0][0].hour == 15


# -- private overrides ---------------------------------------------------------------------------


def test_private_futures_rows_replace_shipped_rows(tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    write(
        private,
        "ib_config_futures.csv",
        """
        Instrument,IBSymbol,IBExchange,IBCurrency,IBMultiplier,priceMagnifier,IgnoreWeekly
        SILVER,SI,COMEX,USD,5000,1,FALSE
        MY_OWN,ZQ,CBOT,USD,4167,1,FALSE
        """,
    )
    config = cfg.load_futures_config(private_dir=private)
    assert config.get("SILVER").ib_data.ib_multiplier == 5000
    assert config.get("MY_OWN").ib_data.ib_symbol == "ZQ"
    assert config.get("CORN").ib_data.ib_symbol == "ZC"  # untouched shipped row
    assert config.origins["SILVER"] == f"{private / 'ib_config_futures.csv'}:2"
    assert config.origins["CORN"].startswith(str(cfg.FUTURES_CONFIG_FILE))
    assert cfg.load_futures_config(private_dir=False).get("SILVER").ib_data.ib_multiplier == 1000


def test_private_folder_from_the_environment(tmp_path, monkeypatch):
    private = tmp_path / "elsewhere"
    private.mkdir()
    write(private, "ib_config_futures.csv", f"{FUTURES_HEADER}\nCORN,ZC,CBOT,USD,5000,100,TRUE,ZC\n")
    write(private, "ib_config_spot_FX.csv", f"{FX_HEADER}\nGBPUSD,USD,GBP,YES\nSEKUSD,USD,SEK,YES\n")
    write(private, "private_config_trading_hours.yaml", "CORN:\n  zone: America/Chicago\n  hours: ['09:00', '12:00']\n")
    monkeypatch.setenv("PYSYS_PRIVATE_CONFIG_DIR", str(private))
    cfg.clear_config_cache()
    assert cfg.get_instrument_config("CORN").ib_data.ignore_weekly is True
    assert cfg.get_fx_config("GBPUSD") == cfg.ibFXConfig("USD", "GBP", True)
    assert cfg.get_fx_config("SEKUSD").invert
    assert cfg.get_fx_config("EURUSD").ccy1 == "EUR"
    hours = cfg.load_trading_hours_overrides()
    corn = hours.for_instrument("CORN").sessions_on(dt.date(2025, 1, 6))
    assert corn[0][0] == dt.datetime(2025, 1, 6, 15, tzinfo=dt.UTC)
    assert hours.for_instrument("WHEAT") is not None  # shipped key kept
    assert len(hours.files) == 2


def test_private_trading_hours_may_name_private_instruments(tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    write(private, "ib_config_futures.csv", f"{FUTURES_HEADER}\nMY_OWN,ZQ,CBOT,USD,4167,1,FALSE,\n")
    write(private, "private_config_trading_hours.yaml", "MY_OWN: ['14:00', '20:00']\n")
    hours = cfg.load_trading_hours_overrides(private_dir=private)
    assert hours.for_instrument("MY_OWN").zone == "UTC"


def test_errors_in_a_private_file_name_the_private_file(tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    bad = write(private, "ib_config_futures.csv", f"{FUTURES_HEADER}\nCORN,ZC,CBOT,USD,5000,none,FALSE,ZC\n")
    with pytest.raises(InstrumentConfigError) as info:
        cfg.load_futures_config(private_dir=private)
    assert f"{bad}:2: column 'priceMagnifier':" in str(info.value)


def test_a_missing_private_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        cfg.load_futures_config(private_dir=tmp_path / "absent")
