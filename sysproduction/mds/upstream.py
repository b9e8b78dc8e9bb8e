"""What the hub streams from: the broker layer's per-contract and front-month streams, as events.

    stream = open_upstream(conn, TopicKey("quotes", "instrument", "SP500"))   # async iterator
    event, payload = encode(item)        # ("quote", {...}) / ("bar", {...}) / ("roll", {...})
    contract = parse_contract_name("ESM5")                                     # futuresContract

The streams are `sysbrokers.IB.front_month_stream`'s (one IB subscription each, held by the
connection supervisor: they survive gateway restarts and count against the market-data line
budget); names are read by `sysbrokers.IB.contract_names`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator
from typing import Any

from sysbrokers.IB import front_month_stream as fms
from sysbrokers.IB.contract_names import contract_from_name
from sysbrokers.IB.ib_errors import IBNoSecurityDefinition
from sysobjects.contracts import futuresContract

UTC = dt.UTC


def contract_name(contract: Any) -> str:
    """ "SP500/202506" (or "VIX/20250618" for day-dated contracts) of a `futuresContract`."""
    if contract is None:
        return ""
    if isinstance(contract, str):
        return contract
    date = contract.date_str
    return f"{contract.instrument_code}/{date[:6] if date.endswith('00') else date}"


def parse_contract_name(name: str) -> futuresContract:
    """A `futuresContract` from "SP500/202506", "SP500/20250620" or an IB local symbol ("ESM5",
    "ZN   JUN 25"); `ContractNameError` (a `ValueError` naming the input) otherwise."""
    return contract_from_name(name)


# ------------------------------------------------------------------------------------- streams
def open_upstream(conn: Any, key: Any) -> AsyncIterator[Any]:
    """The async iterator behind a topic (one IB subscription; `aclose()` cancels it)."""
    bars = key.kind == "bars"
    if key.target == "instrument":
        if bars:
            return fms.stream_front_month_bars(conn, key.name)
        return fms.stream_front_month_quotes(conn, key.name)
    contract = parse_contract_name(key.name)
    return fms.stream_contract_bars(conn, contract) if bars else fms.stream_contract_quotes(conn, contract)


def encode(item: Any) -> tuple[str, dict[str, Any]] | None:
    """The SSE event name and JSON payload of a stream item."""
    if hasattr(item, "new_contract"):
        return "roll", {
            "time": _iso(item.time),
            "instrument_code": item.instrument_code,
            "old_contract": contract_name(item.old_contract),
            "new_contract": contract_name(item.new_contract),
            "old_local_symbol": item.old_local_symbol,
            "new_local_symbol": item.new_local_symbol,
        }
    common = {
        "time": _iso(item.time),
        "instrument_code": item.instrument_code,
        "contract": contract_name(item.contract),
        "local_symbol": item.local_symbol,
    }
    if hasattr(item, "high"):
        return "bar", {
            **common,
            **{name: _num(getattr(item, name)) for name in ("open", "high", "low", "close", "volume")},
        }
    if hasattr(item, "bid"):
        fields = ("bid", "ask", "bid_size", "ask_size", "last", "last_size")
        return "quote", {**common, **{name: _num(getattr(item, name, None)) for name in fields}}
    return None


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    return None if value is None else str(value)


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


__all__ = [
    "IBNoSecurityDefinition",
    "contract_name",
    "encode",
    "open_upstream",
    "parse_contract_name",
]
