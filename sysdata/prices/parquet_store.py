"""Parquet price store: one file per key under a root folder, replaced atomically.

<root>/futures/EDOLLAR/20230600/D.parquet, <root>/fx/GBPUSD.parquet. A write goes to a temporary
file in the same folder, is fsynced and then renamed over the old file (os.replace), so a reader
sees the old file or the new one and never a partial one, even if the writer dies. Writers of one
key serialise on a lock file under <root>/.locks (fcntl; POSIX only), which makes a read-merge-write
from several processes lose nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sysdata.prices.interface import (
    MergeResult,
    PriceFileError,
    PriceSchema,
    PriceStore,
    conform_stored,
    merge_prices,
    slice_prices,
)

try:
    import fcntl
except ImportError:  # Windows: no cross-process lock; one writer per key is then the caller's job
    fcntl = None

SUFFIX = ".parquet"
TIMESTAMP_COLUMN = "timestamp"
METADATA_KEY = b"ibfutures.prices"
FORMAT_VERSION = 1
_TIMESTAMP_TYPE = pa.timestamp("ns", tz="UTC")


class ParquetPriceStore(PriceStore):
    """PriceStore over parquet files under root (created on first write)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        fsync: bool = True,
        url: str | None = None,
        schemas: Mapping[str, PriceSchema] | None = None,
    ) -> None:
        super().__init__(schemas)
        self.root = Path(os.path.expanduser(os.fspath(root))).absolute()
        self.fsync = fsync
        self.url = url or f"parquet://{self.root}"

    def path_for(self, key: str) -> Path:
        """The file holding a (canonical) key."""
        return self.root.joinpath(*key.split("/")).with_name(key.rsplit("/", 1)[-1] + SUFFIX)

    # --- primitives ---

    def _read(
        self, key: str, schema: PriceSchema, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame | None:
        path = self.path_for(key)
        try:
            table = pq.read_table(path)
        except FileNotFoundError:
            return None
        except (pa.ArrowException, OSError) as exc:
            raise PriceFileError(str(path), f"unreadable parquet file: {exc}") from None
        return slice_prices(_table_to_frame(path, table, key, schema), start, end)

    def _write(self, key: str, schema: PriceSchema, frame: pd.DataFrame) -> None:
        with self._locked(key):
            self._replace(key, schema, frame)

    def _merge(self, key: str, schema: PriceSchema, new: pd.DataFrame, overwrite: bool) -> MergeResult:
        with self._locked(key):
            stored = self._read(key, schema, None, None)
            merged, result = merge_prices(stored if stored is not None else new.iloc[:0], new, overwrite)
            if result.changed:
                self._replace(key, schema, merged)
            return result

    def _delete(self, key: str) -> bool:
        with self._locked(key):
            try:
                self.path_for(key).unlink()
            except FileNotFoundError:
                return False
            return True

    def _exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def _keys(self, prefix: str) -> list[str]:
        # Walk only the folder the prefix pins down; a partial last segment filters names below it.
        folders = prefix.split("/")[:-1]
        if any(not name or name.startswith(".") for name in folders):  # also keeps ".." from leaving root
            return []
        top = self.root.joinpath(*folders)
        found = []
        for folder, dirs, files in os.walk(top):
            dirs[:] = [name for name in dirs if not name.startswith(".")]
            relative = Path(folder).relative_to(self.root).parts
            for name in files:
                if name.endswith(SUFFIX) and not name.startswith("."):
                    found.append("/".join((*relative, name[: -len(SUFFIX)])))
        return found

    def _last_timestamp(self, key: str, schema: PriceSchema) -> pd.Timestamp | None:
        path = self.path_for(key)
        try:
            metadata = pq.read_metadata(path)
        except FileNotFoundError:
            return None
        except (pa.ArrowException, OSError) as exc:
            raise PriceFileError(str(path), f"unreadable parquet file: {exc}") from None
        _check_metadata(path, metadata.schema.to_arrow_schema(), key, schema)
        if metadata.num_rows == 0:
            return None
        # Rows are sorted, so the last row group's max statistic is the answer without reading data.
        group = metadata.row_group(metadata.num_row_groups - 1).column(0)
        if group.statistics is not None and group.statistics.has_min_max:
            return pd.Timestamp(group.statistics.max).tz_convert("UTC")
        stamps = pq.read_table(path, columns=[TIMESTAMP_COLUMN]).column(0)
        return pd.Timestamp(stamps[-1].as_py()).tz_convert("UTC")

    # --- atomic replace and locking ---

    def _replace(self, key: str, schema: PriceSchema, frame: pd.DataFrame) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = _frame_to_table(frame, key, schema)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                pq.write_table(table, handle)
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        if self.fsync:  # make the rename itself durable
            _fsync_folder(path.parent)

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        folder = self.root / ".locks"
        folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1(key.encode()).hexdigest() + ".lock"  # flat, and no case clashes on macOS
        with open(folder / name, "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _frame_to_table(frame: pd.DataFrame, key: str, schema: PriceSchema) -> pa.Table:
    arrays = [pa.array(frame.index.asi8, type=pa.int64()).view(_TIMESTAMP_TYPE)]
    arrays += [pa.array(frame[column].to_numpy(), type=pa.float64()) for column in schema.columns]
    metadata = {"format": FORMAT_VERSION, "key": key, "namespace": schema.namespace, "columns": list(schema.columns)}
    return pa.Table.from_arrays(
        arrays, names=[TIMESTAMP_COLUMN, *schema.columns], metadata={METADATA_KEY: json.dumps(metadata).encode()}
    )


def _check_metadata(path: Path, arrow_schema: pa.Schema, key: str, schema: PriceSchema) -> None:
    raw = (arrow_schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise PriceFileError(str(path), "not written by this price store (no ibfutures.prices metadata)")
    try:
        metadata = json.loads(raw)
    except ValueError:
        raise PriceFileError(str(path), "garbled ibfutures.prices metadata") from None
    if metadata.get("format") != FORMAT_VERSION or metadata.get("namespace") != schema.namespace:
        raise PriceFileError(str(path), f"metadata {metadata} does not match format {FORMAT_VERSION} / {key}")
    expected = pa.schema(
        [pa.field(TIMESTAMP_COLUMN, _TIMESTAMP_TYPE)] + [pa.field(column, pa.float64()) for column in schema.columns]
    )
    if not arrow_schema.remove_metadata().equals(expected):
        raise PriceFileError(str(path), f"schema {arrow_schema.remove_metadata()} is not {expected}")


def _table_to_frame(path: Path, table: pa.Table, key: str, schema: PriceSchema) -> pd.DataFrame:
    _check_metadata(path, table.schema, key, schema)
    if table.column(0).null_count:
        raise PriceFileError(str(path), "null timestamps")
    # Column by column to numpy is cheaper than Table.to_pandas and needs no pandas metadata.
    stamps = table.column(0).cast(pa.int64()).to_numpy()
    index = pd.DatetimeIndex(stamps.view("datetime64[ns]")).tz_localize("UTC")
    values = {column: table.column(column).to_numpy() for column in schema.columns}
    return conform_stored(str(path), pd.DataFrame(values, index=index, copy=False), schema)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every OS/filesystem can open or fsync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
