"""Data-quality check of stored futures prices against IB, and repair.

    python -m sysproduction.check_price_data                      # a sample of 20 stored series
    python -m sysproduction.check_price_data SP500 --frequencies H --all
    python -m sysproduction.check_price_data --all --repair       # replace what differs, fill gaps

For each stored series checked, IB's complete bars over the stored span are downloaded (paced as
every download is) and compared bar by bar: bars whose values differ from IB's (for example a
partial bar stored at a page seam by an older version), bars IB has that the store lacks inside
the stored span (gaps), and stored bars IB does not have. With `--repair` differing bars are
replaced and gaps filled, in one atomic merge per series; bars IB does not have are reported and
left alone. The sample is chosen by the date, so each night checks other series and a rerun on
the same day checks the same ones. Exit status 1 when anything differs (after a repair: when
anything could not be repaired).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import logging
import sys

import numpy as np
import pandas as pd

from sysbrokers.IB.ib_errors import IBError, IBNoData, IBNoSecurityDefinition
from sysdata.config.configdata import Config
from sysdata.data_blob import dataBlob
from sysdata.prices import FUTURES_PRICE_COLUMNS
from sysobjects.contracts import futuresContract
from sysobjects.futures_per_contract_prices import Frequency
from sysproduction.embedded_gateway import gateway_for
from sysproduction.script_runner import run_script, stop_point
from sysproduction.seed_price_data_from_IB import parse_frequencies, quiet_client_libraries

log = logging.getLogger("check_price_data")
DEFAULT_SAMPLE = 20


@dataclasses.dataclass
class SeriesCheck:
    key: str
    bars: int = 0  # stored bars compared
    differing: int = 0
    gaps: int = 0  # bars IB has inside the stored span that the store lacks
    not_at_ib: int = 0  # stored bars IB does not have
    replaced: int = 0
    filled: int = 0
    error: str = ""

    @property
    def clean(self) -> bool:
        return not (self.differing or self.gaps or self.not_at_ib or self.error)


@dataclasses.dataclass
class QualityReport:
    checked: list[SeriesCheck] = dataclasses.field(default_factory=list)
    stored_series: int = 0

    def total(self, name: str) -> int:
        return sum(getattr(check, name) for check in self.checked)

    def report(self, store: str = "") -> str:
        lines = [
            *([f"price store          {store}"] if store else []),
            f"series stored        {self.stored_series}",
            f"series checked       {len(self.checked)}",
            f"bars compared        {self.total('bars')}",
            f"bars differing       {self.total('differing')}",
            f"gaps (bars missing)  {self.total('gaps')}",
            f"bars not at IB       {self.total('not_at_ib')}",
            f"bars replaced        {self.total('replaced')}",
            f"gaps filled          {self.total('filled')}",
            f"errors               {sum(1 for check in self.checked if check.error)}",
        ]
        for check in self.checked:
            if not check.clean:
                problem = check.error or (
                    f"{check.differing} differing, {check.gaps} missing, {check.not_at_ib} not at IB"
                    + (f"; replaced {check.replaced}, filled {check.filled}" if check.replaced or check.filled else "")
                )
                lines.append(f"  {check.key}: {problem}")
        return "\n".join(lines)

    @property
    def unrepaired(self) -> int:
        return sum(1 for c in self.checked if c.error or c.not_at_ib or c.differing > c.replaced or c.gaps > c.filled)


def sample_keys(keys: list[str], sample: int | None, day: dt.date) -> list[str]:
    """`sample` keys chosen by the day (all when `sample` is None), in key order."""
    if sample is None or sample >= len(keys):
        return list(keys)
    ranked = sorted(keys, key=lambda key: hashlib.sha256(f"{day.isoformat()}/{key}".encode()).hexdigest())
    return sorted(ranked[:sample])


def check_series(data: dataBlob, key: str, repair: bool) -> SeriesCheck:
    """Compare one stored series with IB's complete bars over its span; repair when asked."""
    check = SeriesCheck(key)
    _, code, date_str, freq = key.split("/")
    store = data.db_futures_contract_price
    stored = store.read(key)
    if stored.empty:
        return check
    try:
        at_ib = data.broker_futures_contract_price.get_prices_at_frequency_for_potentially_expired_contract_object(
            futuresContract(code, date_str), Frequency(freq), start=stored.index[0].to_pydatetime()
        )
    except (IBNoData, IBNoSecurityDefinition) as exc:
        check.error = f"IB no longer has this contract's bars ({exc})"
        return check
    except IBError as exc:
        check.error = str(exc)
        return check
    at_ib = pd.DataFrame(at_ib[list(FUTURES_PRICE_COLUMNS)])
    at_ib = at_ib[at_ib.index <= stored.index[-1]]  # bars after the stored span are news, not gaps
    common = stored.index.intersection(at_ib.index)
    check.bars = len(common)
    old = stored.loc[common, list(FUTURES_PRICE_COLUMNS)].to_numpy()
    new = at_ib.loc[common].to_numpy()
    same = np.isclose(old, new, rtol=1e-12, atol=0, equal_nan=True).all(axis=1)
    check.differing = int((~same).sum())
    check.gaps = int((~at_ib.index.isin(stored.index)).sum())
    check.not_at_ib = int((~stored.index.isin(at_ib.index)).sum())
    if repair and (check.differing or check.gaps):
        result = store.merge(key, at_ib, overwrite=True)
        check.replaced, check.filled = result.replaced, result.added
    return check


def check_price_data(
    data: dataBlob,
    instrument_codes: list[str] | None = None,
    frequencies: tuple[Frequency, ...] | None = None,
    sample: int | None = DEFAULT_SAMPLE,
    repair: bool = False,
    day: dt.date | None = None,
) -> QualityReport:
    store = data.db_futures_contract_price
    prefixes = [f"futures/{code}/" for code in instrument_codes] if instrument_codes else ["futures/"]
    keys = sorted({key for prefix in prefixes for key in store.keys(prefix)})
    if frequencies:
        keys = [key for key in keys if key.rsplit("/", 1)[1] in {f.value for f in frequencies}]
    report = QualityReport(stored_series=len(keys))
    for key in sample_keys(keys, sample, day or data.ib_conn.now().date()):
        stop_point()  # a safe point: each series is checked (and repaired) whole
        report.checked.append(check_series(data, key, repair))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instruments", nargs="*", help="instrument codes (default: every stored one)")
    parser.add_argument("--frequencies", type=parse_frequencies, default=None, help="D, H, 15min, ... (default: all)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help=f"series to check (default {DEFAULT_SAMPLE})")
    group.add_argument("--all", action="store_true", help="check every stored series")
    parser.add_argument("--repair", action="store_true", help="replace differing bars and fill gaps from IB")
    args = parser.parse_args(argv)
    if args.sample < 1:
        parser.error("--sample takes a whole number >= 1")

    def body(config: Config) -> int:
        quiet_client_libraries(config)
        with gateway_for(config) as connect_config, dataBlob("check_price_data", config=connect_config) as data:
            report = check_price_data(
                data, args.instruments or None, args.frequencies, None if args.all else args.sample, args.repair
            )
            store = data.db_futures_contract_price
            print(f"\ncheck_price_data {'repair' if args.repair else 'report'}\n{report.report(store.url)}")
            failed = report.unrepaired if args.repair else sum(1 for check in report.checked if not check.clean)
        return 1 if failed else 0

    return run_script("check_price_data", body, safe_points=True)


if __name__ == "__main__":
    sys.exit(main())
