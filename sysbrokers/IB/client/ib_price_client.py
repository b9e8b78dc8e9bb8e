"""`ibPriceClient`: historical bars within IB's pacing rules, tick snapshots and streams.

Historical downloads are paged with the longest duration IB allows per bar size, paced so that
IB's rules are never broken (`sysbrokers.IB.pacing`), deduplicated, checked for order, and
converted from IB's price units (the price magnifier) into the layer's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ib_async import BarData, Contract

from sysbrokers.IB.bar_grid import BarGrid
from sysbrokers.IB.client.ib_contracts_client import ibContractsClient
from sysbrokers.IB.contract_resolution import ResolvedContract, resolve_spread
from sysbrokers.IB.ib_errors import IBNoData, IBPacingViolation, IBPermissionError
from sysbrokers.IB.pacers import pacer_for
from sysbrokers.IB.pacing import HistoricalPacer, PacingRetry
from sysdata.production.process_metrics import record_pacing_wait
from sysobjects.contracts import futuresContract
from sysobjects.futures_per_contract_prices import Frequency, futuresContractPrices

UTC = dt.UTC


@dataclass(frozen=True)
class BarPlan:
    """How one frequency is downloaded: IB's bar size and the longest span one request may cover."""

    bar_size: str
    bar_seconds: int  # the bar's length (a day for daily bars)
    duration_unit: str  # IB duration unit of a full page: "S", "D", "W", "M" or "Y"
    duration_count: int
    page: dt.timedelta  # the span of one full page
    max_gap: dt.timedelta  # a page whose first bar starts later than this after its start reached the data's start


BAR_PLANS: dict[Frequency, BarPlan] = {
    Frequency.Day: BarPlan("1 day", 86400, "Y", 10, dt.timedelta(days=3650), dt.timedelta(days=10)),
    Frequency.Hour: BarPlan("1 hour", 3600, "D", 31, dt.timedelta(days=31), dt.timedelta(days=5)),
    Frequency.Minutes_15: BarPlan("15 mins", 900, "W", 1, dt.timedelta(days=7), dt.timedelta(days=4)),
    Frequency.Minutes_5: BarPlan("5 mins", 300, "W", 1, dt.timedelta(days=7), dt.timedelta(days=4)),
    Frequency.Minute: BarPlan("1 min", 60, "S", 86400, dt.timedelta(days=1), dt.timedelta(hours=20)),
    Frequency.Seconds_10: BarPlan("10 secs", 10, "S", 14400, dt.timedelta(hours=4), dt.timedelta(hours=3)),
    Frequency.Second: BarPlan("1 secs", 1, "S", 1800, dt.timedelta(minutes=30), dt.timedelta(minutes=25)),
}


@dataclass(frozen=True)
class TickSnapshot:
    """Top of book as the stack handler uses it (prices in the layer's units)."""

    time: dt.datetime
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    last: float
    delayed: bool


@dataclass
class DownloadStats:
    requests: int = 0
    pacing_waits: float = 0.0
    pacing_violations: int = 0
    bars: int = 0


class ibPriceClient(ibContractsClient):  # noqa: N801 - pysystemtrade's public name
    """Prices of futures contracts at IB."""

    def __init__(self, ibconnection, log=None, pacer: HistoricalPacer | None = None):
        super().__init__(ibconnection, log)
        self.pacer = pacer or pacer_for(ibconnection)
        self.stats = DownloadStats()
        self.now = ibconnection.now

    # ------------------------------------------------------------ historical
    def broker_get_historical_futures_data_for_contract(
        self,
        contract: futuresContract,
        bar_freq: Frequency | str = Frequency.Day,
        whatToShow: str = "TRADES",  # noqa: N803 - pysystemtrade's argument name
        allow_expired: bool = False,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> futuresContractPrices:
        """All bars of one contract at one frequency between `start` (default: as far back as IB
        has them) and `end` (default: now, or the contract's expiry).

        Raises `IBNoData` when IB has no bars at all (e.g. a contract that expired too long ago),
        `IBNoSecurityDefinition` for an unknown contract, `IBPermissionError` without permission.
        """
        frequency = Frequency(bar_freq)
        plan = BAR_PLANS.get(frequency)
        if plan is None:
            raise ValueError(f"no IB bar size for frequency {frequency.value!r}; use one of {list(BAR_PLANS)}")
        found = self.resolve(contract, allow_expired=allow_expired)
        bars = self._download(found, plan, whatToShow.upper(), start, end, f"{contract.key} {frequency.value}")
        return futuresContractPrices.from_ib_bars(
            bars, frequency=frequency, price_divisor=found.price_magnifier, contract=contract
        )

    def _download(
        self,
        found: ResolvedContract,
        plan: BarPlan,
        what: str,
        start: dt.datetime | None,
        end: dt.datetime | None,
        label: str,
    ) -> list[BarData]:
        """Complete bars only: every page ends on a bar boundary (`BarGrid`), a bar cut off at a
        page's end is dropped there and taken whole from the next older page, which ends on the
        first boundary at or after the newer page's start."""
        now = self.now()
        live = end is None or end >= now
        stop = min(end or now, now)
        if found.expiry_utc is not None and found.expiry_utc + dt.timedelta(days=1) < stop:
            stop, live = found.expiry_utc + dt.timedelta(days=1), False
        grid = BarGrid.for_bar(plan.bar_seconds, found.time_zone)
        pages: list[list[BarData]] = []
        page_end = grid.page_end(stop, live=live)
        if start is not None and start >= page_end:
            return []  # no complete bar can start in [start, page_end)
        while True:
            try:
                page = self._request_page(found.contract, page_end, plan, what, label)
            except IBNoData:
                if pages:
                    break  # the page before reached the first bar IB has
                raise
            if not page:
                break
            first = _bar_time(page[0])
            while page and not grid.is_complete(_bar_time(page[-1]), page_end):
                page.pop()  # cut off at the page's end: the bar is whole in no other page
            pages.append(page)
            page_start = page_end - plan.page
            if start is not None and (first <= start or page_start <= start):
                break  # this page reached back to `start`
            if first - page_start > plan.max_gap:
                break  # the data begins inside this page
            page_end = grid.next_page_end(page_start)
        bars = _merge_pages(pages)
        if start is not None:
            # Only the oldest page can reach back before `start`.
            skip = 0
            while skip < len(bars) and _bar_time(bars[skip]) < start:
                skip += 1
            bars = bars[skip:]
        self.stats.bars += len(bars)
        return bars

    def _request_page(self, contract: Contract, end: dt.datetime, plan: BarPlan, what: str, label: str) -> list:
        """One page of bars; a pacing violation is waited out (never turned into a lost page)."""
        end_text = end.astimezone(UTC).strftime("%Y%m%d-%H:%M:%S")
        duration = f"{plan.duration_count} {plan.duration_unit}"
        request_key = (contract.conId, end_text, duration, plan.bar_size, what)
        contract_key = (contract.conId, contract.exchange)
        retry = PacingRetry(self.pacer.limits)
        while True:
            hard_rules = self.pacer.hard_rules_apply(plan.bar_seconds)
            waited, booking = self.pacer.acquire(
                request_key, contract_key, what, sleep=self._sleep, bar_seconds=plan.bar_seconds
            )
            self.stats.pacing_waits += waited
            record_pacing_wait(waited)
            self.stats.requests += 1
            try:
                return list(
                    self.run_request(
                        lambda: self.ib.reqHistoricalDataAsync(
                            contract, end_text, duration, plan.bar_size, what, False, 2, timeout=0
                        ),
                        f"historical {plan.bar_size} bars of {label} to {end_text}",
                        contract=contract,
                    )
                )
            except IBPacingViolation:
                self.stats.pacing_violations += 1
                if not hard_rules and self.pacer.fall_back():
                    self.log.warning("pacing violation on %s: strict pacing for the rest of this run", label)
                backoff = retry.next_wait()
                if backoff is None:  # IB's longest window passed without a request getting through
                    raise
                self.log.warning("pacing violation on %s; waiting %.2fs before asking again", label, backoff)
                self._sleep(backoff)
                self.stats.pacing_waits += backoff
                record_pacing_wait(backoff)
            finally:
                self.pacer.confirm(booking)

    def _sleep(self, seconds: float) -> None:
        # Sleep with the event loop running, so that the connection stays serviced.
        self.ib_connection.sleep(seconds)

    # ------------------------------------------------------------- snapshots
    def broker_get_tick_snapshot(self, contract: futuresContract, wait_seconds: float = 10.0) -> TickSnapshot:
        """Bid, ask, sizes and last of one contract: live data, or delayed data when the account has no
        live permission for it (IB error 354)."""
        spread = contract.is_spread_contract()  # a calendar spread: its IB BAG, quoted as a combo
        found = resolve_spread(contract, None, self.resolve) if spread else self.resolve(contract)
        try:
            ticker = self._wait_for_quote(found.contract, wait_seconds, contract.key, spread)
        except IBPermissionError:
            self.log.warning("no live market data for %s: asking for delayed data", contract.key)
            # Through the supervisor, so that the setting is sent again after a reconnect.
            self.ib_connection.supervisor.set_market_data_type(3)
            ticker = self._wait_for_quote(found.contract, wait_seconds, contract.key, spread)
        magnifier = found.price_magnifier
        return TickSnapshot(
            time=ticker.time or self.now(),
            bid=ticker.bid / magnifier,
            ask=ticker.ask / magnifier,
            bid_size=ticker.bidSize,
            ask_size=ticker.askSize,
            last=ticker.last / magnifier if not math.isnan(ticker.last) else math.nan,
            delayed=ticker.marketDataType in (3, 4),
        )

    def _wait_for_quote(self, contract: Contract, wait_seconds: float, label: str, spread: bool = False):
        ib = self.ib
        valid = math.isfinite if spread else _valid  # a combo's prices can be zero or negative

        async def wait():
            ticker = ib.reqMktData(contract, "", False, False)
            try:
                deadline = time.monotonic() + wait_seconds
                while time.monotonic() < deadline:
                    if valid(ticker.bid) and valid(ticker.ask):
                        return ticker
                    await asyncio.sleep(0.02)
                raise IBNoData(message=f"no bid and ask for {label} within {wait_seconds:g}s")
            finally:
                ib.cancelMktData(contract)

        return self.run_request(wait, f"quote for {label}", contract=contract, timeout=wait_seconds + 5)

    # ------------------------------------------------------------- streaming
    async def stream_quotes(self, contract: futuresContract) -> AsyncIterator[TickSnapshot]:
        """Quotes of one contract as they change; survives reconnects and 1101 (resubscribed by
        the connection supervisor). Stop by leaving the `async for`."""
        found = await self.resolve_async(contract)
        handle = self.ib_connection.supervisor.subscribe_market_data(found.contract)
        queue: asyncio.Queue = asyncio.Queue()
        handle.updateEvent += queue.put_nowait
        try:
            while True:
                current = await queue.get()
                ticker = current.ticker
                if _valid(ticker.bid) and _valid(ticker.ask):
                    yield TickSnapshot(
                        time=ticker.time or self.now(),
                        bid=ticker.bid / found.price_magnifier,
                        ask=ticker.ask / found.price_magnifier,
                        bid_size=ticker.bidSize,
                        ask_size=ticker.askSize,
                        last=ticker.last / found.price_magnifier if _valid(ticker.last) else math.nan,
                        delayed=ticker.marketDataType in (3, 4),
                    )
        finally:
            handle.updateEvent -= queue.put_nowait
            handle.cancel()

    async def stream_bars(
        self, contract: futuresContract, bar_size: str = "5 secs", keep_up_to_date: bool = False
    ) -> AsyncIterator[BarData]:
        """5-second real-time bars (default) or keepUpToDate bars of `bar_size`, surviving
        reconnects. Prices are in the layer's units."""
        found = await self.resolve_async(contract)
        supervisor = self.ib_connection.supervisor
        if keep_up_to_date:
            handle = await supervisor.subscribe_bars_async(found.contract, bar_size=bar_size, duration="1 D")
        else:
            handle = supervisor.subscribe_realtime_bars(found.contract)
        queue: asyncio.Queue = asyncio.Queue()
        handle.updateEvent += queue.put_nowait
        try:
            while True:
                current = await queue.get()
                if current.bars:
                    yield _unmagnify_bar(current.bars[-1], found.price_magnifier)
        finally:
            handle.updateEvent -= queue.put_nowait
            handle.cancel()


def _valid(value: float) -> bool:
    return value is not None and not math.isnan(value) and value > 0


def _bar_time(bar) -> dt.datetime:
    if isinstance(bar.date, dt.datetime):
        return bar.date.astimezone(UTC)
    return dt.datetime.combine(bar.date, dt.time(0), UTC)


def _merge_pages(pages: list[list[BarData]]) -> list[BarData]:
    """One oldest-first list from pages downloaded newest first.

    Pages hold complete bars only. Where two pages hold the same bar (an older page ends on the
    boundary after the newer page's start, so they may overlap by a bar or a day), the newer
    page's copy is kept. Order within a page is IB's and is checked when the prices object is built.
    """
    kept: list[list[BarData]] = []
    oldest: dt.datetime | None = None  # the first bar of the newer pages kept so far
    for page in pages:
        if oldest is not None and page and _bar_time(page[-1]) >= oldest:
            page = [bar for bar in page if _bar_time(bar) < oldest]
        if page:
            kept.append(page)
            oldest = _bar_time(page[0])
    return [bar for page in reversed(kept) for bar in page]


def _unmagnify_bar(bar, magnifier: int):
    """A bar in the layer's price units (prices and average price; -1 = unknown stays)."""
    if magnifier == 1:
        return bar
    changes = {}
    for name in ("open", "open_", "high", "low", "close", "wap", "average"):
        value = getattr(bar, name, None)
        if isinstance(value, float) and value != -1:
            changes[name] = value / magnifier
    return dataclasses.replace(bar, **changes)
