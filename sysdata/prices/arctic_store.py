"""ArcticDB price store (optional: `pip install .[arctic]`; ArcticDB is under the BSL 1.1 licence).

One ArcticDB symbol per key ("futures/EDOLLAR/20230600/D") in one library (default "prices") of an
`arcticdb.Arctic(uri)`: lmdb:///path on one machine, s3://endpoint:bucket?... for several.
ArcticDB keeps a tz-aware UTC index (checked with 6.28), but an empty symbol reads back naive, so
every read is normalised to UTC. Previous versions are pruned on every write: this is a price store,
not an audit trail. ArcticDB does not lock: concurrent writers of one symbol silently lose rows, so
keep to one writer per key (different keys are safe).

Several processes share one store, so ArcticDB's per-process cache of version maps is switched off
(`VersionMap.ReloadInterval` = 0, a process-wide ArcticDB setting): with it, a process kept reading a
version another process had replaced and pruned ("failed to read key ..." on S3 for ~2 s). Even so,
a read that resolved version N can find N's segments deleted by a writer that has just written N+1
and pruned N; such a read is retried (`READ_ATTEMPTS`) and returns the newer whole version. A reader
never gets a torn or partial frame.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from sysdata.prices.interface import (
    MergeResult,
    PriceFileError,
    PriceSchema,
    PriceStore,
    PriceStoreBackendMissingError,
    UnsupportedPriceStoreURLError,
    conform_stored,
    mask_url_secrets,
    merge_prices,
    split_library_option,
)

FORMAT_VERSION = 1
READ_ATTEMPTS = 5  # a read whose version another process pruned meanwhile is retried this often
_RETRY_SECONDS = 0.05


def _import_arcticdb() -> Any:
    try:
        import arcticdb
    except ImportError as exc:
        raise PriceStoreBackendMissingError(
            "lmdb:// and s3:// price stores need ArcticDB: pip install .[arctic] "
            "(BSL 1.1 licence: production use needs a licence from Man Group; parquet:// needs none)"
        ) from exc
    return arcticdb


class ArcticPriceStore(PriceStore):
    """PriceStore over one ArcticDB library."""

    def __init__(
        self,
        uri: str,
        library: str = "prices",
        url: str | None = None,
        schemas: Mapping[str, PriceSchema] | None = None,
    ) -> None:
        super().__init__(schemas)
        arcticdb = _import_arcticdb()
        self.url = mask_url_secrets(url or f"{uri} (library {library})")
        self._missing = arcticdb.exceptions.NoSuchVersionException
        # NoSuchVersionException (no such symbol) derives from NoDataFoundException; the rest of that
        # family, and KeyNotFoundException, mean a resolved version's segments are gone (pruned).
        self._vanished = (arcticdb.exceptions.NoDataFoundException, arcticdb.exceptions.KeyNotFoundException)
        # ArcticDB caches each symbol's version map for a while (VersionMap.ReloadInterval), so a
        # process would go on reading a version that another process has replaced, and pruned, for
        # that long. Several processes share this store: resolve the latest version on every read.
        arcticdb.config.set_config_int("VersionMap.ReloadInterval", 0)
        try:
            self._arctic = arcticdb.Arctic(uri)
            self._lib = self._open_library(library)
        except Exception as exc:  # arcticdb raises plain RuntimeError/ValueError subclasses for bad URIs
            raise UnsupportedPriceStoreURLError(self.url, f"ArcticDB cannot open it: {exc}") from exc

    def _open_library(self, library: str) -> Any:
        try:
            return self._arctic.get_library(library, create_if_missing=True)
        except ValueError as exc:
            # Two processes opening a new library at once: both saw it missing, the other created it.
            if "already exists" not in str(exc):
                raise
            return self._arctic.get_library(library)

    @classmethod
    def from_url(cls, url: str) -> ArcticPriceStore:
        """lmdb:///abs/path, lmdb://relative, s3://... as ArcticDB takes them, plus our ?library=name."""
        uri, library = split_library_option(url)
        return cls(uri, library, url=url)

    def _location(self, key: str) -> str:
        return f"{self.url}:{key}"

    def _retrying(self, key: str, call: Callable[[], object]) -> object:
        """call(), again if another process pruned the version it was reading (see the module doc)."""
        for attempt in range(READ_ATTEMPTS):
            try:
                return call()
            except self._missing:
                raise
            except self._vanished as exc:
                if attempt + 1 == READ_ATTEMPTS:  # not a race after all: the symbol is damaged
                    raise PriceFileError(self._location(key), f"stored data missing: {exc}") from exc
                time.sleep(_RETRY_SECONDS * (attempt + 1))
        raise AssertionError("unreachable")

    # --- primitives ---

    def _read(
        self, key: str, schema: PriceSchema, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame | None:
        date_range = None if start is None and end is None else (start, end)

        def read() -> object:
            with warnings.catch_warnings():
                # arcticdb 6.28 builds frames through a pandas internal that pandas 2.3 deprecates
                warnings.filterwarnings("ignore", "Passing a BlockManager", DeprecationWarning)
                return self._lib.read(key, date_range=date_range).data

        try:
            frame = self._retrying(key, read)
        except self._missing:
            return None
        if not isinstance(frame, pd.DataFrame):
            raise PriceFileError(self._location(key), f"holds a {type(frame).__name__}, not a price frame")
        return conform_stored(self._location(key), frame, schema)

    def _write(self, key: str, schema: PriceSchema, frame: pd.DataFrame) -> None:
        metadata = {"format": FORMAT_VERSION, "namespace": schema.namespace}
        self._lib.write(key, frame, metadata=metadata, prune_previous_versions=True)

    def _merge(self, key: str, schema: PriceSchema, new: pd.DataFrame, overwrite: bool) -> MergeResult:
        # Only stored rows inside the new data's time span can collide; ArcticDB's update() replaces
        # exactly that span, so read it, merge it and write it back. Appending bars is the case
        # where the span holds no stored rows at all.
        stored = self._read(key, schema, new.index[0], new.index[-1])
        if stored is None:
            self._write(key, schema, new)
            return MergeResult(added=len(new))
        merged, result = merge_prices(stored, new, overwrite)
        if result.changed:
            self._lib.update(key, merged, prune_previous_versions=True)
        return result

    def _delete(self, key: str) -> bool:
        if not self._lib.has_symbol(key):
            return False
        self._lib.delete(key)
        return True

    def _exists(self, key: str) -> bool:
        return self._lib.has_symbol(key)

    def _keys(self, prefix: str) -> list[str]:
        return [symbol for symbol in self._lib.list_symbols() if symbol.startswith(prefix)]

    def _last_timestamp(self, key: str, schema: PriceSchema) -> pd.Timestamp | None:
        try:
            description = self._retrying(key, lambda: self._lib.get_description(key))
        except self._missing:
            return None
        last = pd.Timestamp(description.date_range[1])
        if pd.isna(last):
            return None
        return last.tz_localize("UTC") if last.tzinfo is None else last.tz_convert("UTC")
