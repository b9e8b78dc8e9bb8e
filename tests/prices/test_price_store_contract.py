"""One contract for the price stores, run against every backend, each real: parquet files and ArcticDB on
LMDB (on tmp_path), and parquet and ArcticDB on a real S3-protocol server (moto, started on loopback by
the `s3_server` fixture, a fresh bucket per test)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from arcticdb.config import set_config_int

from sysdata.prices import (
    DEFAULT_PRICE_STORE_URL,
    FUTURES_PRICE_COLUMNS,
    InvalidPriceDataError,
    InvalidPriceKeyError,
    MergeResult,
    PriceFileError,
    PriceStore,
    PriceStoreBackendMissingError,
    UnsupportedPriceStoreURLError,
    contract_prices_key,
    fx_prices_key,
    open_price_store,
)
from sysdata.prices import parquet_store as parquet_module
from sysdata.prices.arctic_store import ArcticPriceStore
from sysdata.prices.parquet_s3_store import S3ParquetPriceStore
from sysdata.prices.parquet_store import ParquetPriceStore
from tests.fixtures.s3 import s3_bucket, s3_server  # noqa: F401 - fixtures, registered by import

REPO_ROOT = Path(__file__).resolve().parents[2]
DAILY = contract_prices_key("EDOLLAR", "20230600", "D")
HOURLY = contract_prices_key("EDOLLAR", "20230600", "H")


def bars(start: str, periods: int, freq: str = "D", tz: str = "UTC", seed: int = 0) -> pd.DataFrame:
    """OHLCV bars with distinct values per row, so that any lost or shifted row shows up."""
    index = pd.date_range(start, periods=periods, freq=freq, tz=tz)
    base = 100.0 + np.arange(periods) * 0.25 + seed
    return pd.DataFrame(
        {"OPEN": base, "HIGH": base + 1, "LOW": base - 1, "FINAL": base + 0.5, "VOLUME": np.arange(periods) + 10.0},
        index=index,
    )


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert str(actual.index.dtype) == "datetime64[ns, UTC]"
    assert list(actual.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(actual, expected, check_freq=False, check_names=False)


@pytest.fixture(scope="module", autouse=True)
def quick_arcticdb_symbol_list_lock():
    # ArcticDB waits StorageLock.WaitMs (1 s) when it first compacts a library's symbol list, a
    # guard for eventually consistent object stores; LMDB in a temp folder needs none of it.
    set_config_int("StorageLock.WaitMs", 10)


BACKENDS = ["parquet", "arctic-lmdb", "parquet-s3", "arctic-s3"]


def backend_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a fresh, empty store of one backend (S3 ones in a new bucket on the test server)."""
    if backend == "parquet":
        return f"parquet://{tmp_path}/prices"
    if backend == "arctic-lmdb":
        return f"lmdb://{tmp_path}/prices"
    server = request.getfixturevalue("s3_server")
    bucket = server.create_bucket()
    return server.parquet_url(bucket) if backend == "parquet-s3" else server.arctic_url(bucket)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path) -> PriceStore:
    with open_price_store(backend_url(request.param, tmp_path, request)) as opened:
        yield opened


def snapshot(store: PriceStore, key: str) -> object:
    """Everything that would change if the store were touched: file bytes, or ArcticDB versions + data."""
    if isinstance(store, ParquetPriceStore):
        path = store.path_for(key)
        return path.read_bytes() if path.exists() else None
    if isinstance(store, S3ParquetPriceStore):
        if not store.exists(key):
            return None
        with store.fs.open_input_file(store.path_for(key)) as handle:
            return handle.read()
    versions = store._lib.list_versions(key) if store.exists(key) else {}
    return sorted(str(version) for version in versions), store.read(key).to_dict()


# --- round trips ---------------------------------------------------------------------------------


def test_round_trip_keeps_utc_index_and_values(store):
    frame = bars("2024-01-01 21:00", 30)
    store.write(DAILY, frame)
    assert store.exists(DAILY)
    assert_same(store.read(DAILY), frame)
    assert store.read(DAILY).dtypes.tolist() == [np.float64] * 5


def test_other_time_zones_are_converted_to_utc(store):
    chicago = bars("2024-06-03 16:00", 10, freq="h", tz="America/Chicago")
    store.write(HOURLY, chicago)
    back = store.read(HOURLY)
    assert back.index[0] == pd.Timestamp("2024-06-03 21:00", tz="UTC")  # CDT is UTC-5
    assert_same(back, chicago.tz_convert("UTC"))


def test_tuple_keys_and_integer_volume(store):
    frame = bars("2024-01-01", 5)
    frame["VOLUME"] = np.arange(5, dtype="int64") * 1000
    store.write(("futures", "GOLD", "20241200", "D"), frame)
    back = store.read("futures/GOLD/20241200/D")
    assert back["VOLUME"].dtype == np.float64
    assert back["VOLUME"].tolist() == [0.0, 1000.0, 2000.0, 3000.0, 4000.0]
    frame["VOLUME"] = pd.array([1, None, 3, 4, 5], dtype="Int64")  # nullable: NA becomes NaN
    store.write(DAILY, frame)
    assert store.read(DAILY)["VOLUME"].isna().tolist() == [False, True, False, False, False]


def test_absent_key_reads_empty_with_the_schema(store):
    empty = store.read(DAILY)
    assert empty.empty and list(empty.columns) == list(FUTURES_PRICE_COLUMNS)
    assert str(empty.index.dtype) == "datetime64[ns, UTC]"
    assert list(store.read("fx/GBPUSD").columns) == ["price"]
    assert not store.exists(DAILY)
    assert store.last_timestamp(DAILY) is None
    assert store.keys() == []
    assert store.delete(DAILY) is False


def test_written_empty_frame_reads_empty(store):
    store.write(DAILY, bars("2024-01-01", 0))
    assert store.exists(DAILY)
    assert_same(store.read(DAILY), bars("2024-01-01", 0))
    assert store.last_timestamp(DAILY) is None


def test_write_replaces(store):
    store.write(DAILY, bars("2024-01-01", 10))
    store.write(DAILY, bars("2025-01-01", 3, seed=5))
    assert_same(store.read(DAILY), bars("2025-01-01", 3, seed=5))


def test_read_range_is_inclusive_and_needs_aware_bounds(store):
    frame = bars("2024-01-01", 10)
    store.write(DAILY, frame)
    start, end = pd.Timestamp("2024-01-03", tz="UTC"), pd.Timestamp("2024-01-05", tz="UTC")
    assert_same(store.read(DAILY, start=start, end=end), frame.iloc[2:5])
    assert_same(store.read(DAILY, start=pd.Timestamp("2024-01-09 01:00", tz="Europe/Berlin")), frame.iloc[8:])
    assert_same(store.read(DAILY, end=start), frame.iloc[:3])
    assert store.read(DAILY, start=pd.Timestamp("2030-01-01", tz="UTC")).empty
    assert store.read(DAILY, start=end, end=start).empty
    with pytest.raises(ValueError, match="naive"):
        store.read(DAILY, start=pd.Timestamp("2024-01-03"))


def test_last_timestamp(store):
    store.write(DAILY, bars("2024-01-01", 10))
    assert store.last_timestamp(DAILY) == pd.Timestamp("2024-01-10", tz="UTC")
    store.merge(DAILY, bars("2024-02-01 22:00", 1))
    assert store.last_timestamp(DAILY) == pd.Timestamp("2024-02-01 22:00", tz="UTC")


# --- merge ---------------------------------------------------------------------------------------


def test_merge_adds_only_new_rows_and_is_idempotent(store):
    first = bars("2024-01-01", 10)
    assert store.merge(DAILY, first) == MergeResult(added=10)
    more = bars("2024-01-01", 15)  # the same 10 rows and 5 new ones
    assert store.merge(DAILY, more) == MergeResult(added=5, unchanged=10)
    assert store.merge(DAILY, more) == MergeResult(unchanged=15)
    assert not store.merge(DAILY, more).changed
    assert_same(store.read(DAILY), more)
    assert store.merge(DAILY, more.iloc[:0]) == MergeResult()


def test_overlapping_merge_and_backfill_keep_order(store):
    full = bars("2024-01-01", 20)
    store.write(DAILY, full.iloc[5:12])
    result = store.merge(DAILY, full.iloc[10:20])  # overlaps the tail
    assert result == MergeResult(added=8, unchanged=2)
    result = store.merge(DAILY, full.iloc[::2])  # back-fill: some before, some inside, some stored
    assert result == MergeResult(added=3, unchanged=7)
    expected = full.iloc[sorted(set(range(5, 20)) | set(range(0, 20, 2)))]
    assert_same(store.read(DAILY), expected)


def test_conflicting_rows_keep_stored_unless_overwrite(store):
    stored = bars("2024-01-01", 5)
    store.write(DAILY, stored)
    revised = stored.copy()
    revised.iloc[1, 3] += 0.5  # FINAL of row 1
    revised.iloc[3, 4] = 0.0  # VOLUME of row 3
    extra = bars("2024-01-06", 1, seed=9)
    incoming = pd.concat([revised, extra])

    assert store.merge(DAILY, incoming) == MergeResult(added=1, unchanged=3, conflicting=2, replaced=0)
    assert_same(store.read(DAILY), pd.concat([stored, extra]))

    assert store.merge(DAILY, incoming, overwrite=True) == MergeResult(unchanged=4, conflicting=2, replaced=2)
    assert_same(store.read(DAILY), incoming)


def test_nan_equals_nan_when_merging(store):
    frame = bars("2024-01-01", 4)
    frame.loc[frame.index[2], "VOLUME"] = np.nan
    store.write(DAILY, frame)
    assert store.merge(DAILY, frame) == MergeResult(unchanged=4)
    assert np.isnan(store.read(DAILY)["VOLUME"].iloc[2])


# --- keys, frequencies, FX, delete ---------------------------------------------------------------


def test_keys_and_prefixes(store):
    for key in (
        DAILY,
        HOURLY,
        contract_prices_key("EDOLLAR", "20230900", "D"),
        contract_prices_key("EDOLLAR2", "20230600", "D"),
        contract_prices_key("GOLD", "20241200", "D"),
        fx_prices_key("GBPUSD"),
        fx_prices_key("EURUSD"),
    ):
        store.write(key, bars("2024-01-01", 2) if key.startswith("futures") else bars("2024-01-01", 2)["FINAL"])
    assert store.keys("fx/") == ["fx/EURUSD", "fx/GBPUSD"]
    assert store.keys("futures/EDOLLAR/") == [
        "futures/EDOLLAR/20230600/D",
        "futures/EDOLLAR/20230600/H",
        "futures/EDOLLAR/20230900/D",
    ]
    assert store.keys("futures/EDOLLAR") == [  # a plain string prefix, as in S3
        "futures/EDOLLAR/20230600/D",
        "futures/EDOLLAR/20230600/H",
        "futures/EDOLLAR/20230900/D",
        "futures/EDOLLAR2/20230600/D",
    ]
    assert store.keys("futures/EDOLLAR/20230600/") == [DAILY, HOURLY]
    assert store.keys("futures/NOPE/") == []
    assert store.keys("../") == []
    assert len(store.keys()) == 7


def test_delete_removes_only_that_key(store):
    store.write(DAILY, bars("2024-01-01", 3))
    store.write(HOURLY, bars("2024-01-01", 3, freq="h"))
    assert store.delete(DAILY) is True
    assert not store.exists(DAILY) and store.read(DAILY).empty
    assert store.keys() == [HOURLY]
    assert store.delete(DAILY) is False
    store.merge(DAILY, bars("2024-01-01", 2))  # a deleted key can be written again
    assert len(store.read(DAILY)) == 2


def test_daily_and_intraday_live_side_by_side(store):
    daily = bars("2024-01-01 23:00", 5)
    hourly = bars("2024-01-01 14:00", 40, freq="h", seed=3)  # some hourly stamps equal daily ones
    store.merge(DAILY, daily)
    store.merge(HOURLY, hourly)
    assert_same(store.read(DAILY), daily)
    assert_same(store.read(HOURLY), hourly)
    assert store.last_timestamp(DAILY) != store.last_timestamp(HOURLY)


def test_fx_series(store):
    rates = pd.Series([1.2650, 1.2701, np.nan, 1.2688], index=pd.date_range("2024-03-01", periods=4, tz="UTC"))
    key = fx_prices_key("GBPUSD")
    store.write(key, rates)
    back = store.read_series(key)
    pd.testing.assert_series_equal(back, rates.rename("price"), check_freq=False)
    more = pd.Series([1.2688, 1.2720], index=rates.index[-1:].append(pd.DatetimeIndex(["2024-03-05"], tz="UTC")))
    assert store.merge(key, more) == MergeResult(added=1, unchanged=1)
    assert store.read(key).columns.tolist() == ["price"]
    with pytest.raises(InvalidPriceDataError, match="one-column"):
        store.write(DAILY, rates)
    with pytest.raises(InvalidPriceKeyError):
        store.read_series(DAILY)


def test_large_frame_round_trip(store):
    frame = bars("2000-01-01", 200_000, freq="min")
    store.write(HOURLY, frame)
    assert_same(store.read(HOURLY), frame)
    tail = bars("2000-01-01", 200_010, freq="min").iloc[-20:]
    assert store.merge(HOURLY, tail) == MergeResult(added=10, unchanged=10)
    assert len(store.read(HOURLY)) == 200_010


# --- refusing bad input --------------------------------------------------------------------------


def _naive(frame):
    return frame.tz_localize(None)


def _drop_column(frame):
    return frame.drop(columns="LOW")


def _extra_column(frame):
    return frame.assign(OPEN_INTEREST=1.0)


def _nat(frame):
    frame.index = pd.DatetimeIndex([frame.index[0], pd.NaT, *frame.index[2:]])
    return frame


def _duplicate(frame):
    frame.index = pd.DatetimeIndex([frame.index[0], frame.index[0], *frame.index[2:]])
    return frame


def _not_increasing(frame):
    return frame.iloc[::-1]


def _text_prices(frame):
    return frame.assign(FINAL=frame["FINAL"].astype(str))


def _boolean_volume(frame):
    return frame.assign(VOLUME=True)


def _infinite(frame):
    return frame.assign(HIGH=np.inf)


def _integer_index(frame):
    return frame.reset_index(drop=True)


BAD_INPUTS = {
    "naive index": (_naive, "naive"),
    "missing column": (_drop_column, "missing \\['LOW'\\]"),
    "extra column": (_extra_column, "unexpected \\['OPEN_INTEREST'\\]"),
    "NaT in index": (_nat, "NaT"),
    "duplicate timestamps": (_duplicate, "duplicate"),
    "not increasing": (_not_increasing, "not increasing"),
    "text prices": (_text_prices, "non-numeric"),
    "boolean volume": (_boolean_volume, "non-numeric"),
    "infinite price": (_infinite, "infinite"),
    "integer index": (_integer_index, "DatetimeIndex"),
}


@pytest.mark.parametrize("operation", ["write", "merge"])
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_and_store_untouched(store, case, operation):
    store.write(DAILY, bars("2024-01-01", 5))
    before = snapshot(store, DAILY)
    spoil, message = BAD_INPUTS[case]
    with pytest.raises(InvalidPriceDataError, match=message) as raised:
        getattr(store, operation)(DAILY, spoil(bars("2024-01-03", 6, seed=1)))
    assert raised.value.key == DAILY
    assert snapshot(store, DAILY) == before
    assert store.keys() == [DAILY]


def test_bad_input_for_a_new_key_creates_nothing(store):
    with pytest.raises(InvalidPriceDataError):
        store.merge(HOURLY, _naive(bars("2024-01-01", 3)))
    assert not store.exists(HOURLY) and store.keys() == []


@pytest.mark.parametrize(
    "key",
    ["futures/EDOLLAR/20230600", "futures/../x/D", "stocks/AAPL", "fx/GBP/USD", "fx/.hidden", "", ("fx", 3)],
)
def test_malformed_keys_are_refused(store, key):
    with pytest.raises(InvalidPriceKeyError):
        store.write(key, bars("2024-01-01", 2))


# --- factory -------------------------------------------------------------------------------------


def test_factory_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    default = open_price_store()
    assert isinstance(default, ParquetPriceStore) and default.root == tmp_path / "data" / "prices"
    assert default.url == DEFAULT_PRICE_STORE_URL
    relative = open_price_store("parquet://rel/prices?fsync=0")
    assert relative.root == tmp_path / "rel" / "prices" and relative.fsync is False
    absolute = open_price_store(f"parquet://{tmp_path}/abs")
    assert absolute.root == tmp_path / "abs"
    absolute.write(DAILY, bars("2024-01-01", 2))
    assert (tmp_path / "abs" / "futures" / "EDOLLAR" / "20230600" / "D.parquet").is_file()

    with open_price_store(f"lmdb://{tmp_path}/lmdb?library=other") as arctic:
        assert isinstance(arctic, ArcticPriceStore) and arctic._lib.name == "other"
        arctic.write(DAILY, bars("2024-01-01", 2))
        assert arctic.keys() == [DAILY]


@pytest.mark.parametrize("url", ["mongodb://127.0.0.1/prices", "parquet:", "no-scheme", "parquet://x?compress=1"])
def test_unknown_urls_raise_a_typed_error_naming_the_url(url):
    with pytest.raises(UnsupportedPriceStoreURLError, match="price store URL") as raised:
        open_price_store(url)
    assert raised.value.url == url


def test_missing_arcticdb_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "arcticdb", None)  # makes `import arcticdb` fail like an absent package
    with pytest.raises(PriceStoreBackendMissingError, match=r"pip install \.\[arctic\]"):
        open_price_store(f"lmdb://{tmp_path}/lmdb")
    with pytest.raises(ImportError):  # also catchable as the standard error
        open_price_store(f"lmdb://{tmp_path}/lmdb")


# --- stored data that is not ours ----------------------------------------------------------------


def test_parquet_corrupt_and_foreign_files_raise_naming_the_file(tmp_path):
    store = ParquetPriceStore(tmp_path)
    store.write(DAILY, bars("2024-01-01", 5))
    path = store.path_for(DAILY)
    truncated = path.read_bytes()[:-40]  # the footer is gone
    path.write_bytes(truncated)
    with pytest.raises(PriceFileError, match="unreadable") as raised:
        store.read(DAILY)
    assert raised.value.location == str(path)
    with pytest.raises(PriceFileError):
        store.merge(DAILY, bars("2024-02-01", 1))
    assert path.read_bytes() == truncated  # merge refused rather than replacing what it could not read

    foreign = store.path_for(HOURLY)
    foreign.parent.mkdir(parents=True, exist_ok=True)
    bars("2024-01-01", 3).to_parquet(foreign)  # plain pandas parquet, no store metadata
    with pytest.raises(PriceFileError, match="not written by this price store") as raised:
        store.read(HOURLY)
    assert raised.value.location == str(foreign)
    with pytest.raises(PriceFileError):
        store.last_timestamp(HOURLY)


def test_parquet_file_of_another_namespace_is_refused(tmp_path):
    store = ParquetPriceStore(tmp_path)
    store.write(DAILY, bars("2024-01-01", 5))
    target = store.path_for("fx/GBPUSD")
    target.parent.mkdir(parents=True)
    target.write_bytes(store.path_for(DAILY).read_bytes())
    with pytest.raises(PriceFileError, match="does not match"):
        store.read("fx/GBPUSD")


def test_arctic_foreign_symbol_raises(tmp_path):
    store = open_price_store(f"lmdb://{tmp_path}/lmdb")
    store._lib.write(DAILY, pd.DataFrame({"close": [1, 2]}, index=pd.date_range("2024", periods=2, tz="UTC")))
    with pytest.raises(PriceFileError, match="columns") as raised:
        store.read(DAILY)
    assert DAILY in raised.value.location


# --- parquet atomicity and concurrency -----------------------------------------------------------


def test_failure_between_temp_write_and_replace_leaves_old_file(tmp_path, monkeypatch):
    store = ParquetPriceStore(tmp_path)
    store.write(DAILY, bars("2024-01-01", 5))
    before = store.path_for(DAILY).read_bytes()

    def crash(src, dst):
        assert Path(src).stat().st_size > 0  # the temporary file was fully written
        raise OSError("injected failure before rename")

    monkeypatch.setattr(parquet_module.os, "replace", crash)
    with pytest.raises(OSError, match="injected"):
        store.merge(DAILY, bars("2024-01-01", 50))
    with pytest.raises(OSError, match="injected"):
        store.write(HOURLY, bars("2024-01-01", 5))
    monkeypatch.undo()

    assert store.path_for(DAILY).read_bytes() == before
    assert not store.exists(HOURLY)
    assert sorted(p.name for p in store.path_for(DAILY).parent.iterdir()) == ["D.parquet"]  # temp cleaned up


CHILD_PRELUDE = textwrap.dedent(
    """
    import sys
    import numpy as np, pandas as pd
    from sysdata.prices.parquet_store import ParquetPriceStore
    from tests.prices.test_price_store_contract import bars
    store = ParquetPriceStore(sys.argv[1])
    """
)


def run_child(code: str, *args: str, prelude: str = CHILD_PRELUDE, stdin: int | None = None) -> subprocess.Popen:
    """`code` after `prelude` in a Python child process (argv: `args`), its stdout piped."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", prelude + textwrap.dedent(code), *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_writer_killed_before_rename_leaves_old_file_visible(tmp_path):
    store = ParquetPriceStore(tmp_path)
    store.write(DAILY, bars("2024-01-01", 5))
    before = store.path_for(DAILY).read_bytes()
    child = run_child(
        """
        import os, time
        def stall(src, dst):
            print("temp written", flush=True)
            time.sleep(60)
        os.replace = stall
        store.write("futures/EDOLLAR/20230600/D", bars("2000-01-01", 300_000, freq="min"))
        """,
        str(tmp_path),
    )
    try:
        assert child.stdout.readline().strip() == "temp written"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert store.path_for(DAILY).read_bytes() == before
    leftovers = [p.name for p in store.path_for(DAILY).parent.iterdir() if p.name != "D.parquet"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".D.parquet.")  # orphan temp file, hidden
    assert store.keys() == [DAILY]
    assert_same(store.read(DAILY), bars("2024-01-01", 5))
    store.merge(DAILY, bars("2024-01-06", 1))  # the lock died with the process; writing goes on
    assert len(store.read(DAILY)) == 6


def test_writer_killed_at_random_moments_never_exposes_a_partial_file(tmp_path):
    store = ParquetPriceStore(tmp_path)
    versions = [bars("2000-01-01", 150_000, freq="min", seed=seed) for seed in (0, 1)]
    child = run_child(
        """
        frames = [bars("2000-01-01", 150_000, freq="min", seed=seed) for seed in (0, 1)]
        for n in range(10_000):
            store.write("futures/EDOLLAR/20230600/H", frames[n % 2])
            if n == 1:
                print("writing", flush=True)
        """,
        str(tmp_path),
    )
    assert child.stdout.readline().strip() == "writing"
    for delay in (0.013, 0.029, 0.041):  # several reads while it writes, then a kill mid-write
        time.sleep(delay)
        frame = store.read(HOURLY)
        assert frame.equals(versions[0]) or frame.equals(versions[1])
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    frame = store.read(HOURLY)
    assert frame.equals(versions[0]) or frame.equals(versions[1])
    assert store.keys() == [HOURLY]


@pytest.mark.slow
def test_concurrent_writers_of_one_key_and_of_different_keys_lose_nothing(tmp_path):
    # Two processes merge interleaved bars (each one's rows are back-fills for the other) into one
    # key, and each also grows a key of its own; the per-key lock must keep every row.
    code = """
        worker = int(sys.argv[2])
        shared = "futures/EDOLLAR/20230600/H"
        own = f"futures/WORKER{worker}/20230600/H"
        for n in range(60):
            stamp = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(minutes=2 * n + worker)
            row = bars(str(stamp), 1, seed=worker)
            store.merge(shared, row)
            store.merge(own, row)
        print("done", flush=True)
    """
    children = [run_child(code, str(tmp_path), str(worker)) for worker in (0, 1)]
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0 and out.strip() == "done"
    store = ParquetPriceStore(tmp_path)
    shared = store.read(HOURLY)
    assert len(shared) == 120
    assert (shared.index == pd.date_range("2024-01-01", periods=120, freq="min", tz="UTC")).all()
    for worker in (0, 1):
        assert len(store.read(f"futures/WORKER{worker}/20230600/H")) == 60
    assert store.keys() == [HOURLY, "futures/WORKER0/20230600/H", "futures/WORKER1/20230600/H"]


def test_parquet_file_layout_and_types(tmp_path):
    store = ParquetPriceStore(tmp_path)
    store.write(DAILY, bars("2024-01-01", 3))
    schema = pq.read_schema(store.path_for(DAILY))
    assert schema.names == ["timestamp", *FUTURES_PRICE_COLUMNS]
    assert str(schema.field("timestamp").type) == "timestamp[ns, tz=UTC]"
    assert {str(schema.field(c).type) for c in FUTURES_PRICE_COLUMNS} == {"double"}
