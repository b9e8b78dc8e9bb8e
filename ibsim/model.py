"""Plain data types shared by the simulator's modules (catalog, market, broker, server).

    inst.con_id, inst.local_symbol, inst.expiry_utc       # an Instrument from the catalog
    bars.time, bars.close, bars.volume                      # a Bars from the market model

Everything here is a frozen dataclass or a small numpy container; no behaviour beyond
derived properties. Times are timezone-aware UTC datetimes unless a name says otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Product:
    """One futures product (all its listed months) or one spot FX pair, as IB describes it."""

    symbol: str  # IB symbol: "ES", "GBL", "EUR"
    sec_type: str  # "FUT" or "CASH"
    exchange: str  # "CME", "EUREX", "IDEALPRO"
    currency: str
    multiplier: str  # as IB sends it: "50", "125000", "" for CASH
    price_magnifier: int
    min_tick: float  # in IB's price units (after the magnifier: ZC quotes in cents, tick 0.25)
    trading_class: str
    long_name: str
    time_zone_id: str  # IB's zone name as sent in contractData: "US/Central", "MET"
    iana_zone: str  # "America/Chicago"
    calendar: str  # holiday calendar key: "CME", "EUREX", "ICE_EU", "CFE", "FX"
    listed_months: str  # futures month letters of the listed cycle: "HMUZ", "FGHJKMNQUVXZ"
    months_listed: int  # how many contracts of the cycle are listed at once
    serial_months: int  # extra nearest non-cycle months listed (CME FX: 3 serials) or 0
    last_trade_rule: str  # key understood by ibsim.catalog's rule table
    last_trade_time: str  # "08:30" exchange local
    local_symbol_style: str  # "letter" -> ESZ5 / DCH4; "month" -> "ZN   MAR 24"; "fx" -> EUR.USD
    base_price: float  # typical price level, IB units
    annual_vol: float  # e.g. 0.18
    initial_margin: float  # per contract, in currency
    maint_margin: float
    physical_delivery: bool
    under_con_id: int
    market_rule_id: str
    valid_exchanges: str
    order_types: str


@dataclass(frozen=True)
class Instrument:
    """A concrete tradable contract: one listed futures month, or a spot FX pair."""

    con_id: int
    product: Product
    contract_month: str  # "YYYYMM"; "" for CASH
    last_trade_date: dt.date | None  # None for CASH
    local_symbol: str
    first_trade_date: dt.date  # first session in which it trades (listing date)
    expiry_utc: dt.datetime | None  # last trade date + last trade time, in UTC; None for CASH
    real_expiration_date: dt.date | None = None

    @property
    def symbol(self) -> str:
        return self.product.symbol

    @property
    def sec_type(self) -> str:
        return self.product.sec_type

    @property
    def exchange(self) -> str:
        return self.product.exchange

    @property
    def currency(self) -> str:
        return self.product.currency

    @property
    def multiplier(self) -> str:
        return self.product.multiplier

    @property
    def min_tick(self) -> float:
        return self.product.min_tick

    @property
    def trading_class(self) -> str:
        return self.product.trading_class

    @property
    def last_trade_date_str(self) -> str:
        """lastTradeDateOrContractMonth as sent in contractData: 'YYYYMMDD HH:MM ZONE'."""
        if self.last_trade_date is None:
            return ""
        return f"{self.last_trade_date:%Y%m%d} {self.product.last_trade_time} {self.product.time_zone_id}"


@dataclass(frozen=True)
class Session:
    """One exchange session (trade date) of a product.

    `segments` are the traded intervals [start, end) in UTC, in order; `rth` are the liquid
    ("regular trading hours") intervals, a subset of `segments`.
    """

    trade_date: dt.date
    segments: tuple[tuple[dt.datetime, dt.datetime], ...]
    rth: tuple[tuple[dt.datetime, dt.datetime], ...]

    @property
    def start(self) -> dt.datetime:
        return self.segments[0][0]

    @property
    def end(self) -> dt.datetime:
        return self.segments[-1][1]


@dataclass(frozen=True)
class Quote:
    """Top of book and session statistics of one instrument at one instant."""

    time: dt.datetime
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    last: float
    last_size: int
    volume: int  # session volume so far
    open: float  # session open
    high: float  # session high so far
    low: float  # session low so far
    close: float  # previous session's close (IB's CLOSE tick)
    is_open: bool  # market in session at `time`


@dataclass
class Bars:
    """Columnar OHLCV bars. `time` is the bar start in epoch seconds (UTC).

    For daily and longer bars `time` is midnight UTC of the session's trade date and
    `trade_date` holds the date itself.
    """

    time: np.ndarray  # int64 epoch seconds
    open: np.ndarray  # float64
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray  # int64; -1 for non-TRADES
    wap: np.ndarray  # float64; -1 for non-TRADES
    count: np.ndarray  # int64; -1 for non-TRADES
    trade_date: list[dt.date] | None = field(default=None)

    def __len__(self) -> int:
        return int(self.time.shape[0])

    @classmethod
    def empty(cls) -> Bars:
        f = np.empty(0, dtype=np.float64)
        i = np.empty(0, dtype=np.int64)
        return cls(i, f, f, f, f, i, f, i, [])
