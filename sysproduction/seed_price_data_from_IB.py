"""Seed futures prices from IB: every contract IB knows for each instrument, expired ones too.

    python -m sysproduction.seed_price_data_from_IB                 # every configured instrument
    python -m sysproduction.seed_price_data_from_IB SP500 CORN      # some of them
    python -m sysproduction.seed_price_data_from_IB --frequencies D,H

With no private configuration it runs on the embedded defaults: ibsim started in-process,
SQLite for metadata and parquet files under ./data. Rerunning adds nothing new; an interrupted
run resumes where it stopped. Prints a summary at the end.
"""

from __future__ import annotations

import argparse
import logging
import sys

from sysbrokers.IB.ib_errors import IBError
from sysdata.config.configdata import get_production_config
from sysdata.data_blob import dataBlob
from sysobjects.futures_per_contract_prices import Frequency
from sysproduction.embedded_gateway import gateway_for
from sysproduction.price_updates import UpdateSummary, progress, update_contract

log = logging.getLogger("seed_price_data_from_IB")


def seed_price_data_from_IB(  # noqa: N802 - pysystemtrade's name
    data: dataBlob,
    instrument_codes: list[str] | None = None,
    frequencies: tuple[Frequency, ...] = (Frequency.Day,),
    summary: UpdateSummary | None = None,
) -> UpdateSummary:
    summary = summary or UpdateSummary()
    contracts_data = data.broker_futures_contract
    codes = instrument_codes or data.broker_futures_instrument.get_list_of_instruments()
    for code in codes:
        summary.instruments += 1
        try:
            listed = contracts_data.ib_client.listed_contracts(code, allow_expired=True)
        except IBError as exc:
            summary.errors.append((code, str(exc)))
            continue
        for contract in progress(listed, code):
            for frequency in frequencies:
                update_contract(data, code, contract, frequency, summary)
    return summary


def parse_frequencies(text: str) -> tuple[Frequency, ...]:
    allowed = {"D": Frequency.Day, "H": Frequency.Hour}
    try:
        return tuple(allowed[part.strip().upper()] for part in text.split(",") if part.strip())
    except KeyError as exc:
        raise argparse.ArgumentTypeError(f"--frequencies takes D and/or H, e.g. D,H; got {text!r}") from exc


def main(argv: list[str] | None = None, script=seed_price_data_from_IB) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instruments", nargs="*", help="instrument codes (default: every configured one)")
    parser.add_argument("--frequencies", type=parse_frequencies, default=(Frequency.Day,), help="D, H or D,H")
    args = parser.parse_args(argv)
    config = get_production_config()
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if config.log_level != "DEBUG":
        # The client library's and the simulator's chatter (farm notices, connections) is noise here.
        for noisy in ("ib_async", "ibsim"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    name = script.__name__
    with gateway_for(config) as connect_config, dataBlob(name, config=connect_config) as data:
        known = set(data.broker_futures_instrument.get_list_of_instruments())
        unknown = [code for code in args.instruments if code not in known]
        if unknown:
            parser.error(f"unknown instrument(s) {', '.join(unknown)}: not in ib_config_futures.csv")
        summary = script(data, args.instruments or None, args.frequencies)
    print(f"\n{name} summary\n{summary.report()}")
    return 1 if summary.errors else 0


if __name__ == "__main__":
    sys.exit(main())
