"""pysystemtrade's import path for `ibFxPricesData` (this layer's module: ib_spot_FX_data.py).

from sysbrokers.IB.ib_Fx_prices_data import ibFxPricesData
ibFxPricesData(conn, data_blob, log=log).get_fx_prices("GBPUSD")
"""

from sysbrokers.IB.ib_spot_FX_data import ibFxPricesData

__all__ = ["ibFxPricesData"]
