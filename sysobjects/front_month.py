"""Per-instrument expiry/roll rules from YAML, front-month resolution and auto-roll.

`load_instrument_rules()` reads sysbrokers/IB/config/expiry_rules.yaml into
`InstrumentRules` objects. `front_month(rules, at_utc)` answers "which contract is the front
now": the nearest contract of the priced (or hold, or listed) cycle that has not rolled yet,
where a contract rolls `auto_roll_business_days` business days before its last trade date,
at the last trade time (0 = at the expiry instant itself). `held_contract(rules, at_utc)`
answers "which contract should I hold now" with pysystemtrade's hold cycle and
RollOffsetDays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from sysobjects import exchange_calendars as xc
from sysobjects.expiry_rules import ExpiryRule
from sysobjects.roll_cycles import (
    ALL_MONTHS,
    ContractMonth,
    HeldContracts,
    RollCycle,
    RollParameters,
)

UTC = dt.UTC
DEFAULT_RULES_YAML = Path(__file__).resolve().parent.parent / "sysbrokers" / "IB" / "config" / "expiry_rules.yaml"
CYCLES = ("priced", "hold", "listed")

_REQUIRED = {
    "ib_symbol",
    "exchange",
    "calendar",
    "time_zone",
    "expiry",
    "last_trade_time",
    "listed_months",
    "hold_cycle",
    "priced_cycle",
}
_OPTIONAL = {
    "trading_class",
    "last_trade_zone",
    "sessions",
    "serial_months",
    "masks",
    "hold_masks",
    "priced_masks",
    "roll_offset_days",
    "carry_offset",
    "expiry_offset",
    "auto_roll_business_days",
    "contract_id",
    "first_contract",
    "last_contract",
    "notes",
}


class NoFrontMonth(LookupError):
    """No contract qualifies (instrument delisted, or the date is past its last contract)."""


@dataclass(frozen=True)
class InstrumentRules:
    """Everything needed to date, list and roll one instrument's contracts."""

    instrument_code: str
    ib_symbol: str
    exchange: str
    trading_class: str
    expiry: ExpiryRule
    listed_cycle: RollCycle
    serial_months: int
    roll: RollParameters
    auto_roll_business_days: int = 0
    contract_id: str = "month"  # "month" -> YYYYMM; "day" -> YYYYMMDD (weeklies/dailies)
    first_contract: ContractMonth | None = None
    last_contract: ContractMonth | None = None

    def cycle(self, name: str) -> RollCycle:
        """The "priced", "hold" or "listed" cycle (listed includes serial months)."""
        if name == "priced":
            return self.roll.priced_cycle
        if name == "hold":
            return self.roll.hold_cycle
        if name == "listed":
            # The nearest serial months are always listed, so the nearest contract of any
            # month is listed too; beyond them only cycle months exist, which is all a
            # front-month search ever needs.
            return RollCycle.parse(ALL_MONTHS) if self.serial_months else self.listed_cycle
        raise ValueError(f"cycle must be one of {CYCLES}, got {name!r}")

    def in_range(self, month: ContractMonth) -> bool:
        if self.first_contract is not None and month < self.first_contract:
            return False
        return self.last_contract is None or month <= self.last_contract

    def last_trade_date(self, month: ContractMonth | str) -> dt.date:
        return self.expiry.last_trade_date(month)

    def expiry_utc(self, month: ContractMonth | str) -> dt.datetime:
        return self.expiry.last_trade_instant(month)

    def roll_utc(self, month: ContractMonth | str, roll_business_days: int | None = None) -> dt.datetime:
        """When auto-roll leaves `month`: N business days before its last trade date, at the
        last trade time; N=0 is the expiry instant."""
        n = self.auto_roll_business_days if roll_business_days is None else roll_business_days
        if n < 0:
            raise ValueError("roll_business_days must be >= 0")
        if n == 0:
            return self.expiry_utc(month)
        day = xc.add_business_days(self.expiry.calendar, self.last_trade_date(month), -n)
        return self.expiry.instant_on(day)

    def contract_id_for(self, month: ContractMonth) -> str:
        if self.contract_id == "day":
            return f"{self.last_trade_date(month):%Y%m%d}"
        return month.code


@dataclass(frozen=True)
class FrontMonth:
    """The resolved front contract."""

    instrument_code: str
    contract_month: ContractMonth
    contract_id: str  # "YYYYMM", or "YYYYMMDD" for day-identified contracts
    last_trade_date: dt.date
    expiry_utc: dt.datetime
    roll_utc: dt.datetime  # the instant the front moves on to the next contract

    @property
    def yyyymm(self) -> str:
        return self.contract_month.code


# ---------------------------------------------------------------------------------------
# Loading


def _month_or_none(value: object) -> ContractMonth | None:
    return None if value in (None, "") else ContractMonth.parse(str(value))


def instrument_rules_from_config(code: str, item: Mapping[str, object]) -> InstrumentRules:
    """Build one instrument's rules from its YAML mapping (raises ValueError naming it)."""
    try:
        missing = _REQUIRED - set(item)
        unknown = set(item) - _REQUIRED - _OPTIONAL
        if missing:
            raise ValueError(f"missing keys {sorted(missing)}")
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        expiry = ExpiryRule.from_config(
            str(item["expiry"]),
            str(item["calendar"]),
            str(item["time_zone"]),
            str(item["last_trade_time"]),
            str(item.get("last_trade_zone", "") or ""),
            str(item.get("sessions", "") or ""),
        )
        masks = list(item.get("masks", ()) or ())
        hold = RollCycle.parse(item["hold_cycle"], masks + list(item.get("hold_masks", ()) or ()))
        priced = RollCycle.parse(item["priced_cycle"], masks + list(item.get("priced_masks", ()) or ()))
        roll = RollParameters(
            hold_cycle=hold,
            priced_cycle=priced,
            roll_offset_days=int(item.get("roll_offset_days", -5)),
            carry_offset=int(item.get("carry_offset", 1)),
            expiry_offset=int(item.get("expiry_offset", 15)),
        )
        contract_id = str(item.get("contract_id", "month"))
        if contract_id not in ("month", "day"):
            raise ValueError(f"contract_id must be month or day, got {contract_id!r}")
        return InstrumentRules(
            instrument_code=code,
            ib_symbol=str(item["ib_symbol"]),
            exchange=str(item["exchange"]),
            trading_class=str(item.get("trading_class", "") or ""),
            expiry=expiry,
            listed_cycle=RollCycle.parse(item["listed_months"], masks),
            serial_months=int(item.get("serial_months", 0)),
            roll=roll,
            auto_roll_business_days=int(item.get("auto_roll_business_days", 0)),
            contract_id=contract_id,
            first_contract=_month_or_none(item.get("first_contract")),
            last_contract=_month_or_none(item.get("last_contract")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"expiry rules for {code}: {exc}") from None


def parse_instrument_rules(document: Mapping[str, object]) -> dict[str, InstrumentRules]:
    """Build every instrument of a loaded YAML document; checks shared trading classes."""
    defaults = dict(document.get("defaults", {}) or {})
    instruments = document.get("instruments")
    if not isinstance(instruments, Mapping) or not instruments:
        raise ValueError("expiry rules: no 'instruments' mapping")
    rules = {
        str(code): instrument_rules_from_config(str(code), {**defaults, **dict(item)})
        for code, item in instruments.items()
    }
    check_shared_trading_classes(rules)
    return rules


def load_instrument_rules(path: str | Path | None = None) -> dict[str, InstrumentRules]:
    """Read the per-instrument rule YAML (the packaged one by default; cached)."""
    return _load(str(Path(path).resolve()) if path is not None else str(DEFAULT_RULES_YAML))


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, InstrumentRules]:
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    return parse_instrument_rules(document)


# ---------------------------------------------------------------------------------------
# Seasonal contracts that share one IB trading class


_CHECK_YEARS = range(2000, 2046)


def check_shared_trading_classes(rules: Mapping[str, InstrumentRules]) -> None:
    """Instruments sharing (symbol, exchange, trading class) must list disjoint months.

    That is how seasonal contracts of one IB trading class are split between instruments:
    each owns its season, and `route_contract` tells them apart by month.
    """
    groups: dict[tuple[str, str, str], list[InstrumentRules]] = {}
    for r in rules.values():
        groups.setdefault((r.ib_symbol, r.exchange, r.trading_class), []).append(r)
    for key, members in groups.items():
        if len(members) < 2:
            continue
        for year in _CHECK_YEARS:
            seen: dict[int, str] = {}
            for r in members:
                for month in r.listed_cycle.months_in_year(year):
                    cm = ContractMonth(year, month)
                    if not r.in_range(cm):
                        continue
                    if month in seen:
                        raise ValueError(
                            f"{seen[month]} and {r.instrument_code} share trading class {key} and both list {cm}"
                        )
                    seen[month] = r.instrument_code


def route_contract(
    rules: Mapping[str, InstrumentRules],
    ib_symbol: str,
    exchange: str,
    trading_class: str,
    contract_month: ContractMonth | str,
) -> str | None:
    """The instrument code owning an IB contract, telling seasonal instruments apart."""
    cm = ContractMonth.parse(contract_month)
    for r in rules.values():
        if (r.ib_symbol, r.exchange) != (ib_symbol, exchange):
            continue
        if r.trading_class and trading_class and r.trading_class != trading_class:
            continue
        if r.listed_cycle.contains(cm) and r.in_range(cm):
            return r.instrument_code
    return None


# ---------------------------------------------------------------------------------------
# Front month and held contract


def _check_aware(t: dt.datetime) -> None:
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r}: pass a timezone-aware instant")


def front_month(
    rules: InstrumentRules,
    at_utc: dt.datetime,
    cycle: str = "priced",
    roll_business_days: int | None = None,
) -> FrontMonth:
    """The front contract at `at_utc`: the nearest contract of `cycle` not yet rolled.

    A contract stays front until `rules.roll_utc(month, roll_business_days)` (exclusive).
    """
    _check_aware(at_utc)
    chosen = rules.cycle(cycle)
    local = at_utc.astimezone(ZoneInfo(rules.expiry.zone)).date()
    # Last trade dates can be up to ~3 months after the contract month (SOFR), so start
    # the walk half a year back.
    cm = chosen.first_on_or_after(ContractMonth(local.year, local.month).shift(-6))
    if rules.first_contract is not None and cm < rules.first_contract:
        cm = chosen.first_on_or_after(rules.first_contract)
    while rules.roll_utc(cm, roll_business_days) <= at_utc:
        cm = chosen.next(cm)
    if not rules.in_range(cm):
        raise NoFrontMonth(f"{rules.instrument_code}: no contract left at {at_utc.isoformat()}")
    return FrontMonth(
        instrument_code=rules.instrument_code,
        contract_month=cm,
        contract_id=rules.contract_id_for(cm),
        last_trade_date=rules.last_trade_date(cm),
        expiry_utc=rules.expiry_utc(cm),
        roll_utc=rules.roll_utc(cm, roll_business_days),
    )


def front_months_between(
    rules: InstrumentRules,
    start_utc: dt.datetime,
    end_utc: dt.datetime,
    cycle: str = "priced",
    roll_business_days: int | None = None,
) -> list[FrontMonth]:
    """Every contract that is front at some instant of [start_utc, end_utc], in order."""
    _check_aware(start_utc)
    _check_aware(end_utc)
    out = [front_month(rules, start_utc, cycle, roll_business_days)]
    while out[-1].roll_utc <= end_utc:
        try:
            out.append(front_month(rules, out[-1].roll_utc, cycle, roll_business_days))
        except NoFrontMonth:
            break
    return out


def held_contract(rules: InstrumentRules, at_utc: dt.datetime) -> HeldContracts:
    """Which hold-cycle contract to hold at `at_utc` (pysystemtrade style).

    The held contract is kept through its roll date (real last trade date plus
    RollOffsetDays, in the exchange's zone) and replaced the day after.
    """
    _check_aware(at_utc)
    day = at_utc.astimezone(ZoneInfo(rules.expiry.zone)).date()
    return rules.roll.contracts_held_on(day, rules.last_trade_date)
