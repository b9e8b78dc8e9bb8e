"""`dataBroker`: pysystemtrade's broker facade for production code, on this layer's dataBlob.

    from sysdata.data_blob import dataBlob
    from sysproduction.data.broker import dataBroker
    from syscore.dateutils import DAILY_PRICE_FREQ

    with dataBlob("update_prices") as data:
        data_broker = dataBroker(data)
        prices = data_broker.get_cleaned_prices_at_frequency_for_contract_object(contract, DAILY_PRICE_FREQ)
        ticker = data_broker.get_ticker_object_for_order(order)
        data_broker.get_total_capital_value_in_base_currency()

Every method delegates to one broker data object of the blob (`data.broker_*`, added with
`data.add_class_list(get_broker_class_list(data))` as pysystemtrade does); nothing is copied.
Prices are UTC-aware and in the layer's units (IB's divided by the price magnifier). Base-currency
totals use IB's own exchange rates from the account summary (pysystemtrade: its FX price store).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sysbrokers.IB.ib_data_args import ibAsyncForms
from syscore.constants import arg_not_supplied, supplied
from syscore.exceptions import missingContract, missingData
from sysexecution.orders.named_order_objects import missing_order
from sysexecution.trade_qty import tradeQuantity
from sysobjects.contracts import futuresContract
from sysobjects.futures_per_contract_prices import futuresContractPrices
from sysobjects.positions import currencyValue, listOfContractPositions, listOfCurrencyValues

__all__ = ["apply_price_cleaning", "dataBroker", "missing_order", "priceFilterConfig"]


@dataclass(frozen=True)
class priceFilterConfig:  # noqa: N801 - pysystemtrade's public name
    """pysystemtrade's price-cleaning switches (config keys of the same names)."""

    ignore_future_prices: bool = True
    ignore_prices_with_zero_volumes_intraday: bool = True
    ignore_prices_with_zero_volumes_daily: bool = False
    ignore_zero_prices: bool = True
    ignore_negative_prices: bool = False
    max_price_spike: float = 8.0

    @classmethod
    def from_config(cls, config: Any) -> priceFilterConfig:
        values = {}
        for name, default in cls().__dict__.items():
            try:
                value = config.get_element_or_default(name, default)
            except AttributeError:
                value = default
            values[name] = type(default)(value)
        return cls(**values)


def apply_price_cleaning(
    prices: futuresContractPrices, cleaning_config: priceFilterConfig, now: dt.datetime
) -> futuresContractPrices:
    """pysystemtrade's `apply_price_cleaning`: drop rows the switches say to ignore."""
    if prices.empty:
        return prices
    keep = pd.Series(True, index=prices.index)
    if cleaning_config.ignore_future_prices:
        keep &= prices.index <= pd.Timestamp(now)
    ignore_zero_volume = (
        cleaning_config.ignore_prices_with_zero_volumes_intraday
        if prices.is_intraday
        else cleaning_config.ignore_prices_with_zero_volumes_daily
    )
    if ignore_zero_volume:
        keep &= prices["VOLUME"] != 0
    price_columns = ["OPEN", "HIGH", "LOW", "FINAL"]
    if cleaning_config.ignore_zero_prices:
        keep &= (prices[price_columns] != 0).all(axis=1)
    if cleaning_config.ignore_negative_prices:
        keep &= (prices[price_columns] >= 0).all(axis=1)
    return prices[keep.to_numpy()]


class dataBroker(ibAsyncForms):  # noqa: N801 - pysystemtrade's public name
    """What pysystemtrade's production processes call on the broker, on one dataBlob."""

    def __init__(self, data: Any = arg_not_supplied):
        if not supplied(data):
            from sysdata.data_blob import dataBlob

            data = dataBlob("dataBroker")
        self.data = data
        self._add_required_classes_to_data(data)

    def _add_required_classes_to_data(self, data: Any) -> Any:
        from sysbrokers.broker_factory import get_broker_class_list

        data.add_class_list(get_broker_class_list(data))
        return data

    # ------------------------------------------------------------------ the data objects
    @property
    def broker_fx_prices_data(self):
        return self.data.broker_fx_prices

    @property
    def broker_futures_contract_price_data(self):
        return self.data.broker_futures_contract_price

    @property
    def broker_futures_contract_data(self):
        return self.data.broker_futures_contract

    @property
    def broker_contract_position_data(self):
        return self.data.broker_contract_position

    @property
    def broker_execution_stack(self):
        return self.data.broker_execution_stack

    @property
    def broker_static_data(self):
        return self.data.broker_static

    @property
    def broker_capital_data(self):
        return self.data.broker_capital

    @property
    def broker_futures_instrument_data(self):
        return self.data.broker_futures_instrument

    @property
    def broker_fx_handling_data(self):
        return self.data.broker_fx_handling

    @property
    def broker_futures_contract_commission(self):
        return self.data.broker_futures_contract_commission

    # ------------------------------------------------------------------ static
    def get_broker_account(self) -> str:
        return self.broker_static_data.get_broker_account()

    def get_broker_clientid(self) -> int:
        return self.broker_static_data.get_broker_clientid()

    def get_broker_name(self) -> str:
        return self.broker_static_data.get_broker_name()

    # ------------------------------------------------------------------ FX
    def get_fx_prices(self, fx_code: str):
        return self.broker_fx_prices_data.get_fx_prices(fx_code)

    def get_list_of_fxcodes(self) -> list[str]:
        return self.broker_fx_prices_data.get_list_of_fxcodes()

    def broker_fx_balances(self, account_id: Any = arg_not_supplied) -> dict[str, float]:
        return self.broker_fx_handling_data.broker_fx_balances(self._account(account_id))

    def broker_fx_market_order(self, trade: float, ccy1: str, account_id: Any = arg_not_supplied, ccy2: str = "USD"):
        return self.broker_fx_handling_data.broker_fx_market_order(
            trade, ccy1, account_id=self._account(account_id), ccy2=ccy2
        )

    # ------------------------------------------------------------------ prices
    def get_prices_at_frequency_for_contract_object(
        self, contract_object: futuresContract, frequency: Any
    ) -> futuresContractPrices:
        """Raises `missingData` when IB has no bars or no such contract, as pysystemtrade's dataBroker."""
        try:
            return self.broker_futures_contract_price_data.get_prices_at_frequency_for_contract_object(
                contract_object, frequency, return_empty=False
            )
        except missingContract as exc:
            raise missingData(f"no prices for {contract_object}: {exc}") from exc

    def get_prices_at_frequency_for_potentially_expired_contract_object(
        self, contract: futuresContract, frequency: Any
    ) -> futuresContractPrices:
        try:
            return (
                self.broker_futures_contract_price_data.get_prices_at_frequency_for_potentially_expired_contract_object(
                    contract=contract, freq=frequency
                )
            )
        except missingContract as exc:
            raise missingData(f"no prices for {contract}: {exc}") from exc

    def get_cleaned_prices_at_frequency_for_contract_object(
        self, contract_object: futuresContract, frequency: Any, cleaning_config: Any = arg_not_supplied
    ) -> futuresContractPrices:
        """Prices with pysystemtrade's cleaning applied (switches from the config by default)."""
        prices = self.get_prices_at_frequency_for_contract_object(contract_object, frequency)
        if not supplied(cleaning_config):
            cleaning_config = priceFilterConfig.from_config(self.data.config)
        return apply_price_cleaning(prices, cleaning_config, self.data.ib_conn.now())

    def get_recent_bid_ask_tick_data_for_contract_object(self, contract: futuresContract, **limits: Any):
        return self.broker_futures_contract_price_data.get_recent_bid_ask_tick_data_for_contract_object(
            contract, **limits
        )

    def get_ticker_object_for_order(self, order: Any):
        return self.broker_futures_contract_price_data.get_ticker_object_for_order(order)

    def get_ticker_object_for_contract(self, contract: futuresContract):
        return self.broker_futures_contract_price_data.get_ticker_object_for_contract(contract)

    def cancel_market_data_for_order(self, order: Any) -> None:
        self.broker_futures_contract_price_data.cancel_market_data_for_order(order)

    def cancel_market_data_for_contract(self, contract: futuresContract) -> None:
        self.broker_futures_contract_price_data.cancel_market_data_for_contract(contract)

    def get_largest_offside_liquid_size_for_contract_order_by_leg(self, contract_order: Any) -> list[float]:
        """The size on the far side of the book now, per leg: a calendar spread's combo size (whole
        combos) times each leg's ratio."""
        ticker = self.get_ticker_object_for_order(contract_order)
        try:
            ticker.wait_for_valid_bid_and_ask_and_return_current_tick()
            trade = getattr(contract_order, "trade", None)
            if isinstance(trade, list) and len(trade) > 1:
                ratios = tradeQuantity(trade).ratios
                return [ticker.offside_size() * abs(ratio) for ratio in ratios]
            return [ticker.offside_size()]
        finally:
            self.cancel_market_data_for_order(contract_order)

    # ------------------------------------------------------------------ contracts
    def get_list_of_contract_dates_for_instrument_code(
        self, instrument_code: str, allow_expired: bool = False
    ) -> list[str]:
        return self.broker_futures_contract_data.get_list_of_contract_dates_for_instrument_code(
            instrument_code, allow_expired=allow_expired
        )

    def get_contract_object_with_IB_data(self, contract: futuresContract) -> futuresContract:  # noqa: N802
        return self.broker_futures_contract_data.get_contract_object_with_IB_data(contract)

    def get_actual_expiry_date_for_single_contract(self, contract_object: futuresContract):
        return self.broker_futures_contract_data.get_actual_expiry_date_for_single_contract(contract_object)

    def get_brokers_instrument_code(self, instrument_code: str) -> str:
        return self.broker_futures_instrument_data.get_brokers_instrument_code(instrument_code)

    def get_brokers_instrument_with_metadata(self, instrument_code: str):
        return self.broker_futures_instrument_data.get_futures_instrument_object_with_IB_data(instrument_code)

    def is_contract_okay_to_trade(self, contract: futuresContract) -> bool:
        return self.broker_futures_contract_data.is_contract_okay_to_trade(contract)

    def less_than_N_hours_of_trading_left_for_contract(  # noqa: N802
        self,
        contract: futuresContract,
        N_hours: float = 1.0,  # noqa: N803
    ) -> bool:
        return self.broker_futures_contract_data.less_than_N_hours_of_trading_left_for_contract(
            contract, N_hours=N_hours
        )

    def get_trading_hours_for_contract(self, contract: futuresContract):
        return self.broker_futures_contract_data.get_trading_hours_for_contract(contract)

    def get_min_tick_size_for_contract(self, contract: futuresContract) -> float:
        return self.broker_futures_contract_data.get_min_tick_size_for_contract(contract)

    def get_price_magnifier_for_contract(self, contract: futuresContract) -> float:
        return self.broker_futures_contract_data.get_price_magnifier_for_contract(contract)

    def get_commission_for_contract_in_currency_value(self, contract: futuresContract) -> currencyValue:
        return self.broker_futures_contract_commission.get_commission_for_contract(contract)

    # ------------------------------------------------------------------ positions and capital
    def get_all_current_contract_positions(self, account_id: Any = arg_not_supplied) -> listOfContractPositions:
        return self.broker_contract_position_data.get_all_current_positions_as_list_with_contract_objects(
            self._account(account_id) or None
        )

    def get_total_capital_value_in_base_currency(self) -> float:
        return self._in_base(self.broker_capital_data.get_account_value_across_currency(self._account_or_none()))

    def get_total_excess_liquidity_in_base_currency(self) -> float:
        return self._in_base(
            self.broker_capital_data.get_excess_liquidity_value_across_currency(self._account_or_none())
        )

    def get_margin_used_in_base_currency(self) -> float:
        return self.get_total_capital_value_in_base_currency() - self.get_total_excess_liquidity_in_base_currency()

    def _in_base(self, values: listOfCurrencyValues) -> float:
        rates = self.broker_capital_data.get_exchange_rates(self._account_or_none())
        return values.total_in_base(rates)

    # ------------------------------------------------------------------ orders
    def get_list_of_orders(self) -> list:
        return self.broker_execution_stack.get_list_of_broker_orders_with_account_id(self.get_broker_account())

    def get_list_of_stored_orders(self) -> list:
        return self.broker_execution_stack.get_list_of_orders_from_storage()

    def submit_broker_order(self, broker_order: Any):
        """`ibOrderWithControls`, or `missing_order` if the order was refused before sending."""
        return self.broker_execution_stack.put_order_on_stack(broker_order)

    def what_if_order(self, broker_order: Any):
        return self.broker_execution_stack.what_if_order(broker_order)

    def match_db_broker_order_to_order_from_brokers(self, broker_order: Any):
        return self.broker_execution_stack.match_db_broker_order_to_order_from_brokers(broker_order)

    def match_db_broker_order_to_control_order_from_brokers(self, broker_order: Any):
        return self.broker_execution_stack.match_db_broker_order_to_control_order_from_brokers(broker_order)

    def cancel_order_on_stack(self, broker_order: Any):
        return self.broker_execution_stack.cancel_order_on_stack(broker_order)

    def cancel_order_given_control_object(self, broker_order_with_controls: Any) -> None:
        self.broker_execution_stack.cancel_order_given_control_object(broker_order_with_controls)

    def check_order_is_cancelled(self, broker_order: Any) -> bool:
        return self.broker_execution_stack.check_order_is_cancelled(broker_order)

    def check_order_is_cancelled_given_control_object(self, broker_order_with_controls: Any) -> bool:
        return self.broker_execution_stack.check_order_is_cancelled_given_control_object(broker_order_with_controls)

    def check_order_can_be_modified_given_control_object_throw_error_if_not(
        self, broker_order_with_controls: Any
    ) -> None:
        self.broker_execution_stack.check_order_can_be_modified_given_control_object_throw_error_if_not(
            broker_order_with_controls
        )

    def modify_limit_price_given_control_object(self, broker_order_with_controls: Any, new_limit_price: float):
        return self.broker_execution_stack.modify_limit_price_given_control_object(
            broker_order_with_controls, new_limit_price
        )

    def calculate_total_commission_for_broker_order(self, broker_order: Any) -> float:
        """The order's commissions summed in the account's base currency (IB's exchange rates);
        `missingData` while a commission report is still missing."""
        commissions = broker_order.commission
        if commissions is None:
            raise missingData(f"commission of {broker_order.order_reference!r} not reported yet")
        return self._in_base(listOfCurrencyValues.from_dict(commissions))

    # ------------------------------------------------------------------ internals
    def _account(self, account_id: Any) -> str:
        return account_id if supplied(account_id) else self.get_broker_account()

    def _account_or_none(self) -> str | None:
        return self.get_broker_account() or None
