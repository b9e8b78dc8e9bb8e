"""Contract resolution: IB's expiry formats, trading hours, choosing one contract, caching."""

from __future__ import annotations

import datetime as dt

import pytest

from sysbrokers.IB.contract_resolution import normalise_expiry, parse_trading_hours

UTC = dt.UTC


@pytest.mark.parametrize(
    "text, time_text, zone, expected_date, expected_instant",
    [
        ("20250620", "", "America/Chicago", dt.date(2025, 6, 20), None),
        ("20250620 08:30 US/Central", "", "UTC", dt.date(2025, 6, 20), dt.datetime(2025, 6, 20, 13, 30, tzinfo=UTC)),
        (
            "20260225 19:30:00 Europe/Zurich",
            "",
            "UTC",
            dt.date(2026, 2, 25),
            dt.datetime(2026, 2, 25, 18, 30, tzinfo=UTC),
        ),
        (
            "20240430-17:10:00",
            "",
            "America/Chicago",
            dt.date(2024, 4, 30),
            dt.datetime(2024, 4, 30, 17, 10, tzinfo=UTC),
        ),
        # ib_async splits "20250620 08:30 US/Central" into its parts
        ("20250620", "08:30", "America/Chicago", dt.date(2025, 6, 20), dt.datetime(2025, 6, 20, 13, 30, tzinfo=UTC)),
        ("20251219", "08:30", "America/Chicago", dt.date(2025, 12, 19), dt.datetime(2025, 12, 19, 14, 30, tzinfo=UTC)),
    ],
)
def test_every_ib_expiry_format(text, time_text, zone, expected_date, expected_instant):
    assert normalise_expiry(text, time_text, zone) == (expected_date, expected_instant)


@pytest.mark.parametrize("bad", ["", "2025-06-20", "June 2025", "202506"])
def test_unreadable_expiry_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="YYYYMMDD"):
        normalise_expiry(bad)


def test_expiry_in_an_unknown_zone_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        normalise_expiry("20250620 08:30 Mars/Olympus")


def test_trading_hours_are_utc_and_dst_correct():
    text = "20250307:1700-20250308:1600;20250308:CLOSED;20250309:1700-20250310:1600"
    hours = parse_trading_hours(text, "America/Chicago")
    # CST (UTC-6) before the US clock change on 9 March, CDT (UTC-5) after it.
    assert hours == [
        (dt.datetime(2025, 3, 7, 23, 0, tzinfo=UTC), dt.datetime(2025, 3, 8, 22, 0, tzinfo=UTC)),
        (dt.datetime(2025, 3, 9, 22, 0, tzinfo=UTC), dt.datetime(2025, 3, 10, 21, 0, tzinfo=UTC)),
    ]
    with pytest.raises(ValueError, match="unreadable"):
        parse_trading_hours("20250307:17-junk", "America/Chicago")


def test_contract_details_are_cached_per_process(conn, sim):
    from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
    from sysobjects.contracts import futuresContract

    data = ibFuturesContractData(conn)
    session = sim.sessions[conn.client_id()]
    conn.now()  # measures the gateway's clock once (reqCurrentTime)
    data.get_actual_expiry_date_for_single_contract(futuresContract("SP500", "202506"))
    after_first = session.messages_in
    for _ in range(5):
        data.get_min_tick_size_for_contract(futuresContract("SP500", "202506"))
        data.get_actual_expiry_date_for_single_contract(futuresContract("SP500", "20250620"))
    assert session.messages_in == after_first  # no further request reached the gateway


def test_a_request_after_a_restart_nobody_noticed_reconnects_and_succeeds(conn, sim):
    from sysbrokers.IB.ib_futures_contracts_data import ibFuturesContractData
    from sysobjects.contracts import futuresContract

    data = ibFuturesContractData(conn)
    assert data.get_min_tick_size_for_contract(futuresContract("SP500", "202506")) == 0.25
    # The gateway restarts while this process runs no event loop at all: the socket is dead but
    # nothing has noticed yet. The next (uncached) request must reconnect and still answer.
    sim.faults.daily_restart(down_seconds=0.3, wait=True)
    reconnects = conn.get_stats()["reconnects"]
    assert data.get_min_tick_size_for_contract(futuresContract("US10", "202506")) == 0.015625
    assert conn.get_stats()["reconnects"] == reconnects + 1
