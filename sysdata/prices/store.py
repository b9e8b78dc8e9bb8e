"""Compatibility module: the names that used to live here, re-exported.

The interface (keys, schemas, validation, `PriceStore`) is in `sysdata.prices.interface`, which the
backends import; the URL factory `open_price_store` is in `sysdata.prices.factory`, which imports the
backends. Nothing imports this module internally, so there is no import cycle; new code should use
`from sysdata.prices import ...`.
"""

from sysdata.prices import *  # noqa: F403 - the package's public names
from sysdata.prices import __all__ as _PUBLIC
from sysdata.prices import interface as _interface

# The interface's helpers this module also exported before the split.
_HELPERS = (
    "KeyLike",
    "check_timestamp",
    "conform_stored",
    "empty_prices",
    "mask_url_secrets",
    "merge_prices",
    "normalise_key",
    "slice_prices",
    "split_library_option",
    "url_options",
    "validate_prices",
)
globals().update({name: getattr(_interface, name) for name in _HELPERS})
__all__ = [*_PUBLIC, *_HELPERS]
