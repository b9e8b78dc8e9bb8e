"""`ibFxHandlingData`: cash balances per currency and FX market orders on IDEALPRO (pysystemtrade's class).

    fx = ibFxHandlingData(conn, data_blob, log=log)
    fx.broker_fx_balances(account_id)                  # {"USD": 998123.4, "EUR": -12.5}
    twc = fx.broker_fx_market_order(10000, "GBP", account_id, ccy2="USD")   # buy 10,000 GBP
    twc.trade.orderStatus.status                       # an ib_async Trade

Balances are IB's TotalCashBalance per currency (the "BASE" total left out), summed over the
accounts asked for (`ibFxClient.broker_fx_balances`).
"""

from __future__ import annotations

from typing import Any

from sysbrokers.IB.client.ib_fx_client import ibFxClient
from sysbrokers.IB.ib_data_args import ibDataObject
from sysbrokers.IB.ib_translate_broker_order_objects import tradeWithContract
from syscore.constants import arg_not_supplied, supplied

__all__ = ["ibFxHandlingData"]


class ibFxHandlingData(ibDataObject):  # noqa: N801 - pysystemtrade's public name
    """FX cash and FX trades at IB."""

    client_class = ibFxClient
    _client: ibFxClient

    def broker_fx_balances(self, account_id: Any = arg_not_supplied) -> dict[str, float]:
        """{currency: cash} for `account_id` (default: every managed account)."""
        return self._client.broker_fx_balances(account_id if supplied(account_id) else "")

    def broker_fx_market_order(
        self, trade: float, ccy1: str, account_id: Any = arg_not_supplied, ccy2: str = "USD"
    ) -> tradeWithContract:
        """Buy (trade > 0) or sell `abs(trade)` `ccy1` against `ccy2` at market (this trades)."""
        account = account_id if supplied(account_id) else ""
        return self._client.broker_fx_market_order(trade, ccy1, account_id=account, ccy2=ccy2)
