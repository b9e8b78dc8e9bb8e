"""Price stores: parquet files (default, local or on S3) or ArcticDB (optional extra), behind one interface."""

from sysdata.prices.factory import PRICE_STORE_SCHEMES, open_price_store
from sysdata.prices.interface import (
    DEFAULT_PRICE_STORE_URL,
    FUTURES_PRICE_COLUMNS,
    FX_PRICE_COLUMN,
    SCHEMAS,
    InvalidPriceDataError,
    InvalidPriceKeyError,
    MergeResult,
    PriceFileError,
    PriceSchema,
    PriceStore,
    PriceStoreBackendMissingError,
    PriceStoreError,
    UnsupportedPriceStoreURLError,
    contract_prices_key,
    fx_prices_key,
)

__all__ = [
    "DEFAULT_PRICE_STORE_URL",
    "FUTURES_PRICE_COLUMNS",
    "FX_PRICE_COLUMN",
    "PRICE_STORE_SCHEMES",
    "SCHEMAS",
    "InvalidPriceDataError",
    "InvalidPriceKeyError",
    "MergeResult",
    "PriceFileError",
    "PriceSchema",
    "PriceStore",
    "PriceStoreBackendMissingError",
    "PriceStoreError",
    "UnsupportedPriceStoreURLError",
    "contract_prices_key",
    "fx_prices_key",
    "open_price_store",
]
