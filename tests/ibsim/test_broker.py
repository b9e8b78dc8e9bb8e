"""Tests of the simulated gateway's order, fill and account engine against a fake market."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import decimal
import json
import math

import pytest

from ibsim.broker import (
    Broker,
    ErrorEvent,
    ExecutionFilter,
    FillEvent,
    OrderCancelled,
    OrderRejected,
    OrderSpec,
    OrderUpdated,
    WhatIfResult,
)
from ibsim.model import Instrument, Product, Quote

T0 = dt.datetime(2024, 3, 4, 14, 0, tzinfo=dt.UTC)  # a Monday
EURUSD = 1.10


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def make_product(
    symbol: str,
    currency: str,
    multiplier: str,
    min_tick: float,
    initial_margin: float,
    physical: bool = False,
    magnifier: int = 1,
    exchange: str = "CME",
) -> Product:
    return Product(
        symbol=symbol,
        sec_type="FUT",
        exchange=exchange,
        currency=currency,
        multiplier=multiplier,
        price_magnifier=magnifier,
        min_tick=min_tick,
        trading_class=symbol,
        long_name=symbol,
        time_zone_id="US/Central",
        iana_zone="America/Chicago",
        calendar="CME",
        listed_months="HMUZ",
        months_listed=4,
        serial_months=0,
        last_trade_rule="third_friday",
        last_trade_time="08:30",
        local_symbol_style="letter",
        base_price=100.0,
        annual_vol=0.2,
        initial_margin=initial_margin,
        maint_margin=initial_margin * 0.9,
        physical_delivery=physical,
        under_con_id=0,
        market_rule_id="1",
        valid_exchanges=exchange,
        order_types="LMT,MKT,STP,STP LMT",
    )


def make_instrument(con_id: int, product: Product, last_trade: dt.date) -> Instrument:
    return Instrument(
        con_id=con_id,
        product=product,
        contract_month=f"{last_trade:%Y%m}",
        last_trade_date=last_trade,
        local_symbol=f"{product.symbol}{con_id}",
        first_trade_date=dt.date(2023, 1, 2),
        expiry_utc=dt.datetime.combine(last_trade, dt.time(13, 30), dt.UTC),
    )


ES = make_instrument(1, make_product("ES", "USD", "50", 0.25, 15000.0), dt.date(2024, 6, 21))
GBL = make_product("GBL", "EUR", "1000", 0.01, 3000.0, physical=True, exchange="EUREX")
GBL_MAR = make_instrument(2, GBL, dt.date(2024, 3, 7))
GBL_JUN = make_instrument(3, GBL, dt.date(2024, 6, 6))
ZC = make_instrument(
    4,
    make_product("ZC", "USD", "5000", 0.25, 1500.0, magnifier=100),
    dt.date(2024, 7, 12),
)
EURUSD_PAIR = Instrument(
    con_id=5,
    product=dataclasses.replace(
        make_product("EUR", "USD", "", 0.00005, 0.03, exchange="IDEALPRO"),
        sec_type="CASH",
    ),
    contract_month="",
    last_trade_date=None,
    local_symbol="EUR.USD",
    first_trade_date=dt.date(2000, 1, 3),
    expiry_utc=None,
)
INSTRUMENTS = {i.con_id: i for i in (ES, GBL_MAR, GBL_JUN, ZC, EURUSD_PAIR)}


class FakeMarket:
    """Piecewise-linear traded path per instrument; bid = path floored to the tick."""

    def __init__(self, size: int = 10, spread_ticks: int = 1) -> None:
        self.size = size
        self.spread_ticks = spread_ticks
        self.is_open = True
        self.knots: dict[int, list[tuple[dt.datetime, float]]] = {
            ES.con_id: [(T0, 4000.0)],
            GBL_MAR.con_id: [(T0, 130.0)],
            GBL_JUN.con_id: [(T0, 129.5)],
            ZC.con_id: [(T0, 450.0)],
            EURUSD_PAIR.con_id: [(T0, EURUSD)],
        }
        self.close: dict[int, float] = {k: v[0][1] for k, v in self.knots.items()}

    def set_path(self, inst: Instrument, *points: tuple[float, float]) -> None:
        """Path knots as (minutes after T0, price)."""
        self.knots[inst.con_id] = [(minutes(m), p) for m, p in points]

    def price_at(self, inst: Instrument, t: dt.datetime) -> float:
        knots = self.knots[inst.con_id]
        times = [k[0] for k in knots]
        i = bisect.bisect_right(times, t)
        if i == 0:
            return knots[0][1]
        if i == len(knots):
            return knots[-1][1]
        (t0, p0), (t1, p1) = knots[i - 1], knots[i]
        return p0 + (p1 - p0) * (t - t0) / (t1 - t0)

    def quote(self, inst: Instrument, at_utc: dt.datetime) -> Quote:
        tick = inst.min_tick
        bid = math.floor(self.price_at(inst, at_utc) / tick + 1e-9) * tick
        ask = bid + self.spread_ticks * tick
        close = self.close[inst.con_id]
        size = self.size
        return Quote(
            at_utc,
            bid,
            ask,
            size,
            size,
            bid,
            1,
            100,
            close,
            ask,
            bid,
            close,
            self.is_open,
        )

    def path_between(self, inst: Instrument, start_utc: dt.datetime, end_utc: dt.datetime) -> tuple[float, float]:
        prices = [self.price_at(inst, start_utc), self.price_at(inst, end_utc)]
        prices += [p for t, p in self.knots[inst.con_id] if start_utc < t < end_utc]
        return min(prices), max(prices)


def fx_rate(currency: str, at_utc: dt.datetime) -> float:
    return {"USD": 1.0, "EUR": EURUSD}[currency]


def make_broker(market: FakeMarket, cash: float = 1_000_000.0, **kwargs) -> Broker:
    return Broker(
        accounts=["DU123456", "DU654321"],
        base_currency="USD",
        initial_cash=cash,
        instrument_by_con_id=INSTRUMENTS.get,
        market=market,
        fx_rate=fx_rate,
        **kwargs,
    )


@pytest.fixture
def market() -> FakeMarket:
    return FakeMarket()


@pytest.fixture
def broker(market: FakeMarket) -> Broker:
    return make_broker(market)


def order(action: str, qty: float, order_type: str = "MKT", **kwargs) -> OrderSpec:
    return OrderSpec(action=action, total_quantity=qty, order_type=order_type, **kwargs)


def fills(events: list) -> list[FillEvent]:
    return [e for e in events if isinstance(e, FillEvent)]


def statuses(events: list) -> list[str]:
    return [e.order.status for e in events if isinstance(e, OrderUpdated)]


def value(rows: list[tuple[str, str, str]], key: str, ccy: str = "USD") -> float:
    matches = [float(v) for k, v, c in rows if k == key and c == ccy]
    assert len(matches) == 1, (key, ccy, matches)
    return matches[0]


# ----------------------------------------------------------------------------- fills


def test_market_order_fills_at_touch_with_commission_and_avg_cost(
    broker: Broker,
) -> None:
    events = broker.place_order(1, 1, ES, order("BUY", 2), T0)

    assert statuses(events) == ["PreSubmitted", "Submitted"]
    (fe,) = fills(events)
    assert isinstance(events[-1], FillEvent)
    assert fe.fill.price == 4000.25 and fe.fill.shares == 2 and fe.fill.side == "BOT"
    assert fe.fill.commission == pytest.approx(4.50) and fe.fill.commission_currency == "USD"
    assert fe.fill.realized_pnl is None
    assert fe.fill.client_id == 1 and fe.fill.order_id == 1 and fe.fill.perm_id > 0
    assert fe.order.status == "Filled" and fe.order.remaining == 0
    (pos,) = broker.positions("DU123456")
    assert pos.position == 2 and pos.avg_cost == pytest.approx(4000.25 * 50)
    assert broker.accounts["DU123456"].cash["USD"] == pytest.approx(1_000_000 - 4.50)
    assert broker.open_orders() == []
    assert broker.completed_orders()[0].completed_status == "Filled"


def test_avg_cost_divides_by_price_magnifier(broker: Broker) -> None:
    broker.place_order(1, 1, ZC, order("BUY", 1), T0)
    (row,) = broker.portfolio("DU123456", T0)
    assert row.avg_cost == pytest.approx(450.25 * 5000 / 100)
    assert row.market_value == pytest.approx(450.125 * 5000 / 100)


def test_market_order_above_displayed_size_fills_over_several_steps(market: FakeMarket, broker: Broker) -> None:
    market.size = 3
    first = fills(broker.place_order(1, 1, ES, order("BUY", 7), T0))
    assert [f.fill.shares for f in first] == [3]
    assert first[0].order.status == "Submitted" and first[0].order.remaining == 4

    second = fills(broker.step(minutes(1)))
    third = fills(broker.step(minutes(2)))
    assert [f.fill.shares for f in second + third] == [3, 1]
    assert [f.fill.cum_qty for f in first + second + third] == [3, 6, 7]
    assert third[0].order.status == "Filled"
    assert len({f.fill.exec_id for f in first + second + third}) == 3
    assert broker.step(minutes(3)) == []
    assert broker.positions("DU123456")[0].position == 7


def test_marketable_limit_fills_at_touch(broker: Broker) -> None:
    (fe,) = fills(broker.place_order(1, 1, ES, order("BUY", 1, "LMT", lmt_price=4010.0), T0))
    assert fe.fill.price == 4000.25  # price improvement over the limit


def test_resting_limit_fills_at_limit_when_path_crosses(market: FakeMarket, broker: Broker) -> None:
    market.set_path(ES, (0, 4000.0), (10, 3998.5), (20, 4000.0))
    events = broker.place_order(1, 1, ES, order("BUY", 1, "LMT", lmt_price=3999.0), T0)
    assert fills(events) == [] and statuses(events) == ["PreSubmitted", "Submitted"]

    (fe,) = fills(broker.step(minutes(20)))  # the dip happened between the two steps
    assert fe.fill.price == 3999.0 and fe.order.status == "Filled"


def test_resting_sell_limit_waits_for_path(market: FakeMarket, broker: Broker) -> None:
    market.set_path(ES, (0, 4000.0), (10, 4004.0), (20, 4010.0))
    broker.place_order(1, 1, ES, order("SELL", 1, "LMT", lmt_price=4008.0), T0)
    assert fills(broker.step(minutes(10))) == []
    (fe,) = fills(broker.step(minutes(20)))
    assert fe.fill.price == 4008.0  # filled at the limit as the path went through it


def test_stop_triggers_when_path_trades_through(market: FakeMarket, broker: Broker) -> None:
    market.set_path(ES, (0, 4000.0), (5, 3994.0), (10, 3996.0))
    events = broker.place_order(1, 1, ES, order("SELL", 1, "STP", aux_price=3995.0), T0)
    assert statuses(events) == ["PreSubmitted"] and fills(events) == []
    assert broker.step(minutes(2)) == []  # path still above the stop

    events = broker.step(minutes(10))
    assert statuses(events) == ["Submitted"]
    (fe,) = fills(events)
    assert fe.fill.price == 3996.0 and fe.fill.side == "SLD"


def test_stop_limit_triggers_then_behaves_as_limit(market: FakeMarket, broker: Broker) -> None:
    market.set_path(ES, (0, 4000.0), (5, 4010.0), (10, 4008.0), (20, 4004.0))
    spec = order("BUY", 1, "STP LMT", aux_price=4005.0, lmt_price=4006.0)
    events = broker.place_order(1, 1, ES, spec, T0)
    assert statuses(events) == ["PreSubmitted"]

    events = broker.step(minutes(10))  # triggered, but the ask 4008.25 is above the limit
    assert statuses(events) == ["Submitted"] and fills(events) == []
    (fe,) = fills(broker.step(minutes(20)))
    assert fe.fill.price == 4006.0  # resting at its limit until the path came back down


def test_stplmt_alias_is_accepted(broker: Broker) -> None:
    spec = order("SELL", 1, "STPLMT", aux_price=3990.0, lmt_price=3989.0)
    events = broker.place_order(1, 1, ES, spec, T0)
    assert events[0].order.order_type == "STP LMT"


def test_modify_working_limit_then_fill(market: FakeMarket, broker: Broker) -> None:
    market.set_path(ES, (0, 4000.0), (10, 3994.0))
    broker.place_order(1, 5, ES, order("BUY", 1, "LMT", lmt_price=3990.0), T0)
    perm = broker.open_orders(1)[0].perm_id

    events = broker.place_order(1, 5, ES, order("BUY", 3, "LMT", lmt_price=3995.0), minutes(1))
    assert isinstance(events[0], OrderUpdated)
    updated = events[0].order
    assert updated.lmt_price == 3995.0 and updated.remaining == 3 and updated.perm_id == perm
    assert len(broker.open_orders()) == 1

    (fe,) = fills(broker.step(minutes(10)))
    assert fe.fill.price == 3995.0 and fe.fill.shares == 3 and fe.order.status == "Filled"


def test_modify_with_off_tick_price_leaves_order_unchanged(broker: Broker) -> None:
    broker.place_order(1, 5, ES, order("BUY", 1, "LMT", lmt_price=3990.0), T0)
    (err,) = broker.place_order(1, 5, ES, order("BUY", 1, "LMT", lmt_price=3990.1), T0)
    assert isinstance(err, ErrorEvent) and err.code == 110
    assert broker.open_orders()[0].lmt_price == 3990.0


def test_modify_rules(broker: Broker, market: FakeMarket) -> None:
    market.size = 1
    broker.place_order(1, 1, ES, order("BUY", 3, "LMT", lmt_price=4001.0), T0)  # fills 1
    (below,) = broker.place_order(1, 1, ES, order("BUY", 1, "LMT", lmt_price=4001.0), T0)
    assert below.code == 321
    (side,) = broker.place_order(1, 1, ES, order("SELL", 3, "LMT", lmt_price=4001.0), T0)
    assert side.code == 105
    (unknown,) = broker.place_order(1, 2, 999, order("BUY", 1), T0)
    assert unknown.code == 200
    assert broker.open_orders()[0].remaining == 2


def test_no_fills_while_market_closed(market: FakeMarket, broker: Broker) -> None:
    market.is_open = False
    events = broker.place_order(1, 1, ES, order("BUY", 1), T0)
    assert statuses(events) == ["PreSubmitted"] and fills(events) == []
    assert broker.step(minutes(30)) == []

    market.is_open = True
    events = broker.step(minutes(31))
    assert statuses(events) == ["Submitted"]
    assert len(fills(events)) == 1


def test_day_order_expires_at_session_end_gtc_survives(market: FakeMarket, broker: Broker) -> None:
    broker.place_order(1, 1, ES, order("BUY", 1, "LMT", lmt_price=3900.0, tif="DAY"), T0)
    broker.place_order(1, 2, ES, order("BUY", 1, "LMT", lmt_price=3900.0, tif="GTC"), T0)
    assert broker.step(minutes(60)) == []

    market.is_open = False
    events = broker.step(minutes(120))
    (cancelled,) = [e for e in events if isinstance(e, OrderCancelled)]
    assert cancelled.order.order_id == 1 and cancelled.order.status == "Cancelled"
    assert [o.order_id for o in broker.open_orders()] == [2]
    assert broker.open_orders()[0].status == "PreSubmitted"

    market.is_open = True
    assert statuses(broker.step(minutes(600))) == ["Submitted"]


def test_day_order_expires_when_a_new_session_is_seen(market: FakeMarket, broker: Broker) -> None:
    broker.place_order(1, 1, ES, order("BUY", 1, "LMT", lmt_price=3900.0), T0)
    assert broker.step(minutes(60)) == []
    market.close[ES.con_id] = 4001.0  # the next session's quote (the close step was skipped)
    (ev,) = broker.step(minutes(60 * 24))
    assert isinstance(ev, OrderCancelled) and ev.code is None


def test_no_fill_past_expiry(broker: Broker) -> None:
    after = ES.expiry_utc + dt.timedelta(minutes=1)
    (rej,) = broker.place_order(1, 1, ES, order("BUY", 1), after)
    assert isinstance(rej, OrderRejected) and rej.code == 201
    assert broker.fills == []


def test_ioc_remainder_is_cancelled(market: FakeMarket, broker: Broker) -> None:
    market.size = 2
    events = broker.place_order(1, 1, ES, order("BUY", 5, tif="IOC"), T0)
    assert [f.fill.shares for f in fills(events)] == [2]
    assert isinstance(events[-1], OrderCancelled) and events[-1].order.filled == 2
    assert broker.open_orders() == []


def test_spot_fx_exchanges_cash(market: FakeMarket, broker: Broker) -> None:
    market.size = 1_000_000
    (fe,) = fills(broker.place_order(1, 1, EURUSD_PAIR, order("BUY", 20000), T0))
    assert fe.fill.price == pytest.approx(1.10005)
    assert fe.fill.commission == 2.00 and fe.fill.commission_currency == "USD"
    cash = broker.accounts["DU123456"].cash
    assert cash["EUR"] == 20000
    assert cash["USD"] == pytest.approx(1_000_000 - 20000 * 1.10005 - 2.00)
    net_liq = value(broker.account_values("DU123456", T0), "NetLiquidation")
    assert net_liq == pytest.approx(1_000_000 - 20000 * 0.00005 - 2.00)


# ----------------------------------------------------------------------------- cancels


def test_cancel_working_order(broker: Broker) -> None:
    broker.place_order(1, 1, ES, order("BUY", 1, "LMT", lmt_price=3900.0), T0)
    (ev,) = broker.cancel(1, 1, minutes(1))
    assert isinstance(ev, OrderCancelled)
    assert ev.code == 202 and ev.text == "Order Canceled - reason:"
    assert ev.order.status == "Cancelled" and ev.order.completed == minutes(1)
    assert broker.open_orders() == []
    (again,) = broker.cancel(1, 1, minutes(2))
    assert isinstance(again, ErrorEvent) and again.code == 161


def test_cancel_unknown_or_filled_order(broker: Broker) -> None:
    (unknown,) = broker.cancel(1, 77, T0)
    assert unknown == ErrorEvent(77, 10147, "OrderId 77 that needs to be cancelled is not found.")
    broker.place_order(1, 1, ES, order("BUY", 1), T0)
    (filled,) = broker.cancel(1, 1, T0)
    assert filled.code == 161 and "not in a cancellable state" in filled.text
    (other_client,) = broker.cancel(2, 1, T0)
    assert other_client.code == 10147


def test_global_cancel_all_clients(broker: Broker) -> None:
    broker.place_order(1, 1, ES, order("BUY", 1, "LMT", lmt_price=3900.0), T0)
    broker.place_order(2, 1, ES, order("SELL", 1, "LMT", lmt_price=4100.0), T0)
    events = broker.global_cancel(minutes(1))
    assert sorted(e.order.client_id for e in events) == [1, 2]
    assert all(isinstance(e, OrderCancelled) and e.code == 202 for e in events)
    assert broker.open_orders(None) == []


# ----------------------------------------------------------------------------- ids and validation


def test_order_ids_per_client_and_duplicate_id(broker: Broker) -> None:
    assert broker.next_valid_id(1) == 1
    broker.place_order(1, 10, ES, order("BUY", 1), T0)
    assert broker.next_valid_id(1) == 11 and broker.next_valid_id(2) == 1
    broker.reserve(2, 40)
    assert broker.next_valid_id(2) == 41

    (dup,) = broker.place_order(1, 10, ES, order("BUY", 1), minutes(1))
    assert dup == ErrorEvent(10, 103, "Duplicate order id")
    assert len(broker.fills) == 1


def test_perm_ids_unique_and_non_zero(broker: Broker) -> None:
    for oid in range(1, 4):
        broker.place_order(1, oid, ES, order("BUY", 1, "LMT", lmt_price=3900.0), T0)
    perms = [o.perm_id for o in broker.open_orders()]
    assert len(set(perms)) == 3 and all(p > 0 for p in perms)


def test_off_tick_price_rejected_with_110(broker: Broker) -> None:
    (err,) = broker.place_order(1, 1, ES, order("BUY", 1, "LMT", lmt_price=4000.1), T0)
    assert err.code == 110
    assert err.text == ("The price does not conform to the minimum price variation for this contract.")
    (err,) = broker.place_order(1, 2, ES, order("SELL", 1, "STP", aux_price=3999.3), T0)
    assert err.code == 110
    assert broker.open_orders() == [] and broker.completed_orders() == []


def test_zero_and_fractional_quantity(broker: Broker) -> None:
    (zero,) = broker.place_order(1, 1, ES, order("BUY", 0), T0)
    assert zero.code == 434 and zero.text == "The order size cannot be zero."
    (frac,) = broker.place_order(1, 2, ES, order("BUY", 1.5), T0)
    assert frac.code == 10318
    assert frac.text == "This order doesn't support fractional quantity trading"
    assert broker.open_orders() == []


# ----------------------------------------------------------------------------- rejects


def test_insufficient_margin_rejects_with_201(market: FakeMarket) -> None:
    broker = make_broker(market, cash=20_000.0)
    (rej,) = broker.place_order(1, 1, ES, order("BUY", 2), T0)
    assert isinstance(rej, OrderRejected) and rej.code == 201
    assert rej.text.startswith("Order rejected - reason:YOUR ORDER IS NOT ACCEPTED.")
    assert "EQUITY WITH LOAN VALUE [19995.50 USD]" in rej.text  # after the commission
    assert "MUST EXCEED THE INITIAL MARGIN [30000.00 USD]" in rej.text
    assert rej.order.status == "Inactive"
    assert broker.positions() == [] and broker.open_orders() == []

    assert len(fills(broker.place_order(1, 2, ES, order("BUY", 1), T0))) == 1


def test_delivery_window_rejects_opening_accepts_closing(market: FakeMarket) -> None:
    broker = make_broker(market)
    early = dt.datetime(2024, 2, 26, 14, 0, tzinfo=dt.UTC)  # 8 business days before
    assert len(fills(broker.place_order(1, 1, GBL_MAR, order("BUY", 2), early))) == 1

    (rej,) = broker.place_order(1, 2, GBL_MAR, order("BUY", 1), T0)  # 3 business days before
    assert isinstance(rej, OrderRejected) and rej.code == 201
    assert rej.text.startswith("Order rejected - reason:")
    assert "physical delivery" in rej.text
    (flip,) = broker.place_order(1, 3, GBL_MAR, order("SELL", 3), T0)
    assert isinstance(flip, OrderRejected)

    closing = fills(broker.place_order(1, 4, GBL_MAR, order("SELL", 2), T0))
    assert len(closing) == 1 and closing[0].fill.shares == 2
    assert len(fills(broker.place_order(1, 5, GBL_JUN, order("BUY", 1), T0))) == 1


def test_delivery_window_is_configurable(market: FakeMarket) -> None:
    broker = make_broker(market, delivery_window_days=2)
    assert len(fills(broker.place_order(1, 1, GBL_MAR, order("BUY", 1), T0))) == 1


def test_injected_reject(broker: Broker) -> None:
    broker.inject_reject(count=2, text="Order rejected - reason:Simulated outage")
    for oid in (1, 2):
        (rej,) = broker.place_order(1, oid, ES, order("BUY", 1), T0)
        assert isinstance(rej, OrderRejected)
        assert rej.code == 201 and rej.text == "Order rejected - reason:Simulated outage"
    assert len(fills(broker.place_order(1, 3, ES, order("BUY", 1), T0))) == 1
    assert [o.status for o in broker.completed_orders()] == [
        "Inactive",
        "Inactive",
        "Filled",
    ]


def test_what_if_returns_margins_and_places_nothing(broker: Broker) -> None:
    (res,) = broker.place_order(1, 1, ES, order("BUY", 2, what_if=True), T0)
    assert isinstance(res, WhatIfResult)
    assert res.init_margin_before == "0.00"
    assert res.init_margin_change == "30000.00" and res.init_margin_after == "30000.00"
    assert res.maint_margin_after == "27000.00"
    assert res.equity_with_loan_before == "1000000.00"
    assert float(res.equity_with_loan_after) == pytest.approx(1_000_000 - 4.50)
    assert res.commission == pytest.approx(4.50) and res.commission_currency == "USD"
    assert res.order.spec.what_if
    assert broker.open_orders() == [] and broker.completed_orders() == []
    assert broker.positions() == [] and broker.fills == []
    assert broker.step(minutes(5)) == []


# ----------------------------------------------------------------------------- accounting


def test_realized_pnl_round_trip_usd(market: FakeMarket, broker: Broker) -> None:
    broker.place_order(1, 1, ES, order("BUY", 1), T0)
    market.set_path(ES, (0, 4000.0), (5, 4010.0))
    (fe,) = fills(broker.place_order(1, 2, ES, order("SELL", 1), minutes(5)))
    expected = (4010.0 - 4000.25) * 50
    assert fe.fill.realized_pnl == pytest.approx(expected)
    cash = broker.accounts["DU123456"].cash["USD"]
    assert cash == pytest.approx(1_000_000 + expected - 4.50)
    (row,) = broker.portfolio("DU123456", minutes(5))
    assert row.position == 0 and row.realized_pnl == pytest.approx(expected)
    _, unrealized, realized = broker.pnl("DU123456", minutes(5))
    assert unrealized == 0 and realized == pytest.approx(expected)
    values = broker.account_values("DU123456", minutes(5))
    assert value(values, "RealizedPnL", "BASE") == pytest.approx(expected)
    assert value(values, "NetLiquidation") == pytest.approx(cash)


def test_realized_pnl_round_trip_eur_converted_to_base(market: FakeMarket, broker: Broker) -> None:
    broker.place_order(1, 1, GBL_JUN, order("BUY", 2), T0)  # ask 129.51
    market.set_path(GBL_JUN, (0, 129.5), (5, 129.8))
    (fe,) = fills(broker.place_order(1, 2, GBL_JUN, order("SELL", 2), minutes(5)))  # bid 129.80
    expected_eur = (129.80 - 129.51) * 2 * 1000
    assert fe.fill.realized_pnl == pytest.approx(expected_eur)
    assert fe.fill.commission == pytest.approx(4.00) and fe.fill.commission_currency == "EUR"

    acct = broker.accounts["DU123456"]
    assert acct.cash["EUR"] == pytest.approx(expected_eur - 8.00)
    values = broker.account_values("DU123456", minutes(5))
    assert value(values, "RealizedPnL", "EUR") == pytest.approx(expected_eur)
    assert value(values, "RealizedPnL", "BASE") == pytest.approx(expected_eur * EURUSD)
    assert value(values, "CashBalance", "EUR") == pytest.approx(expected_eur - 8.00)
    assert value(values, "ExchangeRate", "EUR") == pytest.approx(EURUSD)
    net_liq = 1_000_000 + (expected_eur - 8.00) * EURUSD
    assert value(values, "NetLiquidation") == pytest.approx(net_liq)
    assert broker.pnl("DU123456", minutes(5))[2] == pytest.approx(expected_eur * EURUSD)


def test_account_values_and_summary_move_with_fills_and_prices(market: FakeMarket, broker: Broker) -> None:
    summary0 = broker.account_summary("DU123456", "All", T0)
    assert value(summary0, "NetLiquidation") == 1_000_000
    assert value(summary0, "InitMarginReq") == 0

    broker.place_order(1, 1, ES, order("BUY", 2), T0)
    market.set_path(ES, (0, 4000.0), (10, 4010.0))
    at = minutes(10)
    values = broker.account_values("DU123456", at)
    unrealized = (4010.125 - 4000.25) * 2 * 50  # marked at the mid
    net_liq = 1_000_000 - 4.50 + unrealized
    assert value(values, "NetLiquidation") == pytest.approx(net_liq)
    assert value(values, "UnrealizedPnL", "BASE") == pytest.approx(unrealized)
    assert value(values, "FuturesPNL", "USD") == pytest.approx(unrealized)
    assert value(values, "InitMarginReq") == 30_000
    assert value(values, "MaintMarginReq") == 27_000
    assert value(values, "AvailableFunds") == pytest.approx(net_liq - 30_000)
    assert value(values, "ExcessLiquidity") == pytest.approx(net_liq - 27_000)
    assert value(values, "Cushion", "") == pytest.approx((net_liq - 27_000) / net_liq, abs=1e-6)
    assert ("AccountCode", "DU123456", "") in values

    summary = broker.account_summary("DU123456", "All", at)
    tags = [t for t, _, _ in summary]
    assert tags[0] == "AccountType" and "LookAheadExcessLiquidity" in tags
    assert value(summary, "NetLiquidation") == pytest.approx(net_liq)
    assert value(summary, "EquityWithLoanValue") == pytest.approx(net_liq)

    market.set_path(ES, (0, 4000.0), (10, 4010.0), (20, 3990.0))
    later = broker.account_summary("DU123456", ["NetLiquidation"], minutes(20))
    moved = (3990.125 - 4010.125) * 2 * 50
    assert later == [("NetLiquidation", f"{net_liq + moved:.2f}", "USD")]
    (row,) = broker.portfolio("DU123456", minutes(20))
    assert row.market_price == 3990.125
    assert row.unrealized_pnl == pytest.approx((3990.125 - 4000.25) * 100)
    assert broker.account_values("DU654321", at)[0] == ("AccountCode", "DU654321", "")
    assert value(broker.account_values("DU654321", at), "NetLiquidation") == 1_000_000


def test_ledger_tags(broker: Broker) -> None:
    broker.place_order(1, 1, GBL_JUN, order("BUY", 1), T0)
    all_rows = broker.account_summary("DU123456", ["$LEDGER:ALL"], T0)
    assert {c for _, _, c in all_rows} == {"BASE", "EUR", "USD"}
    assert value(all_rows, "CashBalance", "EUR") == pytest.approx(-2.00)
    eur = broker.account_summary("DU123456", ["$LEDGER:EUR"], T0)
    assert {c for _, _, c in eur} == {"EUR"}
    base = broker.account_summary("DU123456", ["$LEDGER"], T0)
    assert {c for _, _, c in base} == {"USD"}
    assert value(base, "CashBalance") == pytest.approx(1_000_000 - 2.00 * EURUSD)


def test_daily_and_single_pnl(market: FakeMarket, broker: Broker) -> None:
    market.close[ES.con_id] = 3990.0
    broker.place_order(1, 1, ES, order("BUY", 1), T0)
    market.set_path(ES, (0, 4000.0), (10, 4004.0))
    single = broker.pnl_single("DU123456", ES.con_id, minutes(10))
    assert single.position == 1
    assert single.unrealized == pytest.approx((4004.125 - 4000.25) * 50)
    assert single.daily == pytest.approx((4004.125 - 4000.25) * 50 - 2.25)
    assert single.value == pytest.approx(4004.125 * 50)
    next_day = dt.datetime(2024, 3, 5, 14, 0, tzinfo=dt.UTC)
    daily, _, realized = broker.pnl("DU123456", next_day)
    assert daily == pytest.approx((4004.125 - 3990.0) * 50)  # carried position vs prior close
    assert realized == 0
    assert broker.pnl_single("DU123456", GBL_JUN.con_id, T0) is None


def test_closed_position_reported_until_next_day(broker: Broker) -> None:
    broker.place_order(1, 1, ES, order("BUY", 1), T0)
    broker.place_order(1, 2, ES, order("SELL", 1), minutes(1))
    (pos,) = broker.positions("DU123456")
    assert pos.position == 0 and pos.avg_cost == 0
    broker.step(dt.datetime(2024, 3, 5, 0, 5, tzinfo=dt.UTC))
    assert broker.positions() == []


# ----------------------------------------------------------------------------- executions


def test_executions_filter(market: FakeMarket, broker: Broker) -> None:
    broker.place_order(1, 1, ES, order("BUY", 1), T0)
    broker.place_order(2, 1, ES, order("SELL", 1, account="DU654321"), minutes(10))
    broker.place_order(1, 2, GBL_JUN, order("SELL", 1), minutes(20))

    assert len(broker.executions(ExecutionFilter())) == 3
    assert len(broker.executions(ExecutionFilter(client_id=0))) == 3
    assert [f.client_id for f in broker.executions(ExecutionFilter(client_id=2))] == [2]
    assert [f.symbol for f in broker.executions(ExecutionFilter(side="SELL"))] == [
        "ES",
        "GBL",
    ]
    assert len(broker.executions(ExecutionFilter(symbol="gbl"))) == 1
    assert len(broker.executions(ExecutionFilter(acct_code="DU654321"))) == 1
    assert len(broker.executions(ExecutionFilter(exchange="EUREX", sec_type="FUT"))) == 1
    assert len(broker.executions(ExecutionFilter(time=minutes(10)))) == 2
    assert len(broker.executions(ExecutionFilter(time="20240304-14:15:00"))) == 1
    assert len(broker.executions(ExecutionFilter(time="20240304 08:15:00 US/Central"))) == 1

    next_day = dt.datetime(2024, 3, 5, 1, 0, tzinfo=dt.UTC)
    assert broker.executions(ExecutionFilter(), now=next_day) == []
    broker.step(next_day)
    assert broker.fills == []


# ----------------------------------------------------------------------------- persistence


def test_state_round_trip_through_json(market: FakeMarket, broker: Broker) -> None:
    market.set_path(ES, (0, 4000.0), (10, 3990.0))
    broker.place_order(1, 1, ES, order("BUY", 2, order_ref="ref-1"), T0)
    broker.place_order(1, 2, GBL_JUN, order("SELL", 1), T0)
    broker.place_order(1, 3, ES, order("BUY", 1, "LMT", lmt_price=3995.0, tif="GTC"), T0)
    broker.place_order(2, 7, ES, order("SELL", 1, "LMT", lmt_price=4100.0), T0)
    broker.cancel(2, 7, minutes(1))
    state = json.loads(json.dumps(broker.to_state()))

    restored = Broker.from_state(state, INSTRUMENTS.get, market, fx_rate)
    assert restored.to_state() == broker.to_state()
    assert restored.account_values("DU123456", T0) == broker.account_values("DU123456", T0)
    assert restored.executions() == broker.executions()
    assert restored.next_valid_id(1) == 4 and restored.next_valid_id(2) == 8
    (working,) = restored.open_orders(1)
    assert working.order_id == 3 and working.instrument is ES and working.lmt_price == 3995.0
    assert restored.completed_orders()[-1].completed_status == "Cancelled by Trader"

    (fe,) = fills(restored.step(minutes(10)))
    assert fe.fill.price == 3995.0
    assert fe.fill.exec_id not in {f.exec_id for f in broker.fills}
    events = restored.place_order(1, 4, ES, order("BUY", 1, "LMT", lmt_price=3900.0), T0)
    assert events[0].order.perm_id not in {o.perm_id for o in broker.orders.values()}
    (dup,) = restored.place_order(1, 1, ES, order("BUY", 1), T0)
    assert dup.code == 103


def test_state_keeps_decimal_quantities_and_extra_spec_fields(broker: Broker) -> None:
    spec = order("BUY", 1, "LMT", lmt_price=3900.0)
    spec.total_quantity = decimal.Decimal(2)
    spec.open_close = "O"  # a field the engine does not know about
    broker.place_order(1, 1, ES, spec, T0)
    state = json.loads(json.dumps(broker.to_state()))
    (working,) = Broker.from_state(state, INSTRUMENTS.get, FakeMarket(), fx_rate).open_orders()
    assert working.total_quantity == 2 and working.spec.open_close == "O"


def test_ids_never_repeat_across_fresh_gateways(market: FakeMarket) -> None:
    # IB's perm ids and execution ids are unique for ever; a gateway started without a state file
    # must not hand out ids a previous run already used (stores keyed by them would clash).
    first, second = make_broker(market), make_broker(market)
    assert first._exec_prefix != second._exec_prefix
    assert first._next_perm_id != second._next_perm_id
    restored = Broker.from_state(json.loads(json.dumps(first.to_state())), INSTRUMENTS.get, market, fx_rate)
    assert restored._exec_prefix == first._exec_prefix
    assert restored._next_perm_id == first._next_perm_id
