"""Price stores: parquet files (default) or ArcticDB (optional extra), behind one interface."""

from sysdata.prices.store import (
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
    open_price_store,
)

__all__ = [
    "DEFAULT_PRICE_STORE_URL",
    "FUTURES_PRICE_COLUMNS",
    "FX_PRICE_COLUMN",
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
