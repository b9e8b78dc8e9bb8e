"""Running the main job in processes of its own against a gateway a test started."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from ibsim import IBSim
from sysdata.data_blob import dataBlob
from tests.connection import ACCOUNT, test_config

ROOT = Path(__file__).resolve().parents[2]


def start_seed(
    folder: Path,
    sim: IBSim,
    *args: str,
    metadata: Path | None = None,
    scale: float = 0.01,
    profile: str = "strict",
    private: str = "private",
) -> subprocess.Popen:
    """`python -m sysproduction.seed_price_data_from_IB *args` with its prices under `folder`.

    Runs given the same `metadata` file share the metadata store (client ids, pacing books), as
    processes of one machine do; by default each folder has its own. The client paces strictly by
    default (IB's hard rules for every bar size), as the gateways these tests start do."""
    metadata = metadata or folder / "metadata.sqlite"
    return start_main_job(
        folder,
        *args,
        private=private,
        config=f"ib_gateway: external\nib_port: {sim.port}\nbroker_account: {ACCOUNT}\n"
        f"ib_pacing_scale: {scale}\nib_pacing_profile: {profile}\nprice_store: parquet://{folder}/prices\n"
        f"sqlite_path: {metadata}\ndata_folder: {folder}\n",
    )


def start_main_job(folder: Path, *args: str, config: str | None = None, private: str = "private") -> subprocess.Popen:
    """The main job in `folder` with `config` as its private_config.yaml in `folder/private`
    (None: no private configuration at all, i.e. the embedded defaults)."""
    private_dir = folder / private
    private_dir.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (private_dir / "private_config.yaml").write_text(config)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYSYS_PRIVATE_CONFIG_DIR=str(private_dir))
    return subprocess.Popen(
        [sys.executable, "-m", "sysproduction.seed_price_data_from_IB", *args],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(run: subprocess.Popen) -> str:
    """The run's output, once it has ended well (exit 0, no error in its summary)."""
    output, _ = run.communicate(timeout=300)
    assert run.returncode == 0, output[-3000:]
    assert "errors               0" in output, output[-3000:]
    return output


def summary_count(output: str, line: str) -> int:
    """A number from the run's summary, e.g. summary_count(output, "IB requests")."""
    return int(re.search(rf"^\s*{re.escape(line)} +(\d+)$", output, re.MULTILINE).group(1))


def stored(folder: Path) -> dict[str, pd.DataFrame]:
    from sysdata.prices import open_price_store

    store = open_price_store(f"parquet://{folder}/prices")
    return {key: store.read(key) for key in store.keys("futures/")}


def seed_blob(sim: IBSim, tmp_path: Path, **overrides) -> dataBlob:
    """A data blob in this process against `sim`: prices under `tmp_path`, pacing windows x0.01 and
    the strict profile (the gateways of these tests apply IB's hard rules to every bar size)."""
    settings = {
        "price_store": f"parquet://{tmp_path}/prices",
        "ib_pacing_scale": 0.01,
        "ib_gateway": "external",
        "ib_pacing_profile": "strict",
        **overrides,
    }
    return dataBlob("seed-test", config=test_config(tmp_path, sim.port, **settings))
