"""The simulator's product catalog: products, contract listing, expiry rules and matching.

    catalog = Catalog()
    es = catalog.match(Future("ES", "202506", "CME"), as_of=now)         # [Instrument]
    chain = catalog.instruments_for(catalog.product("GE", "CME"), now, include_expired=True)

Products come from `ibsim/data/products.csv`. Every futures contract is derived from its
product: the last trade date from a named rule (`LAST_TRADE_RULES`), the listing date from
the listing cycle, the conId from a stable hash, so everything is deterministic and moves
with the simulated date passed in as `as_of` (nothing here reads the wall clock).

Listing model: a cycle contract is first listed the business day after the contract
`months_listed` cycle steps earlier expires, so exactly `months_listed` cycle contracts are
live at any time (plus `serial_months` non-cycle months, handled the same way). Expired
contracts stay queryable (include_expired) for two years after their last trade date.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ibsim import calendars as cal
from ibsim.model import Instrument, Product, Session

UTC = dt.UTC
DEFAULT_PRODUCTS_CSV = Path(__file__).with_name("data") / "products.csv"

MONTH_LETTERS = "FGHJKMNQUVXZ"
MONTH_NAMES = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
EXPIRED_WINDOW = dt.timedelta(days=730)  # IB keeps expired futures for about two years

# conId layout for futures: 400,000,000 + slot * 4000 + month index. The slot is a stable
# hash of (symbol, exchange, trading class); the month index is (year - 2000) * 12 + month - 1,
# so ids never collide within a product and decode back to (product, month).
CON_ID_BASE = 400_000_000
CON_ID_SLOTS = 100_000
CON_ID_MONTHS = 4_000

# Legacy or alternative exchange names clients still send, mapped to the catalog's.
EXCHANGE_ALIASES = {
    "GLOBEX": ("CME",),
    "ECBOT": ("CBOT",),
    "CBOT": ("CBOT",),
    "NYMEX": ("NYMEX", "COMEX"),
    "CBOE": ("CFE",),
    "DTB": ("EUREX",),
    "SOFFEX": ("EUREX",),
    "MONEP": ("MATIF",),
}


@dataclass(frozen=True)
class CatalogProduct(Product):
    """A Product with the catalog's own extra columns.

    session_template: key of `ibsim.calendars.TEMPLATES`.
    con_id: fixed conId of a CASH pair (futures conIds are derived per contract).
    last_contract_month: "YYYYMM" of the final contract of a delisted product ("" = live).
    """

    session_template: str = ""
    con_id: int = 0
    last_contract_month: str = ""


# ---------------------------------------------------------------------------------------
# Last-trade-date rules: (holiday calendar, year, contract month) -> last trade date


def _third_weekday(year: int, month: int, weekday: int) -> dt.date:
    return cal.nth_weekday(year, month, weekday, 3)


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def rule_third_friday(calendar: str, year: int, month: int) -> dt.date:
    """3rd Friday of the month, preceding business day if a holiday (ES, NQ, FESX, FDXS)."""
    return cal.roll_back(calendar, _third_weekday(year, month, 4))


def rule_bd7_before_last_bd(calendar: str, year: int, month: int) -> dt.date:
    """7th business day preceding the last business day of the month (ZN, ZB, UB)."""
    return cal.add_business_days(calendar, cal.last_business_day(calendar, year, month), -7)


def rule_last_bd(calendar: str, year: int, month: int) -> dt.date:
    """Last business day of the month (ZF, ZT)."""
    return cal.last_business_day(calendar, year, month)


def rule_third_last_bd(calendar: str, year: int, month: int) -> dt.date:
    """3rd last business day of the month (GC, SI, HG)."""
    return cal.add_business_days(calendar, cal.last_business_day(calendar, year, month), -2)


def rule_cl(calendar: str, year: int, month: int) -> dt.date:
    """CL: 3 business days before the 25th of the prior month (4 if the 25th is not one)."""
    prior_year, prior_month = _shift_month(year, month, -1)
    the_25th = dt.date(prior_year, prior_month, 25)
    n = 3 if cal.is_business_day(calendar, the_25th) else 4
    return cal.add_business_days(calendar, the_25th, -n)


def rule_ng(calendar: str, year: int, month: int) -> dt.date:
    """NG: 3 business days before the first calendar day of the contract month."""
    return cal.add_business_days(calendar, dt.date(year, month, 1), -3)


def rule_bd_before_15th(calendar: str, year: int, month: int) -> dt.date:
    """CBOT grains: business day prior to the 15th calendar day."""
    return cal.add_business_days(calendar, dt.date(year, month, 15), -1)


def rule_tenth_bd(calendar: str, year: int, month: int) -> dt.date:
    """Lean hogs: 10th business day of the contract month."""
    return cal.add_business_days(calendar, dt.date(year, month, 1) - dt.timedelta(days=1), 10)


def rule_vix(calendar: str, year: int, month: int) -> dt.date:
    """VIX: the Wednesday 30 days before the 3rd Friday of the following month.

    If that Friday is a holiday the count starts from the business day before it; if the
    resulting Wednesday is a holiday, the business day before it.
    """
    next_year, next_month = _shift_month(year, month, 1)
    friday = cal.roll_back(calendar, _third_weekday(next_year, next_month, 4))
    return cal.roll_back(calendar, friday - dt.timedelta(days=30))


def rule_cme_fx(calendar: str, year: int, month: int) -> dt.date:
    """CME FX: 2nd business day before the 3rd Wednesday of the contract month."""
    return cal.add_business_days(calendar, _third_weekday(year, month, 2), -2)


def rule_sofr3(calendar: str, year: int, month: int) -> dt.date:
    """SR3: business day before the 3rd Wednesday of the 3rd month after the contract month."""
    end_year, end_month = _shift_month(year, month, 3)
    return cal.add_business_days(calendar, _third_weekday(end_year, end_month, 2), -1)


def rule_ge(calendar: str, year: int, month: int) -> dt.date:
    """Eurodollar: 2nd London business day before the 3rd Wednesday of the contract month."""
    return cal.add_business_days("LONDON", _third_weekday(year, month, 2), -2)


def rule_eurex_bond(calendar: str, year: int, month: int) -> dt.date:
    """Eurex bonds: 2 trading days before delivery (10th, or the next trading day)."""
    delivery = cal.roll_forward(calendar, dt.date(year, month, 10))
    return cal.add_business_days(calendar, delivery, -2)


def rule_ebm(calendar: str, year: int, month: int) -> dt.date:
    """Euronext milling wheat: 10th calendar day, next business day if it is not one."""
    return cal.roll_forward(calendar, dt.date(year, month, 10))


def usda_class3_announcement(calendar: str, year: int, month: int) -> dt.date:
    """Day USDA announces the Class III milk price of a month (our model of its schedule).

    The Wednesday on or before the 5th of the following month, one business day later when
    a holiday falls on the Monday-Wednesday of that week. This reproduces every DC expiry
    of a real IB Gateway recording (DCH4..DCV5), e.g. Aug-2024 -> Thu 2024-09-05 (Labor Day),
    Dec-2024 -> Thu 2025-01-02 (New Year).
    """
    next_year, next_month = _shift_month(year, month, 1)
    fifth = dt.date(next_year, next_month, 5)
    wednesday = fifth - dt.timedelta(days=(fifth.weekday() - 2) % 7)
    week = [wednesday - dt.timedelta(days=i) for i in range(3)]
    if any(cal.is_holiday(calendar, d) for d in week):
        return cal.add_business_days(calendar, wednesday, 1)
    return wednesday


def rule_usda_class3(calendar: str, year: int, month: int) -> dt.date:
    """Class III milk (DA/DC): business day before the USDA price announcement."""
    return cal.add_business_days(calendar, usda_class3_announcement(calendar, year, month), -1)


LAST_TRADE_RULES: dict[str, Callable[[str, int, int], dt.date]] = {
    "third_friday": rule_third_friday,
    "bd7_before_last_bd": rule_bd7_before_last_bd,
    "last_bd": rule_last_bd,
    "third_last_bd": rule_third_last_bd,
    "cl": rule_cl,
    "ng": rule_ng,
    "bd_before_15th": rule_bd_before_15th,
    "tenth_bd": rule_tenth_bd,
    "vix": rule_vix,
    "cme_fx": rule_cme_fx,
    "sofr3": rule_sofr3,
    "ge_london": rule_ge,
    "eurex_bond": rule_eurex_bond,
    "eurex_index": rule_third_friday,
    "ebm": rule_ebm,
    "usda_class3": rule_usda_class3,
}


def last_trade_date(product: Product, year: int, month: int) -> dt.date:
    """Last trade date of a product's contract month by its rule."""
    return LAST_TRADE_RULES[product.last_trade_rule](product.calendar, year, month)


def real_expiration_date(product: Product, year: int, month: int, ltd: dt.date) -> dt.date:
    """IB's realExpirationDate: the last trade date, except DC (the announcement day)."""
    if product.last_trade_rule == "usda_class3":
        return usda_class3_announcement(product.calendar, year, month)
    return ltd


def local_symbol(product: Product, year: int, month: int) -> str:
    """IB localSymbol: ESZ5 / DCH4 ("letter"), "ZN   MAR 24" ("month"), EUR.USD ("fx")."""
    style = product.local_symbol_style
    if style == "letter":
        return f"{product.trading_class}{MONTH_LETTERS[month - 1]}{year % 10}"
    if style == "month":
        return f"{product.trading_class:<4} {MONTH_NAMES[month - 1]} {year % 100:02d}"
    if style == "fx":
        return f"{product.symbol}.{product.currency}"
    raise ValueError(f"unknown local_symbol_style {style!r}")


def con_id_slot(product: Product) -> int:
    """Stable hash of (symbol, exchange, trading class) into the futures conId slots."""
    key = f"{product.symbol}|{product.exchange}|{product.trading_class}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") % CON_ID_SLOTS


def futures_con_id(product: Product, year: int, month: int) -> int:
    """Deterministic conId of one futures contract, in [400,000,000, 800,000,000)."""
    index = (year - 2000) * 12 + month - 1
    if not 0 <= index < CON_ID_MONTHS:
        raise ValueError(f"contract month {year}{month:02d} outside the conId range")
    return CON_ID_BASE + con_id_slot(product) * CON_ID_MONTHS + index


def product_key(product: Product) -> tuple[str, str]:
    """Key of `Catalog.products`: (symbol, exchange); CASH pairs use ("EUR.USD", "IDEALPRO")."""
    if product.sec_type == "CASH":
        return f"{product.symbol}.{product.currency}", product.exchange
    return product.symbol, product.exchange


# ---------------------------------------------------------------------------------------
# CSV loading


_PRODUCT_FIELDS = [f.name for f in fields(CatalogProduct)]
_INT_FIELDS = {
    "price_magnifier",
    "months_listed",
    "serial_months",
    "under_con_id",
    "con_id",
}
_FLOAT_FIELDS = {
    "min_tick",
    "base_price",
    "annual_vol",
    "initial_margin",
    "maint_margin",
}
_BOOL_FIELDS = {"physical_delivery"}
_OPTIONAL_FIELDS = {"session_template", "con_id", "last_contract_month"}
_BOOLS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _convert(column: str, text: str) -> object:
    text = text.strip()
    if column in _INT_FIELDS:
        return int(text or "0")
    if column in _FLOAT_FIELDS:
        return float(text)
    if column in _BOOL_FIELDS:
        if text.lower() not in _BOOLS:
            raise ValueError(f"expected true/false, got {text!r}")
        return _BOOLS[text.lower()]
    return text


def _check_product(p: CatalogProduct) -> list[tuple[str, str]]:
    """Semantic checks; returns (column, problem) pairs."""
    problems = []
    if p.sec_type not in ("FUT", "CASH"):
        problems.append(("sec_type", f"must be FUT or CASH, got {p.sec_type!r}"))
    if p.calendar not in cal.CALENDARS:
        problems.append(("calendar", f"unknown calendar {p.calendar!r}"))
    if p.session_template and p.session_template not in cal.TEMPLATES:
        problems.append(("session_template", f"unknown template {p.session_template!r}"))
    try:
        ZoneInfo(p.iana_zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(("iana_zone", f"unknown zone {p.iana_zone!r}"))
    if not p.min_tick > 0:
        problems.append(("min_tick", "must be positive"))
    if not (p.base_price > 0 and 0 < p.annual_vol < 5):
        problems.append(("base_price", "base_price must be > 0 and annual_vol in (0, 5)"))
    if p.maint_margin > p.initial_margin:
        problems.append(("maint_margin", "exceeds initial_margin"))
    if p.local_symbol_style not in ("letter", "month", "fx"):
        problems.append(("local_symbol_style", f"unknown style {p.local_symbol_style!r}"))
    if p.sec_type == "FUT":
        if p.last_trade_rule not in LAST_TRADE_RULES:
            problems.append(("last_trade_rule", f"unknown rule {p.last_trade_rule!r}"))
        if not re.fullmatch(r"[0-2]\d:[0-5]\d", p.last_trade_time):
            problems.append(("last_trade_time", f"expected HH:MM, got {p.last_trade_time!r}"))
        letters = p.listed_months
        if not letters or any(c not in MONTH_LETTERS for c in letters):
            problems.append(("listed_months", f"expected month letters, got {letters!r}"))
        if p.months_listed < 1:
            problems.append(("months_listed", "must be at least 1"))
        if p.last_contract_month and not re.fullmatch(r"\d{6}", p.last_contract_month):
            problems.append(("last_contract_month", "expected YYYYMM"))
    elif p.con_id <= 0:
        problems.append(("con_id", "a CASH pair needs its conId"))
    return problems


def load_products(path: str | Path | None = None) -> list[CatalogProduct]:
    """Read and validate a products CSV (the packaged one by default).

    Raises ValueError naming the row (1-based, header is row 1) and column of bad data.
    """
    path = Path(path) if path is not None else DEFAULT_PRODUCTS_CSV
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in _PRODUCT_FIELDS if c not in header and c not in _OPTIONAL_FIELDS]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)}")
        products = []
        for row_number, row in enumerate(reader, start=2):
            values = {}
            for column in _PRODUCT_FIELDS:
                text = row.get(column)
                if text is None:
                    if column in _OPTIONAL_FIELDS:
                        continue
                    raise ValueError(f"{path}: row {row_number}: column {column!r} is empty")
                try:
                    values[column] = _convert(column, text)
                except ValueError as exc:
                    raise ValueError(f"{path}: row {row_number}: column {column!r}: {exc}") from None
            product = CatalogProduct(**values)
            problems = _check_product(product)
            if problems:
                column, problem = problems[0]
                raise ValueError(f"{path}: row {row_number} ({product.symbol}): column {column!r}: {problem}")
            products.append(product)
    return products


# ---------------------------------------------------------------------------------------
# contractData details


@dataclass(frozen=True)
class ContractInfo:
    """Everything contractData (msg 10) carries beyond the contract itself."""

    instrument: Instrument
    market_name: str
    long_name: str
    time_zone_id: str
    trading_hours: str
    liquid_hours: str
    contract_month: str  # "YYYYMM"; "" for CASH
    last_trade_date: str  # "YYYYMMDD"; "" for CASH
    last_trade_time: str  # "HH:MM" exchange local; "" for CASH
    real_expiration_date: str  # "YYYYMMDD"; "" for CASH
    min_tick: float
    price_magnifier: int
    under_con_id: int
    under_symbol: str
    under_sec_type: str
    market_rule_ids: str
    order_types: str
    valid_exchanges: str
    min_size: str = "1"
    size_increment: str = "1"
    suggested_size_increment: str = "1"
    agg_group: int = 2147483647
    md_size_multiplier: int = 1
    ev_rule: str = ""
    ev_multiplier: str = ""
    industry: str = ""
    category: str = ""
    subcategory: str = ""


# ---------------------------------------------------------------------------------------
# The catalog


def _attr(query: object, *names: str) -> str:
    """First non-empty attribute of a client contract among snake/camel spellings."""
    for name in names:
        value = getattr(query, name, None)
        if value not in (None, "", 0):
            return str(value).strip()
    return ""


class _ContfutQuery:
    """A client contract seen with secType CONTFUT (month and conId ignored)."""

    def __init__(self, query: object) -> None:
        self.sec_type = "CONTFUT"
        for name in ("symbol", "exchange", "currency", "multiplier"):
            setattr(self, name, _attr(query, name))
        self.trading_class = _attr(query, "trading_class", "tradingClass")
        self.local_symbol = ""


def _same_multiplier(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


class Catalog:
    """All products and the contracts they list at any simulated date."""

    def __init__(
        self,
        products: Iterable[Product] | None = None,
        today_fn: Callable[[], dt.datetime] | None = None,
    ) -> None:
        items = list(products) if products is not None else load_products()
        self.products: dict[tuple[str, str], Product] = {}
        self._today_fn = today_fn
        self._slots: dict[int, Product] = {}
        self._fx_by_con_id: dict[int, Instrument] = {}
        self._instruments: dict[tuple[tuple[str, str], int, int], Instrument | None] = {}
        for product in items:
            key = product_key(product)
            if key in self.products:
                raise ValueError(f"duplicate product {key}")
            self.products[key] = product
            if product.sec_type == "CASH":
                self._add_fx(product)
            else:
                slot = con_id_slot(product)
                if slot in self._slots:
                    other = self._slots[slot]
                    raise ValueError(f"conId slot collision: {key} and {product_key(other)}")
                self._slots[slot] = product

    def _add_fx(self, product: Product) -> None:
        con_id = getattr(product, "con_id", 0)
        if con_id in self._fx_by_con_id or CON_ID_BASE <= con_id < CON_ID_BASE * 2:
            raise ValueError(f"bad or duplicate CASH conId {con_id} for {product_key(product)}")
        self._fx_by_con_id[con_id] = Instrument(
            con_id=con_id,
            product=product,
            contract_month="",
            last_trade_date=None,
            local_symbol=local_symbol(product, 2000, 1),
            first_trade_date=dt.date(2000, 1, 1),
            expiry_utc=None,
        )

    # -- lookups ------------------------------------------------------------------------

    def product(self, symbol: str, exchange: str = "", currency: str = "", sec_type: str = "") -> Product | None:
        """The product with `symbol` (and the other keys when given); None if none or many.

        `symbol` may also be a pair's "EUR.USD".
        """
        found = [
            p
            for p in self.products.values()
            if (p.symbol == symbol or product_key(p)[0] == symbol)
            and self._exchange_matches(exchange, p.exchange)
            and (not currency or p.currency == currency)
            and (not sec_type or p.sec_type == sec_type)
        ]
        return found[0] if len(found) == 1 else None

    def market_rule_ticks(self, rule_id: int) -> float | None:
        """The price increment of a market rule id used by some product (None if no product uses it)."""
        for p in self.products.values():
            if str(rule_id) in str(p.market_rule_id).split(","):
                return p.min_tick
        return None

    def matching_symbols(self, pattern: str) -> list[tuple[int, str, str, str, str, tuple[str, ...], str]]:
        """reqMatchingSymbols: the underlyings whose symbol starts with `pattern` (at most 16)."""
        pattern = pattern.strip().upper()
        rows = []
        if not pattern:
            return rows
        for p in sorted(self.products.values(), key=lambda p: (p.symbol, p.exchange)):
            if not p.symbol.upper().startswith(pattern):
                continue
            if p.sec_type == "FUT":
                rows.append((p.under_con_id, p.symbol, "IND", p.exchange, p.currency, ("FUT",), p.long_name))
            else:
                con_id = getattr(p, "con_id", 0)
                rows.append((con_id, p.symbol.split(".")[0], "CASH", p.exchange, p.currency, (), p.long_name))
        return rows[:16]

    def _today(self) -> dt.datetime:
        if self._today_fn is None:
            raise ValueError("no as_of given and the catalog has no today_fn")
        return self._today_fn()

    @staticmethod
    def _exchange_matches(query: str, exchange: str) -> bool:
        query = query.upper()
        if query in ("", "SMART"):
            return True
        return exchange in EXCHANGE_ALIASES.get(query, (query,))

    # -- contracts ----------------------------------------------------------------------

    @staticmethod
    def _is_contract_month(product: Product, year: int, month: int) -> bool:
        in_cycle = MONTH_LETTERS[month - 1] in product.listed_months
        if not in_cycle and product.serial_months <= 0:
            return False
        last = getattr(product, "last_contract_month", "")
        return not last or f"{year}{month:02d}" <= last

    @staticmethod
    def _sequence_step_back(product: Product, year: int, month: int, steps: int) -> tuple[int, int]:
        """The contract month `steps` contracts earlier in the same (cycle or serial) sequence."""
        in_cycle = MONTH_LETTERS[month - 1] in product.listed_months
        while steps:
            year, month = _shift_month(year, month, -1)
            if (MONTH_LETTERS[month - 1] in product.listed_months) == in_cycle:
                steps -= 1
        return year, month

    def instrument(self, product: Product, year: int, month: int) -> Instrument | None:
        """The futures contract of a product's month (None if the product has no such month)."""
        key = (product_key(product), year, month)
        if key not in self._instruments:
            self._instruments[key] = self._build(product, year, month)
        return self._instruments[key]

    def _build(self, product: Product, year: int, month: int) -> Instrument | None:
        if product.sec_type != "FUT" or not self._is_contract_month(product, year, month):
            return None
        ltd = last_trade_date(product, year, month)
        zone = ZoneInfo(product.iana_zone)
        hours, minutes = (int(x) for x in product.last_trade_time.split(":"))
        expiry = dt.datetime.combine(ltd, dt.time(hours, minutes), tzinfo=zone).astimezone(UTC)
        in_cycle = MONTH_LETTERS[month - 1] in product.listed_months
        depth = product.months_listed if in_cycle else product.serial_months
        prev_year, prev_month = self._sequence_step_back(product, year, month, depth)
        previous_ltd = last_trade_date(product, prev_year, prev_month)
        return Instrument(
            con_id=futures_con_id(product, year, month),
            product=product,
            contract_month=f"{year}{month:02d}",
            last_trade_date=ltd,
            local_symbol=local_symbol(product, year, month),
            first_trade_date=cal.add_business_days(product.calendar, previous_ltd, 1),
            expiry_utc=expiry,
            real_expiration_date=real_expiration_date(product, year, month, ltd),
        )

    def instruments_for(
        self,
        product: Product,
        as_of: dt.date | dt.datetime | None = None,
        include_expired: bool = False,
    ) -> list[Instrument]:
        """Contracts listed at `as_of` (and, optionally, those expired within ~2 years).

        With a date, a contract counts as live through its last trade date; with an aware
        datetime, until its expiry instant. Sorted by expiry.
        """
        if product.sec_type == "CASH":
            return [self._fx_by_con_id[getattr(product, "con_id", 0)]]
        if as_of is None:
            as_of = self._today()
        if isinstance(as_of, dt.datetime):
            if as_of.tzinfo is None:
                raise ValueError("as_of datetime must be timezone-aware")
            day = as_of.astimezone(ZoneInfo(product.iana_zone)).date()
        else:
            day = as_of
        return list(self._listing(product, as_of, day, include_expired))

    def _listing(self, product, as_of, day: dt.date, include_expired: bool) -> list[Instrument]:
        per_year = len(product.listed_months)
        horizon = (product.months_listed * 12) // per_year + product.serial_months + 15
        out = []
        year, month = _shift_month(day.year, day.month, -30)
        for _ in range(30 + horizon):
            year, month = _shift_month(year, month, 1)
            inst = self.instrument(product, year, month)
            if inst is None:
                continue
            if isinstance(as_of, dt.datetime):
                expired = inst.expiry_utc <= as_of
            else:
                expired = inst.last_trade_date < as_of
            if expired:
                if include_expired and inst.last_trade_date >= day - EXPIRED_WINDOW:
                    out.append(inst)
            elif inst.first_trade_date <= day:
                out.append(inst)
        out.sort(key=lambda i: (i.expiry_utc, i.trading_class))
        return out

    def front_month(
        self,
        symbol: str,
        exchange: str = "",
        as_of: dt.date | dt.datetime | None = None,
    ) -> Instrument | None:
        """The nearest non-expired contract (what a CONTFUT request resolves to)."""
        product = self.product(symbol, exchange, sec_type="FUT")
        if product is None:
            return None
        listed = self.instruments_for(product, as_of)
        return listed[0] if listed else None

    def front_month_for(self, query: object, as_of: dt.datetime | None = None) -> Instrument | None:
        """Front month of the product a client CONTFUT contract describes (None if not one)."""
        found = self.match(_ContfutQuery(query), as_of)
        return found[0] if len(found) == 1 else None

    def fx_pair(self, base: str, quote: str) -> Instrument | None:
        """The IDEALPRO pair base.quote, or None (the inverse pair is a different product)."""
        product = self.products.get((f"{base}.{quote}", "IDEALPRO"))
        return None if product is None else self.instruments_for(product)[0]

    def sessions_for_instrument(
        self, instrument: Instrument, start_utc: dt.datetime, end_utc: dt.datetime
    ) -> list[Session]:
        """Sessions of an instrument intersecting [start, end) (cut at its expiry)."""
        return cal.sessions(instrument, start_utc, end_utc)

    def by_con_id(self, con_id: int) -> Instrument | None:
        """Any contract the catalog ever issues, expired or not (decoded from the conId)."""
        if con_id in self._fx_by_con_id:
            return self._fx_by_con_id[con_id]
        offset = con_id - CON_ID_BASE
        if not 0 <= offset < CON_ID_SLOTS * CON_ID_MONTHS:
            return None
        slot, index = divmod(offset, CON_ID_MONTHS)
        product = self._slots.get(slot)
        if product is None:
            return None
        return self.instrument(product, 2000 + index // 12, index % 12 + 1)

    # -- client contract matching -------------------------------------------------------

    def match(
        self,
        query: object,
        as_of: dt.datetime | None = None,
        include_expired: bool = False,
    ) -> list[Instrument]:
        """Contracts matching a client contract the way IB resolves reqContractDetails.

        `query` has the attributes of a client Contract (snake_case or IB camelCase). conId
        alone is enough; so is localSymbol or tradingClass; otherwise the symbol is needed.
        An empty month returns every listed month; "YYYYMM" matches the contract month;
        "YYYYMMDD" the last trade date. secType CONTFUT resolves to the front month. An
        empty result means "no security definition" (error 200).
        """
        if as_of is None:
            as_of = self._today()
        con_id = _attr(query, "con_id", "conId")
        sec_type = _attr(query, "sec_type", "secType").upper()
        if sec_type == "FUT+CONTFUT":
            sec_type = "FUT"
        symbol = _attr(query, "symbol").upper()
        exchange = _attr(query, "exchange").upper()
        currency = _attr(query, "currency").upper()
        local = _attr(query, "local_symbol", "localSymbol").upper()
        trading_class = _attr(query, "trading_class", "tradingClass").upper()
        multiplier = _attr(query, "multiplier")
        month = _attr(query, "last_trade_date_or_contract_month", "lastTradeDateOrContractMonth")
        month = re.sub(r"\D", "", month[:8])

        if con_id:
            inst = self.by_con_id(int(con_id))
            if inst is None or (sec_type and sec_type not in (inst.sec_type, "CONTFUT")):
                return []
            live = self.instruments_for(inst.product, as_of, include_expired)
            return [inst] if any(i.con_id == inst.con_id for i in live) else []
        if not (symbol or local or trading_class):
            return []

        wanted_type = "FUT" if sec_type == "CONTFUT" else sec_type
        found = []
        for product in self.products.values():
            if wanted_type and product.sec_type != wanted_type:
                continue
            if symbol and symbol not in (product.symbol, product_key(product)[0]):
                continue
            if not self._exchange_matches(exchange, product.exchange):
                continue
            if currency and product.currency != currency:
                continue
            if trading_class and product.trading_class != trading_class:
                continue
            if multiplier and not _same_multiplier(multiplier, product.multiplier):
                continue
            if sec_type == "CONTFUT":
                front = self.instruments_for(product, as_of)
                found.extend(front[:1])
                continue
            for inst in self.instruments_for(product, as_of, include_expired):
                if local and inst.local_symbol.upper() != local:
                    continue
                if len(month) == 6 and inst.contract_month != month:
                    continue
                if len(month) == 8 and f"{inst.last_trade_date:%Y%m%d}" != month:
                    continue
                if month and len(month) not in (6, 8):
                    continue
                found.append(inst)
        found.sort(key=lambda i: (i.expiry_utc or as_of, i.trading_class, i.local_symbol))
        return found

    # -- contractData -------------------------------------------------------------------

    def details(self, instrument: Instrument, as_of_utc: dt.datetime | None = None) -> ContractInfo:
        """contractData fields of an instrument, with trading hours for the week of as_of."""
        if as_of_utc is None:
            as_of_utc = self._today()
        product = instrument.product
        is_future = product.sec_type == "FUT"
        ltd = instrument.last_trade_date
        real = instrument.real_expiration_date or ltd
        return ContractInfo(
            instrument=instrument,
            market_name=product.trading_class,
            long_name=product.long_name,
            time_zone_id=product.time_zone_id,
            trading_hours=cal.trading_hours_string(instrument, as_of_utc),
            liquid_hours=cal.liquid_hours_string(instrument, as_of_utc),
            contract_month=instrument.contract_month,
            last_trade_date=f"{ltd:%Y%m%d}" if ltd else "",
            last_trade_time=product.last_trade_time if is_future else "",
            real_expiration_date=f"{real:%Y%m%d}" if real else "",
            min_tick=product.min_tick,
            price_magnifier=product.price_magnifier,
            under_con_id=product.under_con_id,
            under_symbol=product.symbol if is_future else "",
            under_sec_type="IND" if is_future else "",
            market_rule_ids=product.market_rule_id,
            order_types=product.order_types,
            valid_exchanges=product.valid_exchanges,
        )


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """A shared Catalog over the packaged products (no today_fn: pass as_of explicitly)."""
    return Catalog()
