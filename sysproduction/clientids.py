"""List and clear IB client-id leases in the configured metadata store.

python -m sysproduction.clientids list
python -m sysproduction.clientids clear              # every lease (only when nothing runs)
python -m sysproduction.clientids clear --id 101     # one lease, whoever holds it
python -m sysproduction.clientids clear --expired    # leases whose holder stopped renewing
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from sysdata.config.configdata import Config, load_config
from sysdata.metadata_store import open_metadata_store
from sysdata.production.broker_client_id import ClientIdLease, utc_now
from sysproduction.script_runner import run_script

COLUMNS = ("ID", "STATE", "PID", "HOST", "PROCESS", "ACQUIRED (UTC)", "HEARTBEAT (UTC)", "EXPIRES IN")


def format_leases(leases: Sequence[ClientIdLease], now: dt.datetime) -> str:
    """A plain-text table, one lease per row."""
    rows = [COLUMNS]
    for lease in leases:
        remaining = (lease.expires - now).total_seconds()
        rows.append(
            (
                str(lease.client_id),
                lease.state(now),
                str(lease.pid) if lease.pid else "-",
                lease.host or "-",
                lease.process_name,
                _when(lease.acquired),
                _when(lease.heartbeat),
                "never" if lease.expires.year >= 9999 else f"{remaining:.0f} s",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sysproduction.clientids", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--private-dir", help="private config folder (default: $PYSYS_PRIVATE_CONFIG_DIR, else <project>/private)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="show every lease")
    clear = commands.add_parser("clear", help="delete leases (all unless --id or --expired)")
    which = clear.add_mutually_exclusive_group()
    which.add_argument("--id", type=int, dest="client_id", help="clear this id only")
    which.add_argument("--expired", action="store_true", help="clear expired leases only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit codes as every production script (sysproduction/script_runner.py, docs/operations.md)."""
    args = build_parser().parse_args(argv)
    return run_script(
        "clientids",
        lambda config: run(args, config),
        load_config=lambda: load_config(private_dir=args.private_dir),
        configure_logging=False,  # a short admin command: its output is the table on stdout
    )


def run(args: argparse.Namespace, config: Config) -> int:
    with open_metadata_store(config) as store:
        data = store.client_id_data(process_name="clientids-cli")
        if args.command == "list":
            leases = data.list_leases()
            print(f"{len(leases)} lease(s) in {store.describe()}")
            if leases:
                print(format_leases(leases, utc_now()))
            return 0
        if args.client_id is not None:
            cleared = int(data.clear_clientid(args.client_id))
        elif args.expired:
            cleared = data.clear_expired_clientids()
        else:
            cleared = data.clear_all_clientids()
        print(f"cleared {cleared} lease(s) in {store.describe()}")
        if args.client_id is not None and not cleared:
            print(f"client id {args.client_id} had no lease", file=sys.stderr)
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
