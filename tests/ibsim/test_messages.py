"""Message codecs against the real client libraries.

Server→client: every encoder's output is framed, split exactly as the client splits a frame
and fed to the real decoder (ib_async 2.1.0 at 178, ib_insync 0.9.86 at 176); the values the
wrapper receives are checked and any logged decoding error fails the test.
Client→server: the bytes the real clients send are captured and decoded by ibsim.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib
import logging
import math
import os
import struct
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import ib_async
import pytest

from ibsim import messages as m
from ibsim.wire import UNSET_DOUBLE, FrameReader, ProtocolError, encode_frame

INSYNC_DIR = Path(os.environ.get("IB_INSYNC_DIR", Path.home() / ".cache" / "ibfutures" / "ib_insync-0.9.86"))


def _import_ib_insync() -> types.ModuleType:
    """ib_insync 0.9.86 lives in a private folder because its `eventkit` clashes with
    ib_async's (same folder and install command as test_ib_insync.py). Its decoder and
    client code run in-process on ib_async's eventkit, so the folder goes last on sys.path.
    """
    with contextlib.suppress(ImportError):  # not installed here: use the private folder below
        return importlib.import_module("ib_insync")
    if not (INSYNC_DIR / "ib_insync").exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", str(INSYNC_DIR), "ib_insync==0.9.86"],
            check=True,
        )  # fmt: skip
    sys.path.append(str(INSYNC_DIR))
    return importlib.import_module("ib_insync")


ib_insync = _import_ib_insync()
LIBS = {178: ib_async, 176: ib_insync}
VERSIONS = [178, 176]
VERSION_IDS = ["ib_async-178", "ib_insync-176"]

ES = m.ContractFields(
    con_id=495512563,
    symbol="ES",
    sec_type="FUT",
    last_trade_date_or_contract_month="20251219",
    multiplier="50",
    exchange="CME",
    currency="USD",
    local_symbol="ESZ5",
    trading_class="ES",
)


def client_fields(fields: list[object]) -> list[str]:
    """Frame the message and split it the way ib_async/ib_insync Client does."""
    frame = encode_frame(fields)
    n = struct.unpack(">I", frame[:4])[0]
    assert n == len(frame) - 4
    text = frame[4 : 4 + n].decode(errors="backslashreplace")
    parts = text.split("\0")
    parts.pop()
    return parts


class Recorder:
    """Wrapper stand-in recording every callback the decoder makes (no state machine)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []
        self.ib = types.SimpleNamespace(TimezoneTWS=None)
        self.defaultTimezone = dt.UTC

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("__"):
            raise AttributeError(name)

        def record(*args: object) -> None:
            self.calls.append((name, args))

        return record


class ClientDecoder:
    """The real client decoder at one version; fails on any logged decoding error."""

    def __init__(self, version: int, caplog: pytest.LogCaptureFixture) -> None:
        self.version = version
        self.lib = LIBS[version]
        self.recorder = Recorder()
        self.decoder = self.lib.decoder.Decoder(self.recorder, version)
        self.caplog = caplog

    def __call__(self, fields: list[object]) -> list[tuple[str, tuple]]:
        self.recorder.calls.clear()
        self.caplog.clear()
        self.decoder.interpret(client_fields(fields))
        assert_no_errors(self.caplog)
        return list(self.recorder.calls)

    def one(self, fields: list[object], method: str) -> tuple:
        calls = self(fields)
        assert [c[0] for c in calls] == [method], calls
        return calls[0][1]


def assert_no_errors(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, "\n".join(r.getMessage() + str(r.exc_info or "") for r in bad)


@pytest.fixture(params=VERSIONS, ids=VERSION_IDS)
def client(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> ClientDecoder:
    caplog.set_level(logging.INFO)
    return ClientDecoder(request.param, caplog)


# ======================================================================================
# Exact field counts (official decoder: 1 msg id + 1 version + wrapper params)
# ======================================================================================


def _sample_messages(version: int) -> dict[str, tuple[list[object], int]]:
    """Encoder output and the field count (incl. msg id) the clients expect at version."""
    return {
        "managedAccounts": (m.managed_accounts(["DU123", "DU456"]), 3),
        "nextValidId": (m.next_valid_id(7), 3),
        "error": (m.error(5, 200, "No security definition", version), 6),
        "contractDataEnd": (m.contract_data_end(5), 3),
        "contractData": (m.contract_data(5, m.ContractDetailsData(), version), 40),
        "historicalDataUpdate": (
            m.historical_data_update(5, -1, "1700000000", 1, 2, 3, 0.5, 1.5, 10),
            10,
        ),
        "headTimestamp": (m.head_timestamp(5, "20100101-00:00:00"), 3),
        "tickReqParams": (m.tick_req_params(5, 0.25, "", 3), 5),
        "marketDataType": (m.market_data_type(5, 3), 4),
        "tickPrice": (m.tick_price(5, 1, 5012.25, 3), 7),
        "tickSize": (m.tick_size(5, 0, 3), 5),
        "tickString": (m.tick_string(5, 45, "1700000000"), 5),
        "tickGeneric": (m.tick_generic(5, 49, 0.0), 5),
        "tickSnapshotEnd": (m.tick_snapshot_end(5), 3),
        "realtimeBar": (m.real_time_bar(5, 1700000000, 1, 2, 0.5, 1.5, 10, 1.2, 3), 11),
        "openOrder": (
            m.open_order(m.OpenOrderData(), version),
            136 if version < 177 else 135,
        ),
        "orderStatus": (m.order_status(1, "Submitted", 0, 1, 0, 9, 0, 0, 1), 12),
        "openOrderEnd": (m.open_order_end(), 2),
        "execDetails": (
            m.exec_details(-1, es_execution(), version),
            31 if version < 178 else 32,
        ),
        "execDetailsEnd": (m.exec_details_end(5), 3),
        "commissionReport": (m.commission_report("e1", 2.1, "USD"), 8),
        "completedOrder": (
            m.completed_order(m.OpenOrderData(), version),
            101 if version < 177 else 100,
        ),
        "completedOrdersEnd": (m.completed_orders_end(), 1),
        "position": (m.position("DU123", ES, 1, 250000.0), 16),
        "positionEnd": (m.position_end(), 2),
        "updateAccountValue": (
            m.update_account_value("NetLiquidation", "1", "USD", "DU123"),
            6,
        ),
        "updatePortfolio": (
            m.update_portfolio(ES, 1, 5000, 250000, 250000, 0, 0, "DU123"),
            20,
        ),
        "updateAccountTime": (m.update_account_time("12:34"), 3),
        "accountDownloadEnd": (m.account_download_end("DU123"), 3),
        "accountUpdateMulti": (
            m.account_update_multi(5, "DU123", "", "NetLiquidation", "1", "USD"),
            8,
        ),
        "accountUpdateMultiEnd": (m.account_update_multi_end(5), 3),
        "accountSummary": (
            m.account_summary(5, "DU123", "NetLiquidation", "1", "USD"),
            7,
        ),
        "accountSummaryEnd": (m.account_summary_end(5), 3),
        "currentTime": (m.current_time(1700000000), 3),
        "pnl": (m.pnl(5, 1, 2, 3), 5),
        "pnlSingle": (m.pnl_single(5, 1, 2, 3, 4, 5), 7),
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_field_counts_match_the_spec(version: int) -> None:
    for name, (fields, expected) in _sample_messages(version).items():
        assert len(client_fields(fields)) == expected, name


@pytest.mark.parametrize("version", VERSIONS)
def test_contract_data_count_grows_by_sec_ids(version: int) -> None:
    d = m.ContractDetailsData(sec_id_list=[("ISIN", "X1"), ("CUSIP", "Y")])
    assert len(m.contract_data(1, d, version)) == 44


def test_error_has_no_json_field_before_166() -> None:
    assert m.error(1, 200, "x", 178) == [4, 2, 1, 200, "x", ""]
    with pytest.raises(ValueError):
        m.open_order(m.OpenOrderData(), 150)


def test_every_sample_decodes_without_error(client: ClientDecoder) -> None:
    for name, (fields, _) in _sample_messages(client.version).items():
        calls = client(fields)
        assert calls, f"{name}: the decoder made no wrapper call"


def test_harness_detects_a_wrong_field_count(client: ClientDecoder) -> None:
    # The check must be able to fail: a tickPrice with one extra field is rejected.
    with pytest.raises(AssertionError):
        client([*m.tick_price(1, 1, 5012.25, 3), "extra"])


# ======================================================================================
# Values through the real decoders (Recorder wrapper)
# ======================================================================================


def test_connection_messages(client: ClientDecoder) -> None:
    assert client.one(m.managed_accounts(["DU1", "DU2"]), "managedAccounts") == ("DU1,DU2",)
    assert client.one(m.next_valid_id(530), "nextValidId") == (530,)
    assert client.one(m.current_time(1700000001), "currentTime") == (1700000001,)


def test_error_message(client: ClientDecoder) -> None:
    args = client.one(
        m.error(-1, 2104, "Market data farm connection is OK:usfarm", client.version),
        "error",
    )
    assert args == (-1, 2104, "Market data farm connection is OK:usfarm", "")
    args = client.one(m.error(12, 201, "Order rejected", client.version, '{"x":1}'), "error")
    assert args == (12, 201, "Order rejected", '{"x":1}')


def es_details() -> m.ContractDetailsData:
    return m.ContractDetailsData(
        symbol="ES",
        sec_type="FUT",
        last_trade_date_or_contract_month="20251219 08:30 US/Central",
        exchange="CME",
        currency="USD",
        local_symbol="ESZ5",
        market_name="ES",
        trading_class="ES",
        con_id=495512563,
        min_tick=0.25,
        multiplier="50",
        order_types="LMT,MKT,STP,STPLMT",
        valid_exchanges="CME,QBALGO",
        price_magnifier=1,
        under_con_id=11004968,
        long_name="E-mini S&P 500 \u00e9",
        contract_month="202512",
        time_zone_id="US/Central",
        trading_hours="20251201:1700-20251202:1600",
        liquid_hours="20251202:0830-20251202:1600",
        sec_id_list=[("ISIN", "US000")],
        agg_group=None,
        under_symbol="ES",
        under_sec_type="IND",
        market_rule_ids="67,67",
        real_expiration_date="20251219",
    )


def test_contract_details_values(client: ClientDecoder) -> None:
    req_id, cd = client.one(m.contract_data(-10, es_details(), client.version), "contractDetails")
    c = cd.contract
    assert req_id == -10
    assert (c.conId, c.symbol, c.secType, c.localSymbol) == (
        495512563,
        "ES",
        "FUT",
        "ESZ5",
    )
    assert c.lastTradeDateOrContractMonth == "20251219"
    assert cd.lastTradeTime == "08:30"
    assert (c.exchange, c.currency, c.multiplier, c.tradingClass) == (
        "CME",
        "USD",
        "50",
        "ES",
    )
    assert cd.minTick == 0.25 and cd.priceMagnifier == 1 and cd.underConId == 11004968
    assert cd.longName == "E-mini S&P 500 \u00e9"  # escaped on the wire, unescaped by the client
    assert cd.timeZoneId == "US/Central" and cd.contractMonth == "202512"
    assert cd.marketRuleIds == "67,67" and cd.realExpirationDate == "20251219"
    assert cd.aggGroup == 2147483647 and cd.underSecType == "IND"
    assert [(t.tag, t.value) for t in cd.secIdList] == [("ISIN", "US000")]
    assert (cd.minSize, cd.sizeIncrement, cd.suggestedSizeIncrement) == (1, 1, 1)
    assert client.one(m.contract_data_end(-10), "contractDetailsEnd") == (-10,)


def test_contract_details_cash_pair(client: ClientDecoder) -> None:
    d = m.ContractDetailsData(
        symbol="EUR",
        sec_type="CASH",
        exchange="IDEALPRO",
        currency="USD",
        local_symbol="EUR.USD",
        market_name="EUR.USD",
        trading_class="EUR.USD",
        con_id=12087792,
        min_tick=5e-05,
        long_name="European Monetary Union Euro",
        time_zone_id="US/Eastern",
        min_size=1.0,
        size_increment=1.0,
        suggested_size_increment=20000.0,
    )
    fields = client_fields(m.contract_data(3, d, client.version))
    assert fields[13] == "0.00005"
    _, cd = client.one(m.contract_data(3, d, client.version), "contractDetails")
    assert cd.contract.localSymbol == "EUR.USD" and cd.minTick == 5e-05
    assert cd.contract.lastTradeDateOrContractMonth == ""
    assert cd.suggestedSizeIncrement == 20000


def test_historical_data_values(client: ClientDecoder) -> None:
    rows = [
        (
            "20250102 09:30:00 US/Central",
            5012.25,
            5013.0,
            5011.75,
            5012.5,
            120,
            5012.4,
            37,
        ),
        (
            "20250102 09:31:00 US/Central",
            5012.5,
            5014.0,
            5012.0,
            5013.75,
            80.0,
            5013.1,
            20,
        ),
    ]
    fields = m.historical_data(7, "20250101 09:30:00 US/Central", "20250102 09:32:00 US/Central", rows)
    assert len(fields) == 5 + 8 * len(rows)
    calls = client(fields)
    assert [c[0] for c in calls] == [
        "historicalData",
        "historicalData",
        "historicalDataEnd",
    ]
    bar = calls[0][1][1]
    assert (bar.date, bar.open, bar.high, bar.low, bar.close) == (
        rows[0][0],
        5012.25,
        5013.0,
        5011.75,
        5012.5,
    )
    assert (bar.volume, bar.average, bar.barCount) == (120, 5012.4, 37)
    assert calls[2][1] == (
        7,
        "20250101 09:30:00 US/Central",
        "20250102 09:32:00 US/Central",
    )


def test_historical_data_bid_ask_bars_with_minus_one(client: ClientDecoder) -> None:
    rows = [("1711637220", 1.0825, 1.0827, 1.0824, 1.0826, -1, -1.0, -1)]
    calls = client(m.historical_data(1, "a", "b", rows))
    bar = calls[0][1][1]
    assert (bar.date, bar.volume, bar.average, bar.barCount) == (
        "1711637220",
        -1,
        -1,
        -1,
    )


def test_historical_data_update_order(client: ClientDecoder) -> None:
    fields = m.historical_data_update(9, -1, "1711637280", 1.0, 1.5, 2.0, 0.5, -1.0, -1)
    req_id, bar = client.one(fields, "historicalDataUpdate")
    assert req_id == 9
    assert (bar.open, bar.high, bar.low, bar.close) == (1.0, 2.0, 0.5, 1.5)
    assert (bar.barCount, bar.date, bar.volume) == (-1, "1711637280", -1)


def test_market_data_messages(client: ClientDecoder) -> None:
    assert client.one(m.tick_req_params(4, 0.25, "9c0001", 3), "tickReqParams") == (
        4,
        0.25,
        "9c0001",
        3,
    )
    assert client.one(m.market_data_type(4, 3), "marketDataType") == (4, 3)
    assert client.one(m.tick_price(4, 1, 5012.25, 12, 1), "priceSizeTick") == (
        4,
        1,
        5012.25,
        12.0,
    )
    assert client.one(m.tick_price(4, 9, 5000.0, None), "priceSizeTick") == (
        4,
        9,
        5000.0,
        0.0,
    )
    assert client.one(m.tick_size(4, 8, 123456), "tickSize") == (4, 8, 123456.0)
    assert client.one(m.tick_string(4, 45, "1700000000"), "tickString") == (
        4,
        45,
        "1700000000",
    )
    assert client.one(m.tick_generic(4, 49, 0.0), "tickGeneric") == (4, 49, 0.0)
    assert client.one(m.tick_snapshot_end(4), "tickSnapshotEnd") == (4,)
    bar = client.one(m.real_time_bar(4, 1700000000, 1.0, 2.0, 0.5, 1.5, 10, 1.2, 3), "realtimeBar")
    assert bar == (4, 1700000000, 1.0, 2.0, 0.5, 1.5, 10.0, 1.2, 3)


def es_order(**kw: object) -> m.OpenOrderData:
    base = dict(
        m.contract_kwargs(ES),
        order_id=12,
        right="?",
        action="BUY",
        total_quantity=2.0,
        order_type="LMT",
        lmt_price=5012.25,
        tif="GTC",
        account="DU123",
        order_ref="strat-1",
        client_id=3,
        perm_id=2138440195,
        outside_rth=True,
        status="Submitted",
    )
    base.update(kw)
    return m.OpenOrderData(**base)  # type: ignore[arg-type]


def test_open_order_values(client: ClientDecoder) -> None:
    order_id, c, o, st = client.one(m.open_order(es_order(), client.version), "openOrder")
    assert order_id == 12
    assert (c.conId, c.localSymbol, c.lastTradeDateOrContractMonth, c.right) == (
        495512563,
        "ESZ5",
        "20251219",
        "?",
    )
    assert (o.orderId, o.clientId, o.permId, o.account) == (12, 3, 2138440195, "DU123")
    assert (o.action, o.totalQuantity, o.orderType, o.lmtPrice) == (
        "BUY",
        2.0,
        "LMT",
        5012.25,
    )
    assert (o.tif, o.orderRef, o.outsideRth, o.whatIf) == (
        "GTC",
        "strat-1",
        True,
        False,
    )
    assert o.auxPrice == 0.0 and o.displaySize == 2147483647 and o.ocaType == 3
    assert o.deltaNeutralOrderType == "None"
    assert o.triggerPrice == UNSET_DOUBLE and o.minQty == 2147483647 and o.percentOffset == UNSET_DOUBLE
    assert st.status == "Submitted"
    assert float(st.initMarginChange) == UNSET_DOUBLE
    assert o.clearingIntent == "IB" and o.dontUseAutoPriceForHedge is True


def test_open_order_what_if_and_stop(client: ClientDecoder) -> None:
    o = es_order(
        order_type="STP LMT",
        lmt_price=5000.0,
        aux_price=5001.0,
        what_if=True,
        status="PreSubmitted",
        init_margin_change="15000.5",
        maint_margin_change="12000.0",
        init_margin_after="15000.5",
        commission=2.5,
        commission_currency="USD",
        good_till_date="20251231 23:59:59 US/Central",
    )
    _, _, order, st = client.one(m.open_order(o, client.version), "openOrder")
    assert (order.orderType, order.lmtPrice, order.auxPrice, order.whatIf) == (
        "STP LMT",
        5000.0,
        5001.0,
        True,
    )
    assert order.goodTillDate == "20251231 23:59:59 US/Central"
    assert (st.status, st.initMarginChange, st.maintMarginChange) == (
        "PreSubmitted",
        "15000.5",
        "12000.0",
    )
    assert st.commission == 2.5 and st.commissionCurrency == "USD"
    assert st.minCommission == UNSET_DOUBLE


def test_open_order_optional_blocks(client: ClientDecoder) -> None:
    # Algo params, hedge param, scale block, PEG BENCH block: later fields must stay aligned.
    o = es_order(
        algo_strategy="Adaptive",
        algo_params=[("adaptivePriority", "Normal")],
        hedge_type="D",
        hedge_param="0.5",
        scale_price_increment=0.25,
        order_type="PEG BENCH",
        order_ref="after-blocks",
        min_compete_size=5,
    )
    _, _, order, st = client.one(m.open_order(o, client.version), "openOrder")
    assert order.algoStrategy == "Adaptive"
    assert [(t.tag, t.value) for t in order.algoParams] == [("adaptivePriority", "Normal")]
    assert (order.hedgeType, order.hedgeParam, order.scalePriceIncrement) == (
        "D",
        "0.5",
        0.25,
    )
    assert st.status == "Submitted" and order.minCompeteSize == 5 and order.orderRef == "after-blocks"


def test_completed_order_values(client: ClientDecoder) -> None:
    o = es_order(
        status="Filled",
        completed_time="20251120 15:01:02 America/Chicago",
        completed_status="Filled Size: 2",
        filled_quantity=2.0,
        parent_perm_id=None,
    )
    c, order, st = client.one(m.completed_order(o, client.version), "completedOrder")
    assert (c.conId, c.localSymbol) == (495512563, "ESZ5")
    assert (order.permId, order.orderRef, order.lmtPrice, order.filledQuantity) == (
        2138440195,
        "strat-1",
        5012.25,
        2.0,
    )
    assert (st.status, st.completedTime, st.completedStatus) == (
        "Filled",
        "20251120 15:01:02 America/Chicago",
        "Filled Size: 2",
    )
    assert client.one(m.completed_orders_end(), "completedOrdersEnd") == ()


def test_order_status_values(client: ClientDecoder) -> None:
    fields = m.order_status(12, "Filled", 2, 0, 5012.25, 2138440195, 0, 5012.25, 3, "", 0.0)
    args = client.one(fields, "orderStatus")
    assert args == (12, "Filled", 2.0, 0.0, 5012.25, 2138440195, 0, 5012.25, 3, "", 0.0)
    assert client.one(m.open_order_end(), "openOrderEnd") == ()


def es_execution(**kw: object) -> m.ExecutionData:
    base = dict(
        m.contract_kwargs(ES),
        order_id=12,
        exec_id="0000e9b5.6555a859.01.01",
        time_str="20251120 15:01:02 US/Central",
        account="DU123",
        side="BOT",
        shares=2.0,
        price=5012.25,
        perm_id=2138440195,
        client_id=3,
        cum_qty=2.0,
        avg_price=5012.25,
        order_ref="strat-1",
        last_liquidity=2,
    )
    base.update(kw)
    return m.ExecutionData(**base)  # type: ignore[arg-type]


def test_exec_details_values(client: ClientDecoder) -> None:
    req_id, c, ex = client.one(m.exec_details(-1, es_execution(), client.version), "execDetails")
    assert req_id == -1
    assert (c.conId, c.localSymbol, c.exchange, c.lastTradeDateOrContractMonth) == (
        495512563,
        "ESZ5",
        "CME",
        "20251219",
    )
    assert (ex.orderId, ex.execId, ex.side, ex.shares, ex.price) == (
        12,
        "0000e9b5.6555a859.01.01",
        "BOT",
        2.0,
        5012.25,
    )
    assert (ex.permId, ex.clientId, ex.cumQty, ex.avgPrice, ex.orderRef) == (
        2138440195,
        3,
        2.0,
        5012.25,
        "strat-1",
    )
    assert (ex.acctNumber, ex.exchange, ex.lastLiquidity) == ("DU123", "CME", 2)
    want = dt.datetime(2025, 11, 20, 15, 1, 2, tzinfo=ZoneInfo("US/Central"))
    assert ex.time == want
    assert client.one(m.exec_details_end(5), "execDetailsEnd") == (5,)


def test_exec_details_pending_price_revision_at_178(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dec = ClientDecoder(178, caplog)
    _, _, ex = dec.one(m.exec_details(5, es_execution(pending_price_revision=True), 178), "execDetails")
    assert ex.pendingPriceRevision is True


def test_commission_report_values(client: ClientDecoder) -> None:
    (report,) = client.one(m.commission_report("e1", 2.1, "USD"), "commissionReport")
    assert (report.execId, report.commission, report.currency) == ("e1", 2.1, "USD")
    assert report.realizedPNL == UNSET_DOUBLE and report.yield_ == UNSET_DOUBLE
    assert report.yieldRedemptionDate == 0
    (report,) = client.one(m.commission_report("e2", 2.1, "USD", -37.5), "commissionReport")
    assert report.realizedPNL == -37.5


def test_position_and_portfolio_values(client: ClientDecoder) -> None:
    account, c, pos, avg = client.one(m.position("DU123", ES, -2, 250562.5), "position")
    assert (account, c.conId, c.localSymbol, c.exchange, pos, avg) == (
        "DU123",
        495512563,
        "ESZ5",
        "CME",
        -2,
        250562.5,
    )
    assert client.one(m.position_end(), "positionEnd") == ()
    es = m.ContractFields(**{**m.contract_kwargs(ES), "primary_exchange": "CME"})
    args = client.one(
        m.update_portfolio(es, 2, 5013.0, 501300.0, 250562.5, 175.0, 0.0, "DU123"),
        "updatePortfolio",
    )
    c, *values = args
    assert (c.conId, c.localSymbol, c.primaryExchange, c.multiplier) == (
        495512563,
        "ESZ5",
        "CME",
        "50",
    )
    assert values == [2.0, 5013.0, 501300.0, 250562.5, 175.0, 0.0, "DU123"]


def test_account_messages(client: ClientDecoder) -> None:
    acct = "DU123"
    assert client.one(
        m.update_account_value("NetLiquidation", "100000.00", "USD", acct),
        "updateAccountValue",
    ) == (
        "NetLiquidation",
        "100000.00",
        "USD",
        acct,
    )
    assert client.one(m.update_account_time("15:04"), "updateAccountTime") == ("15:04",)
    assert client.one(m.account_download_end(acct), "accountDownloadEnd") == (acct,)
    assert client.one(
        m.account_update_multi(2, acct, "", "CashBalance", "5", "USD"),
        "accountUpdateMulti",
    ) == (
        2,
        acct,
        "",
        "CashBalance",
        "5",
        "USD",
    )
    assert client.one(m.account_update_multi_end(2), "accountUpdateMultiEnd") == (2,)
    assert client.one(m.account_summary(3, acct, "BuyingPower", "4000", "USD"), "accountSummary") == (
        3,
        acct,
        "BuyingPower",
        "4000",
        "USD",
    )
    assert client.one(m.account_summary_end(3), "accountSummaryEnd") == (3,)
    assert client.one(m.pnl(8, 12.5, -3.0, 0.0), "pnl") == (8, 12.5, -3.0, 0.0)
    assert client.one(m.pnl_single(9, 2, 12.5, -3.0, 0.0, 501300.0), "pnlSingle") == (
        9,
        2.0,
        12.5,
        -3.0,
        0.0,
        501300.0,
    )
    assert client.one(m.head_timestamp(6, "20100101-13:30:00"), "headTimestamp") == (
        6,
        "20100101-13:30:00",
    )


# ======================================================================================
# Through the real stateful wrapper of IB()
# ======================================================================================


def run_in_ib(version: int, caplog: pytest.LogCaptureFixture, scenario: Callable) -> object:
    """Run scenario(ib, feed) inside an event loop with a real IB() wrapper."""
    lib = LIBS[version]

    async def main() -> object:
        ib = lib.IB()
        decoder = lib.decoder.Decoder(ib.wrapper, version)

        def feed(*messages: list[object]) -> None:
            for fields in messages:
                decoder.interpret(client_fields(fields))

        return scenario(ib, feed)

    caplog.set_level(logging.INFO)
    result = asyncio.run(main())
    assert_no_errors(caplog)
    return result


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_ib_contract_details_request(version: int, caplog: pytest.LogCaptureFixture) -> None:
    def scenario(ib, feed):  # type: ignore[no-untyped-def]
        fut = ib.wrapper.startReq(21)
        d2 = es_details()
        d2.local_symbol, d2.con_id = "ESH6", 551601561
        feed(
            m.contract_data(21, es_details(), version),
            m.contract_data(21, d2, version),
            m.contract_data_end(21),
        )
        return fut.result()

    result = run_in_ib(version, caplog, scenario)
    assert [cd.contract.localSymbol for cd in result] == ["ESZ5", "ESH6"]  # type: ignore[attr-defined]
    assert result[1].contract.conId == 551601561  # type: ignore[index]


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_ib_historical_bars(version: int, caplog: pytest.LogCaptureFixture) -> None:
    rows = [
        (
            "20250102 09:30:00 US/Central",
            5012.25,
            5013.0,
            5011.75,
            5012.5,
            120,
            5012.4,
            37,
        ),
        (
            "20250102 09:31:00 US/Central",
            5012.5,
            5014.0,
            5012.0,
            5013.75,
            80,
            5013.1,
            20,
        ),
    ]
    daily = [("20250102", 5000.0, 5050.0, 4990.0, 5012.5, 1500000, 5020.0, 90000)]

    def scenario(ib, feed):  # type: ignore[no-untyped-def]
        fut1, fut2 = ib.wrapper.startReq(31), ib.wrapper.startReq(32)
        feed(
            m.historical_data(31, "s", "e", rows),
            m.historical_data(32, "s", "e", daily),
        )
        return fut1.result(), fut2.result()

    intraday, days = run_in_ib(version, caplog, scenario)  # type: ignore[misc]
    assert intraday[0].date == dt.datetime(2025, 1, 2, 9, 30, tzinfo=ZoneInfo("US/Central"))
    assert [b.close for b in intraday] == [5012.5, 5013.75]
    assert days[0].date == dt.date(2025, 1, 2) and days[0].volume == 1500000


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_ib_order_lifecycle(version: int, caplog: pytest.LogCaptureFixture) -> None:
    def scenario(ib, feed):  # type: ignore[no-untyped-def]
        feed(
            m.open_order(es_order(status="PreSubmitted"), version),
            m.order_status(12, "PreSubmitted", 0, 2, 0, 2138440195, 0, 0, 3),
            m.exec_details(-1, es_execution(), version),
            m.open_order(es_order(status="Filled"), version),
            m.order_status(12, "Filled", 2, 0, 5012.25, 2138440195, 0, 5012.25, 3),
            m.commission_report("0000e9b5.6555a859.01.01", 4.2, "USD"),
        )
        return ib.trades()

    (trade,) = run_in_ib(version, caplog, scenario)  # type: ignore[misc]
    assert trade.orderStatus.status == "Filled" and trade.orderStatus.filled == 2
    assert trade.order.orderRef == "strat-1" and trade.order.lmtPrice == 5012.25
    assert trade.contract.localSymbol == "ESZ5"
    (fill,) = trade.fills
    assert fill.execution.shares == 2 and fill.commissionReport.commission == 4.2


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_ib_what_if_and_completed_orders(version: int, caplog: pytest.LogCaptureFixture) -> None:
    def scenario(ib, feed):  # type: ignore[no-untyped-def]
        what_if = ib.wrapper.startReq(40)
        if version == 178:
            # ib_async waits for real margins; ib_insync compares the text with Python's
            # repr of the unset double, so TWS's unset text would already resolve it.
            feed(m.open_order(es_order(order_id=40, what_if=True), version))
            assert not what_if.done()
        feed(m.open_order(es_order(order_id=40, what_if=True, init_margin_change="15000"), version))
        done = ib.wrapper.startReq("completedOrders")
        feed(
            m.completed_order(es_order(status="Cancelled"), version),
            m.completed_orders_end(),
        )
        return what_if.result(), done.result()

    state, completed = run_in_ib(version, caplog, scenario)  # type: ignore[misc]
    assert state.initMarginChange == "15000"
    assert [t.orderStatus.status for t in completed] == ["Cancelled"]


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_ib_positions_portfolio_and_ticker(version: int, caplog: pytest.LogCaptureFixture) -> None:
    def scenario(ib, feed):  # type: ignore[no-untyped-def]
        lib = LIBS[version]
        contract = lib.Contract(conId=ES.con_id)
        ticker = ib.wrapper.startTicker(50, contract, "mktData")
        feed(
            m.position("DU123", ES, 2, 250562.5),
            m.update_portfolio(ES, 2, 5013.0, 501300.0, 250562.5, 175.0, 0.0, "DU123"),
            m.tick_price(50, 1, 5012.0, 5),
            m.tick_price(50, 2, 5012.25, 7),
            m.tick_size(50, 8, 1234),
        )
        return ib.positions(), ib.wrapper.portfolio["DU123"], ticker

    positions, portfolio, ticker = run_in_ib(version, caplog, scenario)  # type: ignore[misc]
    assert positions[0].contract.localSymbol == "ESZ5" and positions[0].position == 2
    assert portfolio[ES.con_id].marketValue == 501300.0
    assert (ticker.bid, ticker.bidSize, ticker.ask, ticker.askSize, ticker.volume) == (
        5012.0,
        5,
        5012.25,
        7,
        1234,
    )


# ======================================================================================
# Client → server: bytes the real clients send, decoded by ibsim
# ======================================================================================


def captured(version: int, action: Callable) -> list[list[str]]:
    """Run action(client, lib) on an unconnected client; return the frames it would send."""
    lib = LIBS[version]
    ib = lib.IB()
    client = ib.client
    client.connState = client.CONNECTED
    client._serverVersion = version
    client.clientId = 7
    frames: list[bytes] = []
    client.sendMsg = lambda msg: frames.append(client._prefix(msg.encode()))
    try:
        action(client, lib)
    finally:
        client.connState = client.DISCONNECTED
    reader = FrameReader(expect_handshake=False)
    data = b"".join(frames)
    out: list[list[str]] = []
    for i in range(0, len(data), 7):  # odd-sized chunks: frames split across feeds
        out += reader.feed(data[i : i + 7])
    assert reader.buffered == 0
    return out


def decode_all(version: int, action: Callable) -> list[object]:
    return [m.decode_request(int(f[0]), f, version) for f in captured(version, action)]


def future(lib: types.ModuleType) -> object:
    return lib.Contract(
        conId=495512563,
        symbol="ES",
        secType="FUT",
        lastTradeDateOrContractMonth="202512",
        exchange="CME",
        currency="USD",
        localSymbol="ESZ5",
        multiplier="50",
        tradingClass="ES",
    )


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_handshake_bytes_of_the_real_client(version: int) -> None:
    cls = LIBS[version].client.Client
    data = b"API\0" + struct.pack(">I", 9) + b"v%d..%d" % (cls.MinClientVersion, cls.MaxClientVersion)
    reader = FrameReader()
    assert reader.feed(data) == []
    from ibsim.wire import negotiate

    lo, hi, options = reader.handshake  # type: ignore[misc]
    assert (lo, options) == (157, "") and negotiate(lo, hi) == version


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_place_order_variants_decode_completely(version: int) -> None:
    def action(client, lib):  # type: ignore[no-untyped-def]
        fut = future(lib)
        client.placeOrder(10, fut, lib.MarketOrder("BUY", 1))
        client.placeOrder(
            11,
            fut,
            lib.LimitOrder("SELL", 2, 5012.25, orderRef="strat-1", tif="GTC", outsideRth=True),
        )
        client.placeOrder(12, fut, lib.StopOrder("SELL", 1, 4990.5, account="DU123"))
        client.placeOrder(
            13,
            fut,
            lib.StopLimitOrder("BUY", 3, 5020.0, 5019.75, transmit=False, parentId=11),
        )
        client.placeOrder(14, fut, lib.MarketOrder("BUY", 1, whatIf=True))

    reqs = decode_all(version, action)
    assert all(isinstance(r, m.PlaceOrder) for r in reqs)
    mkt, lmt, stp, stplmt, what_if = reqs  # type: ignore[misc]
    for r in reqs:
        c = r.contract  # type: ignore[attr-defined]
        assert (c.con_id, c.symbol, c.sec_type, c.local_symbol, c.exchange) == (
            495512563,
            "ES",
            "FUT",
            "ESZ5",
            "CME",
        )
        assert c.last_trade_date_or_contract_month == "202512" and c.multiplier == "50"
    assert [r.order_id for r in reqs] == [10, 11, 12, 13, 14]  # type: ignore[attr-defined]
    o = mkt.order
    assert (o.action, o.total_quantity, o.order_type, o.lmt_price, o.aux_price) == (
        "BUY",
        1.0,
        "MKT",
        None,
        None,
    )
    assert o.transmit is True and o.what_if is False and o.open_close == "O"
    o = lmt.order
    assert (
        o.action,
        o.total_quantity,
        o.lmt_price,
        o.tif,
        o.order_ref,
        o.outside_rth,
    ) == (
        "SELL",
        2.0,
        5012.25,
        "GTC",
        "strat-1",
        True,
    )
    o = stp.order
    assert (o.order_type, o.aux_price, o.lmt_price, o.account) == (
        "STP",
        4990.5,
        None,
        "DU123",
    )
    o = stplmt.order
    assert (o.order_type, o.lmt_price, o.aux_price, o.transmit, o.parent_id) == (
        "STP LMT",
        5020.0,
        5019.75,
        False,
        11,
    )
    assert what_if.order.what_if is True


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_place_order_conditional_blocks(version: int) -> None:
    def action(client, lib):  # type: ignore[no-untyped-def]
        fut = future(lib)
        algo = lib.LimitOrder("BUY", 1, 5000.0, algoStrategy="Adaptive")
        algo.algoParams = [lib.TagValue("adaptivePriority", "Normal")]
        client.placeOrder(20, fut, algo)
        hedge = lib.LimitOrder("BUY", 1, 5000.0, hedgeType="F", hedgeParam="1", orderRef="h")
        client.placeOrder(21, fut, hedge)
        cond = lib.LimitOrder("BUY", 1, 5000.0, orderRef="c")
        cond.conditions = [
            lib.PriceCondition(price=5000.0, conId=495512563, exch="CME"),
            lib.TimeCondition(time="20251231 15:00:00 US/Central"),
        ]
        client.placeOrder(22, fut, cond)
        scale = lib.LimitOrder(
            "BUY",
            4,
            5000.0,
            scalePriceIncrement=0.25,
            scaleInitLevelSize=1,
            orderRef="s",
        )
        client.placeOrder(23, fut, scale)
        dn = lib.LimitOrder("BUY", 1, 5000.0, deltaNeutralOrderType="LMT", orderRef="dn")
        client.placeOrder(24, fut, dn)
        client.placeOrder(
            25,
            fut,
            lib.Order(action="BUY", totalQuantity=1, orderType="PEG MID", orderRef="pm"),
        )
        client.placeOrder(
            26,
            fut,
            lib.Order(action="BUY", totalQuantity=1, orderType="PEG BENCH", orderRef="pb"),
        )
        best = lib.Order(
            action="BUY",
            totalQuantity=1,
            orderType="PEG BEST",
            competeAgainstBestOffset=math.inf,
            orderRef="pbst",
        )
        client.placeOrder(27, fut, best)
        bag = lib.Contract(secType="BAG", symbol="ES", exchange="CME", currency="USD")
        bag.comboLegs = [lib.ComboLeg(conId=1, ratio=1, action="BUY", exchange="CME")]
        combo = lib.LimitOrder("BUY", 1, 5.0, orderRef="bag")
        combo.orderComboLegs = [lib.OrderComboLeg(price=2.5)]
        combo.smartComboRoutingParams = [lib.TagValue("NonGuaranteed", "1")]
        client.placeOrder(28, bag, combo)

    algo, hedge, cond, scale, dn, peg_mid, peg_bench, peg_best, bag = decode_all(version, action)  # type: ignore[misc]
    assert algo.order.algo_params == [("adaptivePriority", "Normal")]
    assert (hedge.order.hedge_type, hedge.order.hedge_param, hedge.order.order_ref) == (
        "F",
        "1",
        "h",
    )
    assert [c[0] for c in cond.order.conditions] == [
        "1",
        "3",
    ] and cond.order.order_ref == "c"
    assert scale.order.scale_price_increment == 0.25 and len(scale.order.scale_fields) == 7
    assert dn.order.delta_neutral_order_type == "LMT" and dn.order.order_ref == "dn"
    assert peg_mid.order.order_type == "PEG MID" and len(peg_bench.order.peg_bench_fields) == 5
    assert peg_best.order.compete_against_best_offset == math.inf
    assert [leg.con_id for leg in bag.contract.combo_legs] == [1]
    assert bag.order.order_combo_leg_prices == [2.5] and bag.order.order_ref == "bag"


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_other_requests_decode(version: int) -> None:
    def action(client, lib):  # type: ignore[no-untyped-def]
        fut = future(lib)
        fut.includeExpired = True
        client.startApi()
        client.reqContractDetails(1, fut)
        client.reqHistoricalData(
            2,
            fut,
            "20251120 21:00:00 UTC",
            "2 D",
            "1 hour",
            "MIDPOINT",
            False,
            2,
            False,
            [],
        )
        client.cancelHistoricalData(2)
        client.reqHeadTimeStamp(3, fut, "TRADES", True, 1)
        client.cancelHeadTimeStamp(3)
        client.reqMktData(4, fut, "588,233", False, False, [])
        client.cancelMktData(4)
        client.reqMarketDataType(3)
        client.reqRealTimeBars(5, fut, 5, "TRADES", False, [])
        client.cancelRealTimeBars(5)
        client.cancelOrder(10)
        client.reqOpenOrders()
        client.reqAllOpenOrders()
        client.reqAutoOpenOrders(True)
        client.reqCompletedOrders(False)
        client.reqExecutions(
            6,
            lib.ExecutionFilter(clientId=7, acctCode="DU123", time="20251120 00:00:00 UTC"),
        )
        client.reqIds(-1)
        client.reqPositions()
        client.cancelPositions()
        client.reqAccountUpdates(True, "DU123")
        client.reqAccountUpdatesMulti(8, "DU123", "", False)
        client.cancelAccountUpdatesMulti(8)
        client.reqAccountSummary(9, "All", "NetLiquidation,BuyingPower")
        client.cancelAccountSummary(9)
        client.reqCurrentTime()
        client.reqPnL(10, "DU123", "")
        client.cancelPnL(10)
        client.reqPnLSingle(11, "DU123", "", 495512563)
        client.cancelPnLSingle(11)
        client.reqGlobalCancel()
        client.reqManagedAccts()

    got = decode_all(version, action)
    c = got[1].contract  # type: ignore[attr-defined]
    assert got[0] == m.StartApi(7, "")
    assert isinstance(got[1], m.ReqContractDetails) and got[1].req_id == 1
    assert (c.con_id, c.local_symbol, c.include_expired, c.issuer_id) == (
        495512563,
        "ESZ5",
        True,
        "",
    )
    h = got[2]
    assert isinstance(h, m.ReqHistoricalData)
    assert (
        h.req_id,
        h.end_date_time,
        h.bar_size,
        h.duration,
        h.use_rth,
        h.what_to_show,
    ) == (
        2,
        "20251120 21:00:00 UTC",
        "1 hour",
        "2 D",
        False,
        "MIDPOINT",
    )
    assert (h.format_date, h.keep_up_to_date, h.contract.include_expired) == (
        2,
        False,
        True,
    )
    assert got[3] == m.CancelHistoricalData(2)
    ht = got[4]
    assert isinstance(ht, m.ReqHeadTimeStamp)
    assert (ht.req_id, ht.use_rth, ht.what_to_show, ht.format_date) == (
        3,
        True,
        "TRADES",
        1,
    )
    assert got[5] == m.CancelHeadTimeStamp(3)
    md = got[6]
    assert isinstance(md, m.ReqMktData)
    assert (md.req_id, md.generic_ticks, md.snapshot, md.regulatory_snapshot) == (
        4,
        "588,233",
        False,
        False,
    )
    assert got[7] == m.CancelMktData(4)
    assert got[8] == m.ReqMarketDataType(3)
    rt = got[9]
    assert isinstance(rt, m.ReqRealTimeBars) and (
        rt.req_id,
        rt.bar_size,
        rt.what_to_show,
    ) == (5, 5, "TRADES")
    assert got[10] == m.CancelRealTimeBars(5)
    assert got[11] == m.CancelOrder(10, "")
    assert got[12:16] == [
        m.ReqOpenOrders(),
        m.ReqAllOpenOrders(),
        m.ReqAutoOpenOrders(True),
        m.ReqCompletedOrders(False),
    ]
    assert got[16] == m.ReqExecutions(6, 7, "DU123", "20251120 00:00:00 UTC", "", "", "", "")
    assert got[17] == m.ReqIds(-1)
    assert got[18:21] == [
        m.ReqPositions(),
        m.CancelPositions(),
        m.ReqAccountUpdates(True, "DU123"),
    ]
    assert got[21] == m.ReqAccountUpdatesMulti(8, "DU123", "", False)
    assert got[22] == m.CancelAccountUpdatesMulti(8)
    assert got[23] == m.ReqAccountSummary(9, "All", "NetLiquidation,BuyingPower")
    assert got[24] == m.CancelAccountSummary(9)
    assert got[25] == m.ReqCurrentTime()
    assert got[26:30] == [
        m.ReqPnL(10, "DU123", ""),
        m.CancelPnL(10),
        m.ReqPnLSingle(11, "DU123", "", 495512563),
        m.CancelPnLSingle(11),
    ]
    assert got[30:] == [m.ReqGlobalCancel(), m.ReqManagedAccts()]


def test_request_ids_match_the_client() -> None:
    sent = captured(178, lambda c, lib: (c.reqCompletedOrders(True), c.reqPnL(1, "A", "")))
    assert [int(f[0]) for f in sent] == [m.In.REQ_COMPLETED_ORDERS, m.In.REQ_PNL]


# ======================================================================================
# Decoder error handling
# ======================================================================================


def place_order_fields(version: int) -> list[str]:
    (fields,) = captured(
        version,
        lambda c, lib: c.placeOrder(10, future(lib), lib.LimitOrder("BUY", 1, 5000.0)),
    )
    return fields


def test_bad_field_value_names_message_and_field() -> None:
    fields = place_order_fields(178)
    fields[17] = "abc"  # totalQuantity
    with pytest.raises(
        ProtocolError,
        match=r"placeOrder: field 'totalQuantity' = 'abc' is not a number",
    ):
        m.decode_request(3, fields, 178)


def test_missing_and_leftover_fields_are_errors() -> None:
    fields = place_order_fields(178)
    with pytest.raises(ProtocolError, match=r"placeOrder: missing field 'manualOrderTime'"):
        m.decode_request(3, fields[:-1], 178)
    with pytest.raises(ProtocolError, match="unexpected trailing"):
        m.decode_request(3, [*fields, "x"], 178)
    assert isinstance(m.decode_request(3, [*fields, "x"], 178, strict=False), m.PlaceOrder)
    # a 178 message read with the 176 layout (which adds faProfile) runs out of fields
    with pytest.raises(ProtocolError, match="missing field"):
        m.decode_request(3, place_order_fields(178), 176)


def test_unknown_request_and_decode_message() -> None:
    assert m.decode_request(82, ["82"], 178) == m.UnknownRequest(82, [])
    assert m.decode_message(["49", "1"], 178) == m.ReqCurrentTime()
    with pytest.raises(ProtocolError):
        m.decode_message(["x"], 178)


def test_infinite_and_unset_values_in_requests() -> None:
    fields = place_order_fields(178)
    fields[19] = "1.7976931348623157e+308"  # lmtPrice, as ibapi writes unset
    fields[20] = "Infinite"  # auxPrice, as ib_async writes infinity
    req = m.decode_request(3, fields, 178)
    assert req.order.lmt_price is None and req.order.aux_price == math.inf  # type: ignore[attr-defined]


def test_client_library_versions() -> None:
    assert ib_async.__version__ == "2.1.0" and ib_insync.__version__ == "0.9.86"


def test_enums_cover_the_brief() -> None:
    assert m.In.REQ_GLOBAL_CANCEL == 58 and m.In.REQ_COMPLETED_ORDERS == 99 and m.In.START_API == 71
    assert m.Out.COMPLETED_ORDERS_END == 102 and m.Out.HISTORICAL_DATA_UPDATE == 90
    assert m.Out.TICK_REQ_PARAMS == 81 and m.Out.PNL_SINGLE == 95


# ======================================================================================
# Replies to requests ibsim does not model in full (ibsim/unsupported.py, ibsim/ticks.py)
# ======================================================================================


def test_tick_and_misc_replies_decode_in_both_clients(client: ClientDecoder) -> None:
    es = m.ContractFields(con_id=1, symbol="ES", sec_type="FUT", local_symbol="ESM5", trading_class="ES")
    cases: list[tuple[list[object], str]] = [
        (m.historical_ticks(7, [(1741100400, 5800.25, 0)], True), "historicalTicks"),
        (m.historical_ticks_bid_ask(7, [(1741100400, 0, 5800.0, 5800.25, 12, 30)], True), "historicalTicksBidAsk"),
        (m.historical_ticks_last(7, [(1741100400, 0, 5800.25, 3, "CME", "")], True), "historicalTicksLast"),
        (m.tick_by_tick_last(8, 1, 1741100400, 5800.25, 2, 0, "CME", ""), "tickByTickAllLast"),
        (m.tick_by_tick_bid_ask(8, 1741100400, 5800.0, 5800.25, 10, 20, 0), "tickByTickBidAsk"),
        (m.tick_by_tick_mid_point(8, 1741100400, 5800.125), "tickByTickMidPoint"),
        (m.position_multi(9, "DU123456", es, 2.0, 290_000.0), "positionMulti"),
        (m.position_multi_end(9), "positionMultiEnd"),
        (m.market_rule(67, [(0.0, 0.25)]), "marketRule"),
        (
            m.symbol_samples(10, [(11004968, "ES", "IND", "CME", "USD", ("FUT",), "E-mini")], client.version),
            "symbolSamples",
        ),
        (m.sec_def_opt_params_end(11), "securityDefinitionOptionParameterEnd"),
        (m.soft_dollar_tiers(12), "softDollarTiers"),
        (m.family_codes(["DU123456"]), "familyCodes"),
        (m.mkt_depth_exchanges(), "mktDepthExchanges"),
        (m.smart_components(13), "smartComponents"),
        (m.news_providers(), "newsProviders"),
        (m.historical_news_end(14, False), "historicalNewsEnd"),
        (m.display_group_list(15, "1|2|3"), "displayGroupList"),
        (m.display_group_updated(16, ""), "displayGroupUpdated"),
        (m.user_info(17, ""), "userInfo"),
    ]
    for fields, method in cases:
        client.one(fields, method)
    ticks = client.one(
        m.historical_ticks_last(7, [(1741100400, 0, 5800.25, 3, "CME", "")], True), "historicalTicksLast"
    )
    assert ticks[0] == 7 and ticks[1][0].price == 5800.25 and ticks[1][0].size == 3 and ticks[2] is True
    rule = client.one(m.market_rule(67, [(0.0, 0.25)]), "marketRule")
    assert rule[0] == 67 and rule[1][0].increment == 0.25
    pos = client.one(m.position_multi(9, "DU123456", es, 2.0, 290_000.0), "positionMulti")
    assert pos[0] == 9 and pos[1] == "DU123456" and pos[3].localSymbol == "ESM5" and pos[4:] == (2.0, 290_000.0)
