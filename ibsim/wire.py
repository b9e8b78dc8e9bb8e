"""TWS API framing, field encoding and date/time formats (server side of the socket).

    reader = FrameReader(); messages = reader.feed(data)    # handshake, then field lists
    writer.write(encode_frame([49, 1, 1741100400]))

Wire facts (docs: tws-protocol.md sections 2-3): after the raw 4-byte prefix ``API\\0`` every
message in both directions is a 4-byte big-endian length followed by NUL-terminated text
fields. Numbers are decimal text; IB marks "unset" with sentinels or empty fields.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from numbers import Integral, Real
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HANDSHAKE_PREFIX = b"API\0"
MAX_MSG_LEN = 0xFFFFFF
SIM_MAX_VERSION = 178
SIM_MIN_VERSION = 166  # message layouts are implemented from 166 (error with advancedOrderRejectJson) on

UNSET_INTEGER = 2**31 - 1
UNSET_LONG = 2**63 - 1
UNSET_DOUBLE = sys.float_info.max
# Java's Double.toString(Double.MAX_VALUE): what TWS itself sends for an unset double.
UNSET_DOUBLE_STR = "1.7976931348623157E308"
INFINITY_STR = "Infinity"

_UNSET_INT_TEXTS = frozenset({"2147483647", "9223372036854775807", "-9223372036854775808"})
_UNSET_FLOAT_TEXTS = frozenset({"1.7976931348623157E308", "1.7976931348623157e+308", "1.7976931348623157e308"})
_INF_TEXTS = frozenset({"Infinity", "Infinite", "inf", "+Infinity"})
_TRUE_TEXTS = frozenset({"1", "true", "True", "TRUE"})
_FALSE_TEXTS = frozenset({"0", "false", "False", "FALSE"})


class ProtocolError(Exception):
    """Malformed input from a client: bad framing, bad field value or missing fields."""


# --------------------------------------------------------------------------------------
# Field formatting and framing
# --------------------------------------------------------------------------------------


def escape_non_ascii(text: str) -> str:
    """Escape non-ASCII characters as ``\\uXXXX`` the way TWS does since server 153."""
    out = []
    for ch in text:
        code = ord(ch)
        if code < 128:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def format_float(value: float) -> str:
    """Shortest round-trip text of a float; positional notation, IB's unset/infinity words."""
    s = float.__repr__(value)
    # Fast path: plain digits. 'e' flags an exponent, 'n' flags inf/nan.
    if "e" not in s and "n" not in s:
        return s
    if math.isnan(value):
        return ""
    if value == math.inf:
        return INFINITY_STR
    if value == -math.inf:
        return "-" + INFINITY_STR
    if value == UNSET_DOUBLE:
        return UNSET_DOUBLE_STR
    return format(Decimal(s), "f")


def format_field(value: object) -> str:
    """Text of one field: None -> "", bool -> 1/0, float -> format_float, str ASCII-escaped."""
    t = type(value)
    if t is str:
        return value if value.isascii() else escape_non_ascii(value)  # type: ignore[union-attr]
    if t is int:
        return int.__repr__(value)  # type: ignore[arg-type]
    if t is float:
        return format_float(value)  # type: ignore[arg-type]
    if value is None:
        return ""
    if t is bool:
        return "1" if value else "0"
    return _format_other(value)


def _format_other(value: object) -> str:
    # numpy scalars, Decimal, enums and other rarely used types
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):
        return "1" if value else "0"
    if isinstance(value, Integral):
        return int.__repr__(int(value))
    if isinstance(value, Decimal):
        if value.is_nan():
            return ""
        if value.is_infinite():
            return INFINITY_STR if value > 0 else "-" + INFINITY_STR
        return format(value, "f")
    if isinstance(value, Real):
        return format_float(float(value))
    if isinstance(value, str):
        return format_field(str(value))
    return format_field(str(value))


def _payload(fields: Sequence[object]) -> bytes:
    try:
        # Fast path for messages whose fields are all text already (historical bars).
        text = "\0".join(fields)  # type: ignore[arg-type]
    except TypeError:
        text = "\0".join([format_field(f) for f in fields])
    else:
        if not text.isascii():
            text = "\0".join([format_field(f) for f in fields])
    return (text + "\0").encode("ascii")


def encode_frame(fields: Sequence[object]) -> bytes:
    """One length-prefixed message: 4-byte big-endian length + NUL-terminated fields."""
    payload = _payload(fields)
    n = len(payload)
    if n > MAX_MSG_LEN:
        raise ProtocolError(f"message of {n} bytes exceeds the {MAX_MSG_LEN}-byte maximum")
    return n.to_bytes(4, "big") + payload


def encode_frames(messages: Iterable[Sequence[object]]) -> bytes:
    """Several messages concatenated, ready for one socket write."""
    return b"".join([encode_frame(m) for m in messages])


# --------------------------------------------------------------------------------------
# Incoming frames
# --------------------------------------------------------------------------------------

_VERSION_RE = re.compile(r"^v(\d+)(?:\.\.(\d+))?(?: (.*))?$", re.DOTALL)


def parse_version_range(text: str) -> tuple[int, int, str]:
    """Parse the client's ``v157..178[ options]`` string into (min, max, options)."""
    m = _VERSION_RE.match(text)
    if not m:
        raise ProtocolError(f"handshake: unparsable client version string {text!r}")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else lo
    if hi < lo:
        raise ProtocolError(f"handshake: version range {text!r} has max < min")
    return lo, hi, (m.group(3) or "").strip()


def negotiate(client_min: int, client_max: int) -> int:
    """Server version to announce: min(client_max, SIM_MAX_VERSION), like a real TWS."""
    if client_min > SIM_MAX_VERSION:
        raise ProtocolError(
            f"handshake: client needs server version >= {client_min}, simulator supports at most {SIM_MAX_VERSION}"
        )
    chosen = min(client_max, SIM_MAX_VERSION)
    if chosen < SIM_MIN_VERSION:
        raise ProtocolError(
            f"handshake: client max version {client_max} is below the simulator's minimum {SIM_MIN_VERSION}"
        )
    return chosen


class FrameReader:
    """Incremental parser of the client→server byte stream.

    ``feed`` returns every complete message as a list of text fields (message id first).
    With ``expect_handshake`` the stream must start with ``API\\0`` and one length-prefixed
    version string, which is exposed as ``handshake`` and not returned as a message.
    """

    def __init__(self, expect_handshake: bool = True) -> None:
        self._buf = bytearray()
        self._need_prefix = expect_handshake
        self._need_version = expect_handshake
        self.handshake: tuple[int, int, str] | None = None

    def feed(self, data: bytes) -> list[list[str]]:
        buf = self._buf
        buf += data
        if self._need_prefix:
            if len(buf) < len(HANDSHAKE_PREFIX):
                if not HANDSHAKE_PREFIX.startswith(bytes(buf)):
                    raise ProtocolError(f"handshake: bad prefix {bytes(buf)!r}, expected b'API\\x00'")
                return []
            if buf[:4] != HANDSHAKE_PREFIX:
                raise ProtocolError(f"handshake: bad prefix {bytes(buf[:4])!r}, expected b'API\\x00'")
            del buf[:4]
            self._need_prefix = False

        messages: list[list[str]] = []
        pos = 0
        end = len(buf)
        while end - pos >= 4:
            n = int.from_bytes(buf[pos : pos + 4], "big")
            if n == 0 or n > MAX_MSG_LEN:
                raise ProtocolError(f"bad message length {n} (must be 1..{MAX_MSG_LEN})")
            if end - pos - 4 < n:
                break
            payload = bytes(buf[pos + 4 : pos + 4 + n])
            pos += 4 + n
            text = payload.decode("utf-8", errors="backslashreplace")
            if self._need_version:
                self.handshake = parse_version_range(text)
                self._need_version = False
                continue
            fields = text.split("\0")
            if fields[-1] == "":
                fields.pop()
            messages.append(fields)
        if pos:
            del buf[:pos]
        return messages

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._buf)


# --------------------------------------------------------------------------------------
# Sequential typed field reader
# --------------------------------------------------------------------------------------


class FieldReader:
    """Reads the fields of one message in order, converting IB's text encodings.

    Every accessor takes the field's name, used in the ProtocolError raised on a bad value
    or when the message has no fields left.
    """

    __slots__ = ("context", "fields", "pos")

    def __init__(self, fields: Sequence[str], context: str = "message", start: int = 0):
        self.fields = fields
        self.pos = start
        self.context = context

    def _next(self, name: str) -> str:
        pos = self.pos
        if pos >= len(self.fields):
            raise ProtocolError(
                f"{self.context}: missing field '{name}' (message ends after {len(self.fields)} fields)"
            )
        self.pos = pos + 1
        return self.fields[pos]

    def _bad(self, name: str, text: str, what: str) -> ProtocolError:
        return ProtocolError(f"{self.context}: field '{name}' = {text!r} is not {what}")

    def str(self, name: str = "?") -> str:
        return self._next(name)

    def int(self, name: str = "?", default: int = 0) -> int:
        """Integer; empty or an unset sentinel gives ``default``."""
        text = self._next(name)
        if text == "" or text in _UNSET_INT_TEXTS:
            return default
        try:
            return int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                raise self._bad(name, text, "an integer") from None
            if f.is_integer():
                return int(f)
            raise self._bad(name, text, "an integer") from None

    def opt_int(self, name: str = "?") -> int | None:
        """Integer, or None when empty or an unset sentinel."""
        text = self.fields[self.pos] if self.pos < len(self.fields) else None
        if text == "" or text in _UNSET_INT_TEXTS:
            self.pos += 1
            return None
        return self.int(name)

    def float(self, name: str = "?", default: float = 0.0) -> float:
        """Float; empty or unset gives ``default``; Infinity/Infinite gives inf."""
        v = self.opt_float(name)
        return default if v is None else v

    def opt_float(self, name: str = "?") -> float | None:
        """Float, or None when empty or the unset double."""
        text = self._next(name)
        if text == "" or text in _UNSET_FLOAT_TEXTS:
            return None
        if text in _INF_TEXTS:
            return math.inf
        if text in ("-Infinity", "-Infinite"):
            return -math.inf
        try:
            v = float(text)
        except ValueError:
            raise self._bad(name, text, "a number") from None
        if math.isnan(v):
            raise self._bad(name, text, "a number")
        if v >= UNSET_DOUBLE:
            return None
        return v

    def bool(self, name: str = "?", default: bool = False) -> bool:
        text = self._next(name)
        if text == "":
            return default
        if text in _TRUE_TEXTS:
            return True
        if text in _FALSE_TEXTS:
            return False
        raise self._bad(name, text, "a boolean (1/0/true/false)")

    def decimal_qty(self, name: str = "?") -> float:
        """Quantity sent as decimal text; empty or unset gives 0.0."""
        text = self._next(name)
        if text == "" or text in _UNSET_INT_TEXTS or text in _UNSET_FLOAT_TEXTS:
            return 0.0
        try:
            v = float(text)
        except ValueError:
            raise self._bad(name, text, "a number") from None
        if not math.isfinite(v):
            raise self._bad(name, text, "a finite quantity")
        return v

    def skip(self, n: int = 1, name: str = "?") -> None:
        for _ in range(n):
            self._next(name)

    def remaining(self) -> list[str]:
        return list(self.fields[self.pos :])

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.fields)

    def expect_end(self) -> None:
        if self.pos < len(self.fields):
            extra = self.fields[self.pos :]
            raise ProtocolError(f"{self.context}: {len(extra)} unexpected trailing field(s) {extra!r}")


# --------------------------------------------------------------------------------------
# Dates and times
# --------------------------------------------------------------------------------------

# Display names TWS may use that are not IANA keys.
_ZONE_ALIASES = {
    "Greenwich Mean Time": "UTC",
    "Coordinated Universal Time": "UTC",
    "Z": "UTC",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Central European Time": "Europe/Berlin",
    "China Standard Time": "Asia/Shanghai",
    "Hong Kong Time": "Asia/Hong_Kong",
    "Japan Standard Time": "Asia/Tokyo",
}


@lru_cache(maxsize=256)
def zone(name: str) -> dt.tzinfo:
    """tzinfo for an IANA name, an IB zone name (US/Central, MET) or a TWS display name."""
    key = _ZONE_ALIASES.get(name, name)
    if key in ("UTC", "GMT"):
        return dt.UTC
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProtocolError(f"unknown time zone {name!r}") from None


def _to_utc(t: dt.datetime) -> dt.datetime:
    if t.tzinfo is None:
        raise ValueError("naive datetime; the simulator works with aware UTC datetimes")
    return t.astimezone(dt.UTC)


def format_ib_datetime(t: dt.datetime, tz_name: str) -> str:
    """``yyyyMMdd HH:mm:ss <tz_name>`` in that zone (bar dates, execution times)."""
    local = _to_utc(t).astimezone(zone(tz_name))
    return f"{local:%Y%m%d %H:%M:%S} {tz_name}"


def format_conn_time(t: dt.datetime, zone_label: str = "Greenwich Mean Time") -> str:
    """Handshake connection time, e.g. ``20240324 21:18:59 Greenwich Mean Time``."""
    return format_ib_datetime(t, zone_label)


# Java's standard long display names, which TWS writes after the handshake's connection time
# ("20240324 21:18:59 Greenwich Mean Time" from a real IB Gateway logged in with London time).
_JAVA_ZONE_NAMES = {
    "UTC": "Coordinated Universal Time",
    "Etc/UTC": "Coordinated Universal Time",
    "GMT": "Greenwich Mean Time",
    "Etc/GMT": "Greenwich Mean Time",
    "Europe/London": "Greenwich Mean Time",
    "America/New_York": "Eastern Standard Time",
    "US/Eastern": "Eastern Standard Time",
    "America/Chicago": "Central Standard Time",
    "US/Central": "Central Standard Time",
    "America/Los_Angeles": "Pacific Standard Time",
    "US/Pacific": "Pacific Standard Time",
    "Europe/Berlin": "Central European Time",
    "Europe/Zurich": "Central European Time",
    "Europe/Paris": "Central European Time",
    "Europe/Amsterdam": "Central European Time",
    "MET": "Middle Europe Time",
    "CET": "Central European Time",
    "Asia/Hong_Kong": "Hong Kong Time",
    "Asia/Tokyo": "Japan Standard Time",
    "Asia/Shanghai": "China Standard Time",
    "Australia/Sydney": "Australian Eastern Standard Time",
}


def zone_display_name(tz_name: str, at: dt.datetime) -> str:
    """The zone label TWS writes after the connection time (Java's long standard name; the
    zone's abbreviation where no name is known)."""
    known = _JAVA_ZONE_NAMES.get(tz_name)
    if known is not None:
        return known
    return _to_utc(at).astimezone(zone(tz_name)).tzname() or tz_name


def connection_time(t: dt.datetime, tz_name: str) -> str:
    """The handshake's connection time in the zone TWS is logged in with, e.g.
    ``20240324 21:18:59 Greenwich Mean Time``."""
    local = _to_utc(t).astimezone(zone(tz_name))
    return f"{local:%Y%m%d %H:%M:%S} {zone_display_name(tz_name, t)}"


def format_ib_date(d: dt.date) -> str:
    """``yyyyMMdd`` (daily bars, contract months with day)."""
    return f"{d:%Y%m%d}"


def format_ib_utc(t: dt.datetime) -> str:
    """``yyyyMMdd-HH:mm:ss`` in UTC (head timestamp, UTC-format API setting)."""
    return f"{_to_utc(t):%Y%m%d-%H:%M:%S}"


def format_bar_dates(epochs: Sequence[int], tz_name: str, format_date: int = 1) -> list[str]:
    """Dates of intraday bars as historicalData sends them, fast for long series.

    format_date 2 gives epoch seconds; 1 gives ``yyyyMMdd HH:mm:ss <tz_name>``.
    The zone offset is looked up once per hour of data, the date text once per day.
    """
    if format_date == 2:
        return [str(int(e)) for e in epochs]
    tz = zone(tz_name)
    suffix = " " + tz_name
    offsets: dict[int, int] = {}
    day_text: dict[int, str] = {}
    epoch0 = dt.datetime(1970, 1, 1)
    out = []
    for e in epochs:
        e = int(e)
        hour = e // 3600
        off = offsets.get(hour)
        if off is None:
            u = dt.datetime.fromtimestamp(hour * 3600, dt.UTC)
            off = int(u.astimezone(tz).utcoffset().total_seconds())  # type: ignore[union-attr]
            offsets[hour] = off
        local = e + off
        day, sod = divmod(local, 86400)
        d = day_text.get(day)
        if d is None:
            d = f"{epoch0 + dt.timedelta(days=day):%Y%m%d}"
            day_text[day] = d
        h, rem = divmod(sod, 3600)
        mi, s = divmod(rem, 60)
        out.append(f"{d} {h:02d}:{mi:02d}:{s:02d}{suffix}")
    return out


_REQ_TIME_RE = re.compile(r"^\s*(\d{8})(?:(-|\s+)(\d{1,2}):(\d{2})(?::(\d{2}))?)?(?:\s+(\S.*?))?\s*$")


def parse_ib_datetime(text: str, default_tz: str = "UTC") -> tuple[dt.datetime | None, bool]:
    """Client request date/time to ``(aware UTC datetime or None, has_zone)``.

    Accepts ``yyyyMMdd HH:mm:ss <TZ>`` (IANA or IB zone names), ``yyyyMMdd-HH:mm:ss`` (UTC),
    ``yyyyMMdd HH:mm:ss`` and ``yyyyMMdd`` (midnight); the last two are read in ``default_tz``
    and give ``has_zone=False``, the cue for warning 2174. "" gives ``(None, True)``.
    """
    if text.strip() == "":
        return None, True
    m = _REQ_TIME_RE.match(text)
    if not m:
        raise ProtocolError(f"unparsable date/time {text!r}")
    date_s, sep, hh, mm, ss, zone_name = m.groups()
    try:
        day = dt.datetime.strptime(date_s, "%Y%m%d")
        t = day.replace(hour=int(hh or 0), minute=int(mm or 0), second=int(ss or 0))
    except ValueError:
        raise ProtocolError(f"invalid date/time {text!r}") from None
    has_zone = True
    if zone_name:
        tz = zone(zone_name)
    elif sep == "-":
        tz = dt.UTC
    else:
        tz = zone(default_tz)
        has_zone = False
    # fold=0: an ambiguous wall time resolves to its first occurrence
    return t.replace(tzinfo=tz).astimezone(dt.UTC), has_zone


def needs_zone_warning(text: str) -> bool:
    """True for a request time without a zone: TWS answers warning 2174."""
    try:
        return not parse_ib_datetime(text)[1]
    except ProtocolError:
        return False
