"""The short soak: three simulated trading days of the stack handler, the daily price update and
quote streams against ibsim (its own process) with restarts, 1100s, farm notices, rejects and
missing commissions (bench/soak.py; the long run's figures are in docs/operations.md)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def load_soak():
    spec = importlib.util.spec_from_file_location("bench_soak", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_three_simulated_trading_days_lose_nothing(tmp_path):
    soak = load_soak()
    result = soak.run_soak(soak.SoakOptions(days=3, step=0.02, down=0.5, workdir=tmp_path, log=lambda _: None))
    print(result.report())
    assert result.simulated_days == 3
    # faults happened and the process came back from each
    assert result.restarts >= 2 and result.connectivity_losses >= 1
    assert result.reconnects >= result.restarts
    # every order accounted for: sent = placed at IB; every execution stored once; none left unknown
    assert result.orders_sent >= 60 and result.orders_placed_metric == result.orders_sent
    assert result.ib_executions >= 20
    assert (result.lost, result.duplicated) == (0, 0)
    assert result.fills_distinct == result.ib_executions
    assert result.fills_without_commission > 0  # dropped reports: stored as unknown, not as 0
    assert result.orders_unknown == 0 and result.orders_active_at_end == 0
    # streams kept flowing: no gap longer than the gateway's down time plus the reconnect delay
    assert result.stream_errors == [] and result.stream_quotes >= 100
    assert result.long_gaps == 0
    # the daily price update ran each simulated evening without errors
    assert result.price_updates >= 2 and result.price_errors == []
    # resources: no descriptor leaked, memory flat after warm-up, /metrics scraped throughout
    assert result.fds_end == result.fds_start
    assert result.rss_growth <= 0.10
    assert result.scrapes >= 3
    # ERROR lines are the injected faults only: rejections (201) and 1100 outside a reset window
    unexpected = [line for line in result.error_logs if "Error 201" not in line and "1100" not in line]
    assert unexpected == []
