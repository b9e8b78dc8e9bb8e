"""Positions and capital at IB against ibsim: seed 001's "Position data" and "Capital data" sections
as written, positions after fills, capital moving with fills and prices, what-if margin, EUR
products, several accounts, and positions the instrument configuration does not know."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import pytest
import yaml
from ib_async import Contract, Forex, Future, MarketOrder

from sysbrokers.IB.ib_capital_data import ibCapitalData
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_errors import IBAccountNotManaged, IBNoSecurityDefinition, IBReadOnlyError
from sysbrokers.IB.ib_instrument_config import FUTURES_CONFIG_FILE, load_futures_config
from sysbrokers.IB.ib_position_data import ibContractPositionData
from sysdata.config.configdata import PRIVATE_DIR_ENV, get_production_config
from sysdata.data_blob import dataBlob
from sysdata.metadata_store import open_metadata_store
from sysobjects.contracts import futuresContract
from sysobjects.positions import contractPosition, currencyValue, listOfContractPositions
from tests.connection import test_config

ACCOUNT = "DU123456"
OTHER = "DU654321"
START_CASH = 1_000_000.0
ES_COMMISSION = 2.25  # USD per contract (ibsim's IB-like schedule)
EUREX_COMMISSION = 2.00  # EUR per contract


# ------------------------------------------------------------------------------ helpers
def fill(conn: connectionIB, contract: Contract, quantity: int, account: str = "") -> None:
    """Place a raw ib_async market order and wait until IB reports it filled."""
    order = MarketOrder("BUY" if quantity > 0 else "SELL", abs(quantity))
    if account:
        order.account = account
    trade = conn.ib.placeOrder(contract, order)
    assert conn.wait_until(lambda: trade.orderStatus.status == "Filled", timeout=5), trade.log


def qualified(conn: connectionIB, symbol: str, month: str, exchange: str) -> Contract:
    [contract] = conn.ib.qualifyContracts(Future(symbol, month, exchange))
    return contract


def value(values, currency: str = "USD") -> float:
    return values.value_for_currency(currency)


def connect(sim, tmp_path: Path, conns, account: str = ACCOUNT, client_id: int = 1, **kwargs) -> connectionIB:
    config = test_config(tmp_path, sim.port)
    return conns(
        connectionIB(client_id, ib_ipaddress="127.0.0.1", ib_port=sim.port, account=account, config=config, **kwargs)
    )


@pytest.fixture
def frozen(sims):
    """A gateway whose clock stands still: prices only move when a test advances the clock."""
    return sims(speed=0.0)


@pytest.fixture
def frozen_conn(frozen, conns, tmp_path) -> connectionIB:
    return connect(frozen, tmp_path, conns)


@pytest.fixture
def private_config(sim, tmp_path, monkeypatch) -> Path:
    """A private_config.yaml pointing at the simulator, as a user's would point at their gateway."""
    private = tmp_path / "private_seed"
    private.mkdir()
    settings = {
        "ib_ipaddress": "127.0.0.1",
        "ib_port": sim.port,
        "broker_account": ACCOUNT,
        "ib_connect_timeout": 5,
        "sqlite_path": str(tmp_path / "seed_metadata.sqlite"),
        "client_id_lease_seconds": 2,
        "client_id_heartbeat_seconds": 0.2,
    }
    (private / "private_config.yaml").write_text(yaml.safe_dump(settings))
    monkeypatch.setenv(PRIVATE_DIR_ENV, str(private))
    get_production_config.cache_clear()
    yield private
    get_production_config.cache_clear()


def leased_ids(tmp_path: Path) -> list[int]:
    config = test_config(tmp_path, 1, sqlite_path=str(tmp_path / "seed_metadata.sqlite"))
    with open_metadata_store(config) as store:
        return store.client_id_data().get_list_of_clientids()


# --------------------------------------------------------------------- seed 001 as written
def test_position_data_section_as_written(conn):
    from sysbrokers.IB.ib_position_data import ibContractPositionData

    ib_contract_position_data = ibContractPositionData(conn)
    assert ib_contract_position_data.get_all_current_positions_as_list_with_contract_objects() == []

    fill(conn, qualified(conn, "ES", "202506", "CME"), 2)
    positions = ib_contract_position_data.get_all_current_positions_as_list_with_contract_objects()
    assert isinstance(positions, listOfContractPositions)
    assert positions == [contractPosition(2, futuresContract("SP500", "20250620"))]
    assert ib_contract_position_data.ib_client.ib is conn.ib
    assert ib_contract_position_data.ibconnection is conn


def test_capital_data_section_as_written(sim, conn, private_config, tmp_path):
    ib_capital_data = ibCapitalData()
    own = ib_capital_data.ibconnection
    assert own is not conn and own.is_connected()
    assert own.address == ("127.0.0.1", sim.port)  # host and port from private_config.yaml
    assert leased_ids(tmp_path) == [own.client_id()]  # client id leased from the store
    ib_capital_data = ibCapitalData(conn)
    # Rebinding the name dropped the first object: its own connection is closed, its id released.
    assert not own.is_connected()
    assert leased_ids(tmp_path) == []
    values = ib_capital_data.get_account_value_across_currency_across_accounts()
    assert values == [currencyValue("USD", START_CASH)]
    ib_capital_data.close()
    assert conn.is_connected()  # an injected connection is not ours to close


def test_capital_data_with_block_closes_its_connection(sim, private_config, tmp_path):
    with ibCapitalData() as capital:
        own = capital.ibconnection
        assert value(capital.get_net_liquidation()) == START_CASH
    assert not own.is_connected()
    assert leased_ids(tmp_path) == []


# ------------------------------------------------------------------------------ positions
def test_positions_after_fills_summed_per_contract_with_expiry(conn):
    es = qualified(conn, "ES", "202506", "CME")
    fill(conn, es, 3)
    fill(conn, es, -1)
    fill(conn, qualified(conn, "ZN", "202506", "CBOT"), -2)
    positions = ibContractPositionData(conn).get_all_current_positions_as_list_with_contract_objects()
    assert [(p.instrument_code, p.date_str, p.position) for p in positions] == [
        ("SP500", "20250620", 2),
        ("US10", "20250618", -2),
    ]
    assert all(type(p.position) is int for p in positions)
    assert [p.contract.expiry_date.as_str() for p in positions] == ["20250620", "20250618"]
    assert positions.position_for_instrument("US10") == -2
    assert positions.position_for_contract(futuresContract("SP500", "20250620")) == 2
    assert positions.as_pd_df().to_dict("list") == {
        "instrument_code": ["SP500", "US10"],
        "contract_date": ["20250620", "20250618"],
        "position": [2, -2],
    }


def test_closed_position_disappears(conn):
    es = qualified(conn, "ES", "202506", "CME")
    fill(conn, es, 1)
    fill(conn, es, -1)  # IB keeps reporting the contract with 0 until the day changes
    assert ibContractPositionData(conn).get_all_current_positions_as_list_with_contract_objects() == []


def test_eur_product_position_and_values_converted(frozen, frozen_conn):
    conn = frozen_conn
    capital = ibCapitalData(conn)
    fill(conn, qualified(conn, "GBL", "202506", "EUREX"), 2)

    [position] = ibContractPositionData(conn).get_all_current_positions_as_list_with_contract_objects()
    assert (position.instrument_code, position.date_str, position.position) == ("BUND", "20250606", 2)

    # The EUR commission is paid from EUR cash; nothing else moves cash at a futures trade.
    cash = capital.get_cash_balances()
    assert value(cash, "EUR") == pytest.approx(-2 * EUREX_COMMISSION)
    assert value(cash, "USD") == START_CASH
    rates = capital.get_exchange_rates()
    assert rates["USD"] == 1.0 and 0.5 < rates["EUR"] < 2.0
    # NetLiquidation (USD) is the per-currency values converted at IB's rates.
    by_currency = capital.get_net_liquidation_by_currency()
    assert by_currency.currencies() == ["EUR", "USD"]
    net = value(capital.get_net_liquidation())
    assert net == pytest.approx(by_currency.total_in_base(rates), abs=0.02)
    assert net < START_CASH  # commission (and the spread paid) in EUR, converted
    assert capital.get_base_currency() == "USD"
    # Margin for a EUR product is reported in the base currency.
    margin = value(capital.get_margin_used())
    product = frozen.catalog.product("GBL", "EUREX")
    assert margin == pytest.approx(2 * product.maint_margin * rates["EUR"], rel=1e-4)


# -------------------------------------------------------------------------------- capital
def test_capital_moves_with_fills_and_prices(frozen, frozen_conn):
    conn = frozen_conn
    capital = ibCapitalData(conn)
    assert value(capital.get_net_liquidation()) == START_CASH
    assert value(capital.get_margin_used()) == 0.0
    assert value(capital.get_excess_liquidity()) == START_CASH

    fill(conn, qualified(conn, "ES", "202506", "CME"), 2)
    cash = value(capital.get_account_values_for_tag("TotalCashValue"))
    assert cash == pytest.approx(START_CASH - 2 * ES_COMMISSION)
    maint = 2 * frozen.catalog.product("ES", "CME").maint_margin
    assert value(capital.get_margin_used()) == pytest.approx(maint)
    assert value(capital.get_maintenance_margin()) == pytest.approx(maint)
    assert value(capital.get_initial_margin()) > maint
    net_after_fill = value(capital.get_net_liquidation())
    assert value(capital.get_excess_liquidity()) == pytest.approx(net_after_fill - maint)

    frozen.clock.advance(3 * 3600)  # the market moves; cash does not
    net_later = value(capital.get_net_liquidation())
    assert net_later != net_after_fill
    assert value(capital.get_account_values_for_tag("TotalCashValue")) == pytest.approx(cash)
    [item] = frozen.broker.portfolio(ACCOUNT, frozen.clock.now())
    assert net_later == pytest.approx(cash + item.unrealized_pnl, abs=0.02)


def test_values_across_several_accounts(sims, conns, tmp_path):
    sim = sims(accounts=(ACCOUNT, OTHER), speed=0.0)
    conn = connect(sim, tmp_path, conns)
    es = qualified(conn, "ES", "202506", "CME")
    fill(conn, es, 2, account=ACCOUNT)
    fill(conn, es, 1, account=OTHER)
    fill(conn, qualified(conn, "NQ", "202506", "CME"), -1, account=OTHER)

    positions = ibContractPositionData(conn)
    summed = positions.get_all_current_positions_as_list_with_contract_objects()
    assert [(p.instrument_code, p.position) for p in summed] == [("NASDAQ", -1), ("SP500", 3)]
    mine = positions.get_all_current_positions_as_list_with_contract_objects(account_id=ACCOUNT)
    assert [(p.instrument_code, p.position) for p in mine] == [("SP500", 2)]
    by_account = positions.get_all_current_positions_by_account()
    assert {a: [(p.instrument_code, p.position) for p in ps] for a, ps in by_account.items()} == {
        ACCOUNT: [("SP500", 2)],
        OTHER: [("NASDAQ", -1), ("SP500", 1)],
    }

    capital = ibCapitalData(conn)
    both = capital.get_account_value_across_currency_across_accounts()
    assert both.currencies() == ["USD"]
    one = value(capital.get_account_value_across_currency(ACCOUNT))
    other = value(capital.get_account_value_across_currency(OTHER))
    assert one < START_CASH and other < START_CASH
    assert value(both) == pytest.approx(one + other, abs=0.01)
    assert value(capital.get_margin_used(OTHER)) > value(capital.get_margin_used(ACCOUNT)) > 0

    with pytest.raises(IBAccountNotManaged, match="DU999999"):
        capital.get_net_liquidation("DU999999")
    with pytest.raises(IBAccountNotManaged, match="DU999999"):
        positions.get_all_current_positions_as_list_with_contract_objects(account_id="DU999999")
    # A what-if needs one account: the connection's, unless another is named.
    assert capital.get_margin_for_order(futuresContract("SP500", "202506"), 1, account_id=OTHER).account == OTHER
    assert capital.get_margin_for_order(futuresContract("SP500", "202506"), 1).account == ACCOUNT


# -------------------------------------------------------------------------------- what-if
def test_what_if_margin_places_nothing(frozen, frozen_conn):
    conn = frozen_conn
    capital = ibCapitalData(conn)
    orders_before = len(frozen.broker.orders)
    es = frozen.catalog.product("ES", "CME")

    margin = capital.get_margin_for_order(futuresContract("SP500", "202506"), 3)
    assert margin.initial_margin == pytest.approx(3 * es.initial_margin)
    assert margin.maintenance_margin == pytest.approx(3 * es.maint_margin)
    assert margin.init_margin_before == 0.0 and margin.init_margin_after == pytest.approx(3 * es.initial_margin)
    assert margin.commission == pytest.approx(3 * ES_COMMISSION) and margin.commission_currency == "USD"
    assert (margin.account, margin.currency, margin.quantity) == (ACCOUNT, "USD", 3)

    # Nothing was placed: no order at the gateway, no open trade, no position, no margin in use.
    assert len(frozen.broker.orders) == orders_before
    assert conn.ib.openTrades() == []
    assert ibContractPositionData(conn).get_all_current_positions_as_list_with_contract_objects() == []
    assert value(capital.get_margin_used()) == 0.0

    # Against an existing long, a sell reduces the margin.
    fill(conn, qualified(conn, "ES", "202506", "CME"), 2)
    reducing = capital.get_margin_for_order(futuresContract("SP500", "202506"), -1)
    assert reducing.initial_margin == pytest.approx(-es.initial_margin)

    with pytest.raises(IBNoSecurityDefinition):
        capital.get_margin_for_order(futuresContract("EDOLLAR", "202306"), 1)  # expired long ago
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="non-zero integer"):
            capital.get_margin_for_order(futuresContract("SP500", "202506"), bad)


def test_snapshots_leave_ib_async_account_summary_live(frozen, frozen_conn):
    # Our one-shot summaries must not leave ib_async believing it has a live subscription.
    conn = frozen_conn
    capital = ibCapitalData(conn)
    assert value(capital.get_account_values_for_tag("TotalCashValue")) == START_CASH
    fill(conn, qualified(conn, "ES", "202506", "CME"), 1)
    [cash] = [v for v in conn.ib.accountSummary(ACCOUNT) if v.tag == "TotalCashValue"]
    assert float(cash.value) == pytest.approx(START_CASH - ES_COMMISSION)


def test_what_if_refused_on_read_only_connection(sim, conns, tmp_path):
    conn = connect(sim, tmp_path, conns, ib_readonly=True)
    capital = ibCapitalData(conn)
    with pytest.raises(IBReadOnlyError):
        capital.get_margin_for_order(futuresContract("SP500", "202506"), 1)
    assert sim.broker.orders == {}
    assert value(capital.get_net_liquidation()) == START_CASH  # reading capital is fine


# ------------------------------------------------------------------ unknown and non-futures
def config_without(tmp_path: Path, *instrument_codes: str):
    """The shipped futures configuration minus some instruments (as a user's might lack them)."""
    with open(FUTURES_CONFIG_FILE, newline="") as handle:
        rows = list(csv.reader(handle))
    path = tmp_path / "futures_without.csv"
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(row for row in rows if row[0] not in instrument_codes)
    return load_futures_config(path, private_dir=False)


def test_unknown_and_non_futures_positions(conn, tmp_path, caplog):
    fill(conn, qualified(conn, "ES", "202506", "CME"), 1)
    fill(conn, qualified(conn, "DAX", "202506", "EUREX"), 2)
    [eurusd] = conn.ib.qualifyContracts(Forex("EURUSD"))
    fx_trade = conn.ib.placeOrder(eurusd, MarketOrder("BUY", 1000))
    assert conn.wait_until(lambda: fx_trade.orderStatus.filled > 0, timeout=5)

    # With the shipped configuration DAX is known ...
    full = ibContractPositionData(conn).get_all_current_positions_as_list_with_contract_objects()
    assert [(p.instrument_code, p.position) for p in full] == [("DAX", 2), ("SP500", 1)]

    # ... without it, the DAX position is reported, not dropped silently and not a crash.
    data = ibContractPositionData(conn, futures_config=config_without(tmp_path, "DAX"))
    with caplog.at_level(logging.WARNING):
        positions = data.get_all_current_positions_as_list_with_contract_objects()
    assert [(p.instrument_code, p.position) for p in positions] == [("SP500", 1)]
    [warning] = [r for r in caplog.records if "not in the instrument configuration" in r.getMessage()]
    assert "DAX" in warning.getMessage() and warning.levelno == logging.WARNING
    [unknown] = data.get_unknown_positions()
    assert (unknown.symbol, unknown.position, unknown.account, unknown.currency) == ("DAX", 2.0, ACCOUNT, "EUR")
    assert unknown.expiry.startswith("202506") and unknown.con_id > 0
    assert "DAX" in unknown.reason
    both = data.get_positions_with_unknowns()
    assert both.known == positions and both.unknown == [unknown]
    # The FX position exists at IB but is not a futures position: ignored by both lists.
    assert any(p.contract.secType == "CASH" for p in data.ib_client.broker_get_positions())
    assert all(u.symbol != "EUR" for u in both.unknown)


def test_unknown_multiplier_is_reported(conn, tmp_path):
    # A configured symbol whose multiplier no row has (IB changed the contract size, say).
    with open(FUTURES_CONFIG_FILE, newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    col = header.index("IBMultiplier")
    for row in rows[1:]:
        if row[0] == "SP500":
            row[col] = "25"
    path = tmp_path / "futures_mult.csv"
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    fill(conn, qualified(conn, "ES", "202506", "CME"), 1)
    data = ibContractPositionData(conn, futures_config=load_futures_config(path, private_dir=False))
    found = data.get_positions_with_unknowns()
    assert found.known == []
    [unknown] = found.unknown
    assert unknown.symbol == "ES" and "multiplier" in unknown.reason


# ----------------------------------------------------------------------------- dataBlob
def test_data_blob_properties(conn, tmp_path):
    with dataBlob("positions-capital", config=test_config(tmp_path, 1), ib_conn=conn) as data:
        assert isinstance(data.broker_contract_position, ibContractPositionData)
        assert data.broker_contract_position is data.broker_contract_position
        assert data.broker_contract_position.ibconnection is conn
        assert data.broker_capital.ibconnection is conn
        assert math.isclose(value(data.broker_capital.get_net_liquidation()), START_CASH)
    assert conn.is_connected()  # the blob did not open it, so it does not close it
