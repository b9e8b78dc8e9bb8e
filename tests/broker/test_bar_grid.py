"""Bar boundaries: where pages end, where the next older page ends, which bars are complete."""

from __future__ import annotations

import datetime as dt

import pytest

from sysbrokers.IB.bar_grid import BarGrid

UTC = dt.UTC


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_hourly_boundaries_follow_the_clock():
    grid = BarGrid.for_bar(3600, "America/Chicago")
    assert grid.floor(t("2025-03-04 15:17:23")) == t("2025-03-04 15:00")
    assert grid.ceil(t("2025-03-04 15:17:23")) == t("2025-03-04 16:00")
    assert grid.ceil(t("2025-03-04 15:00")) == t("2025-03-04 15:00")
    # The live edge settles a few seconds first: at 15:00:02 the 14:00 bar may not be final.
    assert grid.page_end(t("2025-03-04 15:00:02"), live=True) == t("2025-03-04 14:00")
    assert grid.page_end(t("2025-03-04 15:00:02"), live=False) == t("2025-03-04 15:00")


def test_multi_hour_bars_align_in_the_exchange_zone_across_dst():
    grid = BarGrid.for_bar(4 * 3600, "America/Chicago")
    # CST (UTC-6): local 12:00 = 18:00 UTC; CDT (UTC-5) after 9 March 2025: local 12:00 = 17:00 UTC.
    assert grid.floor(t("2025-03-04 19:30")) == t("2025-03-04 18:00")
    assert grid.floor(t("2025-03-11 19:30")) == t("2025-03-11 17:00")


def test_next_page_end_covers_the_bar_the_newer_page_left_out():
    hourly = BarGrid.for_bar(3600, "Europe/Berlin")
    assert hourly.next_page_end(t("2025-02-01 15:17:23")) == t("2025-02-01 16:00")
    assert hourly.next_page_end(t("2025-02-01 15:00")) == t("2025-02-01 15:00")  # aligned: no overlap
    daily = BarGrid.for_bar(86400)
    # A CME session that opened the evening before belongs to the next trade date: a day more.
    assert daily.next_page_end(t("2015-03-04 00:00")) == t("2015-03-05 00:00")
    assert daily.next_page_end(t("2015-03-04 09:00")) == t("2015-03-06 00:00")


def test_complete_bars():
    hourly = BarGrid.for_bar(3600, "America/Chicago")
    end = t("2025-03-04 15:00")
    assert hourly.is_complete(t("2025-03-04 14:00"), end)
    assert hourly.is_complete(t("2025-03-04 14:30"), end)  # a session's first bar, opening at :30
    assert not hourly.is_complete(t("2025-03-04 15:00"), end)
    daily = BarGrid.for_bar(86400)
    assert daily.is_complete(t("2025-03-03 00:00"), t("2025-03-04 00:00"))
    assert not daily.is_complete(t("2025-03-04 00:00"), t("2025-03-04 15:17"))


@pytest.mark.parametrize("seconds", [0, 7, 86400 * 7])
def test_bar_sizes_without_a_grid_are_refused(seconds):
    with pytest.raises(ValueError, match="no bar grid"):
        BarGrid.for_bar(seconds)
