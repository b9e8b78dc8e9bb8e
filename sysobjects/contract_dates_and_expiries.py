"""pysystemtrade's import path for contract dates and expiries (the code lives in contract_dates)."""

from sysobjects.contract_dates import contractDate, expiryDate

__all__ = ["contractDate", "expiryDate"]
