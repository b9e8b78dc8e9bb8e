"""`open_price_store(url)`: the price store a URL names. Imports the backends; they never import it.

parquet:///abs/path, parquet://relative/path     -> ParquetPriceStore (local files; option ?fsync=0)
parquet+s3://bucket/prefix?endpoint=...           -> S3ParquetPriceStore (pyarrow's S3 filesystem)
lmdb:///abs/path, s3://..., s3s://...             -> ArcticPriceStore (needs `pip install .[arctic]`;
                                                     option ?library=<name>, default "prices")
"""

from __future__ import annotations

from sysdata.prices.interface import (
    DEFAULT_PRICE_STORE_URL,
    PriceStore,
    UnsupportedPriceStoreURLError,
    mask_url_secrets,
    url_options,
)

PRICE_STORE_SCHEMES = ("parquet", "parquet+s3", "lmdb", "s3", "s3s")


def open_price_store(url: str | None = None) -> PriceStore:
    """A price store for url (default parquet://./data/prices); see the module docstring."""
    url = DEFAULT_PRICE_STORE_URL if url is None else url
    scheme, sep, rest = url.partition("://")
    if not sep or not rest:
        raise UnsupportedPriceStoreURLError(mask_url_secrets(url), "expected <scheme>://<location>")
    if scheme == "parquet":
        from sysdata.prices.parquet_store import ParquetPriceStore

        path, _, query = rest.partition("?")
        options = url_options(url, query, {"fsync"})
        fsync = options.get("fsync", "1").lower() not in ("0", "false", "no")
        return ParquetPriceStore(path, fsync=fsync, url=url)
    if scheme == "parquet+s3":
        from sysdata.prices.parquet_s3_store import S3ParquetPriceStore

        return S3ParquetPriceStore.from_url(url)
    if scheme in ("lmdb", "s3", "s3s"):
        from sysdata.prices.arctic_store import ArcticPriceStore

        return ArcticPriceStore.from_url(url)
    known = ", ".join(f"{name}://" for name in PRICE_STORE_SCHEMES)
    raise UnsupportedPriceStoreURLError(mask_url_secrets(url), f"unknown scheme {scheme!r} (use {known})")
