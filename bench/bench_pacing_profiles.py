"""Pacing profiles (issue 11): seeding the whole configured universe against a gateway that paces
as IB documents, with the default profile, against the strict profile's bound.

    python bench/bench_pacing_profiles.py            # daily bars of every configured instrument
    python bench/bench_pacing_profiles.py --scale 0.02

ibsim runs in this process, its clock frozen, pacing as IB documents it (`PacingRules.documented`:
hard rules for bars of 30 s or less, answers to larger-bar requests past 60 per window held back)
at --scale of IB's windows. The layer seeds daily bars of every instrument in the configuration
with the default profile ("documented"). Baseline, computed in the same run: the strict profile's
bound, i.e. the earliest-start schedule of the same requests under IB's three hard rules (what
the strict profile could at best achieve). Targets: 0 pacing violations, wall time well under the
strict bound.
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
for path in (str(HERE.parent), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_prices import ACCOUNT, GatewayLog, fresh_caches, pacing_bound  # noqa: E402

from ibsim import IBSim, PacingRules, SimConfig  # noqa: E402
from sysdata.config.configdata import load_config  # noqa: E402
from sysdata.data_blob import dataBlob  # noqa: E402
from sysobjects.futures_per_contract_prices import Frequency  # noqa: E402
from sysproduction.price_updates import UpdateSummary  # noqa: E402
from sysproduction.seed_price_data_from_IB import seed_price_data_from_IB  # noqa: E402

START = dt.datetime(2025, 3, 4, 15, 17, 23, tzinfo=dt.UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.01, help="pacing windows x this, gateway and client")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    print(f"pacing profiles benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} cores, {dt.date.today()})")
    print("$ python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__), *(argv or sys.argv[1:])]))
    fresh_caches()
    documented = PacingRules.documented(args.scale)
    sim = IBSim(SimConfig(port=0, start=START, speed=0.0, accounts=(ACCOUNT,), pacing=documented)).start_in_thread()
    gateway = GatewayLog()
    gateway.attach(sim)
    try:
        with tempfile.TemporaryDirectory(prefix="bench_pacing_profiles_") as folder:
            private = Path(folder) / "private"
            private.mkdir()
            config = load_config(
                private_dir=private,
                overrides={
                    "ib_gateway": "external",
                    "ib_port": sim.port,
                    "broker_account": ACCOUNT,
                    "ib_pacing_scale": args.scale,
                    "ib_pacing_profile": "documented",
                    "data_folder": folder,
                    "log_level": "WARNING",
                },
            )
            with dataBlob("bench_pacing_profiles", config=config) as data:
                data.ib_conn.now()
                universe = data.broker_futures_instrument.get_list_of_instruments()
                summary = UpdateSummary()
                started = time.perf_counter()
                seed_price_data_from_IB(data, universe, (Frequency.Day,), summary)
                wall = time.perf_counter() - started
    finally:
        sim.stop_in_thread()
    accepted = [(key, contract) for _, key, contract, refused in gateway.requests if not refused]
    strict_bound = pacing_bound(accepted, PacingRules.scaled(args.scale))
    print(f"\n{len(universe)} instruments, {summary.contracts} contracts, daily bars; windows x{args.scale:g}")
    print(f"{'measure':<52}{'value':>10}")
    print(f"{'requests':<52}{summary.requests:>10}")
    print(f"{'pacing violations (gateway / layer)':<52}{sim.pacer.violations:>5} / {summary.pacing_violations}")
    print(f"{'answers held back by the gateway (soft throttle)':<52}{sim.pacer.soft_delayed:>10}")
    print(f"{'wall time, documented profile, s':<52}{wall:>10.2f}")
    print(f"{'strict profile bound for the same requests, s':<52}{strict_bound:>10.2f}")
    print(f"{'ratio (wall / strict bound)':<52}{wall / strict_bound:>10.2f}")
    ok = sim.pacer.violations == 0 and not summary.errors and wall < strict_bound
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
