"""Several processes on one gateway login (issue 11): shared pacing books against IB's bound.

    python bench/bench_shared_pacing.py                     # 4 processes, the 10-instrument universe, daily
    python bench/bench_shared_pacing.py --processes 2 --scale 0.02

ibsim runs in this process with its clock frozen and IB's three pacing rules at --scale of IB's
windows. N processes of `python -m sysproduction.seed_price_data_from_IB`, each seeding its share
of the universe's daily bars, start together and share one metadata store (and so the pacing
books), as processes of one machine do. Measured: requests against the lower bound (one request
per contract with bars: IB's daily span covers a whole contract), pacing violations at the
gateway, and the combined wall time against the pacing bound of all the requests together: the
earliest-start schedule of the requests the gateway received under IB's three rules (computed in
the same run, as in bench_prices.py part 2). Targets: requests 1.00x, 0 violations, wall <= 1.10x.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
for path in (str(REPO_ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_prices import UNIVERSE, GatewayLog, listed_at_gateway, lower_bound, pacing_bound  # noqa: E402

from ibsim import IBSim, PacingRules, SimConfig  # noqa: E402
from sysobjects.futures_per_contract_prices import Frequency  # noqa: E402
from tests.production.seeding import finish, start_seed, summary_count  # noqa: E402

START = dt.datetime(2025, 3, 4, 15, 17, 23, tzinfo=dt.UTC)


def split(universe: tuple[str, ...], processes: int) -> list[tuple[str, ...]]:
    """Round-robin shares of the universe, one per process."""
    return [universe[i::processes] for i in range(processes)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--instruments", default=",".join(UNIVERSE), help="daily universe (comma separated)")
    parser.add_argument("--scale", type=float, default=0.01, help="pacing windows x this, gateway and client")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    universe = tuple(c for c in args.instruments.split(",") if c)
    rules = PacingRules.scaled(args.scale)
    print(f"shared pacing benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} cores, {dt.date.today()})")
    print("$ python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__), *(argv or sys.argv[1:])]))

    sim = IBSim(SimConfig(port=0, start=START, speed=0.0, pacing=rules, accounts=("DU123456",))).start_in_thread()
    gateway = GatewayLog()
    gateway.attach(sim)
    try:
        with tempfile.TemporaryDirectory(prefix="bench_shared_pacing_") as folder:
            root = Path(folder)
            shares = split(universe, args.processes)
            began = time.perf_counter()
            runs = [
                start_seed(root / f"p{i}", sim, *share, metadata=root / "metadata.sqlite", scale=args.scale)
                for i, share in enumerate(shares)
            ]
            outputs = [finish(run) for run in runs]
            wall = time.perf_counter() - began
        now = sim.clock.now()
        bound_requests = sum(
            b.requests
            for code in universe
            for inst in listed_at_gateway(sim, code, now)
            for b in [lower_bound(sim, code, inst, Frequency.Day, now)]
        )
    finally:
        sim.stop_in_thread()

    sent = sum(summary_count(output, "IB requests") for output in outputs)
    accepted = [(key, contract) for _, key, contract, refused in gateway.requests if not refused]
    bound = pacing_bound(accepted, rules)
    span = gateway.requests[-1][0] - gateway.requests[0][0]
    violations = sim.pacer.violations
    print(f"\n{args.processes} processes, shares: " + "; ".join(",".join(share) for share in shares))
    print(f"{'measure':<48}{'value':>10}{'bound':>10}{'ratio':>8}")
    print(f"{'requests (all processes)':<48}{sent:>10}{bound_requests:>10}{sent / bound_requests:>8.2f}   target 1.00")
    print(
        f"{'combined wall time, s (launch to last exit)':<48}{wall:>10.2f}{bound:>10.2f}{wall / bound:>8.2f}   target <= 1.10"
    )
    print(f"{'first to last request at the gateway, s':<48}{span:>10.2f}{bound:>10.2f}{span / bound:>8.2f}")
    print(f"pacing violations at the gateway: {violations} (target 0)")
    print(
        f"bound: earliest-start schedule of the {len(accepted)} requests the gateway received under IB's rules "
        f"(windows x{args.scale:g}: {rules.global_max} per {rules.global_window:g}s)"
    )
    ok = sent == bound_requests and violations == 0 and wall / bound <= 1.10
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
