"""The price-store interface: keys, schemas, validation, merge semantics and URL helpers.

Backends (parquet_store.py, parquet_s3_store.py, arctic_store.py) import this module and implement
a handful of primitives on frames that it has already validated and normalised; everything a caller
can get wrong is checked here, once. The URL factory `open_price_store` lives in factory.py, which
imports the backends; nothing here imports a backend, so the modules form no import cycle.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

DEFAULT_PRICE_STORE_URL = "parquet://./data/prices"

FUTURES_PRICE_COLUMNS = ("OPEN", "HIGH", "LOW", "FINAL", "VOLUME")
FX_PRICE_COLUMN = "price"  # pysystemtrade's column name for stored spot FX

# Each key segment must be a safe file name on every OS: no separators, no leading dot (the parquet
# store keeps its temporary and lock files under dot-names), no "..".
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_INDEX_DTYPE = "datetime64[ns, UTC]"


# --- errors --------------------------------------------------------------------------------------


class PriceStoreError(Exception):
    """Base class of every error raised by a price store."""


class InvalidPriceKeyError(PriceStoreError, ValueError):
    """A key that is malformed or names an unknown namespace."""


class InvalidPriceDataError(PriceStoreError, ValueError):
    """Input refused by write/merge; the store was not touched."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class PriceFileError(PriceStoreError):
    """Stored data that is corrupt or was not written by this store (a foreign file or symbol)."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = location
        self.problem = problem


class UnsupportedPriceStoreURLError(PriceStoreError, ValueError):
    """A price-store URL whose scheme or form is not understood."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"price store URL {url!r}: {problem}")
        self.url = url


class PriceStoreBackendMissingError(PriceStoreError, ImportError):
    """The URL needs an optional dependency that is not installed."""


# --- keys and schemas ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceSchema:
    """What a namespace holds: the names of its key parts and its float64 columns, in order."""

    namespace: str
    key_parts: tuple[str, ...]
    columns: tuple[str, ...]


SCHEMAS: Mapping[str, PriceSchema] = {
    "futures": PriceSchema("futures", ("instrument", "contract_date", "frequency"), FUTURES_PRICE_COLUMNS),
    "fx": PriceSchema("fx", ("pair",), (FX_PRICE_COLUMN,)),
}

KeyLike = str | tuple[str, ...] | list[str]


def contract_prices_key(instrument: str, contract_date: str, frequency: str = "D") -> str:
    """Key of one contract's bars at one frequency, e.g. futures/EDOLLAR/20230600/D."""
    return normalise_key(("futures", instrument, contract_date, frequency))


def fx_prices_key(pair: str) -> str:
    """Key of one spot FX series, e.g. fx/GBPUSD."""
    return normalise_key(("fx", pair))


def normalise_key(key: KeyLike, schemas: Mapping[str, PriceSchema] = SCHEMAS) -> str:
    """The canonical "a/b/c" form of a key given as a string or a tuple; raises InvalidPriceKeyError."""
    if isinstance(key, str):
        parts = key.split("/")
    elif isinstance(key, tuple | list) and all(isinstance(part, str) for part in key):
        parts = list(key)
    else:
        raise InvalidPriceKeyError(f"a price key is a str or a tuple of str, not {key!r}")
    text = "/".join(parts)
    bad = [part for part in parts if not _SEGMENT.match(part)]
    if bad:
        raise InvalidPriceKeyError(f"price key {text!r}: bad segment {bad[0]!r} (letters, digits, _ . -)")
    schema = schemas.get(parts[0])
    if schema is None:
        raise InvalidPriceKeyError(f"price key {text!r}: unknown namespace {parts[0]!r} (known: {', '.join(schemas)})")
    if len(parts) != 1 + len(schema.key_parts):
        expected = "/".join((schema.namespace, *schema.key_parts))
        raise InvalidPriceKeyError(f"price key {text!r}: expected {expected}")
    return text


def empty_prices(schema: PriceSchema) -> pd.DataFrame:
    """A frame with no rows and the schema's columns, as read() returns for an absent key."""
    index = pd.DatetimeIndex([], dtype=_INDEX_DTYPE)
    return pd.DataFrame({column: np.array([], dtype="float64") for column in schema.columns}, index=index)


# --- validation ----------------------------------------------------------------------------------


def validate_prices(key: str, data: pd.DataFrame | pd.Series, schema: PriceSchema) -> pd.DataFrame:
    """A normalised copy of `data` (UTC ns index, float64 columns in schema order) or InvalidPriceDataError.

    Naive timestamps are refused because they are ambiguous (pysystemtrade's were machine-local time);
    tz-aware timestamps in another zone are converted to UTC, which loses nothing.
    """
    if isinstance(data, pd.Series):
        if len(schema.columns) != 1:
            raise InvalidPriceDataError(key, f"a Series only fits a one-column namespace; need {list(schema.columns)}")
        data = data.to_frame(schema.columns[0])
    if not isinstance(data, pd.DataFrame):
        raise InvalidPriceDataError(key, f"expected a pandas DataFrame, got {type(data).__name__}")

    index = data.index
    if not isinstance(index, pd.DatetimeIndex):
        raise InvalidPriceDataError(key, f"index must be a DatetimeIndex, got {type(index).__name__}")
    if index.tz is None:
        raise InvalidPriceDataError(key, "index is timezone-naive; localise it (UTC) before storing")
    if index.hasnans:
        raise InvalidPriceDataError(key, f"index has {int(index.isna().sum())} NaT timestamp(s)")
    if not index.is_unique:
        first = index[index.duplicated()][0]
        raise InvalidPriceDataError(key, f"duplicate timestamps in the input (first: {first})")
    if not index.is_monotonic_increasing:
        position = int(np.argmax(np.diff(index.asi8) <= 0))
        raise InvalidPriceDataError(
            key, f"timestamps not increasing: {index[position]} then {index[position + 1]} at row {position + 1}"
        )

    columns = [str(column) for column in data.columns]
    missing = [column for column in schema.columns if column not in columns]
    extra = [column for column in columns if column not in schema.columns]
    if missing or extra or len(columns) != len(set(columns)):
        raise InvalidPriceDataError(
            key, f"columns must be exactly {list(schema.columns)}; missing {missing}, unexpected {extra}"
        )

    try:
        index = index.tz_convert("UTC").as_unit("ns")
    except (OverflowError, ValueError) as exc:  # out of the nanosecond range (years 1677..2262)
        raise InvalidPriceDataError(key, f"timestamps out of range: {exc}") from None
    values: dict[str, np.ndarray] = {}
    for column in schema.columns:
        series = data[column]
        if not (pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)):
            raise InvalidPriceDataError(key, f"column {column} has non-numeric dtype {series.dtype}")
        array = series.to_numpy(dtype="float64", na_value=np.nan)
        if np.isinf(array).any():
            raise InvalidPriceDataError(key, f"column {column} has infinite values")
        values[column] = array
    return pd.DataFrame(values, index=pd.DatetimeIndex(index, name=None, freq=None))


def check_timestamp(name: str, value: pd.Timestamp | None) -> pd.Timestamp | None:
    """A read bound as a UTC Timestamp; naive bounds are refused like naive data."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        raise ValueError(f"{name}={value!r} is timezone-naive; pass a tz-aware timestamp")
    return stamp.tz_convert("UTC")


# --- merging -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeResult:
    """What merge() did: rows added, rows already stored identically, rows that differed from stored.

    `replaced` equals `conflicting` when merge ran with overwrite=True and is 0 otherwise.
    """

    added: int = 0
    unchanged: int = 0
    conflicting: int = 0
    replaced: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced)


def merge_prices(stored: pd.DataFrame, new: pd.DataFrame, overwrite: bool) -> tuple[pd.DataFrame, MergeResult]:
    """Union of two validated frames; a timestamp in both keeps the stored row unless overwrite."""
    if stored.empty:
        return new, MergeResult(added=len(new))
    if new.empty:
        return stored, MergeResult()
    if new.index[0] > stored.index[-1]:  # the usual case: new bars after the last stored one
        return pd.concat([stored, new]), MergeResult(added=len(new))

    in_stored = new.index.isin(stored.index)
    common = new.index[in_stored]
    old_values = stored.loc[common].to_numpy()
    new_values = new.loc[common].to_numpy()
    same = (old_values == new_values) | (np.isnan(old_values) & np.isnan(new_values))
    differs = ~same.all(axis=1)
    conflicting = int(differs.sum())
    result = MergeResult(
        added=int((~in_stored).sum()),
        unchanged=len(common) - conflicting,
        conflicting=conflicting,
        replaced=conflicting if overwrite else 0,
    )
    merged = stored
    if result.replaced:
        merged = stored.copy()
        merged.loc[common[differs]] = new_values[differs]
    if result.added:
        merged = pd.concat([merged, new.loc[~in_stored]]).sort_index(kind="mergesort")
    return merged, result


# --- the interface -------------------------------------------------------------------------------


class PriceStore(ABC):
    """Time series of prices by key, one backend per URL scheme.

    Keys: ``futures/<instrument>/<contract_date>/<frequency>`` (columns OPEN HIGH LOW FINAL VOLUME)
    and ``fx/<pair>`` (one column, ``price``). Frames come back with a tz-aware UTC DatetimeIndex,
    strictly increasing, and float64 columns in schema order.
    """

    url: str

    def __init__(self, schemas: Mapping[str, PriceSchema] | None = None) -> None:
        self.schemas: Mapping[str, PriceSchema] = dict(SCHEMAS if schemas is None else schemas)

    # public API: validate here, then call the backend primitives

    def read(self, key: KeyLike, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
        """Stored rows with start <= timestamp <= end (both optional); an empty frame if the key is absent."""
        key, schema = self._key(key)
        start, end = check_timestamp("start", start), check_timestamp("end", end)
        if start is not None and end is not None and start > end:
            return empty_prices(schema)
        frame = self._read(key, schema, start, end)
        return empty_prices(schema) if frame is None else frame

    def read_series(
        self, key: KeyLike, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> pd.Series:
        """read() for one-column namespaces (fx/...), as a Series named after the column."""
        key, schema = self._key(key)
        if len(schema.columns) != 1:
            raise InvalidPriceKeyError(f"price key {key!r}: read_series needs a one-column namespace")
        return self.read(key, start, end)[schema.columns[0]]

    def write(self, key: KeyLike, data: pd.DataFrame | pd.Series) -> None:
        """Replace whatever is stored under key with data (validated first; bad input changes nothing)."""
        key, schema = self._key(key)
        self._write(key, schema, validate_prices(key, data, schema))

    def merge(self, key: KeyLike, data: pd.DataFrame | pd.Series, overwrite: bool = False) -> MergeResult:
        """Add rows whose timestamps are not stored yet; existing timestamps keep the stored row unless overwrite."""
        key, schema = self._key(key)
        new = validate_prices(key, data, schema)
        if new.empty:
            return MergeResult()
        return self._merge(key, schema, new, overwrite)

    def delete(self, key: KeyLike) -> bool:
        """Remove key; True if it existed."""
        key, _ = self._key(key)
        return self._delete(key)

    def exists(self, key: KeyLike) -> bool:
        key, _ = self._key(key)
        return self._exists(key)

    def keys(self, prefix: str = "") -> list[str]:
        """Sorted stored keys starting with prefix (a plain string prefix: end it with "/" for a folder)."""
        return sorted(key for key in self._keys(prefix) if key.startswith(prefix) and self._is_key(key))

    def last_timestamp(self, key: KeyLike) -> pd.Timestamp | None:
        """The latest stored timestamp (UTC), or None when the key is absent or empty."""
        key, schema = self._key(key)
        return self._last_timestamp(key, schema)

    def close(self) -> None:  # noqa: B027 - deliberately optional for backends
        """Release backend resources; the store is not usable afterwards."""

    def __enter__(self) -> PriceStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def _key(self, key: KeyLike) -> tuple[str, PriceSchema]:
        text = normalise_key(key, self.schemas)
        return text, self.schemas[text.split("/", 1)[0]]

    def _is_key(self, key: str) -> bool:
        try:
            normalise_key(key, self.schemas)
        except InvalidPriceKeyError:
            return False
        return True

    # backend primitives: keys are canonical, frames validated, bounds UTC

    @abstractmethod
    def _read(
        self, key: str, schema: PriceSchema, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame | None: ...

    @abstractmethod
    def _write(self, key: str, schema: PriceSchema, frame: pd.DataFrame) -> None: ...

    @abstractmethod
    def _merge(self, key: str, schema: PriceSchema, new: pd.DataFrame, overwrite: bool) -> MergeResult: ...

    @abstractmethod
    def _delete(self, key: str) -> bool: ...

    @abstractmethod
    def _exists(self, key: str) -> bool: ...

    @abstractmethod
    def _keys(self, prefix: str) -> list[str]: ...

    @abstractmethod
    def _last_timestamp(self, key: str, schema: PriceSchema) -> pd.Timestamp | None: ...


def conform_stored(location: str, frame: pd.DataFrame, schema: PriceSchema) -> pd.DataFrame:
    """Check a frame read from a backend against the schema; PriceFileError naming location if it is off."""
    if list(frame.columns) != list(schema.columns):
        raise PriceFileError(location, f"columns {list(frame.columns)}, expected {list(schema.columns)}")
    bad = [f"{column}:{dtype}" for column, dtype in frame.dtypes.items() if dtype != np.float64]
    if bad:
        raise PriceFileError(location, f"columns not float64: {bad}")
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise PriceFileError(location, f"index is {type(index).__name__}, not timestamps")
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    if not (index.is_monotonic_increasing and index.is_unique):
        raise PriceFileError(location, "stored timestamps are not strictly increasing")
    frame.index = pd.DatetimeIndex(index.as_unit("ns"), name=None, freq=None)
    return frame


def slice_prices(frame: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.DataFrame:
    """Rows with start <= timestamp <= end of a sorted frame."""
    if start is None and end is None:
        return frame
    lo = 0 if start is None else frame.index.searchsorted(start, side="left")
    hi = len(frame) if end is None else frame.index.searchsorted(end, side="right")
    return frame.iloc[lo:hi]


# --- URL helpers shared by the backends and the factory ---------------------------------------


_SECRET_OPTION = re.compile(r"((?:^|[?&])(?:secret|secret_key|access|access_key|session_token)=)[^&]*")


def mask_url_secrets(url: str) -> str:
    """url with the values of credential options (secret=, secret_key=, access=, ...) replaced by ***."""
    return _SECRET_OPTION.sub(r"\1***", url)


def url_options(url: str, query: str, allowed: set[str]) -> dict[str, str]:
    """The ?name=value options of a URL; UnsupportedPriceStoreURLError for one not in `allowed`."""
    options = {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}
    unknown = set(options) - allowed
    if unknown:
        raise UnsupportedPriceStoreURLError(url, f"unknown option(s) {sorted(unknown)}")
    return options


def split_library_option(url: str, default: str = "prices") -> tuple[str, str]:
    """(url without our library= option, library name) for ArcticDB URLs; other options pass through."""
    parts = urlsplit(url)
    kept, library = [], default
    for item in parts.query.split("&") if parts.query else []:
        name, _, value = item.partition("=")
        if name == "library":
            library = value
        else:
            kept.append(item)
    if not library:
        raise UnsupportedPriceStoreURLError(url, "empty library name")
    base = url.split("?", 1)[0]
    return (f"{base}?{'&'.join(kept)}" if kept else base), library
