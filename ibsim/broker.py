"""Order, fill, position and account engine of the simulated gateway (no sockets).

    broker = Broker(accounts=["DU123456"], base_currency="USD", initial_cash=1e6,
                    instrument_by_con_id=catalog.by_con_id, market=market, fx_rate=fx_rate)
    events = broker.place_order(client_id, order_id, instrument, order_spec, now)
    events += broker.step(later)          # fills, triggers, expiries

The server hands every order request to a `Broker` and turns the returned events into wire
messages. Fills are derived from a market object (`MarketView`): market orders take the touch up
to the displayed size per step, resting limits fill at their price when the traded path crosses
them, stops trigger when the path trades at or through them. Accounting follows IB for futures:
no cash changes hands at a trade, realized P&L and commissions move the cash of the instrument's
currency, avgCost is price x multiplier / price magnifier, margins come from the Product.

Every method takes `now`, a timezone-aware datetime of the simulated clock. The engine keeps no
global state; `to_state` / `Broker.from_state` persist it as plain JSON.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import decimal
import math
import numbers
import secrets
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ibsim.combos import Combo, combo_from_text, combo_price, is_combo, leg_prices
from ibsim.model import Instrument, Quote

UNSET_DOUBLE = 1.7976931348623157e308

# Order statuses as TWS names them.
PRE_SUBMITTED = "PreSubmitted"
SUBMITTED = "Submitted"
FILLED = "Filled"
CANCELLED = "Cancelled"
API_CANCELLED = "ApiCancelled"
INACTIVE = "Inactive"
WORKING_STATUSES = frozenset({PRE_SUBMITTED, SUBMITTED})

ORDER_TYPES = {
    "MKT": "MKT",
    "LMT": "LMT",
    "STP": "STP",
    "STP LMT": "STP LMT",
    "STPLMT": "STP LMT",
}
TIFS = frozenset({"DAY", "GTC", "IOC"})

# IB-like all-in fixed futures rates per contract (execution + exchange + clearing + regulatory),
# keyed by currency; a key equal to a product symbol overrides its currency's rate.
DEFAULT_COMMISSIONS: dict[str, float] = {
    "USD": 2.25,
    "EUR": 2.00,
    "GBP": 1.70,
    "CHF": 2.30,
    "JPY": 250.0,
    "HKD": 30.0,
    "AUD": 3.50,
    "CAD": 2.40,
    "SGD": 3.00,
    "KRW": 2500.0,
}
# per contract, in the instrument's currency, for currencies not listed
FALLBACK_COMMISSION = 2.00
FX_COMMISSION_RATE = 0.00002  # IDEALPRO: 0.2 bp of the USD value ...
FX_MIN_COMMISSION_USD = 2.00  # ... with a USD 2 minimum

EXEC_ID_PREFIX = "0000e0d5"
FIRST_EXEC_SEQ = 0x6630D0E2
FIRST_PERM_ID = 2_000_000_001

TEXT_CANCELLED = "Order Canceled - reason:"
TEXT_REJECT_PREFIX = "Order rejected - reason:"
TEXT_DELIVERY = (
    TEXT_REJECT_PREFIX + "This order does not comply with our order handling rules for "
    "derivatives subject to IBKR near-expiration and physical delivery risk policies"
)
TEXT_INJECTED = TEXT_REJECT_PREFIX + "Simulated rejection"

SPEC_FIELDS = (
    "action",
    "total_quantity",
    "order_type",
    "lmt_price",
    "aux_price",
    "tif",
    "account",
    "order_ref",
    "oca_group",
    "outside_rth",
    "parent_id",
    "transmit",
    "what_if",
    "good_till_date",
    "good_after_time",
    "all_or_none",
    "min_qty",
    "display_size",
    "trigger_method",
)


class MarketView(Protocol):
    """What the broker needs from the market model (ibsim.market provides it)."""

    def quote(self, instrument: Instrument, at_utc: dt.datetime) -> Quote: ...

    def path_between(
        self, instrument: Instrument, start_utc: dt.datetime, end_utc: dt.datetime
    ) -> tuple[float, float]: ...


InstrumentLookup = Callable[[int], Instrument | None]
FxRate = Callable[[str, dt.datetime], float]


# execDetails lastLiquidity: IB's codes for who provided the liquidity of a fill
LIQUIDITY_ADDED = 1
LIQUIDITY_REMOVED = 2


@dataclass
class OrderSpec:
    """The order fields the engine reads; the server's decoded order has the same names."""

    action: str = "BUY"
    total_quantity: float = 0.0
    order_type: str = "MKT"
    lmt_price: float | None = None
    aux_price: float | None = None
    tif: str = "DAY"
    account: str = ""
    order_ref: str = ""
    oca_group: str = ""
    outside_rth: bool = False
    parent_id: int = 0
    transmit: bool = True
    what_if: bool = False
    good_till_date: str = ""
    good_after_time: str = ""
    all_or_none: bool = False
    min_qty: int | None = None
    display_size: int | None = None
    trigger_method: int = 0


@dataclass
class OrderRecord:
    """One order as the gateway knows it; events carry snapshots (shallow copies)."""

    order_id: int
    client_id: int
    perm_id: int
    con_id: int
    spec: Any
    account: str
    order_type: str  # normalised: MKT, LMT, STP, STP LMT
    status: str = PRE_SUBMITTED
    filled: float = 0.0
    remaining: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    why_held: str = ""
    created: dt.datetime | None = None
    completed: dt.datetime | None = None
    completed_status: str = ""
    instrument: Instrument | None = field(default=None, repr=False, compare=False)
    # Engine bookkeeping: stop triggered, time the path was last examined, DAY-session tracking.
    triggered: bool = False
    last_eval: dt.datetime | None = None
    seen_open: bool = False
    session_volume: int = -1
    session_close: float | None = None

    @property
    def is_working(self) -> bool:
        return self.status in WORKING_STATUSES

    @property
    def action(self) -> str:
        return str(self.spec.action).upper()

    @property
    def sign(self) -> int:
        return 1 if self.action == "BUY" else -1

    @property
    def total_quantity(self) -> float:
        return float(self.spec.total_quantity)

    @property
    def tif(self) -> str:
        return (self.spec.tif or "DAY").upper()

    @property
    def lmt_price(self) -> float | None:
        return _price_or_none(self.spec.lmt_price)

    @property
    def aux_price(self) -> float | None:
        return _price_or_none(self.spec.aux_price)

    @property
    def is_stop(self) -> bool:
        return self.order_type in ("STP", "STP LMT")


@dataclass
class Fill:
    """One execution (execDetails + commissionReport)."""

    exec_id: str
    time: dt.datetime
    account: str
    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    side: str  # BOT / SLD
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    perm_id: int
    client_id: int
    order_id: int
    order_ref: str
    liquidation: int
    commission: float | None  # None: no report of its own (a combo's execution; IB reports its legs')
    commission_currency: str
    realized_pnl: float | None  # None on opening fills (the wire sends UNSET_DOUBLE)
    last_liquidity: int = LIQUIDITY_REMOVED  # 1 added (a resting limit was hit), 2 removed (took the touch)
    currency: str = ""  # the contract's (needed for a combo's own execution, which has no catalog entry)


@dataclass
class OrderUpdated:
    """openOrder + orderStatus."""

    order: OrderRecord


@dataclass
class FillEvent:
    """execDetails, then orderStatus, then commissionReport."""

    fill: Fill
    order: OrderRecord


@dataclass
class OrderCancelled:
    """orderStatus Cancelled; `code` None means no error message (e.g. DAY expiry)."""

    order: OrderRecord
    code: int | None = 202
    text: str = TEXT_CANCELLED


@dataclass
class OrderRejected:
    """error `code` (201) for the order, which is now Inactive."""

    order: OrderRecord
    code: int
    text: str


@dataclass
class WhatIfResult:
    """openOrder with whatIf=1 and the margin strings filled in; nothing was placed."""

    order: OrderRecord
    init_margin_before: str
    maint_margin_before: str
    equity_with_loan_before: str
    init_margin_change: str
    maint_margin_change: str
    equity_with_loan_change: str
    init_margin_after: str
    maint_margin_after: str
    equity_with_loan_after: str
    commission: float
    min_commission: float
    max_commission: float
    commission_currency: str
    warning_text: str = ""


@dataclass
class ErrorEvent:
    """A plain error message `4|2|req_id|code|text`; the order (if any) is unchanged."""

    req_id: int
    code: int
    text: str


Event = OrderUpdated | FillEvent | OrderCancelled | OrderRejected | WhatIfResult | ErrorEvent


@dataclass
class ExecutionFilter:
    """reqExecutions filter; empty / zero fields match everything (clientId 0 = all clients)."""

    client_id: int = 0
    acct_code: str = ""
    time: dt.datetime | str | None = None  # executions at or after; str "yyyymmdd[-| ]hh:mm:ss [tz]"
    symbol: str = ""
    sec_type: str = ""
    exchange: str = ""
    side: str = ""  # BUY/SELL (or BOT/SLD)


@dataclass
class Position:
    """A position in one contract plus the day's trading needed for daily P&L."""

    con_id: int
    quantity: float = 0.0
    avg_price: float = 0.0  # IB price units
    realized: float = 0.0  # cumulative, instrument currency
    day: str = ""  # UTC date the day_* fields belong to
    day_start_qty: float = 0.0
    day_qty: float = 0.0  # signed quantity traded on `day`
    day_cost: float = 0.0  # sum of signed quantity x price on `day`
    day_realized: float = 0.0  # instrument currency
    day_commission: float = 0.0  # base currency


@dataclass
class Account:
    code: str
    cash: dict[str, float]
    positions: dict[int, Position] = field(default_factory=dict)


@dataclass
class PositionRow:
    """One reqPositions row."""

    account: str
    con_id: int
    instrument: Instrument | None
    position: float
    avg_cost: float


@dataclass
class PortfolioRow:
    """One updatePortfolio row (instrument currency)."""

    account: str
    con_id: int
    instrument: Instrument | None
    position: float
    market_price: float
    market_value: float
    avg_cost: float
    unrealized_pnl: float
    realized_pnl: float


@dataclass
class PnLSingle:
    """reqPnLSingle figures in the base currency."""

    position: float
    daily: float
    unrealized: float
    realized: float
    value: float


@dataclass
class _Valuation:
    """Account figures in the base currency plus per-currency breakdowns."""

    cash: dict[str, float]
    unrealized: dict[str, float]  # futures unrealized per currency
    realized: dict[str, float]  # today's realized per currency
    net_liq: float
    unrealized_base: float
    realized_base: float
    init_margin: float
    maint_margin: float
    daily_pnl: float
    rates: dict[str, float]  # base units per unit of each currency involved


class Broker:
    """The gateway's order and account engine."""

    def __init__(
        self,
        accounts: list[str],
        base_currency: str,
        initial_cash: float,
        instrument_by_con_id: InstrumentLookup,
        market: MarketView,
        fx_rate: FxRate,
        commission_schedule: Mapping[str, float] | None = None,
        delivery_window_days: int = 3,
        execution_days: int = 1,
        buying_power_factor: float = 4.0,
    ) -> None:
        if not accounts:
            raise ValueError("at least one account is required")
        self.base_currency = base_currency
        self.accounts: dict[str, Account] = {
            code: Account(code, {base_currency: float(initial_cash)}) for code in accounts
        }
        self._instrument_by_con_id = instrument_by_con_id
        self.market = market
        self._fx_rate = fx_rate
        self.commission_schedule = dict(DEFAULT_COMMISSIONS)
        if commission_schedule:
            self.commission_schedule.update(commission_schedule)
        self.delivery_window_days = delivery_window_days
        self.execution_days = execution_days
        self.buying_power_factor = buying_power_factor
        self.orders: dict[tuple[int, int], OrderRecord] = {}  # (client_id, order_id)
        self.fills: list[Fill] = []
        self._next_ids: dict[int, int] = {}  # client_id -> next valid order id
        # IB's perm ids and execution ids never repeat, not even across gateway restarts: a fresh
        # account (no state file) starts from a random point; a restored one continues its own.
        self._next_perm_id = FIRST_PERM_ID + secrets.randbelow(100_000) * 1000
        self._exec_prefix = f"{secrets.randbits(32):08x}"
        self._next_exec_seq = FIRST_EXEC_SEQ
        self._rejects_pending = 0
        self._reject_text = TEXT_INJECTED

    # ----------------------------------------------------------------- order ids

    def next_valid_id(self, client_id: int) -> int:
        """The next order id for `client_id`: above every id it used or reserved (from 1)."""
        return self._next_ids.get(client_id, 1)

    def reserve(self, client_id: int, order_id: int) -> None:
        """Mark `order_id` as handed out so later next ids are above it."""
        if order_id >= self._next_ids.get(client_id, 1):
            self._next_ids[client_id] = order_id + 1

    def inject_reject(self, count: int = 1, text: str = TEXT_INJECTED) -> None:
        """Reject the next `count` new orders with error 201 and `text`."""
        self._rejects_pending = count
        self._reject_text = text

    # ----------------------------------------------------------------- orders

    def place_order(
        self,
        client_id: int,
        order_id: int,
        instrument: Instrument | int,
        spec: Any,
        now: dt.datetime,
    ) -> list[Event]:
        """placeOrder: a new order, a modification of a working one, or a whatIf query."""
        now = _utc(now)
        self.reserve(client_id, order_id)
        inst = instrument if isinstance(instrument, Instrument | Combo) else self._instrument_by_con_id(int(instrument))
        if inst is None:
            return [
                ErrorEvent(
                    order_id,
                    200,
                    "No security definition has been found for the request",
                )
            ]
        existing = self.orders.get((client_id, order_id))
        what_if = bool(getattr(spec, "what_if", False))
        if existing is not None and not what_if:
            if existing.is_working:
                return self._modify(existing, inst, spec, now)
            return [ErrorEvent(order_id, 103, "Duplicate order id")]
        error = self._validate(order_id, inst, spec)
        if error is not None:
            return [error]
        if is_combo(inst):
            spec.combo_legs_text = inst.legs_text()  # kept with the order (and in saved state)
        account = spec.account or next(iter(self.accounts))
        if account not in self.accounts:
            return [ErrorEvent(order_id, 321, _e321("bF", f"Invalid account code {account}"))]
        record = OrderRecord(
            order_id=order_id,
            client_id=client_id,
            perm_id=0 if what_if else self._new_perm_id(),
            con_id=inst.con_id,
            spec=spec,
            account=account,
            order_type=ORDER_TYPES[spec.order_type.upper()],
            remaining=float(spec.total_quantity),
            created=now,
            instrument=inst,
            last_eval=now,
        )
        if what_if:
            return [self._what_if(record, inst, now)]
        self.orders[(client_id, order_id)] = record
        reject = self._reject_reason(record, inst, now)
        if reject is not None:
            self._finish(record, INACTIVE, now, reject)
            return [OrderRejected(_snap(record), 201, reject)]
        events: list[Event] = [OrderUpdated(_snap(record))]
        events += self._evaluate(record, now, arrival=True)
        return events

    def cancel(self, client_id: int, order_id: int, now: dt.datetime) -> list[Event]:
        """cancelOrder: Cancelled + 202, or 10147 (unknown) / 161 (already finished)."""
        now = _utc(now)
        record = self.orders.get((client_id, order_id))
        if record is None:
            text = f"OrderId {order_id} that needs to be cancelled is not found."
            return [ErrorEvent(order_id, 10147, text)]
        if not record.is_working:
            text = f"Cancel attempted when order is not in a cancellable state. Order permId = {record.perm_id}"
            return [ErrorEvent(order_id, 161, text)]
        self._finish(record, CANCELLED, now, "Cancelled by Trader")
        return [OrderCancelled(_snap(record))]

    def global_cancel(self, now: dt.datetime) -> list[Event]:
        """reqGlobalCancel: cancel every working order of every client."""
        now = _utc(now)
        events: list[Event] = []
        for record in self._working():
            self._finish(record, CANCELLED, now, "Cancelled by Trader")
            events.append(OrderCancelled(_snap(record)))
        return events

    def step(self, now: dt.datetime) -> list[Event]:
        """Advance every working order to `now`: fills, triggers, status changes, expiries."""
        now = _utc(now)
        events: list[Event] = []
        for record in self._working():
            events += self._evaluate(record, now, arrival=False)
        for acct in self.accounts.values():
            self._roll_account(acct, now)
        self._prune(now)
        return events

    # ----------------------------------------------------------------- queries

    def open_orders(self, client_id: int | None = None) -> list[OrderRecord]:
        """Working orders of one client (None = all), oldest first."""
        return [_snap(r) for r in self._working() if client_id is None or r.client_id == client_id]

    def completed_orders(self, now: dt.datetime | None = None) -> list[OrderRecord]:
        """Filled, cancelled and rejected orders (of the retained days when `now` is given)."""
        cutoff = self._cutoff(now) if now is not None else None
        done = [r for r in self.orders.values() if not r.is_working]
        if cutoff is not None:
            done = [r for r in done if r.completed is None or r.completed >= cutoff]
        return [_snap(r) for r in sorted(done, key=lambda r: r.perm_id)]

    def executions(self, flt: ExecutionFilter | None = None, now: dt.datetime | None = None) -> list[Fill]:
        """Fills matching `flt`; with `now`, only those since the retention cutoff."""
        flt = flt or ExecutionFilter()
        cutoff = self._cutoff(now) if now is not None else None
        since = _parse_filter_time(flt.time)
        side = {"BUY": "BOT", "SELL": "SLD"}.get(flt.side.upper(), flt.side.upper())
        out = []
        for f in self.fills:
            if cutoff is not None and f.time < cutoff:
                continue
            if flt.client_id and f.client_id != flt.client_id:
                continue
            if flt.acct_code and f.account != flt.acct_code:
                continue
            if since is not None and f.time < since:
                continue
            if flt.symbol and f.symbol.upper() != flt.symbol.upper():
                continue
            if flt.sec_type and f.sec_type.upper() != flt.sec_type.upper():
                continue
            if flt.exchange and f.exchange.upper() != flt.exchange.upper():
                continue
            if side and f.side != side:
                continue
            out.append(f)
        return out

    def positions(self, account: str | None = None) -> list[PositionRow]:
        """reqPositions rows; closed positions stay (quantity 0) until the day changes."""
        rows = []
        for acct in self._accounts(account):
            for pos in acct.positions.values():
                inst = self._instrument_by_con_id(pos.con_id)
                rows.append(
                    PositionRow(
                        acct.code,
                        pos.con_id,
                        inst,
                        pos.quantity,
                        self._avg_cost(pos, inst),
                    )
                )
        return rows

    def portfolio(self, account: str, now: dt.datetime) -> list[PortfolioRow]:
        """updatePortfolio rows for `account` valued at `now` (instrument currency)."""
        now = _utc(now)
        acct = self._account(account)
        self._roll_account(acct, now)
        rows = []
        for pos in acct.positions.values():
            inst = self._instrument_by_con_id(pos.con_id)
            if inst is None:
                continue
            mark = self._mark(inst, now)
            factor = _factor(inst)
            rows.append(
                PortfolioRow(
                    account=acct.code,
                    con_id=pos.con_id,
                    instrument=inst,
                    position=pos.quantity,
                    market_price=mark,
                    market_value=pos.quantity * mark * factor,
                    avg_cost=self._avg_cost(pos, inst),
                    unrealized_pnl=(mark - pos.avg_price) * pos.quantity * factor,
                    realized_pnl=pos.realized,
                )
            )
        return rows

    def account_values(self, account: str, now: dt.datetime) -> list[tuple[str, str, str]]:
        """reqAccountUpdates key/value/currency triples."""
        now = _utc(now)
        acct = self._account(account)
        v = self._valuation(acct, now)
        base = self.base_currency
        ccys = self._currencies(v)
        out: list[tuple[str, str, str]] = [
            ("AccountCode", acct.code, ""),
            ("AccountOrGroup", acct.code, "BASE"),
            ("AccountReady", "true", ""),
            ("AccountType", "INDIVIDUAL", ""),
        ]
        for c in ccys:
            out.append(("AccountOrGroup", acct.code, c))
            out.append(("Currency", c, c))
        out.append(("Currency", base, "BASE"))
        for key, value in self._summary_values(v).items():
            if key in ("AccountType", "HighestSeverity", "LookAheadNextChange"):
                continue
            out.append((key, value, "" if key in _NO_CCY_TAGS else base))
        for key, value, ccy in self._ledger_rows(v, ccys, include_base=True):
            out.append((key, value, ccy))
        return out

    def account_summary(self, account: str, tags: list[str] | str, now: dt.datetime) -> list[tuple[str, str, str]]:
        """reqAccountSummary rows for `account`; tags "All" or a list incl. $LEDGER variants."""
        now = _utc(now)
        acct = self._account(account)
        v = self._valuation(acct, now)
        if isinstance(tags, str):
            tags = SUMMARY_TAGS if tags == "All" else [t.strip() for t in tags.split(",") if t]
        values = self._summary_values(v)
        ccys = self._currencies(v)
        out: list[tuple[str, str, str]] = []
        ledger: list[tuple[str, str, str]] = []
        for tag in tags:
            if tag.startswith("$LEDGER"):
                out, ledger = ledger, out  # ledger rows are collected apart
                which = tag.partition(":")[2].upper()
                if which == "ALL":
                    out += self._ledger_rows(v, ccys, include_base=True)
                elif which:
                    out += [r for r in self._ledger_rows(v, ccys, False) if r[2] == which]
                else:
                    out += [
                        (k, val, self.base_currency)
                        for k, val, c in self._ledger_rows(v, ccys, include_base=True)
                        if c == "BASE"
                    ]
                out, ledger = ledger, out
            elif tag in values and all(row[0] != tag for row in out):
                out.append(
                    (
                        tag,
                        values[tag],
                        "" if tag in _NO_CCY_TAGS else self.base_currency,
                    )
                )
        # TWS's order, whatever the order asked for: the tags without a currency, then those with
        # one, each alphabetically (real gateway recording, ghill2/pyfutures test_connect.json).
        out.sort(key=lambda row: (row[2] != "", row[0]))
        return out + ledger

    def pnl(self, account: str, now: dt.datetime) -> tuple[float, float, float]:
        """reqPnL figures (daily, unrealized, realized today) in the base currency."""
        v = self._valuation(self._account(account), _utc(now))
        return v.daily_pnl, v.unrealized_base, v.realized_base

    def pnl_single(self, account: str, con_id: int, now: dt.datetime) -> PnLSingle | None:
        """reqPnLSingle figures for one contract in the base currency (None: never held)."""
        now = _utc(now)
        acct = self._account(account)
        self._roll_account(acct, now)
        pos = acct.positions.get(con_id)
        inst = self._instrument_by_con_id(con_id)
        if pos is None or inst is None:
            return None
        quote = self.market.quote(inst, now)
        mark = _mid(quote)
        fx = self._fx(inst.currency, now)
        factor = _factor(inst)
        return PnLSingle(
            position=pos.quantity,
            daily=self._daily_ccy(pos, quote, mark, factor) * fx - pos.day_commission,
            unrealized=(mark - pos.avg_price) * pos.quantity * factor * fx,
            realized=pos.day_realized * fx,
            value=pos.quantity * mark * factor * fx,
        )

    # ----------------------------------------------------------------- persistence

    def to_state(self) -> dict[str, Any]:
        """Plain JSON-serialisable snapshot of accounts, orders, fills and counters."""
        return {
            "base_currency": self.base_currency,
            "accounts": [
                {
                    "code": a.code,
                    "cash": dict(a.cash),
                    "positions": [dataclasses.asdict(p) for p in a.positions.values()],
                }
                for a in self.accounts.values()
            ],
            "orders": [_order_to_state(r) for r in self.orders.values()],
            "fills": [_fill_to_state(f) for f in self.fills],
            "next_ids": {str(k): v for k, v in self._next_ids.items()},
            "next_perm_id": self._next_perm_id,
            "next_exec_seq": self._next_exec_seq,
            "exec_prefix": self._exec_prefix,
        }

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        instrument_by_con_id: InstrumentLookup,
        market: MarketView,
        fx_rate: FxRate,
        **kwargs: Any,
    ) -> Broker:
        """Rebuild a broker saved by `to_state`; kwargs as for the constructor."""
        codes = [a["code"] for a in state["accounts"]]
        broker = cls(
            codes,
            state["base_currency"],
            0.0,
            instrument_by_con_id,
            market,
            fx_rate,
            **kwargs,
        )
        for a in state["accounts"]:
            acct = broker.accounts[a["code"]]
            acct.cash = {k: float(v) for k, v in a["cash"].items()}
            acct.positions = {p["con_id"]: Position(**p) for p in a["positions"]}
        for o in state["orders"]:
            record = _order_from_state(o)
            legs = getattr(record.spec, "combo_legs_text", "")
            record.instrument = (
                combo_from_text(legs, instrument_by_con_id) if legs else instrument_by_con_id(record.con_id)
            )
            broker.orders[(record.client_id, record.order_id)] = record
        broker.fills = [_fill_from_state(f) for f in state["fills"]]
        broker._next_ids = {int(k): int(v) for k, v in state["next_ids"].items()}
        broker._next_perm_id = int(state["next_perm_id"])
        broker._next_exec_seq = int(state["next_exec_seq"])
        broker._exec_prefix = str(state.get("exec_prefix", EXEC_ID_PREFIX))
        return broker

    # ----------------------------------------------------------------- validation

    def _validate(self, order_id: int, inst: Instrument, spec: Any) -> ErrorEvent | None:
        order_type = str(spec.order_type or "").upper()
        if order_type not in ORDER_TYPES:
            return ErrorEvent(
                order_id,
                387,
                "Unsupported order type for this exchange and security type.",
            )
        if str(spec.action or "").upper() not in ("BUY", "SELL"):
            return ErrorEvent(order_id, 321, _e321("bO", f"Invalid action {spec.action}"))
        tif = str(spec.tif or "DAY").upper()
        if tif not in TIFS:
            return ErrorEvent(order_id, 321, _e321("bO", f"Unsupported time in force {tif}"))
        qty = float(spec.total_quantity or 0.0)
        if qty <= 0:
            return ErrorEvent(order_id, 434, "The order size cannot be zero.")
        if inst.sec_type == "FUT" and qty != math.floor(qty):
            return ErrorEvent(
                order_id,
                10318,
                "This order doesn't support fractional quantity trading",
            )
        kind = ORDER_TYPES[order_type]
        if is_combo(inst) and kind not in ("MKT", "LMT"):
            return ErrorEvent(order_id, 387, "Unsupported order type for this exchange and security type.")
        needed = []
        if kind in ("LMT", "STP LMT"):
            needed.append(("limit", _price_or_none(spec.lmt_price)))
        if kind in ("STP", "STP LMT"):
            needed.append(("stop", _price_or_none(spec.aux_price)))
        for name, price in needed:
            if price is None:
                return ErrorEvent(order_id, 321, _e321("bO", f"The {name} price is missing"))
            if not _on_tick(price, inst.min_tick):
                return ErrorEvent(
                    order_id,
                    110,
                    "The price does not conform to the minimum price variation for this contract.",
                )
        return None

    def _reject_reason(self, record: OrderRecord, inst: Instrument, now: dt.datetime) -> str | None:
        """201 text for a new order that must be rejected, else None."""
        if self._rejects_pending > 0:
            self._rejects_pending -= 1
            return self._reject_text
        if inst.expiry_utc is not None and now >= inst.expiry_utc:
            return TEXT_REJECT_PREFIX + "The contract has expired"
        acct = self.accounts[record.account]
        pos = acct.positions.get(inst.con_id)
        held = pos.quantity if pos else 0.0
        opening = abs(held + record.sign * record.remaining) > abs(held) or (
            held * (held + record.sign * record.remaining) < 0
        )
        if opening and self._in_delivery_window(inst, now):
            return TEXT_DELIVERY
        return self._margin_reject(acct, inst, record.sign * record.remaining, now)

    def _margin_reject(self, acct: Account, inst: Instrument, signed_qty: float, now: dt.datetime) -> str | None:
        before = self._valuation(acct, now)
        init_after, _ = self._margins(acct, now, (inst.con_id, signed_qty))
        commission, ccy = self._commission(inst, abs(signed_qty), self._mark(inst, now), now)
        elv_after = before.net_liq - commission * self._fx(ccy, now)
        if init_after > before.init_margin and elv_after < init_after:
            base = self.base_currency
            return (
                TEXT_REJECT_PREFIX + "YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED "
                f"POSITION YOUR EQUITY WITH LOAN VALUE [{elv_after:.2f} {base}] MUST EXCEED THE "
                f"INITIAL MARGIN [{init_after:.2f} {base}]"
            )
        return None

    def _in_delivery_window(self, inst: Instrument, now: dt.datetime) -> bool:
        if not inst.product.physical_delivery or inst.last_trade_date is None:
            return False
        today = now.astimezone(zoneinfo.ZoneInfo(inst.product.iana_zone)).date()
        return _business_days_between(today, inst.last_trade_date) <= self.delivery_window_days

    def _modify(self, record: OrderRecord, inst: Instrument, spec: Any, now: dt.datetime) -> list[Event]:
        oid = record.order_id
        legs = inst.legs_text() if is_combo(inst) else ""
        if (
            inst.con_id != record.con_id
            or str(spec.action).upper() != record.action
            or legs != getattr(record.spec, "combo_legs_text", "")
        ):
            return [ErrorEvent(oid, 105, "Order being modified does not match original order.")]
        if legs:
            spec.combo_legs_text = legs
        error = self._validate(oid, inst, spec)
        if error is not None:
            return [error]
        new_total = float(spec.total_quantity)
        if new_total <= record.filled:
            cause = "The new order size is not above the filled quantity"
            return [ErrorEvent(oid, 321, _e321("bO", cause))]
        added = new_total - record.total_quantity
        if added > 0:
            acct = self.accounts[record.account]
            pos = acct.positions.get(inst.con_id)
            extra = record.sign * (new_total - record.filled)
            held = pos.quantity if pos else 0.0
            if abs(held + extra) > abs(held):
                reason = self._margin_reject(acct, inst, extra, now)
                if reason is not None:
                    return [ErrorEvent(oid, 201, reason)]
        old_stop = record.aux_price
        record.spec = spec
        record.order_type = ORDER_TYPES[spec.order_type.upper()]
        record.remaining = new_total - record.filled
        if record.aux_price != old_stop and record.is_stop:
            record.triggered = False
        events: list[Event] = [OrderUpdated(_snap(record))]
        events += self._evaluate(record, now, arrival=True)
        return events

    # ----------------------------------------------------------------- fill engine

    def _working(self) -> list[OrderRecord]:
        return sorted((r for r in self.orders.values() if r.is_working), key=lambda r: r.perm_id)

    def _evaluate(self, record: OrderRecord, now: dt.datetime, arrival: bool) -> list[Event]:
        """Bring one working order to `now`; `arrival` = just placed or modified."""
        inst = record.instrument or self._instrument_by_con_id(record.con_id)
        if inst is None:
            return []
        record.instrument = inst
        start = record.last_eval or now
        record.last_eval = max(start, now)
        if inst.expiry_utc is not None and now >= inst.expiry_utc:
            self._finish(record, CANCELLED, now, "Cancelled by System: contract expired")
            return [OrderCancelled(_snap(record), 202, TEXT_CANCELLED + "The contract has expired")]
        quote = self.market.quote(inst, now)
        if record.tif == "DAY" and self._day_expired(record, quote):
            self._finish(record, CANCELLED, now, "Cancelled by System: DAY order expired")
            return [OrderCancelled(_snap(record), None, "")]
        events: list[Event] = []
        if not quote.is_open:
            events += self._set_status(record, PRE_SUBMITTED)
            return events + self._ioc_leftover(record, now)
        triggered_now = False
        if record.is_stop and not record.triggered:
            stop = record.aux_price
            if arrival or now <= start:
                hit = quote.last >= stop if record.sign > 0 else quote.last <= stop
            else:
                low, high = self.market.path_between(inst, start, now)
                hit = high >= stop if record.sign > 0 else low <= stop
            if not hit:
                events += self._set_status(record, PRE_SUBMITTED)
                return events + self._ioc_leftover(record, now)
            record.triggered = triggered_now = True
        events += self._set_status(record, SUBMITTED)
        priced = self._fill_price(record, inst, quote, start, now, arrival or triggered_now)
        if priced is not None:
            price, liquidity = priced
            size = quote.ask_size if record.sign > 0 else quote.bid_size
            qty = min(record.remaining, float(max(size, 0)))
            if inst.sec_type == "FUT":
                qty = math.floor(qty)
            if qty > 0 and is_combo(inst):
                events += self._execute_combo(record, inst, qty, now, liquidity)
            elif qty > 0:
                events.append(self._execute(record, inst, qty, price, now, liquidity))
        return events + self._ioc_leftover(record, now)

    def _fill_price(
        self,
        record: OrderRecord,
        inst: Instrument,
        quote: Quote,
        start: dt.datetime,
        now: dt.datetime,
        fresh: bool,
    ) -> tuple[float, int] | None:
        """(price, lastLiquidity) of a fill at `now`, or None when the order does not trade this step.

        An order that takes the touch removes liquidity (2); a resting limit that the traded path
        reaches added it (1).
        """
        touch = quote.ask if record.sign > 0 else quote.bid
        if record.order_type in ("MKT", "STP"):
            return (touch, LIQUIDITY_REMOVED) if math.isfinite(touch) else None
        limit = record.lmt_price
        if not fresh and now > start:
            # a resting limit fills at its price once the traded path reaches it
            low, high = self.market.path_between(inst, start, now)
            crossed = low <= limit if record.sign > 0 else high >= limit
            if crossed:
                return limit, LIQUIDITY_ADDED
        if math.isfinite(touch) and (touch <= limit if record.sign > 0 else touch >= limit):
            return touch, LIQUIDITY_REMOVED  # marketable: the touch is at least as good as the limit
        return None

    def _ioc_leftover(self, record: OrderRecord, now: dt.datetime) -> list[Event]:
        if record.tif != "IOC" or not record.is_working:
            return []
        self._finish(record, CANCELLED, now, "Cancelled by System: IOC remainder")
        return [OrderCancelled(_snap(record))]

    def _day_expired(self, record: OrderRecord, quote: Quote) -> bool:
        """A DAY order dies when its session ends: closed after open, or a new session seen."""
        new_session = record.seen_open and (
            (0 <= quote.volume < record.session_volume)
            or (record.session_close is not None and quote.close != record.session_close)
        )
        if (record.seen_open and not quote.is_open) or new_session:
            return True
        if quote.is_open:
            record.seen_open = True
            record.session_volume = quote.volume
            record.session_close = quote.close
        return False

    def _set_status(self, record: OrderRecord, status: str) -> list[Event]:
        if record.status == status:
            return []
        record.status = status
        return [OrderUpdated(_snap(record))]

    def _execute(
        self,
        record: OrderRecord,
        inst: Instrument,
        qty: float,
        price: float,
        now: dt.datetime,
        liquidity: int = 2,
    ) -> FillEvent:
        acct = self.accounts[record.account]
        commission, comm_ccy = self._commission(inst, qty, price, now)
        realized = self._book(acct, inst, record.sign * qty, price, commission, comm_ccy, now)
        self._add_to_record(record, qty, price, now)
        exec_id = f"{self._exec_prefix}.{self._next_exec_seq:08x}.01.01"
        self._next_exec_seq += 1
        return self._append_fill(
            record,
            exec_id,
            now,
            record.sign,
            con_id=inst.con_id,
            symbol=inst.symbol,
            sec_type=inst.sec_type,
            exchange=inst.exchange,
            shares=qty,
            price=price,
            cum_qty=record.filled,
            avg_price=record.avg_fill_price,
            commission=commission,
            commission_currency=comm_ccy,
            realized_pnl=realized,
            last_liquidity=liquidity,
        )

    def _add_to_record(self, record: OrderRecord, qty: float, price: float, now: dt.datetime) -> None:
        """An execution of `qty` at `price`: the order's filled, remaining and average price."""
        cost = record.avg_fill_price * record.filled + price * qty
        record.filled += qty
        record.remaining = max(record.total_quantity - record.filled, 0.0)
        record.avg_fill_price = cost / record.filled
        record.last_fill_price = price
        if record.remaining <= 0:
            self._finish(record, FILLED, now, "Filled")

    def _append_fill(
        self, record: OrderRecord, exec_id: str, now: dt.datetime, side_sign: int, **execution: Any
    ) -> FillEvent:
        """Keep one execution of `record`: the order's own fields here, the contract's, quantity,
        prices and commission in `execution`."""
        fill = Fill(
            exec_id=exec_id,
            time=now,
            account=self.accounts[record.account].code,
            side="BOT" if side_sign > 0 else "SLD",
            perm_id=record.perm_id,
            client_id=record.client_id,
            order_id=record.order_id,
            order_ref=str(getattr(record.spec, "order_ref", "") or ""),
            liquidation=0,
            **execution,
        )
        self.fills.append(fill)
        return FillEvent(fill, _snap(record))

    def _execute_combo(
        self, record: OrderRecord, combo: Combo, qty: float, now: dt.datetime, liquidity: int = 2
    ) -> list[FillEvent]:
        """Fill `qty` combos at once: one execution per leg (leg contract, leg side, qty x ratio,
        the leg's touch), booked per leg, then the combo's own execution at the combo price."""
        acct = self.accounts[record.account]
        prices = leg_prices(self.market.quote, combo, record.action, now)
        price = combo_price(combo, prices)
        base = f"{self._exec_prefix}.{self._next_exec_seq:08x}"
        self._next_exec_seq += 1
        self._add_to_record(record, qty, price, now)
        events: list[FillEvent] = []
        for index, (leg, leg_price) in enumerate(zip(combo.legs, prices, strict=True)):
            inst = leg.instrument
            sign = record.sign * leg.sign
            leg_qty = qty * leg.ratio
            commission, comm_ccy = self._commission(inst, leg_qty, leg_price, now)
            realized = self._book(acct, inst, sign * leg_qty, leg_price, commission, comm_ccy, now)
            events.append(
                self._append_fill(
                    record,
                    f"{base}.{index + 2:02d}.01",
                    now,
                    sign,
                    con_id=inst.con_id,
                    symbol=inst.symbol,
                    sec_type=inst.sec_type,
                    exchange=inst.exchange,
                    shares=leg_qty,
                    price=leg_price,
                    cum_qty=record.filled * leg.ratio,
                    avg_price=leg_price,
                    commission=commission,
                    commission_currency=comm_ccy,
                    realized_pnl=realized,
                    last_liquidity=liquidity,
                    currency=inst.currency,
                )
            )
        combo_execution = self._append_fill(
            record,
            f"{base}.01.01",
            now,
            record.sign,
            con_id=combo.con_id,
            symbol=combo.symbol,
            sec_type="BAG",
            exchange=combo.exchange,
            shares=qty,
            price=price,
            cum_qty=record.filled,
            avg_price=record.avg_fill_price,
            commission=None,  # IB reports commissions per leg
            commission_currency="",
            realized_pnl=None,
            last_liquidity=liquidity,
            currency=combo.currency,
        )
        return [*events, combo_execution]

    def _book(
        self,
        acct: Account,
        inst: Instrument,
        signed_qty: float,
        price: float,
        commission: float,
        comm_ccy: str,
        now: dt.datetime,
    ) -> float | None:
        """Apply a fill to position and cash; returns the realized P&L (None when opening)."""
        pos = acct.positions.setdefault(inst.con_id, Position(inst.con_id))
        self._roll_day(pos, now)
        factor = _factor(inst)
        held = pos.quantity
        realized = None
        if held == 0 or (held > 0) == (signed_qty > 0):
            total = abs(held) + abs(signed_qty)
            pos.avg_price = (pos.avg_price * abs(held) + price * abs(signed_qty)) / total
        else:
            closing = min(abs(signed_qty), abs(held))
            realized = (price - pos.avg_price) * closing * (1 if held > 0 else -1) * factor
            if abs(signed_qty) > abs(held):
                pos.avg_price = price  # flipped: the remainder opens at this price
        pos.quantity = held + signed_qty
        if pos.quantity == 0:
            pos.avg_price = 0.0
        pos.day_qty += signed_qty
        pos.day_cost += signed_qty * price
        pos.day_commission += commission * self._fx(comm_ccy, now)
        ccy = inst.currency
        if realized is not None:
            pos.realized += realized
            pos.day_realized += realized
        if inst.sec_type == "CASH":
            # spot FX exchanges both currencies; its P&L is already in the balances
            _add(acct.cash, inst.symbol, signed_qty)
            _add(acct.cash, ccy, -signed_qty * price)
        elif realized is not None:
            _add(acct.cash, ccy, realized)
        _add(acct.cash, comm_ccy, -commission)
        return realized

    def _finish(self, record: OrderRecord, status: str, now: dt.datetime, text: str) -> None:
        record.status = status
        record.completed = now
        record.completed_status = text

    def _what_if(self, record: OrderRecord, inst: Instrument, now: dt.datetime) -> WhatIfResult:
        acct = self.accounts[record.account]
        before = self._valuation(acct, now)
        init_after, maint_after = self._margins(acct, now, (inst.con_id, record.sign * record.remaining))
        commission, ccy = self._commission(inst, record.remaining, self._mark(inst, now), now)
        elv_after = before.net_liq - commission * self._fx(ccy, now)
        warning = ""
        if init_after > before.init_margin and elv_after < init_after:
            warning = "Insufficient equity with loan value for the initial margin"
        return WhatIfResult(
            order=_snap(record),
            init_margin_before=_money(before.init_margin),
            maint_margin_before=_money(before.maint_margin),
            equity_with_loan_before=_money(before.net_liq),
            init_margin_change=_money(init_after - before.init_margin),
            maint_margin_change=_money(maint_after - before.maint_margin),
            equity_with_loan_change=_money(elv_after - before.net_liq),
            init_margin_after=_money(init_after),
            maint_margin_after=_money(maint_after),
            equity_with_loan_after=_money(elv_after),
            commission=commission,
            min_commission=commission,
            max_commission=commission,
            commission_currency=ccy,
            warning_text=warning,
        )

    # ----------------------------------------------------------------- accounting

    def _commission(self, inst: Instrument, qty: float, price: float, now: dt.datetime) -> tuple[float, str]:
        if inst.sec_type == "CASH":
            usd_value = abs(qty * price) * self._fx(inst.currency, now) / self._fx("USD", now)
            return round(max(FX_MIN_COMMISSION_USD, usd_value * FX_COMMISSION_RATE), 2), "USD"
        rate = self.commission_schedule.get(
            inst.symbol,
            self.commission_schedule.get(inst.currency, FALLBACK_COMMISSION),
        )
        return round(rate * abs(qty), 2), inst.currency

    def _fx(self, currency: str, now: dt.datetime) -> float:
        if currency == self.base_currency:
            return 1.0
        return float(self._fx_rate(currency, now))

    def _mark(self, inst: Instrument, now: dt.datetime) -> float:
        return _mid(self.market.quote(inst, now))

    def _avg_cost(self, pos: Position, inst: Instrument | None) -> float:
        return pos.avg_price * (_factor(inst) if inst is not None else 1.0)

    def _margins(self, acct: Account, now: dt.datetime, extra: tuple[int, float] | None = None) -> tuple[float, float]:
        """Initial and maintenance margin (base currency), optionally with an added trade."""
        qty = {con_id: p.quantity for con_id, p in acct.positions.items()}
        if extra is not None:
            qty[extra[0]] = qty.get(extra[0], 0.0) + extra[1]
        init = maint = 0.0
        for con_id, q in qty.items():
            inst = self._instrument_by_con_id(con_id)
            if inst is None or q == 0:
                continue
            fx = self._fx(inst.currency, now)
            init += abs(q) * inst.product.initial_margin * fx
            maint += abs(q) * inst.product.maint_margin * fx
        return init, maint

    def _valuation(self, acct: Account, now: dt.datetime) -> _Valuation:
        unrealized: dict[str, float] = {}
        realized: dict[str, float] = {}
        daily = 0.0
        self._roll_account(acct, now)
        for pos in acct.positions.values():
            inst = self._instrument_by_con_id(pos.con_id)
            if inst is None:
                continue
            quote = self.market.quote(inst, now)
            mark = _mid(quote)
            factor = _factor(inst)
            ccy = inst.currency
            if inst.sec_type != "CASH":
                _add(unrealized, ccy, (mark - pos.avg_price) * pos.quantity * factor)
            _add(realized, ccy, pos.day_realized)
            daily += self._daily_ccy(pos, quote, mark, factor) * self._fx(ccy, now)
            daily -= pos.day_commission
        cash_base = sum(v * self._fx(c, now) for c, v in acct.cash.items())
        unreal_base = sum(v * self._fx(c, now) for c, v in unrealized.items())
        real_base = sum(v * self._fx(c, now) for c, v in realized.items())
        init, maint = self._margins(acct, now)
        ccys = {self.base_currency, *acct.cash, *unrealized, *realized}
        return _Valuation(
            cash=dict(acct.cash),
            unrealized=unrealized,
            realized=realized,
            net_liq=cash_base + unreal_base,
            unrealized_base=unreal_base,
            realized_base=real_base,
            init_margin=init,
            maint_margin=maint,
            daily_pnl=daily,
            rates={c: self._fx(c, now) for c in ccys},
        )

    @staticmethod
    def _daily_ccy(pos: Position, quote: Quote, mark: float, factor: float) -> float:
        """Today's P&L: carried quantity against the prior close plus today's trades to mark."""
        ref = quote.close if math.isfinite(quote.close) and quote.close > 0 else mark
        carried = pos.day_start_qty * (mark - ref)
        traded = pos.day_qty * mark - pos.day_cost
        return (carried + traded) * factor

    def _roll_account(self, acct: Account, now: dt.datetime) -> None:
        """Start a new P&L day; positions closed on an earlier day disappear."""
        today = now.date().isoformat()
        for con_id, pos in list(acct.positions.items()):
            if pos.day != today and pos.quantity == 0:
                del acct.positions[con_id]
            else:
                self._roll_day(pos, now)

    def _roll_day(self, pos: Position, now: dt.datetime) -> None:
        day = now.date().isoformat()
        if pos.day == day:
            return
        pos.day = day
        pos.day_start_qty = pos.quantity
        pos.day_qty = pos.day_cost = pos.day_realized = pos.day_commission = 0.0

    def _summary_values(self, v: _Valuation) -> dict[str, str]:
        """The standard account tags (base currency amounts) as strings."""
        elv = v.net_liq
        cash_base = v.net_liq - v.unrealized_base
        available = elv - v.init_margin
        excess = v.net_liq - v.maint_margin
        cushion = excess / v.net_liq if v.net_liq else 0.0
        money = {
            "NetLiquidation": v.net_liq,
            "TotalCashValue": cash_base,
            "SettledCash": cash_base,
            "AccruedCash": 0.0,
            "BuyingPower": max(available, 0.0) * self.buying_power_factor,
            "EquityWithLoanValue": elv,
            "PreviousDayEquityWithLoanValue": elv - v.daily_pnl,
            "GrossPositionValue": 0.0,  # IB counts stocks/options here, not futures
            "RegTEquity": elv,
            "RegTMargin": 0.0,
            "SMA": elv,
            "InitMarginReq": v.init_margin,
            "MaintMarginReq": v.maint_margin,
            "AvailableFunds": available,
            "ExcessLiquidity": excess,
            "FullInitMarginReq": v.init_margin,
            "FullMaintMarginReq": v.maint_margin,
            "FullAvailableFunds": available,
            "FullExcessLiquidity": excess,
            "LookAheadInitMarginReq": v.init_margin,
            "LookAheadMaintMarginReq": v.maint_margin,
            "LookAheadAvailableFunds": available,
            "LookAheadExcessLiquidity": excess,
        }
        out = {"AccountType": "INDIVIDUAL"}
        out.update({k: _money(x) for k, x in money.items()})
        out.update(
            {
                "Cushion": f"{cushion:.6f}",
                "LookAheadNextChange": "0",
                "HighestSeverity": "0",
                "DayTradesRemaining": "-1",
                "Leverage": "0.00",
            }
        )
        return out

    def _currencies(self, v: _Valuation) -> list[str]:
        return sorted(v.rates)

    def _ledger_rows(self, v: _Valuation, ccys: Iterable[str], include_base: bool) -> list[tuple[str, str, str]]:
        """Per-currency ledger values (CashBalance, NetLiquidationByCurrency, ...)."""
        rows: list[tuple[str, str, str]] = []
        cash_base = v.net_liq - v.unrealized_base
        for c in ccys:
            cash = v.cash.get(c, 0.0)
            unreal = v.unrealized.get(c, 0.0)
            rate = v.rates.get(c, 1.0)
            rows += [
                ("CashBalance", _money(cash), c),
                ("TotalCashBalance", _money(cash), c),
                ("NetLiquidationByCurrency", _money(cash + unreal), c),
                ("UnrealizedPnL", _money(unreal), c),
                ("RealizedPnL", _money(v.realized.get(c, 0.0)), c),
                ("FuturesPNL", _money(unreal), c),
                ("StockMarketValue", "0.00", c),
                ("OptionMarketValue", "0.00", c),
                ("FutureOptionValue", "0.00", c),
                ("ExchangeRate", f"{rate:.6f}", c),
            ]
        if include_base:
            rows += [
                ("CashBalance", _money(cash_base), "BASE"),
                ("TotalCashBalance", _money(cash_base), "BASE"),
                ("NetLiquidationByCurrency", _money(v.net_liq), "BASE"),
                ("UnrealizedPnL", _money(v.unrealized_base), "BASE"),
                ("RealizedPnL", _money(v.realized_base), "BASE"),
                ("FuturesPNL", _money(v.unrealized_base), "BASE"),
                ("StockMarketValue", "0.00", "BASE"),
                ("OptionMarketValue", "0.00", "BASE"),
                ("FutureOptionValue", "0.00", "BASE"),
                ("ExchangeRate", "1.00", "BASE"),
            ]
        return rows

    # ----------------------------------------------------------------- helpers

    def _account(self, code: str | None) -> Account:
        if not code:
            return next(iter(self.accounts.values()))
        try:
            return self.accounts[code]
        except KeyError:
            raise KeyError(f"unknown account {code!r}") from None

    def _accounts(self, code: str | None) -> list[Account]:
        return list(self.accounts.values()) if not code else [self._account(code)]

    def _new_perm_id(self) -> int:
        perm = self._next_perm_id
        self._next_perm_id += 1
        return perm

    def _cutoff(self, now: dt.datetime) -> dt.datetime:
        midnight = dt.datetime.combine(_utc(now).date(), dt.time(), dt.UTC)
        return midnight - dt.timedelta(days=self.execution_days - 1)

    def _prune(self, now: dt.datetime) -> None:
        cutoff = self._cutoff(now)
        if self.fills and self.fills[0].time < cutoff:
            self.fills = [f for f in self.fills if f.time >= cutoff]


SUMMARY_TAGS = [
    "AccountType",
    "NetLiquidation",
    "TotalCashValue",
    "SettledCash",
    "AccruedCash",
    "BuyingPower",
    "EquityWithLoanValue",
    "PreviousDayEquityWithLoanValue",
    "GrossPositionValue",
    "RegTEquity",
    "RegTMargin",
    "SMA",
    "InitMarginReq",
    "MaintMarginReq",
    "AvailableFunds",
    "ExcessLiquidity",
    "Cushion",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "FullAvailableFunds",
    "FullExcessLiquidity",
    "LookAheadNextChange",
    "LookAheadInitMarginReq",
    "LookAheadMaintMarginReq",
    "LookAheadAvailableFunds",
    "LookAheadExcessLiquidity",
    "HighestSeverity",
    "DayTradesRemaining",
    "Leverage",
]
_NO_CCY_TAGS = frozenset(
    {
        "AccountType",
        "Cushion",
        "LookAheadNextChange",
        "HighestSeverity",
        "DayTradesRemaining",
        "Leverage",
    }
)


# --------------------------------------------------------------------- module helpers


def _utc(t: dt.datetime) -> dt.datetime:
    if t.tzinfo is None:
        raise ValueError("naive datetime; the broker needs timezone-aware times")
    return t.astimezone(dt.UTC)


def _snap(record: OrderRecord) -> OrderRecord:
    return copy.copy(record)


def _add(book: dict[str, float], key: str, amount: float) -> None:
    book[key] = book.get(key, 0.0) + amount


def _money(x: float) -> str:
    return f"{x:.2f}"


def _e321(code: str, cause: str) -> str:
    return f"Error validating request.-'{code}' : cause - {cause}"


def _price_or_none(value: Any) -> float | None:
    if value is None:
        return None
    price = float(value)
    if not math.isfinite(price) or price >= UNSET_DOUBLE:
        return None
    return price


def _on_tick(price: float, tick: float) -> bool:
    steps = price / tick
    return abs(steps - round(steps)) < 1e-6


def _factor(inst: Instrument) -> float:
    """Currency value of one price unit of one contract: multiplier / price magnifier."""
    mult = float(inst.product.multiplier) if inst.product.multiplier else 1.0
    return mult / (inst.product.price_magnifier or 1)


def _mid(quote: Quote) -> float:
    """Mark price: the mid when both sides are quoted, else the last trade."""
    both = math.isfinite(quote.bid) and math.isfinite(quote.ask)
    if both and quote.ask >= quote.bid and (quote.bid_size > 0 or quote.ask_size > 0):
        return (quote.bid + quote.ask) / 2
    return quote.last if math.isfinite(quote.last) else quote.close


def _business_days_between(start: dt.date, end: dt.date) -> int:
    """Weekdays after `start` up to and including `end` (0 when `end` <= `start`)."""
    days = 0
    d = start
    while d < end:
        d += dt.timedelta(days=1)
        if d.weekday() < 5:
            days += 1
    return days


def _parse_filter_time(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return _utc(value)
    text = value.strip()
    date_part, time_part = text[:8], text[9:17]
    zone = text[17:].strip()
    naive = dt.datetime.strptime(f"{date_part} {time_part}", "%Y%m%d %H:%M:%S")
    tz = zoneinfo.ZoneInfo(zone) if zone else dt.UTC
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)


def _spec_to_state(spec: Any) -> dict[str, Any]:
    names = list(vars(spec)) if hasattr(spec, "__dict__") else list(SPEC_FIELDS)
    out = {}
    for name in names:
        if name.startswith("_"):
            continue
        value = getattr(spec, name, None)
        if value is None or isinstance(value, (bool, int, float, str)):
            out[name] = value
        elif isinstance(value, (numbers.Real, decimal.Decimal)):  # Decimal quantities
            out[name] = float(value)
    return out


def _spec_from_state(data: Mapping[str, Any]) -> OrderSpec:
    spec = OrderSpec(**{k: v for k, v in data.items() if k in SPEC_FIELDS})
    for k, v in data.items():
        if k not in SPEC_FIELDS:
            setattr(spec, k, v)
    return spec


_TIME_FIELDS = ("created", "completed", "last_eval")


def _order_to_state(record: OrderRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        if f.name == "instrument":
            continue
        value = getattr(record, f.name)
        if f.name == "spec":
            value = _spec_to_state(value)
        elif f.name in _TIME_FIELDS:
            value = value.isoformat() if value is not None else None
        out[f.name] = value
    return out


def _order_from_state(data: Mapping[str, Any]) -> OrderRecord:
    kwargs = dict(data)
    kwargs["spec"] = _spec_from_state(data["spec"])
    for name in _TIME_FIELDS:
        if kwargs.get(name) is not None:
            kwargs[name] = dt.datetime.fromisoformat(kwargs[name])
    return OrderRecord(**kwargs)


def _fill_to_state(fill: Fill) -> dict[str, Any]:
    out = dataclasses.asdict(fill)
    out["time"] = fill.time.isoformat()
    return out


def _fill_from_state(data: Mapping[str, Any]) -> Fill:
    kwargs = dict(data)
    kwargs["time"] = dt.datetime.fromisoformat(kwargs["time"])
    return Fill(**kwargs)
