"""`ibFxClient`: spot FX rates from IDEALPRO (daily MIDPOINT bars)."""

from __future__ import annotations

import datetime as dt

from ib_async import Forex

from sysbrokers.IB.client.ib_price_client import BAR_PLANS, ibPriceClient
from sysbrokers.IB.contract_resolution import resolved
from sysbrokers.IB.ib_instrument_config import get_fx_config
from sysobjects.futures_per_contract_prices import Frequency
from sysobjects.spot_fx_prices import fxPrices


class ibFxClient(ibPriceClient):  # noqa: N801 - pysystemtrade's public name
    """Daily FX prices, inverted where the configuration says so (e.g. CHFUSD from USD.CHF)."""

    def broker_get_daily_fx_data(self, fx_code: str, start: dt.datetime | None = None) -> fxPrices:
        config = get_fx_config(fx_code)
        pattern = Forex(pair=config.ib_pair.replace(".", ""))
        details = self.run_request(lambda: self.ib.reqContractDetailsAsync(pattern), f"FX pair {config.ib_pair}")
        found = resolved(details[0]) if len(details) == 1 else None
        if found is None:
            from sysbrokers.IB.ib_errors import IBNoSecurityDefinition

            raise IBNoSecurityDefinition(message=f"IB has no single FX pair {config.ib_pair} for {fx_code}")
        # FX trades around the clock: midpoints, the full day, as IB recommends for CASH pairs.
        bars = self._download(found, BAR_PLANS[Frequency.Day], "MIDPOINT", start, None, f"FX {fx_code}")
        return fxPrices.from_ib_bars(bars, invert=config.invert)
