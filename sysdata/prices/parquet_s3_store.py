"""Parquet price store on S3 (or any S3-protocol server) through pyarrow's S3 filesystem.

URL: ``parquet+s3://<bucket>/<prefix>?endpoint=http://host:port&region=...&access_key=...&secret_key=...``

* ``endpoint`` (optional): ``http://`` or ``https://`` host[:port] of an S3-protocol server (MinIO,
  Ceph, moto, ...); left out = AWS itself. Path-style addressing is used for custom endpoints.
* ``region`` (optional, default ``us-east-1``).
* ``access_key`` / ``secret_key`` (optional, both or neither): left out = the AWS default chain
  (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``~/.aws``, instance roles). They are masked in
  ``store.url`` and in error messages.

Same layout and file format as the local parquet store: one object per key,
``<prefix>/futures/EDOLLAR/20230600/D.parquet``, byte-for-byte the files ParquetPriceStore writes.

Guarantees, and how they are met on S3 (there is no rename and no lock):

* **A reader sees one whole version, never a torn or partial object.** Every write serialises the
  whole file in memory first and then uploads it as one object: a single PUT for small files (the
  filesystem is opened with ``allow_delayed_open``, pyarrow >= 21), a multipart upload above
  pyarrow's part size (or always, on older pyarrow), which S3 makes visible only when it completes. Every read fetches the whole object with **one**
  ranged GET (after a HEAD for its size; pyarrow's streaming reader would use many ranged GETs,
  which could mix two versions). If the object is replaced between the HEAD and the GET, the bytes
  are a clipped or truncated other version: parquet's footer check rejects them and the read is
  retried (``READ_ATTEMPTS``), so a caller gets a whole old version, a whole new one, or an error.
* **Writers of different keys never interfere** (different objects).
* **One writer per key.** ``merge`` is read, merge, write: S3 has no lock, and pyarrow cannot send
  the conditional headers (``If-Match``) a compare-and-swap would need, so two processes merging
  into the same key at once can lose one side's rows (the last PUT wins, whole). Give every key one
  writer at a time, as with the ArcticDB store (the seeding work queue hands a contract to one
  worker). A writer killed mid-upload leaves the previous object and at most an unfinished multipart
  upload, which S3 does not show (add a bucket lifecycle rule to abort old incomplete uploads).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from sysdata.prices.interface import (
    MergeResult,
    PriceFileError,
    PriceSchema,
    PriceStore,
    UnsupportedPriceStoreURLError,
    mask_url_secrets,
    merge_prices,
    slice_prices,
    url_options,
)
from sysdata.prices.parquet_store import SUFFIX, _frame_to_table, _table_to_frame

URL_OPTIONS = {"endpoint", "region", "access_key", "secret_key"}
DEFAULT_REGION = "us-east-1"
READ_ATTEMPTS = 5  # a read that races a replace is retried; a corrupt object fails after these
_RETRY_SECONDS = 0.05


class S3ParquetPriceStore(PriceStore):
    """PriceStore over parquet objects under s3://bucket/prefix (see the module docstring)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        filesystem: pafs.FileSystem | None = None,
        url: str | None = None,
        schemas: Mapping[str, PriceSchema] | None = None,
    ) -> None:
        super().__init__(schemas)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.fs = filesystem or pafs.S3FileSystem(region=DEFAULT_REGION)
        self.root = "/".join(part for part in (bucket, self.prefix) if part)
        self.url = mask_url_secrets(url or f"parquet+s3://{self.root}")

    @classmethod
    def from_url(cls, url: str) -> S3ParquetPriceStore:
        """parquet+s3://bucket[/prefix][?endpoint=...&region=...&access_key=...&secret_key=...]."""
        masked = mask_url_secrets(url)
        rest = url.partition("://")[2]
        location, _, query = rest.partition("?")
        options = url_options(masked, query, URL_OPTIONS)
        bucket, _, prefix = location.partition("/")
        if not bucket:
            raise UnsupportedPriceStoreURLError(masked, "expected parquet+s3://<bucket>[/<prefix>]")
        if ("access_key" in options) != ("secret_key" in options):
            raise UnsupportedPriceStoreURLError(masked, "give both access_key and secret_key, or neither")
        arguments: dict[str, object] = {
            "region": options.get("region") or DEFAULT_REGION,
            "allow_delayed_open": True,  # small objects go up as one PUT
        }
        if "access_key" in options:
            arguments.update(access_key=options["access_key"], secret_key=options["secret_key"])
        endpoint = options.get("endpoint")
        if endpoint:
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise UnsupportedPriceStoreURLError(masked, f"endpoint {endpoint!r}: expected http(s)://host[:port]")
            arguments.update(scheme=parts.scheme, endpoint_override=parts.netloc)
        try:
            try:
                filesystem = pafs.S3FileSystem(**arguments)
            except TypeError:  # pyarrow < 21 has no allow_delayed_open: multipart always, still atomic
                del arguments["allow_delayed_open"]
                filesystem = pafs.S3FileSystem(**arguments)
        except (pa.ArrowException, ValueError) as exc:
            raise UnsupportedPriceStoreURLError(masked, f"pyarrow cannot open it: {exc}") from exc
        return cls(bucket, prefix, filesystem=filesystem, url=masked)

    def path_for(self, key: str) -> str:
        """The object path (bucket/prefix/...) holding a (canonical) key."""
        return f"{self.root}/{key}{SUFFIX}"

    def _location(self, key: str) -> str:
        return f"s3://{self.path_for(key)}"

    # --- primitives ---

    def _read(
        self, key: str, schema: PriceSchema, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame | None:
        frame = self._read_whole(key, schema)
        return None if frame is None else slice_prices(frame, start, end)

    def _write(self, key: str, schema: PriceSchema, frame: pd.DataFrame) -> None:
        self._put(key, schema, frame)

    def _merge(self, key: str, schema: PriceSchema, new: pd.DataFrame, overwrite: bool) -> MergeResult:
        stored = self._read_whole(key, schema)  # one writer per key: see the module docstring
        merged, result = merge_prices(stored if stored is not None else new.iloc[:0], new, overwrite)
        if result.changed:
            self._put(key, schema, merged)
        return result

    def _delete(self, key: str) -> bool:
        try:
            self.fs.delete_file(self.path_for(key))
        except FileNotFoundError:
            return False
        return True

    def _exists(self, key: str) -> bool:
        return self.fs.get_file_info(self.path_for(key)).type == pafs.FileType.File

    def _keys(self, prefix: str) -> list[str]:
        folders = prefix.split("/")[:-1]
        if any(not name or name.startswith(".") for name in folders):
            return []
        base = "/".join((self.root, *folders))
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        found = []
        start = len(self.root) + 1
        for info in self.fs.get_file_info(selector):
            if info.type == pafs.FileType.File and info.path.endswith(SUFFIX):
                relative = info.path[start : -len(SUFFIX)]
                if not any(part.startswith(".") for part in relative.split("/")):
                    found.append(relative)
        return found

    def _last_timestamp(self, key: str, schema: PriceSchema) -> pd.Timestamp | None:
        # The footer alone would need ranged reads that could straddle a replace; read it whole.
        frame = self._read_whole(key, schema)
        if frame is None or frame.empty:
            return None
        return frame.index[-1]

    # --- whole-object I/O ---

    def _read_whole(self, key: str, schema: PriceSchema) -> pd.DataFrame | None:
        path = self.path_for(key)
        problem = ""
        for attempt in range(READ_ATTEMPTS):
            try:
                with self.fs.open_input_file(path) as handle:
                    data = handle.read()  # one GET of the whole object
            except FileNotFoundError:
                return None
            except (pa.ArrowException, OSError) as exc:
                problem = f"cannot fetch the object: {exc}"
            else:
                try:
                    table = pq.read_table(pa.BufferReader(data))
                except (pa.ArrowException, OSError) as exc:
                    problem = f"unreadable parquet object: {exc}"
                else:
                    return _table_to_frame(self._location(key), table, key, schema)
            if attempt + 1 < READ_ATTEMPTS:
                time.sleep(_RETRY_SECONDS * (attempt + 1))
        raise PriceFileError(self._location(key), problem)

    def _put(self, key: str, schema: PriceSchema, frame: pd.DataFrame) -> None:
        # Serialise first: a failure while encoding must not upload (and so publish) a partial object.
        sink = pa.BufferOutputStream()
        pq.write_table(_frame_to_table(frame, key, schema), sink)
        body = sink.getvalue()
        with self.fs.open_output_stream(self.path_for(key)) as handle:
            handle.write(body)
