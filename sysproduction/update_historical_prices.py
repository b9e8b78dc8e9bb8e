"""Daily top-up of futures prices: the live contracts, plus any stored contract not yet complete.

    python -m sysproduction.update_historical_prices [INSTRUMENT ...] [--frequencies D,H]

Idempotent: running it twice adds nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import sys

from sysbrokers.IB.ib_errors import IBError
from sysdata.data_blob import dataBlob
from sysobjects.futures_per_contract_prices import Frequency
from sysproduction.price_updates import UpdateSummary, progress, update_contract
from sysproduction.script_runner import stop_point
from sysproduction.seed_price_data_from_IB import main as seed_main


def update_historical_prices(
    data: dataBlob,
    instrument_codes: list[str] | None = None,
    frequencies: tuple[Frequency, ...] = (Frequency.Day,),
    summary: UpdateSummary | None = None,
    since: dt.datetime | None = None,
) -> UpdateSummary:
    summary = summary if summary is not None else UpdateSummary()
    client = data.broker_futures_contract.ib_client
    store = data.db_futures_contract_price
    codes = instrument_codes or data.broker_futures_instrument.get_list_of_instruments()
    summary.store = store.url
    for code in codes:
        summary.instruments += 1
        summary.instrument(code)
        try:
            live = client.listed_contracts(code, allow_expired=False)
            # Recently expired contracts whose last sessions may not be stored yet.
            expired = [c for c in client.listed_contracts(code, allow_expired=True) if c not in live]
        except IBError as exc:
            summary.errors.append((code, str(exc)))
            continue
        stored_months = {key.split("/")[2][:6] for key in store.keys(f"futures/{code}/")}
        recent = [c for c in expired if (c.details.contractMonth or "") in stored_months]
        for contract in progress(live + recent, code):
            stop_point()  # a safe point: every contract before it is stored whole
            for frequency in frequencies:
                update_contract(data, code, contract, frequency, summary, since)
    return summary


def main(argv: list[str] | None = None) -> int:
    return seed_main(argv, script=update_historical_prices)


if __name__ == "__main__":
    sys.exit(main())
