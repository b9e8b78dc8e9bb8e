"""From a contract month to the one IB contract, and IB's contract fields in plain types.

Pure functions over ib_async objects: building the request pattern, choosing among several
matches (weekly, daily and serial contracts are resolved by configuration, never silently),
normalising IB's expiry formats and parsing trading hours into UTC intervals.

Calendar spreads ("20250600_20250900") become one IB BAG contract whose legs are the resolved
legs' conIds:

    spread = resolve_spread(futuresContract("SP500", "20250600_20250900"), [-1, 1], client.resolve)
    spread.contract.comboLegs, spread.action, spread.quantity     # BUY front / SELL back; SELL 1
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ib_async import Bag, ComboLeg, Contract, ContractDetails, Future

from sysbrokers.IB.ib_errors import IBNoSecurityDefinition
from sysbrokers.IB.ib_instrument_config import canonical_time_zone
from sysobjects.contract_dates import contractDate, expiryDate
from sysobjects.contracts import futuresContract
from sysobjects.instruments import futuresInstrumentWithIBConfigData

UTC = dt.UTC
# A monthly contract's local symbol is its trading class followed by the month letter and year
# digits ("ESM5", "SR3Z4", "6EZ5"), or IB's "ZN   JUN 25" / "FGBL DEC 19" style. Weekly and daily
# contracts carry a week or day number between the class and the month ("VX25M5").
_MONTH_SUFFIX = re.compile(r"^[FGHJKMNQUVXZ]\d{1,2}$|^\s+[A-Z]{3} \d{2}$")


class AmbiguousContract(IBNoSecurityDefinition):
    """Several IB contracts match a contract month and the configuration does not say which."""


@dataclass(frozen=True)
class ResolvedContract:
    """One IB futures contract with the details the layer uses."""

    contract: Contract
    details: ContractDetails
    expiry_date: expiryDate | None  # last trade date (None for spot FX)
    expiry_utc: dt.datetime | None  # last trade instant, when IB gives a time
    time_zone: str  # IANA name of the exchange's zone
    min_tick: float  # in IB's price units
    price_magnifier: int
    expiry_key: str = ""  # "YYYYMMDD" of the last trade date ("" for spot FX)


class InvalidSpread(IBNoSecurityDefinition):
    """A calendar spread this layer cannot send: wrong leg count, zero legs, mixed contracts..."""


@dataclass(frozen=True)
class ResolvedSpread(ResolvedContract):
    """A calendar spread at IB: the BAG contract, its resolved legs and the order's side.

    `ratios` are the legs' signed ratios for a BUY of the combo (pysystemtrade's convention: the
    trade list divided by its highest common factor, the first leg made positive); `quantity` is
    the signed number of combos the trade list is (+ BUY the combo, - SELL it). The details,
    tick, magnifier and zone are the first leg's; the expiry is the earliest leg's.
    """

    legs: tuple[ResolvedContract, ...] = ()
    ratios: tuple[int, ...] = ()
    quantity: int = 0

    @property
    def action(self) -> str:
        return "BUY" if self.quantity > 0 else "SELL"

    @property
    def leg_con_ids(self) -> list[int]:
        return [leg.contract.conId for leg in self.legs]


DEFAULT_SPREAD_TRADE = (1, -1)  # quotes of a spread with no trade given: buy the first leg, sell the second


def spread_quantity_and_ratios(trade_list: Sequence[int]) -> tuple[int, tuple[int, ...]]:
    """pysystemtrade's split of a per-leg trade list: [-2, 2] -> (-2, (1, -1)); [1, -2] -> (1, (1, -2))."""
    legs = list(trade_list)
    if len(legs) < 2:
        raise InvalidSpread(message=f"a spread trade needs one quantity per leg (two or more), got {legs}")
    for qty in legs:
        if isinstance(qty, bool) or not isinstance(qty, numbers.Integral) or qty == 0:
            raise InvalidSpread(message=f"spread leg quantities must be non-zero whole numbers, got {legs}")
    hcf = math.gcd(*(abs(int(q)) for q in legs))
    ratios = [int(q) // hcf for q in legs]
    sign = 1 if ratios[0] > 0 else -1
    return sign * hcf, tuple(sign * r for r in ratios)


def resolve_spread(
    contract: futuresContract,
    trade_list: Sequence[int] | None,
    resolve_leg: Callable[[futuresContract], ResolvedContract],
) -> ResolvedSpread:
    """The IB BAG contract for a spread contract and its per-leg trade (`InvalidSpread` if unusable)."""
    leg_contracts = contract.as_list_of_individual_contracts()
    if len(leg_contracts) < 2:
        raise InvalidSpread(message=f"{contract.key} is not a spread (one contract date)")
    trade = DEFAULT_SPREAD_TRADE if trade_list is None else list(trade_list)
    if len(trade) != len(leg_contracts):
        raise InvalidSpread(
            message=f"{contract.key} has {len(leg_contracts)} legs but the trade list {list(trade)} has {len(trade)}"
        )
    quantity, ratios = spread_quantity_and_ratios(trade)
    legs = tuple(resolve_leg(leg) for leg in leg_contracts)
    if len({leg.contract.conId for leg in legs}) != len(legs):
        raise InvalidSpread(message=f"{contract.key}: two legs resolve to the same IB contract")
    first = legs[0]
    bag = Bag(
        symbol=first.contract.symbol,
        exchange=first.contract.exchange,
        currency=first.contract.currency,
        comboLegs=[
            ComboLeg(
                conId=leg.contract.conId,
                ratio=abs(ratio),
                action="BUY" if ratio > 0 else "SELL",
                exchange=leg.contract.exchange,
            )
            for leg, ratio in zip(legs, ratios, strict=True)
        ],
    )
    expiries = [leg.expiry_utc for leg in legs if leg.expiry_utc is not None]
    return ResolvedSpread(
        contract=bag,
        details=first.details,
        expiry_date=first.expiry_date,
        expiry_utc=min(expiries) if expiries else None,
        time_zone=first.time_zone,
        min_tick=first.min_tick,
        price_magnifier=first.price_magnifier,
        expiry_key=first.expiry_key,
        legs=legs,
        ratios=ratios,
        quantity=quantity,
    )


def contract_pattern(
    instrument: futuresInstrumentWithIBConfigData, contract_date: contractDate, include_expired: bool = False
) -> Future:
    """The reqContractDetails pattern for one contract month (YYYYMM) or exact expiry (YYYYMMDD)."""
    ib = instrument.ib_data
    pattern = Future(
        symbol=ib.ib_symbol,
        lastTradeDateOrContractMonth=contract_date.short_date_str,
        exchange=ib.ib_exchange,
        currency=ib.ib_currency or "",
        multiplier=ib.ib_multiplier_str,
        tradingClass=ib.trading_class or "",
    )
    pattern.includeExpired = include_expired
    return pattern


def instrument_pattern(instrument: futuresInstrumentWithIBConfigData, include_expired: bool = False) -> Future:
    """The pattern for every listed month of an instrument."""
    ib = instrument.ib_data
    pattern = Future(
        symbol=ib.ib_symbol,
        exchange=ib.ib_exchange,
        currency=ib.ib_currency or "",
        multiplier=ib.ib_multiplier_str,
        tradingClass=ib.trading_class or "",
    )
    pattern.includeExpired = include_expired
    return pattern


def is_monthly(details: ContractDetails) -> bool:
    local = details.contract.localSymbol or ""
    for prefix in (details.contract.tradingClass, details.contract.symbol):
        if prefix and local.startswith(prefix) and _MONTH_SUFFIX.match(local[len(prefix) :]):
            return True
    return False


def choose_contract(
    candidates: list[ContractDetails],
    instrument: futuresInstrumentWithIBConfigData,
    contract_date: contractDate,
) -> ContractDetails:
    """The one contract for `contract_date` among IB's matches.

    Several matches are narrowed by the configured trading class, an exact expiry day, and —
    only when the instrument's config says IgnoreWeekly — by dropping weekly and daily
    contracts. Anything still ambiguous raises `AmbiguousContract` listing the candidates.
    """
    if not candidates:
        raise IBNoSecurityDefinition(
            message=f"IB has no contract for {_label(instrument, contract_date)} ({_describe_pattern(instrument)})"
        )
    if len(candidates) == 1:  # the usual answer: nothing to narrow
        return candidates[0]
    remaining = list(candidates)
    trading_class = instrument.ib_data.trading_class
    if trading_class:
        remaining = [d for d in remaining if d.contract.tradingClass == trading_class] or remaining
    if contract_date.is_day_defined():
        exact = [d for d in remaining if d.contract.lastTradeDateOrContractMonth[:8] == contract_date.date_str]
        remaining = exact or remaining
    if len(remaining) > 1 and instrument.ib_data.ignore_weekly:
        remaining = [d for d in remaining if is_monthly(d)] or remaining
    if len(remaining) == 1:
        return remaining[0]
    listing = ", ".join(
        f"{d.contract.localSymbol} (class {d.contract.tradingClass}, expiry {d.contract.lastTradeDateOrContractMonth})"
        for d in remaining
    )
    raise AmbiguousContract(
        message=(
            f"{len(remaining)} IB contracts match {_label(instrument, contract_date)}: {listing}. Set IBTradingClass "
            f"for {instrument.instrument_code} in ib_config_futures.csv (or IgnoreWeekly=TRUE to keep the "
            "monthly one), or ask for an exact expiry YYYYMMDD"
        )
    )


def _label(instrument: futuresInstrumentWithIBConfigData, contract_date: contractDate) -> str:
    return f"{instrument.instrument_code} {contract_date.date_str}"


def _describe_pattern(instrument: futuresInstrumentWithIBConfigData) -> str:
    ib = instrument.ib_data
    parts = [ib.ib_symbol, ib.ib_exchange, ib.ib_currency or "", ib.ib_multiplier_str, ib.trading_class or ""]
    return " ".join(p for p in parts if p)


def zone_of(details: ContractDetails) -> str:
    """IANA name of the contract's exchange zone (IB sends legacy names like US/Central, MET)."""
    return _zone(details.timeZoneId or "UTC")[0]


_UTC_ZONE = ("UTC", ZoneInfo("UTC"))
# IB zone name -> (IANA name, its ZoneInfo); a handful of names per process.
_ZONES: dict[str, tuple[str, ZoneInfo]] = {}


def _zone(name: str) -> tuple[str, ZoneInfo]:
    """The IANA name and zone for one of IB's zone names; UTC for a name nobody knows."""
    return _known_zone(name) or _UTC_ZONE


def _known_zone(name: str) -> tuple[str, ZoneInfo] | None:
    found = _ZONES.get(name)
    if found is None:
        canonical = canonical_time_zone(name) or name
        try:
            found = _ZONES[name] = (canonical, ZoneInfo(canonical))
        except (ZoneInfoNotFoundError, ValueError):
            return None
    return found


def normalise_expiry(text: str, time_text: str = "", zone: str = "UTC") -> tuple[dt.date, dt.datetime | None]:
    """IB's expiry in any of its formats -> (last trade date, last trade instant in UTC or None).

    Accepts "YYYYMMDD", "YYYYMMDD HH:MM[:SS] ZONE", the UTC form "YYYYMMDD-HH:MM:SS", and the
    pieces ib_async splits them into (date, lastTradeTime, timeZoneId).
    """
    return _parse_expiry(text, time_text, zone)[1:]


def _parse_expiry(text: str, time_text: str, zone: str) -> tuple[str, expiryDate, dt.datetime | None]:
    """`normalise_expiry`, with the date's "YYYYMMDD" text first."""
    raw = text.strip()
    if raw[8:9] == "-":
        date_part, time_part = raw.split("-", 1)
        zone = "UTC"
    elif " " in raw:
        parts = raw.split()
        date_part, time_part = parts[0], parts[1] if len(parts) > 1 else time_text
        if len(parts) > 2:
            zone = parts[2]
    else:
        date_part, time_part = raw, time_text
    if len(date_part) != 8 or not date_part.isdigit():
        raise ValueError(f"IB expiry {text!r} does not start with YYYYMMDD")
    try:
        day = expiryDate(int(date_part[:4]), int(date_part[4:6]), int(date_part[6:]))
        if not time_part or not (time_part := time_part.strip()):
            return date_part, day, None
        clock = dt.time(*map(int, time_part.split(":")))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"IB expiry {text!r} is not a valid YYYYMMDD [HH:MM[:SS]]: {exc}") from None
    known = _known_zone(zone)
    if known is None:
        raise ValueError(f"IB expiry {text!r}: unknown time zone {zone!r}")
    return date_part, day, dt.datetime.combine(day, clock, known[1]).astimezone(UTC)


def resolved(details: ContractDetails) -> ResolvedContract:
    """The plain-typed view of one of IB's contract details."""
    contract = details.contract
    zone = zone_of(details)
    expiry_key, expiry_date, expiry_utc = "", None, None
    if contract.lastTradeDateOrContractMonth:
        expiry_key, expiry_date, expiry_utc = _parse_expiry(
            contract.lastTradeDateOrContractMonth, details.lastTradeTime, zone
        )
    return ResolvedContract(
        contract=contract,
        details=details,
        expiry_date=expiry_date,
        expiry_utc=expiry_utc,
        time_zone=zone,
        min_tick=float(details.minTick),
        price_magnifier=int(details.priceMagnifier or 1),
        expiry_key=expiry_key,
    )


def parse_trading_hours(text: str, zone: str) -> list[tuple[dt.datetime, dt.datetime]]:
    """IB's tradingHours / liquidHours ("20250304:1700-20250305:1600;20250308:CLOSED") as UTC intervals."""
    tz = ZoneInfo(zone)
    intervals = []
    for item in (text or "").split(";"):
        item = item.strip()
        if not item or item.endswith("CLOSED"):
            continue
        try:
            start_text, end_text = item.split("-")
            start = _local_stamp(start_text, tz)
            end = _local_stamp(end_text, tz)
        except ValueError as exc:
            raise ValueError(f"unreadable IB trading hours entry {item!r} in {text!r}") from exc
        if end > start:
            intervals.append((start, end))
    return sorted(intervals)


def _local_stamp(text: str, tz: ZoneInfo) -> dt.datetime:
    local = dt.datetime.strptime(text.strip(), "%Y%m%d:%H%M").replace(tzinfo=tz)
    return local.astimezone(UTC)
