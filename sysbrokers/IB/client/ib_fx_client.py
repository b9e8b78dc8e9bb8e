"""`ibFxClient`: spot FX rates from IDEALPRO (daily MIDPOINT bars)."""

from __future__ import annotations

import datetime as dt

from ib_async import Contract, Forex, MarketOrder

from sysbrokers.IB.client.ib_price_client import BAR_PLANS, ibPriceClient
from sysbrokers.IB.contract_resolution import resolved
from sysbrokers.IB.ib_instrument_config import get_fx_config
from sysobjects.futures_per_contract_prices import Frequency
from sysobjects.spot_fx_prices import fxPrices


class ibFxClient(ibPriceClient):  # noqa: N801 - pysystemtrade's public name
    """Daily FX prices, inverted where the configuration says so (e.g. CHFUSD from USD.CHF)."""

    def broker_get_daily_fx_data(
        self,
        fx_code: str,
        ccy2: str | None = None,
        bar_freq: Frequency | str = Frequency.Day,
        start: dt.datetime | None = None,
    ) -> fxPrices:
        """Daily rates of a configured code ("GBPUSD"), or, in pysystemtrade's form
        `(ccy1, ccy2="USD")`, of IB's pair ccy1.ccy2 as IB quotes it (no inversion)."""
        if Frequency(bar_freq) != Frequency.Day:
            raise ValueError(f"FX rates are daily here, not {bar_freq!r}")
        if ccy2 is not None or len(fx_code) == 3:
            ib_pair, invert = f"{fx_code}.{ccy2 or 'USD'}", False
        else:
            config = get_fx_config(fx_code)
            ib_pair, invert = config.ib_pair, config.invert
        pattern = Forex(pair=ib_pair.replace(".", ""))
        details = self.run_request(lambda: self.ib.reqContractDetailsAsync(pattern), f"FX pair {ib_pair}")
        found = resolved(details[0]) if len(details) == 1 else None
        if found is None:
            from sysbrokers.IB.ib_errors import IBNoSecurityDefinition

            raise IBNoSecurityDefinition(message=f"IB has no single FX pair {ib_pair} for {fx_code}")
        # FX trades around the clock: midpoints, the full day, as IB recommends for CASH pairs.
        bars = self._download(found, BAR_PLANS[Frequency.Day], "MIDPOINT", start, None, f"FX {fx_code}")
        return fxPrices.from_ib_bars(bars, invert=invert)

    # ------------------------------------------------------------ FX handling (pysystemtrade)
    def ib_spotfx_contract(self, ccy1: str, ccy2: str = "USD") -> Contract:
        """The qualified IDEALPRO pair `ccy1`.`ccy2` (e.g. GBP.USD); `IBNoSecurityDefinition` if IB has none."""
        pattern = Forex(pair=f"{ccy1}{ccy2}")
        details = self.run_request(lambda: self.ib.reqContractDetailsAsync(pattern), f"FX pair {ccy1}.{ccy2}")
        if len(details) != 1:
            from sysbrokers.IB.ib_errors import IBNoSecurityDefinition

            raise IBNoSecurityDefinition(message=f"IB has no single FX pair {ccy1}.{ccy2} on IDEALPRO")
        return details[0].contract

    def broker_fx_balances(self, account_id: str = "") -> dict[str, float]:
        """{currency: cash} (IB's TotalCashBalance ledger, without "BASE"), summed over
        `account_id` (default: every managed account)."""
        from sysbrokers.IB.client.ib_accounting_client import ibAccountingClient

        accounting = ibAccountingClient(self.ib_connection, self.log)
        accounts = accounting.accounts_for(account_id or None)
        return accounting.ib_get_account_summary().across_currency("TotalCashBalance", accounts).as_dict()

    def broker_fx_market_order(self, trade: float, ccy1: str, account_id: str = "", ccy2: str = "USD"):
        """Buy (trade > 0) or sell `abs(trade)` units of `ccy1` for `ccy2` at market on IDEALPRO;
        a `tradeWithContract` (`.trade` is the ib_async Trade).

        This trades; refused on a read-only connection. FX orders are not kept in the order store.
        """
        from sysbrokers.IB.ib_translate_broker_order_objects import ibcontractWithLegs, tradeWithContract

        self.ib_connection.check_can_trade()
        contract = self.ib_spotfx_contract(ccy1, ccy2)
        order = MarketOrder("BUY" if trade > 0 else "SELL", abs(trade))
        order.account = account_id or self.ib_connection.account
        order.tif = "DAY"
        return tradeWithContract(
            ibcontractWithLegs(contract), self.ib_connection.call_in_loop(self.ib.placeOrder, contract, order)
        )
