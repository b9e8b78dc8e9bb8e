"""pysystemtrade's import path for instruments with their IB configuration."""

from sysobjects.instruments import futuresInstrumentWithIBConfigData, ibInstrumentConfigData

__all__ = ["futuresInstrumentWithIBConfigData", "ibInstrumentConfigData"]
