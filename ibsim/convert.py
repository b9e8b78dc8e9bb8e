"""Mapping between the simulator's domain objects (catalog, order engine) and wire messages.

    for message in event_messages(gateway, broker_event, session.version): session.send(message)
    fields = contract_fields(instrument)       # the 12 contract fields of orders and fills

Everything here is a pure function of the gateway's state; nothing is sent from here.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from . import broker as b
from . import combos
from . import messages as m
from .model import Instrument

if TYPE_CHECKING:
    from .catalog import Catalog
    from .interfaces import Gateway

# Placeholder in a message list: "schedule this fill's commission report" (it follows the fill).
COMMISSION_LATER = object()


def contract_fields(inst: Instrument, portfolio: bool = False) -> m.ContractFields:
    """The 12 contract fields of an instrument as TWS reports them in orders, fills, positions."""
    is_future = inst.sec_type == "FUT"
    return m.ContractFields(
        con_id=inst.con_id,
        symbol=inst.symbol,
        sec_type=inst.sec_type,
        last_trade_date_or_contract_month=f"{inst.last_trade_date:%Y%m%d}" if is_future else "",
        strike=0.0,
        right="",
        multiplier=inst.multiplier,
        exchange="" if portfolio else inst.exchange,
        primary_exchange=inst.exchange if portfolio else "",
        currency=inst.currency,
        local_symbol=inst.local_symbol,
        trading_class=inst.trading_class,
    )


def details_data(
    catalog: Catalog, inst: Instrument, now: dt.datetime, requested_sec_type: str
) -> m.ContractDetailsData:
    info = catalog.details(inst, now)
    is_future = inst.sec_type == "FUT"
    last_trade = ""
    if is_future:
        last_trade = f"{info.last_trade_date} {info.last_trade_time} {info.time_zone_id}"
    sec_type = "CONTFUT" if requested_sec_type == "CONTFUT" else inst.sec_type
    return m.ContractDetailsData(
        symbol=inst.symbol,
        sec_type=sec_type,
        last_trade_date_or_contract_month=last_trade,
        exchange=inst.exchange,
        currency=inst.currency,
        local_symbol=inst.local_symbol,
        market_name=info.market_name,
        trading_class=inst.trading_class,
        con_id=inst.con_id,
        min_tick=info.min_tick,
        multiplier=inst.multiplier,
        order_types=info.order_types,
        valid_exchanges=info.valid_exchanges,
        price_magnifier=info.price_magnifier,
        under_con_id=info.under_con_id,
        long_name=info.long_name,
        contract_month=info.contract_month,
        industry=info.industry,
        category=info.category,
        subcategory=info.subcategory,
        time_zone_id=info.time_zone_id,
        trading_hours=info.trading_hours,
        liquid_hours=info.liquid_hours,
        ev_rule=info.ev_rule,
        ev_multiplier=info.ev_multiplier,
        agg_group=info.agg_group,
        under_symbol=info.under_symbol,
        under_sec_type=info.under_sec_type,
        market_rule_ids=info.market_rule_ids,
        real_expiration_date=info.real_expiration_date,
        min_size=float(info.min_size),
        size_increment=float(info.size_increment),
        suggested_size_increment=float(info.suggested_size_increment),
    )


def _instrument(server: Gateway, order: b.OrderRecord) -> Instrument:
    return order.instrument if order.instrument is not None else server.instrument(order.con_id)


def open_order_data(server: Gateway, order: b.OrderRecord, what_if: b.WhatIfResult | None = None) -> m.OpenOrderData:
    inst = _instrument(server, order)
    spec = order.spec
    is_combo = combos.is_combo(inst)
    fields = combos.combo_contract_fields(inst) if is_combo else contract_fields(inst)  # type: ignore[arg-type]
    data = m.OpenOrderData(
        order_id=order.order_id,
        **m.contract_kwargs(fields),
        action=order.action,
        total_quantity=float(order.total_quantity),
        order_type=order.order_type,
        lmt_price=getattr(spec, "lmt_price", None),
        aux_price=getattr(spec, "aux_price", None),
        tif=getattr(spec, "tif", "") or "DAY",
        oca_group=getattr(spec, "oca_group", "") or "",
        account=order.account,
        open_close=getattr(spec, "open_close", "") or "",
        order_ref=getattr(spec, "order_ref", "") or "",
        client_id=order.client_id,
        perm_id=order.perm_id,
        outside_rth=bool(getattr(spec, "outside_rth", False)),
        good_till_date=getattr(spec, "good_till_date", "") or "",
        good_after_time=getattr(spec, "good_after_time", "") or "",
        parent_id=getattr(spec, "parent_id", 0) or 0,
        status=order.status,
        completed_time=_completed_time(server, order),
        completed_status=order.completed_status,
    )
    if is_combo:
        data.combo_legs_descrip = inst.legs_descrip()  # type: ignore[union-attr]
        data.combo_legs = inst.leg_specs()  # type: ignore[union-attr]
    if what_if is not None:
        data.what_if = True
        data.status = "PreSubmitted"
        for name in (
            "init_margin_before",
            "maint_margin_before",
            "equity_with_loan_before",
            "init_margin_change",
            "maint_margin_change",
            "equity_with_loan_change",
            "init_margin_after",
            "maint_margin_after",
            "equity_with_loan_after",
        ):
            setattr(data, name, getattr(what_if, name))
        data.commission = what_if.commission
        data.min_commission = what_if.min_commission
        data.max_commission = what_if.max_commission
        data.commission_currency = what_if.commission_currency
        data.warning_text = what_if.warning_text
    return data


def _completed_time(server: Gateway, order: b.OrderRecord) -> str:
    if order.completed is None:
        return ""
    return order.completed.astimezone(server.tws_zoneinfo).strftime("%Y%m%d %H:%M:%S ") + server.config.tws_zone


def order_status_message(order: b.OrderRecord) -> list:
    return m.order_status(
        order.order_id,
        order.status,
        float(order.filled),
        float(order.remaining),
        float(order.avg_fill_price),
        order.perm_id,
        getattr(order.spec, "parent_id", 0) or 0,
        float(order.last_fill_price),
        order.client_id,
        order.why_held,
        0.0,
    )


def order_messages(server: Gateway, order: b.OrderRecord, version: int) -> list[list]:
    return [m.open_order(open_order_data(server, order), version), order_status_message(order)]


def execution_data(server: Gateway, fill: b.Fill) -> m.ExecutionData:
    if fill.sec_type == "BAG":  # a combo's own execution: no catalog entry behind its conId
        fields = m.ContractFields(
            con_id=fill.con_id, symbol=fill.symbol, sec_type="BAG", exchange=fill.exchange, currency=fill.currency
        )
    else:
        fields = contract_fields(server.instrument(fill.con_id))
    when = fill.time.astimezone(server.tws_zoneinfo).strftime("%Y%m%d %H:%M:%S ") + server.config.tws_zone
    return m.ExecutionData(
        order_id=fill.order_id,
        **m.contract_kwargs(fields),
        exec_id=fill.exec_id,
        time_str=when,
        account=fill.account,
        side=fill.side,
        shares=float(fill.shares),
        price=fill.price,
        perm_id=fill.perm_id,
        client_id=fill.client_id,
        liquidation=fill.liquidation,
        cum_qty=float(fill.cum_qty),
        avg_price=fill.avg_price,
        order_ref=fill.order_ref,
        last_liquidity=fill.last_liquidity,
    )


def commission_message(fill: b.Fill) -> list:
    return m.commission_report(fill.exec_id, fill.commission, fill.commission_currency, fill.realized_pnl)


def event_messages(server: Gateway, event: object, version: int) -> list:
    """The messages TWS sends for one order-engine event, in TWS's order."""
    if isinstance(event, b.OrderUpdated):
        return order_messages(server, event.order, version)
    if isinstance(event, b.FillEvent):
        out = [
            m.exec_details(-1, execution_data(server, event.fill), version),
            m.open_order(open_order_data(server, event.order), version),
            order_status_message(event.order),
        ]
        if event.fill.commission is not None:  # a combo's own execution has none: its legs have
            out.append(COMMISSION_LATER)
        return out
    if isinstance(event, b.OrderCancelled):
        out = [order_status_message(event.order)]
        if event.code is not None:
            out.append(m.error(event.order.order_id, event.code, event.text, version))
        return out
    if isinstance(event, b.OrderRejected):
        return [
            m.error(event.order.order_id, event.code, event.text, version),
            order_status_message(event.order),
        ]
    if isinstance(event, b.WhatIfResult):
        return [m.open_order(open_order_data(server, event.order, what_if=event), version)]
    if isinstance(event, b.ErrorEvent):
        return [m.error(event.req_id, event.code, event.text, version)]
    raise TypeError(f"unknown order-engine event {type(event).__name__}")
