"""Price-store write, read and append times against raw pyarrow on the same data, in the same run.

    python bench/bench_price_store.py                         # 50 contracts, parquet (+fsync, no fsync), ArcticDB
    python bench/bench_price_store.py --contracts 10 --rounds 5 --stores parquet

Data per contract: 20 years of daily bars and 1 year of hourly bars (two keys). The baseline is
`pq.write_table(pa.Table.from_pandas(df))` / `pq.read_table(path).to_pandas()`; its "append" reads,
concatenates, drops duplicate timestamps and writes back, which is what a store merge has to do.
Each figure is the best of --rounds runs over all keys; ratios are store / baseline (target <= 1.3).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from sysdata.prices import PriceStore, contract_prices_key, open_price_store  # noqa: E402

STORE_URLS = {
    "parquet": "parquet://{root}/parquet",
    "parquet-nofsync": "parquet://{root}/parquet-nofsync?fsync=0",
    "arctic-lmdb": "lmdb://{root}/lmdb",
}


def make_bars(index: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.5, len(index)))
    spread = np.abs(rng.normal(0, 0.3, len(index)))
    return pd.DataFrame(
        {
            "OPEN": close + rng.normal(0, 0.1, len(index)),
            "HIGH": close + spread,
            "LOW": close - spread,
            "FINAL": close,
            "VOLUME": rng.integers(0, 50_000, len(index)).astype("float64"),
        },
        index=index,
    )


def make_data(contracts: int) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """(history per key, one next bar per key)."""
    daily = pd.date_range("2004-01-01 23:00", periods=20 * 261, freq="B", tz="UTC")
    hourly = pd.date_range("2023-01-02 00:00", periods=252 * 24, freq="h", tz="UTC")
    history, nxt = {}, {}
    for number in range(contracts):
        instrument = f"INST{number:02d}"
        for frequency, index in (("D", daily), ("H", hourly)):
            key = contract_prices_key(instrument, "20240300", frequency)
            full = make_bars(index.append(index[-1:] + (index[-1] - index[-2])), seed=number)
            history[key], nxt[key] = full.iloc[:-1], full.iloc[-1:]
    return history, nxt


def best_of(rounds: int, setup: Callable[[], None], run: Callable[[], None]) -> float:
    times = []
    for _ in range(rounds):
        setup()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_raw(root: Path, history: dict, nxt: dict, rounds: int) -> dict[str, float]:
    paths = {key: root / "raw" / (key.replace("/", "_") + ".parquet") for key in history}
    paths[next(iter(history))].parent.mkdir(parents=True, exist_ok=True)

    def write_all() -> None:
        for key, frame in history.items():
            pq.write_table(pa.Table.from_pandas(frame), paths[key])

    def read_all() -> None:
        for key in history:
            pq.read_table(paths[key]).to_pandas()

    def append_all() -> None:
        for key, bar in nxt.items():
            merged = pd.concat([pq.read_table(paths[key]).to_pandas(), bar])
            merged = merged[~merged.index.duplicated(keep="first")]
            pq.write_table(pa.Table.from_pandas(merged), paths[key])

    return {
        "write": best_of(rounds, lambda: None, write_all),
        "read": best_of(rounds, lambda: None, read_all),
        "append": best_of(rounds, write_all, append_all),
    }


def bench_store(store: PriceStore, history: dict, nxt: dict, rounds: int) -> dict[str, float]:
    def write_all() -> None:
        for key, frame in history.items():
            store.write(key, frame)

    def read_all() -> None:
        for key in history:
            store.read(key)

    def append_all() -> None:
        for key, bar in nxt.items():
            store.merge(key, bar)

    write_all()
    store.keys()  # ArcticDB: the first symbol listing compacts (a one-off lock wait); keep it out of the timings
    return {
        "write": best_of(rounds, lambda: None, write_all),
        "read": best_of(rounds, lambda: None, read_all),
        "append": best_of(rounds, write_all, append_all),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contracts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stores", nargs="+", choices=list(STORE_URLS), default=list(STORE_URLS))
    parser.add_argument("--root", help="folder for the data (default: a temporary folder on local disk)")
    args = parser.parse_args(argv)

    history, nxt = make_data(args.contracts)
    rows = sum(len(frame) for frame in history.values())
    print("$ " + shlex.join(["python", "bench/bench_price_store.py", *(sys.argv[1:] if argv is None else argv)]))
    print(f"{args.contracts} contracts, {len(history)} keys, {rows:,} rows; best of {args.rounds} rounds")

    with tempfile.TemporaryDirectory(dir=args.root) as folder:
        root = Path(folder)
        results = {"raw pyarrow": bench_raw(root, history, nxt, args.rounds)}
        for name in args.stores:
            try:
                with open_price_store(STORE_URLS[name].format(root=root)) as store:
                    results[name] = bench_store(store, history, nxt, args.rounds)
            except ImportError as exc:  # arcticdb is an optional extra
                print(f"{name}: skipped ({exc})")

    raw = results["raw pyarrow"]
    print(f"\n{'store':<18}" + "".join(f"{op + ' s':>12}{op + ' x':>10}" for op in raw))
    for name, timing in results.items():
        print(f"{name:<18}" + "".join(f"{timing[op]:>12.3f}{timing[op] / raw[op]:>10.2f}" for op in raw))
    print("\nx = time / raw pyarrow time in this run; target <= 1.3 for the parquet store")
    return 0


if __name__ == "__main__":
    sys.exit(main())
