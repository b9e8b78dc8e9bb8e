"""`ibOrdersClient`: orders at IB — build, check, send, modify, cancel, and read them back.

Prices cross this boundary in two units: orders and fills above it are in the layer's units
(as the price client delivers prices), IB's are those units x the contract's price magnifier
(cents for CBOT grains). `layer_fill` and `ibOrderWithControls` translate IB's side back.

Every order is checked before it is sent (`sysbrokers.IB.order_checks`): a refused order raises
an `OrderRefused` subclass and nothing reaches the gateway.

A calendar-spread order (`brokerOrder("SP500", "20250600_20250900", [-1, 1])`) goes to IB as ONE
BAG order: the legs' conIds with ratios from the trade list (its highest common factor is the
combo quantity, signed like the first leg — pysystemtrade's convention). Its limit price is the
combo's (may be zero or negative); IB reports fills per leg, recorded against each leg's conId.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from ib_async import Contract, LimitOrder, MarketOrder, Order, OrderState, StopOrder, Trade
from ib_async import Fill as IBFill

from sysbrokers.IB.client.ib_contracts_client import ibContractsClient
from sysbrokers.IB.contract_resolution import InvalidSpread, ResolvedContract, ResolvedSpread, resolve_spread
from sysbrokers.IB.ib_errors import IBNoSecurityDefinition, IBOrderRejected, classify
from sysbrokers.IB.ib_instrument_config import load_futures_config
from sysbrokers.IB.order_checks import (
    OrderInvalidQuantity,
    OrderOffTick,
    OrderUnknownContract,
    check_market_open,
    check_quantity,
    ib_price_on_grid,
)
from sysobjects.contracts import futuresContract
from sysobjects.exceptions import UnknownInstrument
from sysobjects.fills import Fill
from sysobjects.orders import (
    brokerOrder,
    brokerOrderType,
    order_status_from_ib,
    orderStatus,
    orderWithControls,
)

__all__ = [
    "PreparedOrder",
    "ibOrderWithControls",
    "ibOrdersClient",
    "layer_fill",
    "order_status_of_trade",
]

_UNSET_DOUBLE = 1.7976931348623157e308


@dataclass(frozen=True)
class PreparedOrder:
    """A checked order, ready to send: the ib_async `Order` already carries its order id."""

    order: brokerOrder
    resolved: ResolvedContract
    ib_order: Order

    @property
    def contract(self) -> Contract:
        return self.resolved.contract

    @property
    def price_magnifier(self) -> int:
        return self.resolved.price_magnifier


def layer_fill(ib_fill: IBFill, price_magnifier: float = 1) -> Fill:
    """An ib_async fill as a `Fill` in the layer's price units (commission None until reported)."""
    return Fill.from_ib_fill(ib_fill, price_magnifier)


def order_status_of_trade(trade: Trade, filled_quantity: int, current: orderStatus) -> orderStatus:
    """Our status for an IB Trade; an order IB rejected (201, 203, ...) is `rejected`, not cancelled.

    ib_async marks a rejected order `Cancelled` when the error arrives and `Inactive` after.
    """
    status = order_status_from_ib(trade.orderStatus.status, filled_quantity, current)
    if status == orderStatus.CANCELLED and not filled_quantity and rejection_of(trade) is not None:
        return orderStatus.REJECTED
    return status


def rejection_of(trade: Trade) -> IBOrderRejected | None:
    """The `IBOrderRejected` IB sent for this trade (201 margin, 203 ...), if any."""
    for entry in reversed(trade.log):
        code = getattr(entry, "errorCode", 0)
        if code and classify(code, entry.message) is IBOrderRejected:
            return IBOrderRejected(code, entry.message, trade.order.orderId)
    return None


class ibOrderWithControls(orderWithControls):  # noqa: N801 - pysystemtrade's public name
    """An `orderWithControls` that knows the contract's price magnifier and can be re-bound.

    After a reconnect ib_async builds new Trade objects; `rebind(trade)` points the control at
    the live one. Fill and limit prices come back in the layer's units.
    """

    def __init__(
        self,
        order: brokerOrder,
        control_object: Trade,
        price_magnifier: float = 1,
        ticker: Any = None,
        submit_datetime: dt.datetime | None = None,
    ) -> None:
        self.price_magnifier = price_magnifier
        super().__init__(order, control_object, ticker=ticker, submit_datetime=submit_datetime)

    @classmethod
    def from_trade(
        cls,
        trade: Trade,
        instrument_code: str,
        price_magnifier: float = 1,
        strategy_name: str = "",
        leg_contracts: list[Contract] | None = None,
    ) -> ibOrderWithControls:
        """An order rebuilt from a Trade IB reported (another process's, or before a restart); a
        BAG order with its `leg_contracts` becomes a spread order with one quantity per leg."""
        ib_order = trade.order
        sign = 1 if str(ib_order.action).upper() == "BUY" else -1
        order_type = brokerOrderType.from_name(ib_order.orderType)
        legs = leg_contracts or []
        if legs:
            contract_id = "_".join(_contract_month(leg) for leg in legs)
            quantity: Any = [
                sign * int(ib_order.totalQuantity) * leg.ratio * (1 if str(leg.action).upper() == "BUY" else -1)
                for leg in trade.contract.comboLegs
            ]
            limit = _combo_price(ib_order.lmtPrice, price_magnifier)
        else:
            contract_id = _contract_month(trade.contract)
            quantity = sign * int(ib_order.totalQuantity)
            limit = _layer_price(ib_order.lmtPrice, price_magnifier)
        order = brokerOrder(
            instrument_code,
            contract_id,
            quantity,
            order_type=order_type,
            limit_price=limit if order_type == "LMT" else None,
            stop_price=_layer_price(ib_order.auxPrice, price_magnifier) if order_type == "STP" else None,
            account=ib_order.account or "",
            strategy_name=strategy_name or ib_order.orderRef.partition("/")[0],
            order_reference=ib_order.orderRef or "",
            leg_con_ids=[leg.conId for leg in legs],
        )
        submitted = min((entry.time for entry in trade.log), default=None)
        owc = cls(order, trade, price_magnifier, submit_datetime=submitted)
        owc.update_order()
        return owc

    def rebind(self, trade: Trade) -> None:
        """Use `trade` (the live Trade after a reconnect) as the control object."""
        self._control_object = trade

    def fill_of(self, ib_fill: IBFill) -> Fill:
        return layer_fill(ib_fill, self.price_magnifier)

    def status_of(self, trade: Trade, filled_quantity: int, current: orderStatus) -> orderStatus:
        return order_status_of_trade(trade, filled_quantity, current)

    def broker_limit_price(self) -> float | None:
        """IB's current limit price in the layer's units; None when IB reports none."""
        return _layer_price(self.trade.order.lmtPrice, self.price_magnifier)

    @property
    def ib_status(self) -> str:
        """IB's own status string ("Submitted", "PreSubmitted", "Filled", ...)."""
        return self.trade.orderStatus.status


class ibOrdersClient(ibContractsClient):  # noqa: N801 - pysystemtrade's public name
    """Builds, checks, sends, modifies and cancels orders; lists IB's orders and executions."""

    def __init__(self, ibconnection, log: logging.Logger | None = None):
        super().__init__(ibconnection, log)
        self._hours: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
        self._tradeable: dict[str, ResolvedContract] = {}  # by contract key, until expiry

    # ------------------------------------------------------------------ placing
    def prepare_order(self, order: brokerOrder, check_hours: bool = True) -> PreparedOrder:
        """Check the order and build IB's `Order` (with a fresh order id); sends nothing.

        Raises `OrderInvalidQuantity`, `OrderUnknownContract`, `OrderOffTick`, `OrderMarketClosed`.
        """
        contract = order.futures_contract
        quantity, resolved = self._quantity_and_contract(order)
        ib_order = self._ib_order(order, quantity, resolved)
        if check_hours:
            for leg_contract, leg in _legs_to_check(contract, resolved):
                self.check_market_open(leg_contract, leg)
        ib_order.orderId = self.ib_connection.call_in_loop(self.ib.client.getReqId)
        ib_order.clientId = self.client_id
        return PreparedOrder(order, resolved, ib_order)

    def send_order(self, prepared: PreparedOrder) -> Trade:
        """`placeOrder`: the order is live at IB once this returns."""
        return self.ib_connection.call_in_loop(self.ib.placeOrder, prepared.contract, prepared.ib_order)

    def broker_what_if_order(self, order: brokerOrder) -> OrderState:
        """IB's margin and commission for `order` without placing it (no hours check)."""
        quantity, resolved = self._quantity_and_contract(order)
        ib_order = self._ib_order(order, quantity, resolved)
        return self.run_request(
            lambda: self.ib.whatIfOrderAsync(resolved.contract, ib_order), f"what-if order {order.order_reference}"
        )

    def modify_limit_price(self, control: ibOrderWithControls, new_limit_price: float) -> Trade:
        """Send the working order again with a new limit price (IB's modify); checks the tick."""
        _, resolved = self._quantity_and_contract(control.order)
        ib_price = _price_on_grid(new_limit_price, resolved, "new limit price")
        trade = control.trade
        trade.order.lmtPrice = ib_price
        return self.ib_connection.call_in_loop(self.ib.placeOrder, trade.contract, trade.order)

    def cancel_order(self, control: orderWithControls) -> None:
        self.ib_connection.call_in_loop(self.ib.cancelOrder, control.trade.order)

    # ------------------------------------------------------------------ pysystemtrade's names
    def broker_submit_order(
        self,
        futures_contract_with_ib_data: futuresContract,
        trade_list: Any,
        account_id: str = "",
        order_type: brokerOrderType | str = brokerOrderType.MARKET,
        limit_price: float | None = None,
        what_if: bool = False,
    ):
        """pysystemtrade's client-level submit: check and send one order (or, `what_if`, ask IB's
        estimate); a `tradeWithContract`. Not recorded in the order store — `ibOrdersData.
        put_order_on_stack` is the recorded path. Raises `OrderRefused` (nothing sent)."""
        from sysbrokers.IB.ib_translate_broker_order_objects import tradeWithContract

        trade = trade_list if isinstance(trade_list, int) else list(trade_list)
        if isinstance(trade, list) and len(trade) == 1:
            trade = trade[0]
        if isinstance(trade, list) != futures_contract_with_ib_data.is_spread_contract():
            raise OrderUnknownContract(
                message=f"trade {trade} does not fit {futures_contract_with_ib_data}: a spread contract needs one "
                "quantity per leg, a single contract one quantity"
            )
        order = brokerOrder(
            futures_contract_with_ib_data.instrument_code,
            futures_contract_with_ib_data.date_str,
            trade,
            order_type=brokerOrderType.from_name(order_type),
            limit_price=limit_price,
            account=account_id,
        )
        if what_if:
            state = self.broker_what_if_order(order)
            return tradeWithContract(_with_legs(self._quantity_and_contract(order)[1]), state)
        self.ib_connection.check_can_trade()
        prepared = self.prepare_order(order)
        return tradeWithContract(_with_legs(prepared.resolved), self.send_order(prepared))

    def ib_cancel_order(self, original_order_object: Order) -> None:
        """Cancel an ib_async `Order` (pysystemtrade's raw form of `cancel_order`)."""
        self.ib_connection.check_can_trade()
        self.ib_connection.call_in_loop(self.ib.cancelOrder, original_order_object)

    def modify_limit_price_given_original_objects(
        self, original_order_object: Order, original_contract_object: Contract, new_limit_price: float
    ) -> Trade:
        """Re-send an ib_async order with a new limit price in IB's units (the objects are IB's,
        so is the price). `modify_limit_price` is the form in the layer's units, with tick checks."""
        self.ib_connection.check_can_trade()
        original_order_object.lmtPrice = new_limit_price
        return self.ib_connection.call_in_loop(self.ib.placeOrder, original_contract_object, original_order_object)

    def add_contract_legs_to_order(self, raw_order_from_ib: Trade):
        """pysystemtrade's form: a `tradeWithContract` whose `ibcontractWithLegs` holds a BAG order's
        leg contracts, looked up by conId (a single contract has none)."""
        from sysbrokers.IB.ib_translate_broker_order_objects import ibcontractWithLegs, tradeWithContract

        contract = raw_order_from_ib.contract
        return tradeWithContract(ibcontractWithLegs(contract, self.leg_contracts_of(contract)), raw_order_from_ib)

    def leg_contracts_of(self, contract: Contract) -> list[Contract]:
        """A BAG contract's legs as IB's contracts, looked up by conId (none for other contracts)."""
        return [self.ib_get_contract_with_conId(contract.symbol, leg.conId) for leg in (contract.comboLegs or [])]

    # ------------------------------------------------------------------ checks
    def resolve_spread_for_order(self, contract: futuresContract, trade_list: Any = None) -> ResolvedSpread:
        """The IB BAG contract of a spread and a per-leg trade (default [1, -1]); `OrderUnknownContract`
        if a leg is unconfigured, unknown or expired, or the trade does not fit the legs."""
        try:
            return resolve_spread(contract, None if trade_list is None else list(trade_list), self.resolve_for_order)
        except InvalidSpread as exc:
            raise OrderUnknownContract(message=f"cannot trade {contract.key} as a spread: {exc}") from exc

    def resolve_for_order(self, contract: futuresContract) -> ResolvedContract:
        """The IB contract to trade; `OrderUnknownContract` if unconfigured, unknown or expired."""
        if contract.is_spread_contract():
            return self.resolve_spread_for_order(contract)
        known = self._tradeable.get(contract.key)
        if known is not None and (known.expiry_utc is None or known.expiry_utc > self.ib_connection.now()):
            return known  # no event-loop round trip on the order path
        try:
            found = self.resolve(contract)
        except (UnknownInstrument, IBNoSecurityDefinition) as exc:
            raise OrderUnknownContract(message=f"no tradeable IB contract for {contract.key}: {exc}") from exc
        self._tradeable[contract.key] = found
        return found

    def check_market_open(self, contract: futuresContract, resolved: ResolvedContract | None = None) -> None:
        """Raise `OrderMarketClosed` unless the contract trades now (gateway clock)."""
        resolved = resolved or self.resolve_for_order(contract)
        now = self.ib_connection.now()
        hours = self._hours.get(resolved.contract.conId)
        if hours is None or not hours or hours[-1][1] <= now:
            hours = self._hours[resolved.contract.conId] = self.ib_get_trading_hours(contract)
        check_market_open(hours, now, contract.key)

    # ------------------------------------------------------------------ reading
    def broker_get_orders(self, account_id: str = "", include_completed: bool = True) -> list[Trade]:
        """IB's orders of the day: every client's open orders, completed orders, this session's trades.

        One Trade per perm id (the live one where ib_async holds two).
        """
        open_trades = self.run_request(self.ib.reqAllOpenOrdersAsync, "open orders")
        completed = (
            self.run_request(lambda: self.ib.reqCompletedOrdersAsync(False), "completed orders")
            if (include_completed)
            else []
        )
        by_key: dict[Any, Trade] = {}
        for trade in [*completed, *open_trades, *self.ib.trades()]:
            by_key[trade.order.permId or (trade.order.clientId, trade.order.orderId)] = trade
        trades = list(by_key.values())
        if account_id:
            trades = [t for t in trades if t.order.account in ("", account_id)]
        return trades

    def broker_get_fills(self) -> list[IBFill]:
        """Every execution of the day ib_async holds, each with its commission report once known."""
        return list(self.ib.fills())

    def refresh_executions(self) -> list[IBFill]:
        """Ask IB for the day's executions again (their reports land on `ib.fills()`)."""
        self.run_request(self.ib.reqExecutionsAsync, "executions")
        return self.broker_get_fills()

    def instrument_code_for_contract(self, contract: Contract) -> str | None:
        """Our instrument code for an IB futures contract; None for other or unmapped contracts."""
        if contract.secType != "FUT":
            return None
        try:
            return load_futures_config().instrument_code_from_broker(
                contract.symbol, contract.exchange, contract.multiplier or None, trading_class=contract.tradingClass
            )
        except LookupError:
            return None

    def price_magnifier_for(self, instrument_code: str, contract_id: str) -> int:
        """The price magnifier of a contract we trade (1 if IB no longer lists it)."""
        try:
            return self.resolve(futuresContract(instrument_code, contract_id), allow_expired=True).price_magnifier
        except (LookupError, IBNoSecurityDefinition):
            return 1

    # ------------------------------------------------------------------ internals
    def _quantity_and_contract(self, order: brokerOrder) -> tuple[int, ResolvedContract]:
        """The number of contracts (or combos) to send and the IB contract (a BAG for a spread)."""
        if not order.is_spread_order:
            quantity = abs(check_quantity(order.trade))
            return quantity, self.resolve_for_order(order.futures_contract)
        if order.order_type == brokerOrderType.STOP:
            raise OrderInvalidQuantity(message=f"{order.order_reference}: spread orders are market or limit orders")
        resolved = self.resolve_spread_for_order(order.futures_contract, order.trade)
        return abs(resolved.quantity), resolved

    def _ib_order(self, order: brokerOrder, quantity: int, resolved: ResolvedContract) -> Order:
        if isinstance(resolved, ResolvedSpread):
            action = resolved.action
        else:
            action = "BUY" if order.trade > 0 else "SELL"
        account = order.account or self.ib_connection.account
        magnifier = resolved.price_magnifier
        if order.order_type == brokerOrderType.LIMIT:
            price = _price_on_grid(order.limit_price, resolved, "limit price")
            ib_order: Order = LimitOrder(action, quantity, price)
        elif order.order_type == brokerOrderType.STOP:
            price = ib_price_on_grid(order.stop_price, resolved.min_tick, magnifier, "stop price")
            ib_order = StopOrder(action, quantity, price)
        else:
            ib_order = MarketOrder(action, quantity)
        ib_order.orderRef = order.order_reference
        ib_order.account = account
        ib_order.tif = "DAY"  # as pysystemtrade: IB's default, stated so it never depends on a preset
        return ib_order


def _price_on_grid(price: Any, resolved: ResolvedContract, what: str) -> float:
    """IB's price on the tick grid; a combo's may be zero or negative (the legs' price difference)."""
    if not isinstance(resolved, ResolvedSpread):
        return ib_price_on_grid(price, resolved.min_tick, resolved.price_magnifier, what)
    if price is None or isinstance(price, bool) or not isinstance(price, int | float) or price != price:
        raise OrderOffTick(message=f"{what} {price!r} is not a finite number")
    # the grid is symmetric around zero: check the size on the single-contract grid, keep the sign
    if price == 0:
        return 0.0
    on_grid = ib_price_on_grid(abs(price), resolved.min_tick, resolved.price_magnifier, what)
    return on_grid if price > 0 else -on_grid


def _legs_to_check(contract: futuresContract, resolved: ResolvedContract) -> list[tuple[futuresContract, Any]]:
    """(contract, resolved) pairs whose market must be open: each leg of a spread, else the contract."""
    if isinstance(resolved, ResolvedSpread):
        return list(zip(contract.as_list_of_individual_contracts(), resolved.legs, strict=True))
    return [(contract, resolved)]


def _with_legs(resolved: ResolvedContract):
    from sysbrokers.IB.ib_translate_broker_order_objects import ibcontractWithLegs

    legs = [leg.contract for leg in resolved.legs] if isinstance(resolved, ResolvedSpread) else []
    return ibcontractWithLegs(resolved.contract, legs)


def _combo_price(value: Any, price_magnifier: float) -> float | None:
    """A combo's limit price in the layer's units: zero and negative prices are prices."""
    if value is None or value >= _UNSET_DOUBLE or value != value:
        return None
    return float(value) / price_magnifier


def _layer_price(value: Any, price_magnifier: float) -> float | None:
    if value is None or value == 0 or value >= _UNSET_DOUBLE or value != value:
        return None
    return float(value) / price_magnifier


def _contract_month(contract: Contract) -> str:
    """pysystemtrade's contract date from IB's expiry: "20250620" -> "20250620", "202506" -> "20250600"."""
    text = str(contract.lastTradeDateOrContractMonth).split(" ")[0][:8]
    return text if len(text) == 8 else f"{text[:6]}00"
