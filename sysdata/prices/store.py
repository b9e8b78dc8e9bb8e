"""Compatibility module: the names that used to live here, re-exported.

The interface (keys, schemas, validation, `PriceStore`) is in `sysdata.prices.interface`, which the
backends import; the URL factory `open_price_store` is in `sysdata.prices.factory`, which imports the
backends. Nothing imports this module internally, so there is no import cycle; new code should use
`from sysdata.prices import ...`.
"""

from sysdata.prices.factory import PRICE_STORE_SCHEMES, open_price_store
from sysdata.prices.interface import (
    DEFAULT_PRICE_STORE_URL,
    FUTURES_PRICE_COLUMNS,
    FX_PRICE_COLUMN,
    SCHEMAS,
    InvalidPriceDataError,
    InvalidPriceKeyError,
    KeyLike,
    MergeResult,
    PriceFileError,
    PriceSchema,
    PriceStore,
    PriceStoreBackendMissingError,
    PriceStoreError,
    UnsupportedPriceStoreURLError,
    check_timestamp,
    conform_stored,
    contract_prices_key,
    empty_prices,
    fx_prices_key,
    mask_url_secrets,
    merge_prices,
    normalise_key,
    slice_prices,
    split_library_option,
    url_options,
    validate_prices,
)

__all__ = [
    "DEFAULT_PRICE_STORE_URL",
    "FUTURES_PRICE_COLUMNS",
    "FX_PRICE_COLUMN",
    "PRICE_STORE_SCHEMES",
    "SCHEMAS",
    "InvalidPriceDataError",
    "InvalidPriceKeyError",
    "KeyLike",
    "MergeResult",
    "PriceFileError",
    "PriceSchema",
    "PriceStore",
    "PriceStoreBackendMissingError",
    "PriceStoreError",
    "UnsupportedPriceStoreURLError",
    "check_timestamp",
    "conform_stored",
    "contract_prices_key",
    "empty_prices",
    "fx_prices_key",
    "mask_url_secrets",
    "merge_prices",
    "normalise_key",
    "open_price_store",
    "slice_prices",
    "split_library_option",
    "url_options",
    "validate_prices",
]
