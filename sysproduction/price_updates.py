"""Downloading futures prices from IB into the price store, contract by contract.

Shared by `seed_price_data_from_IB` (every contract IB knows, expired ones included) and
`update_historical_prices` (the daily top-up). Each contract and frequency is merged into the
store in one atomic write, so an interrupted run leaves complete contracts behind and a rerun
continues where it stopped; merging never duplicates a bar, and only finished bars are stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import sys
from collections.abc import Iterable

import numpy as np
import pandas as pd

from sysbrokers.IB.contract_resolution import ResolvedContract
from sysbrokers.IB.ib_errors import IBError, IBNoData, IBNoSecurityDefinition
from sysdata.data_blob import dataBlob
from sysdata.prices import contract_prices_key
from sysdata.production.process_metrics import record_price_write_error, record_prices_written
from sysobjects.contracts import futuresContract
from sysobjects.futures_per_contract_prices import Frequency

log = logging.getLogger("price_updates")

# More missing weekdays than this between two bars count as a gap: exchange holidays make at most
# three in a row (Eurex: 24, 25 and 26 December).
MAX_MISSING_WEEKDAYS = 3


@dataclasses.dataclass
class UpdateSummary:
    instruments: int = 0
    contracts: int = 0
    updated: int = 0
    up_to_date: int = 0
    no_data: int = 0
    bars_added: int = 0
    gaps: int = 0
    requests: int = 0
    pacing_violations: int = 0
    errors: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    store: str = ""  # where the prices went
    # instrument -> {"contracts": n, "bars_added": n}; an instrument IB lists no contract for: {}
    by_instrument: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)

    def instrument(self, code: str) -> dict[str, int]:
        """The per-instrument counts of `code` (listed in the report even if they stay empty)."""
        return self.by_instrument.setdefault(code, {})

    def merge(self, other: UpdateSummary) -> None:
        """Add `other`'s counts (another worker's share of the same run)."""
        for field in dataclasses.fields(self):
            mine, theirs = getattr(self, field.name), getattr(other, field.name)
            if field.name in ("instruments", "store"):
                continue
            if field.name == "errors":
                mine.extend(tuple(error) for error in theirs)
            elif field.name == "by_instrument":
                for code, counts in theirs.items():
                    into = self.instrument(code)
                    for name, value in counts.items():
                        into[name] = into.get(name, 0) + value
            else:
                setattr(self, field.name, mine + theirs)

    def report(self) -> str:
        lines = [
            *([f"price store          {self.store}"] if self.store else []),
            f"instruments          {self.instruments}",
            f"contracts            {self.contracts}",
            f"  updated            {self.updated}",
            f"  already up to date {self.up_to_date}",
            f"  no data at IB      {self.no_data}",
            f"bars added           {self.bars_added}",
            f"gaps (stored series) {self.gaps}",
            f"IB requests          {self.requests}",
            f"pacing violations    {self.pacing_violations}",
            f"errors               {len(self.errors)}",
        ]
        lines += [f"  {key}: {message}" for key, message in self.errors]
        if self.by_instrument:
            lines.append("by instrument")
            for code, counts in sorted(self.by_instrument.items()):
                if counts.get("contracts"):
                    lines.append(
                        f"  {code:<20} {counts['contracts']:>4} contracts {counts.get('bars_added', 0):>9} bars added"
                    )
                else:
                    lines.append(f"  {code:<20} no contracts at IB")
        return "\n".join(lines)


def contract_for(instrument_code: str, listed: ResolvedContract) -> futuresContract:
    """The `futuresContract` of a listed IB contract, keyed by its contract month (YYYYMM00)."""
    month = listed.details.contractMonth or f"{listed.expiry_date:%Y%m}"
    return futuresContract(instrument_code, month)


def update_contract(
    data: dataBlob,
    instrument_code: str,
    listed: ResolvedContract,
    frequency: Frequency,
    summary: UpdateSummary,
    since: dt.datetime | None = None,
) -> None:
    """Bring one contract's stored prices at one frequency up to date with IB (from `since` on
    when given: short bars of a whole history take many requests)."""
    contract = contract_for(instrument_code, listed)
    key = contract_prices_key(instrument_code, contract.date_str, frequency.value)
    store = data.db_futures_contract_price
    now = data.ib_conn.now()
    summary.contracts += 1
    counts = summary.instrument(instrument_code)
    counts["contracts"] = counts.get("contracts", 0) + 1
    last = store.last_timestamp(key)
    expiry_end = pd.Timestamp(listed.expiry_date, tz="UTC") if listed.expiry_date else None
    if last is not None and expiry_end is not None and last >= expiry_end and expiry_end < pd.Timestamp(now):
        summary.up_to_date += 1
        return
    client = data.broker_futures_contract_price.ib_client
    before = (client.stats.requests, client.stats.pacing_violations)
    start = None if last is None else last.to_pydatetime()
    if since is not None and (start is None or start < since):
        if expiry_end is not None and expiry_end + pd.Timedelta(days=1) < pd.Timestamp(since):
            summary.up_to_date += 1  # expired before `since`: nothing to ask for
            return
        start = since
    if start is None and frequency.is_intraday:
        # Intraday bars do not begin before the contract's first daily bar (its first session
        # starts the evening before at most): knowing that spares a request probing for older data.
        first_daily = store.read(contract_prices_key(instrument_code, contract.date_str, Frequency.Day.value))
        if len(first_daily):
            start = (first_daily.index[0] - pd.Timedelta(days=1)).to_pydatetime()
    try:
        prices = data.broker_futures_contract_price.get_prices_at_frequency_for_potentially_expired_contract_object(
            contract, frequency, start=start
        )
    except (IBNoData, IBNoSecurityDefinition):
        summary.no_data += 1
        return
    except IBError as exc:
        summary.errors.append((key, str(exc)))
        return
    finally:
        summary.requests += client.stats.requests - before[0]
        summary.pacing_violations += client.stats.pacing_violations - before[1]
    # The client returns complete bars only (pages end on bar boundaries; see bar_grid.py).
    if len(prices) == 0:
        summary.up_to_date += 1
        return
    kind = type(store).__name__.removesuffix("PriceStore").lower() or "store"
    try:
        result = store.merge(key, prices)
    except Exception:
        record_price_write_error(store=kind)
        raise
    record_prices_written(result.added, store=kind)
    summary.bars_added += result.added
    counts["bars_added"] = counts.get("bars_added", 0) + result.added
    summary.updated += 1 if result.added else 0
    summary.up_to_date += 0 if result.added else 1
    summary.gaps += count_gaps(store.read(key).index)


def count_gaps(index: pd.DatetimeIndex) -> int:
    """Runs of more than MAX_MISSING_WEEKDAYS weekdays with no bar between two bars."""
    if len(index) < 2:
        return 0
    days = pd.DatetimeIndex(index.normalize().unique()).tz_localize(None).values.astype("datetime64[D]")
    missing = np.busday_count(days[:-1], days[1:]) - 1
    return int((missing > MAX_MISSING_WEEKDAYS).sum())


def progress(items: list, label: str) -> Iterable:
    """A progress bar on a terminal, plain log lines otherwise."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(items, desc=label, unit="contract")
    log.info("%s: %d contracts", label, len(items))
    return items
