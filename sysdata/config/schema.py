"""Typed schema of the configuration: one checker per key, plus the value dataclasses.

A checker takes the raw YAML value of one layer (defaults, private file or overrides) and returns
the normalised value or raises `InvalidValue`; `configdata` turns that into a `ConfigError` naming
the file, the key and the line.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PRICE_STORE_SCHEMES = ("parquet", "parquet+s3", "lmdb", "s3", "s3s")  # as sysdata.prices.factory
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
GATEWAY_MODES = ("ibsim", "external")
LOG_FORMATS = ("text", "json")
MARKET_DATA_TYPES = ("live", "frozen", "delayed", "delayed_frozen")  # IB's 1, 2, 3, 4
MAX_CLIENT_ID = 2**31 - 1  # IB client ids are signed 32-bit ints

# pysystemtrade keys that this project does not use but accepts unchanged, so that an existing
# pysystemtrade private_config.yaml loads. Available through `Config.get_element`.
PYSYSTEMTRADE_PASSTHROUGH_KEYS = frozenset(
    {
        "broker_factory_func",
        "echo_extension",
        "max_price_spike",
        "GMT_offset_hours",
        "ignore_future_prices",
        "ignore_prices_with_zero_volumes_intraday",
        "ignore_prices_with_zero_volumes_daily",
        "ignore_zero_prices",
        "ignore_negative_prices",
        "intraday_frequency",
        "production_capital_method",
        "backtest_store_directory",
        "csv_backup_directory",
        "mongo_dump_directory",
        "echo_directory",
        "parquet_store",
        "email_address",
        "email_pwd",
        "email_server",
        "email_to",
        "strategy_list",
        "strategy_weights",
        "base_currency",
    }
)


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""

    def __init__(
        self,
        problem: str,
        *,
        source: str,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.key = key
        self.line = line
        where = source if line is None else f"{source}:{line}"
        what = "" if key is None else f" key '{key}':"
        super().__init__(f"{where}:{what} {problem}")


class InvalidValue(Exception):
    """Raised by a checker; `subkey` locates the bad part inside a nested value ('.x', '[2].tz')."""

    def __init__(self, expected: str, got: Any, subkey: str = "") -> None:
        super().__init__(expected)
        self.expected = expected
        self.got = got
        self.subkey = subkey

    def describe(self) -> str:
        return f"expected {self.expected}, got {self.got!r}"


@dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential backoff for gateway reconnects; `max_attempts` None means retry forever."""

    initial_delay: float
    max_delay: float
    multiplier: float
    jitter: float  # each delay is scaled by a uniform factor in [1 - jitter, 1 + jitter]
    max_attempts: int | None

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before reconnect attempt number `attempt` (1-based)."""
        base = min(self.max_delay, self.initial_delay * self.multiplier ** max(0, attempt - 1))
        factor = 1.0 + (rng or random).uniform(-self.jitter, self.jitter)
        return min(self.max_delay, base * factor)


@dataclass(frozen=True)
class ResetWindow:
    """A recurring daily IB server reset; a window with end <= start runs past midnight."""

    region: str
    start: dt.time
    end: dt.time
    tz: str  # IANA zone name
    days: tuple[str, ...]  # weekdays (Mon..Sun) on which the window *starts*, local time

    def contains(self, moment: dt.datetime) -> bool:
        """True if the tz-aware `moment` falls inside this window."""
        return self.end_of_occurrence(moment) is not None

    def end_of_occurrence(self, moment: dt.datetime) -> dt.datetime | None:
        """When the occurrence of this window containing the tz-aware `moment` ends (UTC), or None
        if `moment` is outside the window."""
        local = moment.astimezone(zoneinfo.ZoneInfo(self.tz))
        for day_shift in (0, 1):
            start_day = local.date() - dt.timedelta(days=day_shift)
            if WEEKDAYS[start_day.weekday()] not in self.days:
                continue
            begin = dt.datetime.combine(start_day, self.start, tzinfo=local.tzinfo)
            end_day = start_day if self.end > self.start else start_day + dt.timedelta(days=1)
            finish = dt.datetime.combine(end_day, self.end, tzinfo=local.tzinfo)
            if begin <= local < finish:
                return finish.astimezone(dt.UTC)
        return None


# --- primitive checkers -------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def int_between(low: int, high: int, what: str = "an integer") -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if not _is_int(value) or not low <= value <= high:
            raise InvalidValue(f"{what} between {low} and {high}", value)
        return value

    return check


def positive_number(value: Any) -> float:
    if not _is_number(value) or value <= 0:
        raise InvalidValue("a number of seconds > 0", value)
    return float(value)


def optional_scale(value: Any) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or value <= 0:
        raise InvalidValue("null or a number > 0", value)
    return float(value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue("true or false", value)
    return value


def any_string(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue("a string (quote it in YAML)", value)
    return value


def non_empty_string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue("a non-empty string", value)
    return value


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def ip_or_hostname(value: Any) -> str:
    expected = "an IPv4/IPv6 address or a host name"
    if not isinstance(value, str) or not value:
        raise InvalidValue(expected, value)
    if re.fullmatch(r"[0-9.]+", value) or ":" in value:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise InvalidValue(expected, value) from None
        return value
    if len(value) > 253 or not all(_HOST_LABEL.match(part) for part in value.split(".")):
        raise InvalidValue(expected, value)
    return value


def mongo_host(value: Any) -> str | None:
    if value is None:
        return None
    expected = "null, a host name or a mongodb:// / mongodb+srv:// URL"
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(expected, value)
    if "://" in value:
        if not value.startswith(("mongodb://", "mongodb+srv://")) or value.endswith("://"):
            raise InvalidValue(expected, value)
        return value
    return ip_or_hostname(value)


# Client options the layer fixes itself: stored times must come back tz-aware, as UTC.
MONGO_FIXED_OPTIONS = frozenset({"tz_aware", "tzinfo", "document_class", "type_registry"})


def mongo_options(value: Any) -> dict[str, Any]:
    """MongoDB connection-string options (replicaSet, w, readPreference, tls, authSource, ...),
    passed to pymongo.MongoClient; each name and value is checked by pymongo's own validator."""
    from pymongo.common import validate as validate_mongo_option  # pymongo is a core dependency
    from pymongo.errors import ConfigurationError

    if not isinstance(value, Mapping):
        raise InvalidValue("a mapping of MongoDB connection-string options, e.g. {replicaSet: rs0}", value)
    checked: dict[str, Any] = {}
    for name, raw in value.items():
        where = f".{name}"
        if not isinstance(name, str) or name.lower() in MONGO_FIXED_OPTIONS:
            raise InvalidValue("a MongoDB connection-string option (tz_aware/tzinfo are fixed)", name, where)
        if not isinstance(raw, (str, int, float, bool, list)):
            raise InvalidValue(f"a string, number, boolean or list for {name}", raw, where)
        try:
            validate_mongo_option(name, raw)
        except ConfigurationError:
            raise InvalidValue("a MongoDB connection-string option (see pymongo's MongoClient)", name, where) from None
        except (TypeError, ValueError) as exc:
            raise InvalidValue(f"a valid value for {name} ({str(exc).rstrip('.')})", raw, where) from None
        checked[name] = raw
    return checked


def mongo_db_name(value: Any) -> str:
    expected = 'a MongoDB database name (no spaces or any of /\\."$)'
    if not isinstance(value, str) or not value or re.search(r'[/\\. "$\x00]', value):
        raise InvalidValue(expected, value)
    return value


def gateway_mode(value: Any) -> str | None:
    if value is not None and value not in GATEWAY_MODES:
        raise InvalidValue(f"one of {', '.join(GATEWAY_MODES)} (or null for automatic)", value)
    return value


PACING_PROFILES = ("documented", "strict")


def pacing_profile(value: Any) -> str:
    if value not in PACING_PROFILES:
        raise InvalidValue(f"one of {', '.join(PACING_PROFILES)}", value)
    return value


def log_level(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in LOG_LEVELS:
        raise InvalidValue(f"one of {', '.join(LOG_LEVELS)}", value)
    return value.upper()


def optional_line_budget(value: Any) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or value < 1:
        raise InvalidValue("null (not counted) or a whole number >= 1", value)
    return value


def optional_port(value: Any) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or not 0 <= value <= 65535:
        raise InvalidValue("null (off), 0 (any free port) or a TCP port", value)
    return value


def slow_reader_policy(value: Any) -> str:
    """The market-data service's answer to a reader whose queue is full (docs/market_data_service.md)."""
    if value not in ("drop_oldest", "disconnect"):
        raise InvalidValue("drop_oldest or disconnect", value)
    return value


def optional_string(value: Any) -> str | None:
    if value is None:
        return None
    return non_empty_string(value)


def market_data_type(value: Any) -> str:
    if value not in MARKET_DATA_TYPES:
        raise InvalidValue(f"one of {', '.join(MARKET_DATA_TYPES)}", value)
    return value


def log_format(value: Any) -> str:
    if value not in LOG_FORMATS:
        raise InvalidValue(f"one of {', '.join(LOG_FORMATS)}", value)
    return value


def price_store_url(value: Any) -> str:
    expected = f"a URL with scheme {', '.join(s + '://' for s in PRICE_STORE_SCHEMES)}"
    if not isinstance(value, str):
        raise InvalidValue(expected, value)
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in PRICE_STORE_SCHEMES or not rest:
        raise InvalidValue(expected, value)
    return value


# --- nested values ---------------------------------------------------------------------------

RECONNECT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "initial_delay": positive_number,
    "max_delay": positive_number,
    "multiplier": lambda v: _number_at_least(v, 1.0, "a number >= 1"),
    "jitter": lambda v: _number_in_unit(v),
    "max_attempts": lambda v: None if v is None else int_between(1, 10**6, "null or an integer")(v),
}


def _number_at_least(value: Any, low: float, expected: str) -> float:
    if not _is_number(value) or value < low:
        raise InvalidValue(expected, value)
    return float(value)


def _number_in_unit(value: Any) -> float:
    if not _is_number(value) or not 0 <= value < 1:
        raise InvalidValue("a fraction 0 <= jitter < 1", value)
    return float(value)


def reconnect_partial(value: Any) -> dict[str, Any]:
    """Check the fields present in one layer; layers are merged before `reconnect_policy`."""
    if not isinstance(value, Mapping):
        raise InvalidValue(f"a mapping with keys {', '.join(RECONNECT_FIELDS)}", value)
    checked = {}
    for name, raw in value.items():
        if name not in RECONNECT_FIELDS:
            raise InvalidValue(f"one of {', '.join(RECONNECT_FIELDS)}", name, f".{name}")
        try:
            checked[name] = RECONNECT_FIELDS[name](raw)
        except InvalidValue as exc:
            raise InvalidValue(exc.expected, exc.got, f".{name}") from None
    return checked


def reconnect_policy(merged: Mapping[str, Any]) -> ReconnectPolicy:
    missing = [name for name in RECONNECT_FIELDS if name not in merged]
    if missing:
        raise InvalidValue(f"all of {', '.join(RECONNECT_FIELDS)}", dict(merged), f".{missing[0]}")
    if merged["max_delay"] < merged["initial_delay"]:
        expected = f"max_delay >= initial_delay ({merged['initial_delay']})"
        raise InvalidValue(expected, merged["max_delay"], ".max_delay")
    return ReconnectPolicy(**{name: merged[name] for name in RECONNECT_FIELDS})


def _hh_mm(value: Any) -> dt.time:
    if not isinstance(value, str) or not re.fullmatch(r"\d\d:\d\d", value):
        raise InvalidValue('a time "HH:MM" (quoted)', value)
    hours, minutes = int(value[:2]), int(value[3:])
    if hours > 23 or minutes > 59:
        raise InvalidValue('a time "HH:MM" between 00:00 and 23:59', value)
    return dt.time(hours, minutes)


def _iana_zone(value: Any) -> str:
    try:
        if not isinstance(value, str) or not value:
            raise ValueError
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise InvalidValue("an IANA time zone name such as America/New_York", value) from None
    return value


def _weekdays(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or any(d not in WEEKDAYS for d in value):
        raise InvalidValue(f"a non-empty list of {', '.join(WEEKDAYS)}", value)
    return tuple(value)


RESET_WINDOW_FIELDS: dict[str, Callable[[Any], Any]] = {
    "region": non_empty_string,
    "start": _hh_mm,
    "end": _hh_mm,
    "tz": _iana_zone,
    "days": _weekdays,
}


def reset_windows(value: Any) -> tuple[ResetWindow, ...]:
    """A list replaces the previous layer's list entirely."""
    if not isinstance(value, list):
        raise InvalidValue("a list of {region, start, end, tz, days} mappings", value)
    windows = []
    for index, item in enumerate(value):
        where = f"[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidValue("a mapping {region, start, end, tz, days}", item, where)
        unknown = set(item) - set(RESET_WINDOW_FIELDS)
        if unknown:
            name = sorted(unknown, key=str)[0]
            raise InvalidValue(f"one of {', '.join(RESET_WINDOW_FIELDS)}", name, f"{where}.{name}")
        fields = {}
        for name, check in RESET_WINDOW_FIELDS.items():
            if name not in item:
                raise InvalidValue(f"a '{name}' entry", dict(item), f"{where}.{name}")
            try:
                fields[name] = check(item[name])
            except InvalidValue as exc:
                raise InvalidValue(exc.expected, exc.got, f"{where}.{name}") from None
        if fields["start"] == fields["end"]:
            raise InvalidValue("end different from start", item["end"], f"{where}.end")
        windows.append(ResetWindow(**fields))
    return tuple(windows)


KEY_CHECKERS: dict[str, Callable[[Any], Any]] = {
    "ib_ipaddress": ip_or_hostname,
    "ib_port": int_between(1, 65535, "a TCP port"),
    "ib_idoffset": int_between(0, MAX_CLIENT_ID, "an integer"),
    "broker_account": any_string,
    "ib_readonly": boolean,
    "ib_connect_timeout": positive_number,
    "ib_request_timeout": positive_number,
    "ib_gateway": gateway_mode,
    "ib_reconnect": reconnect_partial,
    "ib_reset_windows": reset_windows,
    "ib_pacing_scale": optional_scale,
    "ib_pacing_shared": boolean,
    "ib_pacing_profile": pacing_profile,
    "ib_market_data_lines": optional_line_budget,
    "mongo_host": mongo_host,
    "mongo_db": mongo_db_name,
    "mongo_port": int_between(1, 65535, "a TCP port"),
    "mongo_options": mongo_options,
    "client_id_lease_seconds": positive_number,
    "client_id_heartbeat_seconds": positive_number,
    "data_folder": non_empty_string,
    "sqlite_path": non_empty_string,
    "price_store": price_store_url,
    "log_level": log_level,
    "log_format": log_format,
    "ops_http_host": ip_or_hostname,
    "ops_http_port": optional_port,
    "stream_stale_seconds": positive_number,
    "ib_market_data_type": market_data_type,
    "stream_first_data_seconds": positive_number,
    # the market-data service (sysproduction/market_data_service.py, docs/market_data_service.md)
    "market_data_service_host": ip_or_hostname,
    "market_data_service_port": int_between(0, 65535, "a TCP port (0 = any free port)"),
    "market_data_service_token": optional_string,
    "market_data_service_queue": int_between(1, 100_000, "an integer"),
    "market_data_service_slow_reader_policy": slow_reader_policy,
    "market_data_service_max_history_days": positive_number,
}
