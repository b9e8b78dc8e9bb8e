"""`ibFxPricesData`: spot FX prices from IB (seed 001 "FX Data").

    fx = ibFxPricesData(conn)                 # or (conn, data_blob, log=...); also importable
    fx.get_fx_prices("GBPUSD")                # from sysbrokers.IB.ib_Fx_prices_data (pysystemtrade)

Daily MIDPOINT rates, inverted where the configuration says so.
"""

from __future__ import annotations

from sysbrokers.IB.client.ib_fx_client import ibFxClient
from sysbrokers.IB.ib_data_args import ibDataObject
from sysbrokers.IB.ib_instrument_config import get_list_of_fxcodes
from sysobjects.spot_fx_prices import fxPrices


class ibFxPricesData(ibDataObject):  # noqa: N801 - pysystemtrade's public name
    """Daily FX rates for the codes in ib_config_spot_FX.csv."""

    client_class = ibFxClient
    _client: ibFxClient

    def get_list_of_fxcodes(self) -> list[str]:
        """FX codes configured in ib_config_spot_FX.csv.

        Example: ibfxpricedata.get_list_of_fxcodes()  # ['AUDUSD', 'CADUSD', ...]
        """
        return get_list_of_fxcodes()

    def get_fx_prices(self, fx_code: str) -> fxPrices:
        """Daily rates of `fx_code` (e.g. "GBPUSD"); raises `UnknownFxCode` for a code not configured.

        Example: ibfxpricedata.get_fx_prices("GBPUSD")  # fxPrices, UTC index
        """
        return self._client.broker_get_daily_fx_data(fx_code)
