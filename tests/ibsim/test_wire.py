"""Framing, field encoding, typed field reading and date/time formats."""

from __future__ import annotations

import datetime as dt
import math
import struct
import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from ib_async.util import parseIBDatetime

from ibsim import messages as m
from ibsim.wire import (
    HANDSHAKE_PREFIX,
    MAX_MSG_LEN,
    SIM_MAX_VERSION,
    UNSET_DOUBLE,
    FieldReader,
    FrameReader,
    ProtocolError,
    encode_frame,
    encode_frames,
    format_bar_dates,
    format_conn_time,
    format_field,
    format_ib_date,
    format_ib_datetime,
    format_ib_utc,
    needs_zone_warning,
    negotiate,
    parse_ib_datetime,
    parse_version_range,
)

UTC = dt.UTC


def frame(*fields: str) -> bytes:
    payload = "".join(f + "\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


# ======================================================================================
# Encoding
# ======================================================================================


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "1"),
        (False, "0"),
        (0, "0"),
        (-17, "-17"),
        (2147483647, "2147483647"),
        (5012.25, "5012.25"),
        (1.0, "1.0"),
        (0.1, "0.1"),
        (1e-05, "0.00001"),
        (1e20, "100000000000000000000"),
        (float("nan"), ""),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (UNSET_DOUBLE, "1.7976931348623157E308"),
        ("ESZ5", "ESZ5"),
        ("caf\u00e9 \u20ac", "caf\\u00e9 \\u20ac"),
        (np.float64(2.5), "2.5"),
        (np.int64(7), "7"),
        (np.True_, "1"),
        (Decimal("1.50"), "1.50"),
        (m.Out.TICK_PRICE, "1"),
    ],
)
def test_format_field(value: object, text: str) -> None:
    assert format_field(value) == text


def test_float_text_round_trips() -> None:
    rng = np.random.default_rng(1)
    for v in rng.uniform(-1e6, 1e6, 500).tolist() + [0.25 * k for k in range(-50, 50)]:
        s = format_field(v)
        assert "e" not in s and float(s) == v


def test_encode_frame_layout() -> None:
    data = encode_frame([1, 6, 5, 1, 5012.25, 3, 0])
    assert data == frame("1", "6", "5", "1", "5012.25", "3", "0")
    assert encode_frames([[49, 1, 7], [62, 1]]) == frame("49", "1", "7") + frame("62", "1")


def test_encode_frame_escapes_non_ascii() -> None:
    data = encode_frame([4, 2, -1, 2104, "f\u00fcr"])
    assert data.decode("ascii").endswith("f\\u00fcr\0")
    # the client's unicode-escape decoding restores the text
    assert b"f\\u00fcr".decode("unicode-escape") == "f\u00fcr"


def test_encode_frame_rejects_oversized_message() -> None:
    with pytest.raises(ProtocolError, match="exceeds"):
        encode_frame(["x" * MAX_MSG_LEN])


# ======================================================================================
# FrameReader
# ======================================================================================


def client_stream() -> bytes:
    return (
        HANDSHAKE_PREFIX
        + struct.pack(">I", 9)
        + b"v157..178"
        + frame("71", "2", "7", "")
        + frame("61", "1")
        + frame(
            "9",
            "8",
            "-10",
            "0",
            "ES",
            "FUT",
            "",
            "0.0",
            "",
            "",
            "CME",
            "",
            "USD",
            "",
            "",
            "0",
            "",
            "",
            "",
        )
    )


EXPECTED = [
    ["71", "2", "7", ""],
    ["61", "1"],
    [
        "9",
        "8",
        "-10",
        "0",
        "ES",
        "FUT",
        "",
        "0.0",
        "",
        "",
        "CME",
        "",
        "USD",
        "",
        "",
        "0",
        "",
        "",
        "",
    ],
]


def test_frames_whole_and_byte_by_byte_decode_identically() -> None:
    whole = FrameReader()
    assert whole.feed(client_stream()) == EXPECTED
    assert whole.handshake == (157, 178, "")
    split = FrameReader()
    got: list[list[str]] = []
    for b in client_stream():
        got += split.feed(bytes([b]))
    assert got == EXPECTED and split.handshake == (157, 178, "") and split.buffered == 0


def test_partial_frame_waits_for_rest() -> None:
    r = FrameReader(expect_handshake=False)
    data = frame("49", "1") + frame("62", "1")
    assert r.feed(data[:-3]) == [["49", "1"]]
    assert r.buffered == len(frame("62", "1")) - 3
    assert r.feed(data[-3:]) == [["62", "1"]]


def test_handshake_options() -> None:
    r = FrameReader()
    r.feed(HANDSHAKE_PREFIX + struct.pack(">I", 18) + b"v100..226 +PACEAPI")
    assert r.handshake == (100, 226, "+PACEAPI")
    assert parse_version_range("v176") == (176, 176, "")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GET / HTTP/1.1\r\n", "bad prefix"),
        (b"X", "bad prefix"),
        (HANDSHAKE_PREFIX + b"\0\0\0\0", "bad message length 0"),
        (
            HANDSHAKE_PREFIX + struct.pack(">I", MAX_MSG_LEN + 1),
            "bad message length 16777216",
        ),
        (
            HANDSHAKE_PREFIX + struct.pack(">I", 5) + b"hello",
            "unparsable client version",
        ),
        (HANDSHAKE_PREFIX + struct.pack(">I", 8) + b"v178..10", "max < min"),
    ],
)
def test_bad_input_raises(data: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        FrameReader().feed(data)


def test_negotiate() -> None:
    assert negotiate(157, 178) == 178  # ib_async
    assert negotiate(157, 176) == 176  # ib_insync
    assert negotiate(100, 226) == SIM_MAX_VERSION  # official ibapi 10.x
    with pytest.raises(ProtocolError, match="at most 178"):
        negotiate(179, 200)
    with pytest.raises(ProtocolError, match="below"):
        negotiate(38, 99)


# ======================================================================================
# FieldReader
# ======================================================================================


def test_field_reader_types_and_unset_encodings() -> None:
    r = FieldReader(
        [
            "12", "", "2147483647", "9223372036854775807", "3.0",
            "1.5", "", "1.7976931348623157E308", "1.7976931348623157e+308", "Infinity", "Infinite",
            "1", "0", "true", "false", "",
            "2", "", "x",
        ],
        "test",
    )  # fmt: skip
    assert [r.int("a"), r.int("b", 5), r.opt_int("c"), r.opt_int("d"), r.int("e")] == [
        12,
        5,
        None,
        None,
        3,
    ]
    assert r.float("f") == 1.5 and r.float("g", -1.0) == -1.0
    assert r.opt_float("h") is None and r.opt_float("i") is None
    assert r.float("j") == math.inf and r.float("k") == math.inf
    assert [r.bool("l"), r.bool("m"), r.bool("n"), r.bool("o"), r.bool("p", True)] == [
        True,
        False,
        True,
        False,
        True,
    ]
    assert r.decimal_qty("q") == 2.0 and r.decimal_qty("r") == 0.0
    assert not r.at_end and r.remaining() == ["x"]
    r.skip(1)
    assert r.at_end
    r.expect_end()


@pytest.mark.parametrize(
    ("method", "text", "message"),
    [
        ("int", "abc", "test: field 'f' = 'abc' is not an integer"),
        ("int", "1.5", "is not an integer"),
        ("float", "abc", "test: field 'f' = 'abc' is not a number"),
        ("float", "nan", "is not a number"),
        ("bool", "yes", "is not a boolean"),
        ("decimal_qty", "abc", "is not a number"),
        ("decimal_qty", "Infinity", "is not a finite quantity"),
    ],
)
def test_field_reader_bad_values(method: str, text: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        getattr(FieldReader([text], "test"), method)("f")


def test_field_reader_missing_and_trailing() -> None:
    r = FieldReader(["1"], "reqIds")
    r.int("version")
    with pytest.raises(ProtocolError, match="reqIds: missing field 'numIds'"):
        r.int("numIds")
    with pytest.raises(ProtocolError, match="trailing"):
        FieldReader(["1", "2"], "x").expect_end()


# ======================================================================================
# Dates and times
# ======================================================================================


def test_datetime_formats() -> None:
    t = dt.datetime(2025, 1, 2, 15, 30, 5, tzinfo=UTC)
    assert format_ib_datetime(t, "US/Central") == "20250102 09:30:05 US/Central"
    assert format_ib_datetime(t, "Europe/Zurich") == "20250102 16:30:05 Europe/Zurich"
    assert format_ib_datetime(t, "MET") == "20250102 16:30:05 MET"
    assert format_conn_time(t) == "20250102 15:30:05 Greenwich Mean Time"
    assert format_ib_date(t.date()) == "20250102"
    assert format_ib_utc(t.astimezone(ZoneInfo("Asia/Tokyo"))) == "20250102-15:30:05"
    with pytest.raises(ValueError, match="naive"):
        format_ib_utc(dt.datetime(2025, 1, 2))
    with pytest.raises(ProtocolError, match="unknown time zone"):
        format_ib_datetime(t, "Mars/Olympus")


def test_bar_dates_match_slow_formatting_across_dst() -> None:
    # 2025-03-09: US DST starts; 2025-03-30: EU DST starts
    start = int(dt.datetime(2025, 3, 8, 0, 0, tzinfo=UTC).timestamp())
    epochs = list(range(start, start + 25 * 86400, 1800))
    for tz in ("US/Central", "Europe/Berlin", "UTC"):
        fast = format_bar_dates(epochs, tz)
        slow = [format_ib_datetime(dt.datetime.fromtimestamp(e, UTC), tz) for e in epochs]
        assert fast == slow
    assert format_bar_dates(np.array(epochs[:2]), "US/Central", 2) == [
        str(epochs[0]),
        str(epochs[1]),
    ]


def test_bar_dates_parse_back_in_ib_async() -> None:
    t = dt.datetime(2025, 3, 10, 14, 31, tzinfo=UTC)
    (s,) = format_bar_dates([int(t.timestamp())], "US/Central")
    assert parseIBDatetime(s) == t


@pytest.mark.parametrize(
    ("text", "expected", "warn"),
    [
        ("", None, False),
        ("20251120 21:00:00 UTC", dt.datetime(2025, 11, 20, 21, tzinfo=UTC), False),
        (
            "20250702 09:30:00 US/Eastern",
            dt.datetime(2025, 7, 2, 13, 30, tzinfo=UTC),
            False,
        ),
        (
            "20250102 09:30:00 America/Chicago",
            dt.datetime(2025, 1, 2, 15, 30, tzinfo=UTC),
            False,
        ),
        ("20251120-21:00:00", dt.datetime(2025, 11, 20, 21, tzinfo=UTC), False),
        (
            "20251120 16:00:00",
            dt.datetime(2025, 11, 20, 21, tzinfo=UTC),
            True,
        ),  # default zone
        ("20230315  09:30:00", dt.datetime(2023, 3, 15, 13, 30, tzinfo=UTC), True),
        ("20251120", dt.datetime(2025, 11, 20, 5, tzinfo=UTC), True),
    ],
)
def test_parse_ib_datetime(text: str, expected: dt.datetime | None, warn: bool) -> None:
    assert parse_ib_datetime(text, "US/Eastern") == (expected, not warn)
    assert needs_zone_warning(text) is warn


@pytest.mark.parametrize("text", ["2025-11-20", "20251320 10:00:00", "20251120 10:00:00 Nowhere/City"])
def test_parse_ib_datetime_rejects_garbage(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_ib_datetime(text, "UTC")


# ======================================================================================
# Throughput of the hot paths
# ======================================================================================


def _best_of(n: int, fn) -> float:  # type: ignore[no-untyped-def]
    best = math.inf
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def test_historical_bars_encode_faster_than_50k_per_second() -> None:
    n = 50_000
    rng = np.random.default_rng(0)
    epochs = (1_735_000_000 + 60 * np.arange(n)).tolist()
    close = (5000 + np.cumsum(rng.integers(-4, 5, n)) * 0.25).tolist()
    volume = rng.integers(1, 500, n).tolist()

    def run() -> bytes:
        dates = format_bar_dates(epochs, "US/Central")
        rows = [(d, c, c + 0.5, c - 0.25, c, v, c, 3) for d, c, v in zip(dates, close, volume, strict=True)]
        return encode_frame(m.historical_data(1, "a", "b", rows))

    assert _best_of(2, run) < 1.0


def test_ticks_encode_faster_than_20k_per_second() -> None:
    prices = (5000 + 0.25 * np.arange(20_000)).tolist()

    def run() -> bytes:
        return encode_frames([m.tick_price(5, 1, p, 3) for p in prices])

    assert _best_of(2, run) < 1.0
