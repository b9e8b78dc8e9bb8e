"""Combination (BAG) contracts on futures calendar spreads: legs, combo quotes, leg prices.

    combo = resolve_combo(contract_spec, catalog.by_con_id)     # a Combo, or a ComboError
    quote = combo_quote(market.quote, combo, now)               # the spread's own top of book
    prices = leg_prices(market.quote, combo, action="BUY", now)  # one price per leg, at the touch

A `Combo` stands where the order engine and the market-data code expect an `Instrument`: it has
the attributes they read (con_id, symbol, exchange, currency, min_tick, expiry_utc, product...).
Its conId is IB's generic BAG conId, as TWS reports combos in openOrder and execDetails.

Prices follow IB's combo convention: the price of a combo is the sum over its legs of
ratio x leg price, counted positive for BUY legs and negative for SELL legs. Buying the combo
therefore pays the BUY legs' asks and receives the SELL legs' bids:

    combo ask = sum(ratio x ask, BUY legs) - sum(ratio x bid, SELL legs)
    combo bid = sum(ratio x bid, BUY legs) - sum(ratio x ask, SELL legs)

Sizes are the whole combos the legs' displayed sizes allow (min over legs of size // ratio).
Only futures calendar spreads are modelled: every leg a futures contract of the same product on
the same exchange, ratios > 0, actions BUY/SELL, at least two legs, no leg twice.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .messages import ComboLegSpec, ContractFields, ContractSpec
from .model import Instrument, Product, Quote

__all__ = [
    "BAG_CON_ID",
    "Combo",
    "ComboError",
    "ComboLeg",
    "combo_contract_fields",
    "combo_from_text",
    "combo_quote",
    "is_combo",
    "leg_prices",
    "resolve_combo",
]

# TWS reports every combo (BAG) contract with this conId in openOrder and execDetails.
BAG_CON_ID = 28812380

QuoteFn = Callable[[Instrument, dt.datetime], Quote]


@dataclass(frozen=True)
class ComboLeg:
    instrument: Instrument
    ratio: int
    action: str  # BUY / SELL, as the combo's definition says (for a BUY of the combo)

    @property
    def sign(self) -> int:
        return 1 if self.action == "BUY" else -1


@dataclass(frozen=True)
class ComboError:
    """Why a BAG contract is refused: the error code and text TWS would send."""

    code: int
    text: str


@dataclass(frozen=True)
class Combo:
    """A futures calendar spread, duck-typed as an `Instrument` for the engine and market data."""

    legs: tuple[ComboLeg, ...]
    exchange: str

    con_id = BAG_CON_ID
    sec_type = "BAG"
    contract_month = ""
    last_trade_date = None
    local_symbol = ""
    multiplier = ""
    trading_class = ""

    @property
    def product(self) -> Product:
        return self.legs[0].instrument.product

    @property
    def symbol(self) -> str:
        return self.product.symbol

    @property
    def currency(self) -> str:
        return self.product.currency

    @property
    def min_tick(self) -> float:
        return self.product.min_tick

    @property
    def expiry_utc(self) -> dt.datetime | None:
        expiries = [leg.instrument.expiry_utc for leg in self.legs if leg.instrument.expiry_utc is not None]
        return min(expiries) if expiries else None

    @property
    def first_trade_date(self) -> dt.date:
        return max(leg.instrument.first_trade_date for leg in self.legs)

    @property
    def decimals(self) -> int:
        """Decimals for the combo's prices (those of half a leg tick, as for a single contract)."""
        text = repr(self.min_tick / 2)
        return len(text.partition(".")[2].rstrip("0")) if "e" not in text else 10

    def legs_text(self) -> str:
        """ "conId:ratio:action,..." — how a combo order's legs are kept in the broker's state."""
        return ",".join(f"{leg.instrument.con_id}:{leg.ratio}:{leg.action}" for leg in self.legs)

    def legs_descrip(self) -> str:
        """openOrder's comboLegsDescrip: "conId|ratio" per leg, signed by the leg's action."""
        return ",".join(f"{leg.instrument.con_id}|{leg.sign * leg.ratio}" for leg in self.legs)

    def leg_specs(self) -> list[ComboLegSpec]:
        return [
            ComboLegSpec(con_id=leg.instrument.con_id, ratio=leg.ratio, action=leg.action, exchange=self.exchange)
            for leg in self.legs
        ]


def is_combo(instrument: object) -> bool:
    return isinstance(instrument, Combo)


def resolve_combo(spec: ContractSpec, by_con_id: Callable[[int], Instrument | None]) -> Combo | ComboError:
    """The `Combo` a BAG contract describes, or the error TWS sends for an invalid one."""
    legs = spec.combo_legs
    if len(legs) < 2:
        return ComboError(321, _e321("bK", "A combination contract needs at least two legs"))
    found: list[ComboLeg] = []
    for leg in legs:
        inst = by_con_id(int(leg.con_id))
        if inst is None:
            return ComboError(
                200, f"No security definition has been found for the request (combo leg conId {leg.con_id})"
            )
        action = str(leg.action or "").upper()
        if action not in ("BUY", "SELL"):
            return ComboError(321, _e321("bK", f"Invalid combo leg action {leg.action!r}"))
        if int(leg.ratio) <= 0:
            return ComboError(321, _e321("bK", f"Invalid combo leg ratio {leg.ratio}"))
        found.append(ComboLeg(inst, int(leg.ratio), action))
    first = found[0].instrument
    for leg in found:
        inst = leg.instrument
        if inst.sec_type != "FUT":
            return ComboError(321, _e321("bK", f"Combo leg {inst.con_id} is not a futures contract"))
        if inst.product.symbol != first.product.symbol or inst.exchange != first.exchange:
            return ComboError(
                321, _e321("bK", "The legs of a futures spread must have the same underlying and exchange")
            )
    if len({leg.instrument.con_id for leg in found}) != len(found):
        return ComboError(321, _e321("bK", "A combination contract cannot hold the same contract twice"))
    symbol = (spec.symbol or "").upper()
    if symbol and symbol != first.symbol.upper():
        return ComboError(200, "No security definition has been found for the request")
    exchange = (spec.exchange or first.exchange).upper()
    if exchange not in (first.exchange.upper(), "SMART"):
        return ComboError(200, "No security definition has been found for the request")
    return Combo(tuple(found), first.exchange)


def combo_from_text(text: str, by_con_id: Callable[[int], Instrument | None]) -> Combo | None:
    """Inverse of `Combo.legs_text` (None if a leg is no longer known)."""
    legs = []
    for part in text.split(","):
        con_id, ratio, action = part.split(":")
        inst = by_con_id(int(con_id))
        if inst is None:
            return None
        legs.append(ComboLeg(inst, int(ratio), action))
    return Combo(tuple(legs), legs[0].instrument.exchange) if legs else None


def combo_quote(quote: QuoteFn, combo: Combo, at_utc: dt.datetime) -> Quote:
    """The combo's top of book from its legs' quotes (IB's convention, see the module docstring)."""
    quotes = [quote(leg.instrument, at_utc) for leg in combo.legs]

    def combine(buy_side: str, sell_side: str) -> float:
        return _rounded(
            sum(
                leg.ratio * (getattr(q, buy_side) if leg.sign > 0 else -getattr(q, sell_side))
                for leg, q in zip(combo.legs, quotes, strict=True)
            )
        )

    def size(buy_side: str, sell_side: str) -> int:
        return min(
            int(getattr(q, buy_side if leg.sign > 0 else sell_side)) // leg.ratio
            for leg, q in zip(combo.legs, quotes, strict=True)
        )

    return Quote(
        time=at_utc,
        bid=combine("bid", "ask"),
        ask=combine("ask", "bid"),
        bid_size=size("bid_size", "ask_size"),
        ask_size=size("ask_size", "bid_size"),
        last=combine("last", "last"),
        last_size=min(q.last_size for q in quotes),
        volume=min(q.volume for q in quotes),
        open=combine("open", "open"),
        # bounds: the legs' extremes need not have happened at the same time
        high=combine("high", "low"),
        low=combine("low", "high"),
        close=combine("close", "close"),
        is_open=all(q.is_open for q in quotes),
    )


def leg_prices(quote: QuoteFn, combo: Combo, action: str, at_utc: dt.datetime) -> list[float]:
    """Each leg's touch for a trade of the combo: a leg bought pays its ask, one sold gets its bid."""
    combo_sign = 1 if action.upper() == "BUY" else -1
    out = []
    for leg in combo.legs:
        q = quote(leg.instrument, at_utc)
        out.append(q.ask if leg.sign * combo_sign > 0 else q.bid)
    return out


def combo_price(combo: Combo, prices: Sequence[float]) -> float:
    """The combo's price for one price per leg (IB's convention)."""
    return _rounded(sum(leg.sign * leg.ratio * p for leg, p in zip(combo.legs, prices, strict=True)))


def combo_contract_fields(combo: Combo) -> ContractFields:
    """The contract fields of a combo as TWS reports them in openOrder and execDetails."""
    return ContractFields(
        con_id=BAG_CON_ID,
        symbol=combo.symbol,
        sec_type="BAG",
        exchange=combo.exchange,
        currency=combo.currency,
    )


def _rounded(value: float) -> float:
    return round(value, 10) if math.isfinite(value) else value


def _e321(code: str, cause: str) -> str:
    return f"Error validating request.-'{code}' : cause - {cause}"
