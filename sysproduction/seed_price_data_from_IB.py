"""Seed futures prices from IB: every contract IB knows for each instrument, expired ones too.

    python -m sysproduction.seed_price_data_from_IB                 # every configured instrument
    python -m sysproduction.seed_price_data_from_IB SP500 CORN      # some of them
    python -m sysproduction.seed_price_data_from_IB --frequencies D,H
    python -m sysproduction.seed_price_data_from_IB SP500 --frequencies 15min --since 2025-01-01
    python -m sysproduction.seed_price_data_from_IB --workers 4     # 4 worker processes (seed_workers.py)

With no private configuration it runs on the embedded defaults: ibsim started in-process,
SQLite for metadata and parquet files under ./data. Rerunning adds nothing new; an interrupted
run resumes where it stopped. Prints a summary at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys

from sysbrokers.IB.client.ib_price_client import BAR_PLANS
from sysbrokers.IB.ib_errors import IBError
from sysdata.config.configdata import Config
from sysdata.data_blob import dataBlob
from sysobjects.futures_per_contract_prices import Frequency
from sysproduction.embedded_gateway import gateway_for
from sysproduction.ops_http import start_ops_server
from sysproduction.price_updates import UpdateSummary, progress, update_contract
from sysproduction.script_runner import run_script, stop_point
from sysproduction.seed_workers import DEFAULT_LEASE_SECONDS, run_with_workers, worker_command, worker_main

log = logging.getLogger("seed_price_data_from_IB")


def seed_price_data_from_IB(  # noqa: N802 - pysystemtrade's name
    data: dataBlob,
    instrument_codes: list[str] | None = None,
    frequencies: tuple[Frequency, ...] = (Frequency.Day,),
    summary: UpdateSummary | None = None,
    since: dt.datetime | None = None,
) -> UpdateSummary:
    summary = summary if summary is not None else UpdateSummary()
    summary.store = data.db_futures_contract_price.url
    contracts_data = data.broker_futures_contract
    codes = instrument_codes or data.broker_futures_instrument.get_list_of_instruments()
    for code in codes:
        summary.instruments += 1
        summary.instrument(code)  # listed in the summary even when IB lists no contract
        try:
            listed = contracts_data.ib_client.listed_contracts(code, allow_expired=True)
        except IBError as exc:
            summary.errors.append((code, str(exc)))
            continue
        for contract in progress(listed, code):
            stop_point()  # a safe point: every contract before it is stored whole
            for frequency in frequencies:
                update_contract(data, code, contract, frequency, summary, since)
    return summary


def parse_frequencies(text: str) -> tuple[Frequency, ...]:
    allowed = {frequency.value.upper(): frequency for frequency in BAR_PLANS}
    try:
        return tuple(allowed[part.strip().upper()] for part in text.split(",") if part.strip())
    except KeyError as exc:
        names = ", ".join(frequency.value for frequency in BAR_PLANS)
        raise argparse.ArgumentTypeError(f"--frequencies takes some of {names}, e.g. D,H; got {text!r}") from exc


def parse_since(text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--since takes a date YYYY-MM-DD (UTC); got {text!r}") from exc


def main(argv: list[str] | None = None, script=seed_price_data_from_IB) -> int:
    """The command line of the price jobs (`update_historical_prices` passes itself as `script`)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instruments", nargs="*", help="instrument codes (default: every configured one)")
    parser.add_argument(
        "--frequencies", type=parse_frequencies, default=(Frequency.Day,), help="D, H, 15min, 5min, 1min, 10s, 1s"
    )
    parser.add_argument("--since", type=parse_since, default=None, help="only bars from this date (YYYY-MM-DD, UTC)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes sharing the work (default 1)")
    parser.add_argument(
        "--queue", default=None, help="work queue shared by several hosts (default: one of this run's own)"
    )
    parser.add_argument(
        "--lease-seconds", type=float, default=DEFAULT_LEASE_SECONDS, help="a worker's hold on one item (renewed)"
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # a worker process: the queue's name
    parser.add_argument("--worker-gateway", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.workers < 1 or args.lease_seconds <= 0:
        parser.error("--workers takes a whole number >= 1 and --lease-seconds a number > 0")
    if args.workers > 1 and script is not seed_price_data_from_IB:
        parser.error("--workers is for seeding (seed_price_data_from_IB)")
    name = script.__name__
    if args.worker:
        return run_script(
            f"{name} worker",
            lambda config: worker_main(config, args.worker, args.worker_gateway, args.since, args.lease_seconds),
            safe_points=True,
        )
    summary = UpdateSummary()

    def body(config: Config) -> int:
        quiet_client_libraries(config)
        with gateway_for(config) as connect_config, dataBlob(name, config=connect_config) as data:
            server = start_ops_server(data.ib_conn, connect_config, name)  # None unless ops_http_port is set
            try:
                known = data.broker_futures_instrument.get_list_of_instruments()
                unknown = [code for code in args.instruments if code not in known]
                if unknown:
                    parser.error(f"unknown instrument(s) {', '.join(unknown)}: not in ib_config_futures.csv")
                if args.workers > 1:
                    gateway = f"{connect_config.ib_ipaddress}:{connect_config.ib_port}"
                    command = worker_command(gateway, args.since, args.lease_seconds)
                    codes = args.instruments or known
                    summary.merge(
                        run_with_workers(
                            data,
                            codes,
                            args.frequencies,
                            args.since,
                            args.workers,
                            command,
                            args.queue,
                            args.lease_seconds,
                        )
                    )
                    summary.instruments, summary.store = len(codes), data.db_futures_contract_price.url
                else:
                    script(data, args.instruments or None, args.frequencies, summary=summary, since=args.since)
            finally:
                if server is not None:
                    server.stop()
        print(f"\n{name} summary\n{summary.report()}")
        return 1 if summary.errors else 0

    return run_script(
        name, body, safe_points=True, on_interrupt=lambda: print(f"\n{name} partial summary\n{summary.report()}")
    )


def quiet_client_libraries(config: Config) -> None:
    """The client library's and the simulator's chatter (farm notices, connections) is noise in a
    job's log, unless the log level is DEBUG."""
    if config.log_level != "DEBUG":
        for noisy in ("ib_async", "ibsim"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
