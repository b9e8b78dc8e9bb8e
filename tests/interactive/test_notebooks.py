"""Real kernels: the README's Python snippet and `examples/explore.ipynb` executed by nbclient on an
ipykernel, against ibsim over loopback.

The kernel is the test's own Python (a kernelspec installed into a temporary folder and found
through JUPYTER_PATH), so nothing needs installing by hand, in CI either. A notebook passes when no
cell raised, the charts came out as PNG images, and the prices have the expected shape; the
kernel's own completion (what Tab shows in Jupyter) offers the seed 001 methods of a data object.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

from tests.connection import sims_fixture  # noqa: F401 - the `sims` fixture: ibsim gateways on free ports

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
EXPLORE = REPO / "examples" / "explore.ipynb"
KERNEL_NAME = "ibfutures-tests"
README_ACCOUNT = "U999999"  # the account the README's snippet names
PRICE_COLUMNS = ["OPEN", "HIGH", "LOW", "FINAL", "VOLUME"]
CELL_TIMEOUT = 60  # seconds per cell: every wait has a bound


@pytest.fixture(scope="module")
def kernelspec_dir(tmp_path_factory) -> Path:
    """A kernelspec for this interpreter (`sys.executable`), installed into a temporary prefix."""
    from ipykernel.kernelspec import install

    prefix = tmp_path_factory.mktemp("jupyter")
    install(kernel_name=KERNEL_NAME, prefix=str(prefix), display_name="ibfutures tests")
    kernel_json = prefix / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"
    assert sys.executable in kernel_json.read_text()
    return prefix / "share" / "jupyter"


@pytest.fixture(name="kernel_env")
def kernel_env_fixture(kernelspec_dir, tmp_path, monkeypatch) -> Path:
    """The kernel's environment: our kernelspec, the repository importable, no private config and
    no IPython or Jupyter state outside `tmp_path`. Returns the kernel's working directory."""
    private = tmp_path / "private"
    private.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("JUPYTER_PATH", str(kernelspec_dir))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("PYSYS_PRIVATE_CONFIG_DIR", str(private))  # defaults only, whatever ./private holds
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MPLBACKEND", "agg")  # until %matplotlib inline switches to the inline backend
    return work


def execute(nb: nbformat.NotebookNode, cwd: Path, completions: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Run every cell on a fresh kernel (errors are kept as outputs, for the test to report), then
    ask the kernel to complete each of `completions`, as Tab does. Returns the matches."""
    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT,
        startup_timeout=60,
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    matches: dict[str, list[str]] = {}
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        for text in completions:
            matches[text] = complete(client, text)
    return matches


def complete(client: NotebookClient, text: str) -> list[str]:
    msg_id = client.kc.complete(text, len(text))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = run_sync(client.kc.get_shell_msg)(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            assert reply["content"]["status"] == "ok", reply["content"]
            return list(reply["content"]["matches"])
    raise AssertionError(f"no completion reply for {text!r} within 30 s")


def errors_of(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                found.append(f"cell {index}: {output['ename']}: {output['evalue']}\n" + "\n".join(output["traceback"]))
    return found


def stream_text(cell) -> str:
    return "".join(o["text"] for o in cell.get("outputs", []) if o["output_type"] == "stream" and o["name"] == "stdout")


def result_text(cell) -> str:
    for output in cell.get("outputs", []):
        if output["output_type"] == "execute_result":
            return output["data"]["text/plain"]
    raise AssertionError(f"cell has no result: {cell['source'][:80]!r}")


def png_count(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def cell_with(nb: nbformat.NotebookNode, text: str):
    cells = [c for c in nb.cells if c["cell_type"] == "code" and text in c["source"]]
    assert len(cells) == 1, f"{len(cells)} code cells contain {text!r}"
    return cells[0]


# ------------------------------------------------------------------------------ the README
def readme_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    found = [block for block in blocks if "connectionIB(" in block]
    assert len(found) == 1, "README.md should have one ```python block with connectionIB("
    return found[0]


def test_readme_snippet_runs_verbatim_in_a_kernel(kernel_env, sims):
    sim = sims(accounts=(README_ACCOUNT,))
    snippet = readme_snippet()
    assert snippet.count("ib_port=4001") == 1
    cell = snippet.replace("ib_port=4001", f"ib_port={sim.port}")  # the only change: the gateway's port
    check = (
        "print(repr(prices).splitlines()[0])\n"
        "print(prices.shape[1], list(prices.columns), str(prices.index.tz), len(prices) > 100)\n"
        "print(conn)\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell), nbformat.v4.new_code_cell(check)])
    started = time.monotonic()
    execute(nb, kernel_env)
    assert not errors_of(nb), "\n\n".join(errors_of(nb))
    summary, shape, connection = stream_text(nb.cells[1]).splitlines()
    assert re.fullmatch(
        r"<futuresContractPrices SP500 202506 D: \d+ rows 20\d\d-\d\d-\d\d → 2025-03-0[34] UTC>", summary
    ), summary
    assert shape == f"5 {PRICE_COLUMNS} UTC True"
    assert connection == f"IB broker connection{{'ipaddress': '127.0.0.1', 'port': {sim.port}, 'client': 999}}"
    assert time.monotonic() - started < 45


# ------------------------------------------------------------------------- the example notebook
def test_committed_notebook_is_clean():
    nb = nbformat.read(EXPLORE, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code), "strip the outputs"
    source = "\n".join(c["source"] for c in code)
    assert "startLoop" not in source and "nest_asyncio" not in source  # blocking calls work as they are
    assert code[0]["source"].startswith("%matplotlib inline")


def test_explore_notebook_runs_with_charts_and_prices(kernel_env):
    nb = nbformat.read(EXPLORE, as_version=4)
    started = time.monotonic()
    matches = execute(nb, kernel_env, completions=("prices_data.", "orders.get_list_of_", "daily.summ"))
    elapsed = time.monotonic() - started
    assert not errors_of(nb), "\n\n".join(errors_of(nb))

    # Charts: the roll calendar, the daily and the hourly prices, one PNG each.
    assert png_count(cell_with(nb, "ax.barh(")) == 1
    assert png_count(cell_with(nb, 'daily[["FINAL"]].plot(')) == 1
    assert png_count(cell_with(nb, 'hourly["FINAL"].plot(')) == 1
    assert sum(png_count(c) for c in nb.cells) == 3

    # Prices: shapes from the notebook's last result, and the reprs' summary lines.
    shapes = ast.literal_eval(result_text(cell_with(nb, '{"daily": daily.shape')))
    rows, columns = shapes["daily"]
    assert columns == 5 and rows > 60  # the front contract's daily bars up to the gateway's clock
    hourly_rows, hourly_columns = shapes["hourly"]
    assert hourly_columns == 5 and 100 < hourly_rows <= 10 * 24
    assert shapes["stored"] == shapes["daily"] and shapes["columns"] == PRICE_COLUMNS
    daily_view = cell_with(nb, "get_prices_for_contract_object(front_contract)")
    assert result_text(daily_view).startswith(f"<futuresContractPrices SP500 202503 D: {rows} rows ")
    html = next(o["data"]["text/html"] for o in daily_view["outputs"] if o["output_type"] == "execute_result")
    assert "<table" in html and "FINAL" in html
    assert "same bars as downloaded above: True" in stream_text(cell_with(nb, "stored.equals(daily)"))

    # The other items: instruments, chain with expiries and front month, the trade, positions, capital.
    assert re.match(r"\d+ instruments", stream_text(cell_with(nb, "get_list_of_instruments()")))
    assert "front month 202503" in stream_text(cell_with(nb, "front = front_month("))
    assert result_text(cell_with(nb, "contracts_with_merged_price_data_for_instrument_code")).startswith(
        "<listOfFuturesContracts SP500 x"
    )
    trade = result_text(cell_with(nb, "put_order_on_stack("))
    assert "IB Filled: BUY 2 SP500/20250300 MKT, filled 2/2 @ " in trade and "commission 4.5 USD" in trade
    positions = stream_text(cell_with(nb, "get_all_current_positions_as_list_with_contract_objects"))
    assert "positions: listOfContractPositions([SP500/20250321:2])" in positions
    assert re.search(r"capital:\s+listOfCurrencyValues\(\[\d+\.\d\d USD\]\)", positions)
    seeding = stream_text(cell_with(nb, "seed_price_data_from_IB(data"))
    assert re.search(r"errors\s+0", seeding) and re.search(r"updated\s+[1-9]", seeding)

    # Tab completion in the kernel: the seed 001 methods, and no private names.
    offered = matches["prices_data."]
    for name in (
        "get_instruments_with_price_data",
        "contract_dates_with_price_data_for_instrument_code",
        "get_prices_for_contract_object",
        "ib_client",
        "ibconnection",
    ):
        assert any(m.endswith(name) for m in offered), (name, offered)
    assert not [m for m in offered if m.split(".")[-1].startswith("_")]
    orders_offered = [m.split(".")[-1] for m in matches["orders.get_list_of_"]]
    assert {"get_list_of_broker_orders", "get_list_of_orders_from_storage"} <= set(orders_offered)
    assert [m.split(".")[-1] for m in matches["daily.summ"]] == ["summary"]

    assert elapsed < 60, f"the notebook took {elapsed:.1f} s"
