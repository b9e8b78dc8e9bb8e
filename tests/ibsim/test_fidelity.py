"""Fidelity: each flow as an outside client sees it, checked against IB's documented behaviour.

The expectations come from IB's API documentation and from recordings of real gateways kept by
other projects (facts only, cited where used), not from ibsim's own code: a raw socket client
for the byte-level facts, ib_async (the client nobody here wrote) for everything else.
"""

from __future__ import annotations

import datetime as dt
import socket
import struct

import pytest
from ib_async import ContFuture, ExecutionFilter, Future, LimitOrder, MarketOrder

from .conftest import CLOSED_MARKET, OPEN_MARKET, wait_until

UTC = dt.UTC


# ----------------------------------------------------------------------------- a raw client


class RawClient:
    """A minimal TWS API client on a bare socket: the bytes exactly as the gateway sends them."""

    def __init__(self, port: int, client_id: int = 1, versions: bytes = b"v157..178"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(b"API\0" + struct.pack(">I", len(versions)) + versions)
        self.handshake = self.read()
        self.send("71", "2", str(client_id), "")

    def send(self, *fields: str) -> None:
        body = "".join(f + "\0" for f in fields).encode()
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def send_many(self, messages: list[tuple[str, ...]]) -> None:
        data = b""
        for fields in messages:
            body = "".join(f + "\0" for f in fields).encode()
            data += struct.pack(">I", len(body)) + body
        self.sock.sendall(data)

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the gateway")
            data += chunk
        return data

    def read(self) -> list[str]:
        (size,) = struct.unpack(">I", self._exactly(4))
        return self._exactly(size).decode().split("\0")[:-1]

    def read_until(self, predicate, timeout: float = 5.0) -> list[list[str]]:
        """Every message up to and including the first one for which `predicate` is true."""
        self.sock.settimeout(timeout)
        got = []
        while True:
            fields = self.read()
            got.append(fields)
            if predicate(fields):
                return got

    def closed(self, timeout: float = 3.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except (ConnectionError, OSError):
            return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw():
    clients: list[RawClient] = []

    def open_raw(sim, client_id: int = 1, versions: bytes = b"v157..178") -> RawClient:
        client = RawClient(sim.port, client_id, versions)
        clients.append(client)
        return client

    yield open_raw
    for client in clients:
        client.close()


def _is_error(code: int, req_id: str | None = None):
    return lambda f: f[0] == "4" and f[3] == str(code) and (req_id is None or f[2] == req_id)


# ----------------------------------------------------------------------------------- connect


def test_connect_handshake_and_start_sequence(sim_factory, raw):
    # Real IB Gateway (ghill2/pyfutures recordings, server 176): "20240324 21:18:59 Greenwich Mean
    # Time", then managedAccounts (15), nextValidId (9), then farm notices with id -1:
    # 2104 market data OK, 2107 HMDS inactive, 2158 sec-def OK.
    sim = sim_factory(tws_zone="Europe/London")
    client = raw(sim)
    version, conn_time = client.handshake
    assert version == "178"
    assert conn_time == f"{OPEN_MARKET:%Y%m%d %H:%M:%S} Greenwich Mean Time"  # London = UTC in March
    first, second = client.read(), client.read()
    assert first[:2] == ["15", "1"] and first[2] == "DU123456"
    assert second[:2] == ["9", "1"]
    notices = client.read_until(lambda f: f[0] == "4" and f[3] == "2158")
    codes = {f[3] for f in notices}
    assert {"2104", "2107", "2158"} <= codes
    assert all(f[:3] == ["4", "2", "-1"] and f[5] == "" for f in notices)
    assert "HMDS data farm connection is inactive but should be available upon demand.ushmds" in {f[4] for f in notices}


def test_connection_time_names_the_zone_as_java_does(sim_factory, raw):
    assert raw(sim_factory()).handshake[1].endswith(" Coordinated Universal Time")
    chicago = raw(sim_factory(tws_zone="America/Chicago")).handshake[1]
    assert chicago == f"{OPEN_MARKET - dt.timedelta(hours=6):%Y%m%d %H:%M:%S} Central Standard Time"


# ------------------------------------------------------------------------------- chain/details


def test_expired_futures_stay_listed_for_about_two_years(sim_factory, connect):
    # IB keeps expired futures queryable with includeExpired for about two years: on 2025-03-04
    # the Eurodollar (GE) contract that expired on 2023-06-19 is still there.
    ib = connect(sim_factory())
    listed = ib.reqContractDetails(Future("GE", exchange="CME", includeExpired=True))
    months = [d.contract.lastTradeDateOrContractMonth for d in listed]
    assert "20230619" in months
    [ge] = ib.reqContractDetails(Future("GE", "202306", exchange="CME", includeExpired=True))
    assert ge.realExpirationDate == "20230619" and ge.contract.localSymbol == "GEM3"
    assert ib.reqContractDetails(Future("GE", "202306", exchange="CME")) == []  # not without the flag
    later = connect(sim_factory(start=dt.datetime(2025, 7, 1, 15, tzinfo=UTC)), client_id=2)
    assert later.reqContractDetails(Future("GE", "202306", exchange="CME", includeExpired=True)) == []


def test_contract_details_as_tws_writes_them(sim, raw):
    client = raw(sim)
    client.send("9", "8", "41", "0", "ES", "FUT", "202506", "0.0", "", "", "CME", "", "", "", "", "0", "", "", "")
    [row, end] = client.read_until(lambda f: f[0] in ("52", "4") and f[2] == "41")[-2:]
    assert end == ["52", "1", "41"]
    assert len(row) == 40  # 39 fields after the id, no secIds (real DA recording)
    # lastTradeDateOrContractMonth with time and zone (rust-ibapi real ES: "20250620 08:30 US/Central")
    assert row[4] == "20250620 08:30 US/Central"
    assert row[5] == "0"  # strike: TWS writes "0" for futures, not "0.0"
    assert row[-3:] == ["1", "1", "1"]  # minSize, sizeIncrement, suggestedSizeIncrement as Decimals
    assert row[25] == "US/Central" and row[35] == "20250620"
    # tradingHours: one entry per trade date over seven calendar days from today's trade date,
    # "YYYYMMDD:CLOSED" for a day without a session (real DA recording, 2024-03-26)
    hours = row[26].split(";")
    assert hours[0].startswith("20250303:1700-20250304:1600")
    assert "20250308:CLOSED" in hours
    assert hours[-1] == "20250309:1700-20250310:1600"


# ----------------------------------------------------------------------------------- history


def test_continuous_futures_history_is_made_of_the_lead_contracts(sim, ib):
    cont = ib.reqHistoricalData(ContFuture("ES", "CME"), "", "1 Y", "1 day", "TRADES", False, 1)
    dates = [b.date for b in cont]
    assert dates == sorted(set(dates)) and len(cont) > 240
    for day, month in (
        (dt.date(2024, 3, 5), "202403"),
        (dt.date(2024, 12, 2), "202412"),
        (OPEN_MARKET.date(), "202503"),
    ):
        [lead] = ib.qualifyContracts(Future("ES", month, "CME", includeExpired=True))
        own = ib.reqHistoricalData(lead, "", "1 Y", "1 day", "TRADES", False, 1)
        [want] = [b for b in own if b.date == day]
        [got] = [b for b in cont if b.date == day]
        assert (got.open, got.high, got.low, got.close, got.volume) == (
            want.open,
            want.high,
            want.low,
            want.close,
            want.volume,
        )
    # a year ago the continuous series trades like a front month, not like the thin back month
    # that is today's front
    [front] = ib.qualifyContracts(Future("ES", "202503", "CME"))
    own = {b.date: b.volume for b in ib.reqHistoricalData(front, "", "1 Y", "1 day", "TRADES", False, 1)}
    year_ago = cont[0]
    assert year_ago.volume > 10 * own[year_ago.date]


def test_trade_bars_without_volume_have_no_price_range(sim_factory, connect):
    sim = sim_factory(start=dt.datetime(2025, 3, 4, 3, 0, tzinfo=UTC))  # overnight: thin trading
    ib = connect(sim)
    [esm5] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    bars = ib.reqHistoricalData(esm5, "", "1800 S", "5 secs", "TRADES", False, 2)
    assert len(bars) == 360
    empty = [b for b in bars if b.volume == 0]
    assert empty, "a quiet half hour has seconds without trades"
    assert all(b.open == b.high == b.low == b.close for b in empty), [b for b in empty if b.high != b.low][:3]
    # the bar's price range is made by the bars that traded: 1-minute bars aggregate them exactly
    minutes = ib.reqHistoricalData(esm5, "", "1800 S", "1 min", "TRADES", False, 2)
    for minute in minutes:
        inside = [b for b in bars if minute.date <= b.date < minute.date + dt.timedelta(minutes=1)]
        traded = [b for b in inside if b.volume > 0] or inside  # a minute without trades is flat
        assert minute.high == max(b.high for b in traded) and minute.low == min(b.low for b in traded)
        assert minute.open == inside[0].open and minute.close == inside[-1].close


def test_real_time_trade_bars_without_volume_have_no_price_range(sim_factory, connect):
    sim = sim_factory(start=dt.datetime(2025, 3, 4, 3, 0, tzinfo=UTC), speed=60.0)
    ib = connect(sim)
    [esm5] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    bars = ib.reqRealTimeBars(esm5, 5, "TRADES", False)
    assert wait_until(ib, lambda: any(b.volume == 0 for b in bars), timeout=8)
    ib.cancelRealTimeBars(bars)
    assert all(b.open_ == b.high == b.low == b.close for b in bars if b.volume == 0)


# ------------------------------------------------------------------------------- market data

# IB: "If live data is available a user will always receive it"; frozen types give the last
# data of a closed market, delayed types serve accounts without a live subscription (10167).
MARKET_DATA_TYPES = [
    # (permitted, market open, requested type, type in force or error)
    (True, True, 1, 1),
    (True, True, 2, 1),
    (True, True, 3, 1),
    (True, True, 4, 1),
    (True, False, 1, 1),
    (True, False, 2, 2),
    (True, False, 3, 1),
    (True, False, 4, 2),
    (False, True, 1, 354),
    (False, True, 2, 354),
    (False, True, 3, 3),
    (False, True, 4, 3),
    (False, False, 3, 3),
    (False, False, 4, 4),
]


@pytest.mark.parametrize(("permitted", "is_open"), [(True, True), (True, False), (False, True), (False, False)])
def test_market_data_type_in_force(sim_factory, connect, permitted, is_open):
    sim = sim_factory(
        start=OPEN_MARKET if is_open else CLOSED_MARKET,
        permissions=None if permitted else frozenset({"NYMEX"}),
    )
    ib = connect(sim)
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append((req_id, code))
    announced: dict[int, int] = {}  # reqId -> marketDataType (58) as sent by the gateway
    original = ib.wrapper.marketDataType
    ib.wrapper.marketDataType = lambda req_id, kind: (announced.__setitem__(req_id, kind), original(req_id, kind))
    [esm5] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    cases = [case for case in MARKET_DATA_TYPES if case[:2] == (permitted, is_open)]
    for _, _, requested, expected in cases:
        ib.reqMarketDataType(requested)
        ticker = ib.reqMktData(esm5)
        req_id = ib.wrapper.ticker2ReqId["mktData"][ticker]
        if expected == 354:
            assert wait_until(ib, lambda rid=req_id: (rid, 354) in errors)
            assert req_id not in announced
        else:
            assert wait_until(ib, lambda rid=req_id: rid in announced), (requested, expected)
            assert announced[req_id] == expected, (requested, expected)
            assert ticker.marketDataType == expected
            # 10167 precedes the marketDataType message when delayed data stands in for live
            assert ((req_id, 10167) in errors) == (expected in (3, 4))
        ib.cancelMktData(esm5)


# ------------------------------------------------------------------------- orders and fills


def test_executions_say_who_provided_the_liquidity(sim, ib):
    # IB's lastLiquidity: 1 added (a resting order was hit), 2 removed (the order took the book).
    [esm5] = ib.qualifyContracts(Future("ES", "202506", "CME"))
    taker = ib.placeOrder(esm5, MarketOrder("BUY", 1))
    assert wait_until(ib, lambda: taker.orderStatus.status == "Filled")
    assert [f.execution.lastLiquidity for f in taker.fills] == [2]
    quote = sim.market.quote(sim.catalog.by_con_id(esm5.conId), sim.clock.now())
    maker = ib.placeOrder(esm5, LimitOrder("SELL", 1, quote.ask + 0.25))
    assert wait_until(ib, lambda: maker.orderStatus.status == "Submitted")
    assert not maker.fills
    sim.clock.advance(3600)  # the traded path reaches the resting price within the hour
    assert wait_until(ib, lambda: maker.orderStatus.status == "Filled")
    assert [f.execution.lastLiquidity for f in maker.fills] == [1]
    assert maker.fills[0].execution.price == quote.ask + 0.25
    by_order = {f.execution.orderId: f.execution.lastLiquidity for f in ib.reqExecutions(ExecutionFilter())}
    assert by_order[taker.order.orderId] == 2 and by_order[maker.order.orderId] == 1


# ----------------------------------------------------------------------------------- account


def test_account_summary_in_tws_order(sim, ib):
    # A real gateway answers reqAccountSummary in its own order whatever the order asked: first
    # the tags without a currency, then the others, each alphabetically (pyfutures recording).
    asked = "NetLiquidation,AccountType,TotalCashValue,Cushion,AvailableFunds,DayTradesRemaining,BuyingPower"
    got: list[tuple[str, str]] = []
    req = ib.client.getReqId()
    ib.wrapper.accountSummary = lambda req_id, account, tag, value, currency: got.append((tag, currency))
    ib.client.reqAccountSummary(req, "All", asked)
    assert wait_until(ib, lambda: len(got) == 7)
    no_ccy = [t for t, c in got if not c]
    with_ccy = [t for t, c in got if c]
    assert got[: len(no_ccy)] == [(t, "") for t in sorted(no_ccy)]
    assert no_ccy == ["AccountType", "Cushion", "DayTradesRemaining"]
    assert with_ccy == sorted(with_ccy) == ["AvailableFunds", "BuyingPower", "NetLiquidation", "TotalCashValue"]


# ---------------------------------------------------------------- requests not simulated in full


def test_historical_ticks_are_answered(sim, ib):
    [esh5] = ib.qualifyContracts(Future("ES", "202503", "CME"))
    start = "20250304 14:00:00 UTC"
    trades = ib.reqHistoricalTicks(esh5, start, "", 50, "TRADES", False)
    assert len(trades) == 50
    assert all(t.time >= dt.datetime(2025, 3, 4, 14, tzinfo=UTC) and t.size > 0 for t in trades)
    assert [t.time for t in trades] == sorted(t.time for t in trades)
    quotes = ib.reqHistoricalTicks(esh5, "", start, 20, "BID_ASK", False)
    assert len(quotes) == 20 and all(q.priceBid < q.priceAsk for q in quotes)
    assert all(q.time < dt.datetime(2025, 3, 4, 14, tzinfo=UTC) for q in quotes)
    mids = ib.reqHistoricalTicks(esh5, start, "", 10, "MIDPOINT", False)
    assert len(mids) == 10


def test_tick_by_tick_streams(sim_factory, connect):
    sim = sim_factory(speed=30.0)
    ib = connect(sim)
    [esh5] = ib.qualifyContracts(Future("ES", "202503", "CME"))
    seen: list = []
    ticker = ib.reqTickByTickData(esh5, "BidAsk")
    ticker.updateEvent += lambda t: seen.extend(t.tickByTicks)
    assert wait_until(ib, lambda: len(seen) >= 3, timeout=5)
    assert all(t.bidPrice < t.askPrice for t in seen)
    ib.cancelTickByTickData(esh5, "BidAsk")
    assert wait_until(ib, lambda: not sim.sessions[1].tbt_subs)


# (msg id, fields after the id, what answers it: a predicate on the reply)
NOT_SIMULATED = [
    (
        10,
        ("5", "61", "0", "ES", "FUT", "202506", "0", "", "", "CME", "", "USD", "", "", "5", "0", ""),
        _is_error(354, "61"),
    ),
    (
        22,
        ("62", "10", "FUT.US", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""),
        lambda f: f[:3] == ["20", "3", "62"],
    ),
    (24, ("1",), lambda f: f[0] == "19"),
    (52, ("2", "63", "0", "ES", "FUT", "CME", "", "USD", "", "ReportSnapshot", "0", ""), _is_error(430, "63")),
    (78, ("64", "ES", "CME", "IND", "11004968"), lambda f: f == ["76", "64"]),
    (80, (), lambda f: f[0] == "78"),
    (81, ("65", "ES"), lambda f: f[:2] == ["79", "65"]),
    (85, (), lambda f: f == ["85", "0"]),
    (91, ("67",), lambda f: f[:2] == ["93", "67"]),
    (104, ("66",), lambda f: f == ["107", "66", ""]),
    (9999, ("1",), _is_error(320)),
]


def test_every_request_gets_an_answer(sim_factory, raw):
    client = raw(sim_factory(unanswered_requests=frozenset()))
    client.read_until(lambda f: f[0] == "9")
    for msg_id, fields, answered in NOT_SIMULATED:
        client.send(str(msg_id), *fields)
        client.read_until(answered, timeout=3)


# --------------------------------------------------------------------------- message rate


def test_message_rate_above_50_per_second_is_cut_off(sim, raw):
    client = raw(sim)
    client.read_until(lambda f: f[0] == "9")
    client.send_many([("49", "1")] * 60)  # 60 reqCurrentTime at once
    replies = client.read_until(_is_error(100), timeout=3)
    assert sum(f[0] == "49" for f in replies) == 50
    assert replies[-1][4] == "Max rate of messages per second has been exceeded."
    assert client.closed()
    assert sim.stats["rate_violations"] >= 3


def test_message_rate_limit_can_be_switched_off_or_paced(sim_factory, raw):
    for client in (
        raw(sim_factory(max_message_rate=None)),
        raw(sim_factory(), versions=b"v157..178 +PACEAPI"),  # TWS paces such a client instead
    ):
        client.read_until(lambda f: f[0] == "9")
        client.send_many([("49", "1")] * 60)
        replies: list[list[str]] = []
        while sum(f[0] == "49" for f in replies) < 60:
            replies += client.read_until(lambda f: f[0] == "49")
        assert not any(f[0] == "4" and f[3] == "100" for f in replies)


def test_ib_async_at_its_own_throttle_is_never_cut_off(sim, ib):
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    answered: list[int] = []
    ib.wrapper.currentTime = answered.append
    for _ in range(70):  # ib_async sends at most 45 requests per second, queueing the rest
        ib.client.reqCurrentTime()
    assert wait_until(ib, lambda: len(answered) == 70, timeout=8)
    assert 100 not in errors and ib.isConnected()
    assert sim.stats["rate_violations"] == 0


def test_a_request_can_be_left_unanswered_as_a_fault(sim_factory, raw):
    sim = sim_factory(unanswered_requests=frozenset())
    client = raw(sim)
    client.read_until(lambda f: f[0] == "9")
    sim.faults.leave_unanswered(81)
    client.send("81", "71", "ES")
    client.send("49", "1")
    replies = client.read_until(lambda f: f[0] == "49")
    assert not any(f[0] == "79" for f in replies)
    sim.faults.answer_all()
    client.send("81", "72", "ES")
    client.read_until(lambda f: f[:2] == ["79", "72"])
