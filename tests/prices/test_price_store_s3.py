"""Several processes on one S3 price store (moto on loopback): parquet+s3:// and ArcticDB s3://.

* two processes write different keys at the same time: nothing lost, nothing mixed up;
* a reader while another process rewrites a key (and is then SIGKILLed mid-write) only ever sees
  one whole stored version, never a torn or partial one.

The whole single-process contract runs on the same server in test_price_store_contract.py.
"""

from __future__ import annotations

import ast
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from sysdata.prices import PriceFileError, UnsupportedPriceStoreURLError, open_price_store
from sysdata.prices.parquet_s3_store import S3ParquetPriceStore
from tests.fixtures.s3 import S3Server, s3_bucket, s3_server  # noqa: F401 - fixtures, registered by import
from tests.prices import test_price_store_contract as contract_tests
from tests.prices.test_price_store_contract import DAILY, HOURLY, assert_same, bars

REPO_ROOT = Path(__file__).resolve().parents[2]
S3_BACKENDS = ["parquet-s3", "arctic-s3"]

CHILD_PRELUDE = textwrap.dedent(
    """
    import sys
    from arcticdb.config import set_config_int
    from sysdata.prices import open_price_store
    from tests.prices.test_price_store_contract import bars
    set_config_int("StorageLock.WaitMs", 10)
    store = open_price_store(sys.argv[1])
    """
)


def run_child(code: str, *args: str) -> subprocess.Popen:
    return contract_tests.run_child(code, *args, prelude=CHILD_PRELUDE, stdin=subprocess.PIPE)


def same(frame: pd.DataFrame, expected: pd.DataFrame) -> bool:
    """Equal index, columns, dtypes and values (DataFrame.equals also compares the block layout)."""
    try:
        pd.testing.assert_frame_equal(frame, expected, check_freq=False)
    except AssertionError:
        return False
    return True


def url_of(server: S3Server, backend: str, bucket: str) -> str:
    return server.parquet_url(bucket) if backend == "parquet-s3" else server.arctic_url(bucket)


def run_two_writers_together(code: str, url: str) -> None:
    """Start `code` in workers 0 and 1, release both at once, and check that each printed "done"."""
    children = [run_child(code, url, str(worker)) for worker in (0, 1)]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            out, _ = child.communicate(timeout=60)
            assert child.returncode == 0 and out.strip() == "done"
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


@pytest.mark.parametrize("backend", S3_BACKENDS)
def test_two_processes_write_different_keys_at_once(s3_server, s3_bucket, backend):
    url = url_of(s3_server, backend, s3_bucket)
    code = """
        worker = int(sys.argv[2])
        key = f"futures/WORKER{worker}/20240600/H"
        print("ready", flush=True)
        sys.stdin.readline()  # both start writing at the same moment
        for n in range(30):
            stamp = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(hours=n)
            store.merge(key, bars(str(stamp), 1, freq="h", seed=worker))
        store.merge(f"fx/WORKER{worker}", bars("2024-01-01", 5, seed=worker)["FINAL"])
        print("done", flush=True)
    """
    code = "import pandas as pd\n" + textwrap.dedent(code)
    run_two_writers_together(code, url)

    store = open_price_store(url)
    for worker in (0, 1):
        frame = store.read(f"futures/WORKER{worker}/20240600/H")
        expected_index = pd.date_range("2024-01-01", periods=30, freq="h", tz="UTC")
        assert (frame.index == expected_index).all()
        assert (frame["OPEN"] == 100.0 + worker).all()  # each row as its own writer wrote it
        assert len(store.read(f"fx/WORKER{worker}")) == 5
    assert store.keys() == [
        "futures/WORKER0/20240600/H",
        "futures/WORKER1/20240600/H",
        "fx/WORKER0",
        "fx/WORKER1",
    ]


@pytest.mark.parametrize("backend", S3_BACKENDS)
def test_reader_during_writes_sees_only_whole_versions(s3_server, s3_bucket, backend):
    url = url_of(s3_server, backend, s3_bucket)
    # Two versions of different lengths, so that a partial or mixed read could not pass as either.
    versions = [bars("2000-01-01", 60_000, freq="min", seed=0), bars("2000-01-01", 45_000, freq="min", seed=7)]
    store = open_price_store(url)
    store.write(HOURLY, versions[1])
    store.write(DAILY, bars("2024-01-01", 3))
    child = run_child(
        """
        frames = [bars("2000-01-01", 60_000, freq="min", seed=0), bars("2000-01-01", 45_000, freq="min", seed=7)]
        for n in range(100_000):
            store.write("futures/EDOLLAR/20230600/H", frames[n % 2])
            if n == 1:
                print("writing", flush=True)
        """,
        url,
    )
    try:
        assert child.stdout.readline().strip() == "writing"
        seen = set()
        deadline = time.monotonic() + 20
        reads = 0
        while time.monotonic() < deadline and (len(seen) < 2 or reads < 8):
            frame = store.read(HOURLY)
            reads += 1
            matches = [n for n, version in enumerate(versions) if same(frame, version)]
            assert matches, f"read {reads}: {len(frame)} rows, equal to neither stored version"
            seen.add(matches[0])
            assert store.last_timestamp(HOURLY) in {v.index[-1] for v in versions}
        assert seen == {0, 1}, f"the reader saw only version(s) {seen} in {reads} reads"
    finally:
        child.send_signal(signal.SIGKILL)  # most likely in the middle of an upload
        child.wait(10)
    frame = store.read(HOURLY)
    assert same(frame, versions[0]) or same(frame, versions[1])
    assert_same(store.read(DAILY), bars("2024-01-01", 3))
    assert store.keys() == [DAILY, HOURLY]


def test_parquet_s3_same_key_writers_may_lose_rows_but_never_corrupt(s3_server, s3_bucket):
    # The documented limit: no lock or compare-and-swap on S3, so two writers of ONE key may lose each
    # other's rows (the later PUT wins, whole). What must still hold: the object is always one whole
    # version, every stored row is a row some writer wrote, and nothing is mixed or reordered.
    url = s3_server.parquet_url(s3_bucket)
    code = """
        import pandas as pd
        worker = int(sys.argv[2])
        print("ready", flush=True)
        sys.stdin.readline()
        for n in range(40):
            stamp = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(minutes=2 * n + worker)
            store.merge("futures/EDOLLAR/20230600/H", bars(str(stamp), 1, seed=worker))
        print("done", flush=True)
    """
    run_two_writers_together(code, url)
    frame = open_price_store(url).read(HOURLY)
    assert 1 <= len(frame) <= 80 and frame.index.is_unique and frame.index.is_monotonic_increasing
    minutes = ((frame.index - pd.Timestamp("2024-01-01", tz="UTC")) // pd.Timedelta(minutes=1)).to_numpy()
    assert (frame["OPEN"].to_numpy() == 100.0 + minutes % 2).all()  # each row exactly as its writer wrote it
    last_row_of = {worker: 78 + worker for worker in (0, 1)}
    assert any(m in minutes for m in last_row_of.values())  # the last PUT carried its writer's last row


# --- parquet+s3:// specifics --------------------------------------------------------------------


def test_parquet_s3_layout_matches_local_parquet_files(s3_server, s3_bucket, tmp_path):
    s3_store = open_price_store(s3_server.parquet_url(s3_bucket, "deep/prefix"))
    assert isinstance(s3_store, S3ParquetPriceStore)
    local = open_price_store(f"parquet://{tmp_path}")
    frame = bars("2024-01-01", 20)
    s3_store.write(DAILY, frame)
    local.write(DAILY, frame)
    with s3_server.filesystem().open_input_file(f"{s3_bucket}/deep/prefix/{DAILY}.parquet") as handle:
        assert handle.read() == local.path_for(DAILY).read_bytes()  # the same file, byte for byte


def test_parquet_s3_corrupt_and_foreign_objects_raise_naming_the_object(s3_server, s3_bucket):
    store = open_price_store(s3_server.parquet_url(s3_bucket))
    store.write(DAILY, bars("2024-01-01", 5))
    fs = s3_server.filesystem()
    path = store.path_for(DAILY)
    with fs.open_input_file(path) as handle:
        truncated = handle.read()[:-40]
    with fs.open_output_stream(path) as handle:
        handle.write(truncated)
    with pytest.raises(PriceFileError, match="unreadable") as raised:
        store.read(DAILY)
    assert raised.value.location == f"s3://{path}"
    with pytest.raises(PriceFileError):
        store.merge(DAILY, bars("2024-02-01", 1))
    with fs.open_input_file(path) as handle:
        assert handle.read() == truncated  # merge refused rather than replacing what it could not read

    with fs.open_output_stream(store.path_for(HOURLY)) as handle:
        bars("2024-01-01", 3).to_parquet(handle)  # plain pandas parquet, no store metadata
    with pytest.raises(PriceFileError, match="not written by this price store"):
        store.read(HOURLY)


def test_parquet_s3_urls(s3_server, s3_bucket, monkeypatch):
    # Without keys in the URL the AWS default chain applies: here the environment, never the network.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    url = s3_server.parquet_url(s3_bucket, "p")
    store = open_price_store(url)
    assert store.bucket == s3_bucket and store.prefix == "p"
    assert "secret_key=***" in store.url and s3_server.secret_key not in store.url.replace("secret_key", "")
    keyless = open_price_store(f"parquet+s3://{s3_bucket}?endpoint={s3_server.endpoint}")
    assert keyless.root == s3_bucket
    keyless.write(DAILY, bars("2024-01-01", 2))  # credentials from the environment
    assert keyless.keys() == [DAILY] and store.keys() == []
    for bad, message in [
        (f"parquet+s3://{s3_bucket}/p?endpoint={s3_server.endpoint}&sse=1", "unknown option"),
        (f"parquet+s3://{s3_bucket}/p?endpoint=127.0.0.1:9000", "expected http"),
        (f"parquet+s3://{s3_bucket}/p?access_key=a", "both access_key and secret_key"),
        ("parquet+s3:///p", "bucket"),
    ]:
        with pytest.raises(UnsupportedPriceStoreURLError, match=message):
            open_price_store(bad)
    with pytest.raises(UnsupportedPriceStoreURLError) as raised:
        open_price_store(f"parquet+s3://{s3_bucket}/p?secret_key=hush&access_key=a&x=1")
    assert "hush" not in str(raised.value)


def test_arctic_s3_url_hides_the_secret(s3_server, s3_bucket):
    store = open_price_store(s3_server.arctic_url(s3_bucket) + "&library=other")
    assert store._lib.name == "other"
    assert "secret=***" in store.url
    store.write(DAILY, bars("2024-01-01", 2))
    assert store.keys() == [DAILY]


# --- the modules of sysdata.prices import each other without a cycle -----------------------------


def test_price_store_modules_form_no_import_cycle():
    package = REPO_ROOT / "sysdata" / "prices"
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        name = f"sysdata.prices.{path.stem}"
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):  # function-level imports count too
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sysdata.prices"):
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names if alias.name.startswith("sysdata.prices.")}
        graph[name] = {module for module in imported if module != "sysdata.prices"} - {name}

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, f"import cycle: {' -> '.join((*trail, module))}"
        for target in graph.get(module, ()):
            visit(target, (*trail, module))

    for module in graph:
        visit(module, ())
    assert "sysdata.prices.factory" not in graph["sysdata.prices.interface"]
    assert graph["sysdata.prices.parquet_store"] == {"sysdata.prices.interface"}
