"""Per-stream statistics: rates, last-update age, gaps (sequence holes and silences), rolls."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from sysbrokers.IB.front_month_stream import stream_contract_bars, stream_contract_quotes
from sysbrokers.IB.stream_stats import StreamStats
from tests.connection import open_conn

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 4, 15, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_rate_age_and_silences_on_a_fake_clock():
    clock = FakeClock()
    stats = StreamStats("quotes X", gap_seconds=2.0, window_seconds=10.0, _clock=clock)
    stats.started_at = dt.datetime.now(UTC) - dt.timedelta(seconds=60)  # running for a minute
    assert stats.last_update_age() is None and stats.updates_per_second() == 0
    for _ in range(20):  # 2 updates a second for 10 s
        stats.record()
        clock.t += 0.5
    assert stats.updates_per_second() == pytest.approx(2.0, abs=0.11)
    assert stats.last_update_age() == pytest.approx(0.5)
    clock.t += 3.0  # a 3.5 s silence
    stats.record()
    assert (stats.silences, stats.gaps) == (1, 1) and stats.max_gap_seconds == pytest.approx(3.5)
    clock.t += 30
    assert stats.updates_per_second() == 0  # nothing in the last 10 s
    assert stats.last_update_age() == pytest.approx(30)
    d = stats.as_dict()
    assert d["updates"] == 21 and d["gaps"] == 1 and d["name"] == "quotes X"


def test_sequence_holes_of_a_periodic_stream():
    clock = FakeClock()
    stats = StreamStats("bars", expected_interval=5, gap_seconds=100, _clock=clock)
    for seconds in (0, 5, 10, 25, 30, 45):  # 15, 20 and 35, 40 missing
        stats.record(T0 + dt.timedelta(seconds=seconds))
        clock.t += 1
    assert (stats.gaps, stats.missing_updates, stats.silences) == (2, 4, 0)
    stats.restart_sequence()  # a roll: the next contract's bars start a new sequence
    stats.record(T0 + dt.timedelta(seconds=100))
    assert stats.missing_updates == 4


def consume(conn, coro, timeout: float = 15.0):
    return conn.run_sync(asyncio.wait_for(coro, timeout))


async def read(stream, count: int, on_item=None) -> list:
    got = []
    async for item in stream:
        got.append((time.monotonic(), item))
        if on_item is not None:
            on_item(got)
        if len(got) >= count:
            break
    return got


def test_quote_stream_stats_follow_what_the_reader_saw(sims, conns, tmp_path):
    sim = sims(start=T0, speed=10)
    conn = open_conn(sim, conns, tmp_path, client_id=21)
    stream = stream_contract_quotes(conn, "ESH5")
    got = consume(conn, read(stream, 30))
    stats = stream.stats
    span = got[-1][0] - got[0][0]
    assert stats.updates >= 30  # every event counted (some may wait in the queue)
    assert stats.updates_per_second() == pytest.approx(stats.updates / max(span, 0.5), rel=0.6)
    assert 0 <= stats.last_update_age() < 1.0
    assert stats.gaps == 0 and stats.rolls == 0 and stats.errors == 0
    consume(conn, stream.aclose())
    conn.sleep(0.3)
    assert stats.last_update_age() >= 0.3  # closed: no more updates
    assert stats.as_dict()["name"] == "quotes SP500/20250300"


def test_bar_stream_counts_the_bars_a_restart_lost(sims, conns, tmp_path):
    sim = sims(start=T0, speed=10)  # a 5-second bar every 0.5 s
    conn = open_conn(sim, conns, tmp_path, client_id=22)
    stream = stream_contract_bars(conn, "ESH5")

    def restart(got: list) -> None:
        if len(got) == 3:
            sim.faults.daily_restart(down_seconds=1.5)  # ~15 simulated seconds: 2 or 3 bars lost

    got = consume(conn, read(stream, 7, restart), timeout=20)
    consume(conn, stream.aclose())
    times = [bar.time for _, bar in got]
    steps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    missing = sum(round(s / 5) - 1 for s in steps)
    assert missing >= 1
    assert stream.stats.missing_updates == missing and stream.stats.gaps == sum(1 for s in steps if s > 5)
    assert stream.stats.resubscriptions == 1
    assert stream.stats.as_dict()["missing_updates"] == missing


class FakeIB:
    def __init__(self, clock) -> None:
        self.clock = clock
        self.asked = 0

    def isConnected(self) -> bool:  # noqa: N802 - ib_async's name
        return True

    async def reqCurrentTimeAsync(self) -> dt.datetime:  # noqa: N802 - ib_async's name
        self.asked += 1
        return self.clock().replace(microsecond=0)  # IB answers in whole seconds


class FakeConn:
    def __init__(self, clock) -> None:
        self.ib = FakeIB(clock)

    async def now_async(self) -> dt.datetime:
        return self.ib.clock()

    def gateway_time_async(self):
        return self.ib.reqCurrentTimeAsync()

    def estimated_now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


def test_gateway_clock_follows_a_simulated_clock_and_uses_ours_for_a_real_gateway():
    from sysbrokers.IB.front_month_stream import GatewayClock

    async def run():
        sim_start = time.monotonic()
        simulated = FakeConn(lambda: T0 + dt.timedelta(seconds=10 * (time.monotonic() - sim_start)))  # speed 10
        clock = GatewayClock(simulated, min_interval=0)
        first = await clock.now()
        await asyncio.sleep(0.3)
        second = await clock.now()
        estimates = [clock.estimate() for _ in range(50)]
        real = FakeConn(lambda: dt.datetime.now(UTC))
        machine = GatewayClock(real, min_interval=10)
        mine = await machine.now()
        again = await machine.now()  # within min_interval: no second request
        modes = (clock._machine, machine._machine)
        return first, second, estimates, mine, again, real.ib.asked, modes

    first, second, estimates, mine, again, asked, modes = asyncio.run(run())
    assert T0 <= first < T0 + dt.timedelta(seconds=1)
    assert dt.timedelta(seconds=2) <= second - first <= dt.timedelta(seconds=5)  # ~3 s of simulated time
    assert estimates == sorted(estimates)  # never backwards
    assert modes == (False, True)  # the simulated clock is extrapolated; an agreeing one is ours
    assert abs((mine - dt.datetime.now(UTC)).total_seconds()) < 0.5
    assert again >= mine and asked == 1


def test_gateway_time_requests_at_the_same_time_share_one_answer(sims, conns, tmp_path):
    # ib_async keeps one 'currentTime' slot: two requests in flight would leave one unanswered.
    sim = sims(start=T0)
    conn = open_conn(sim, conns, tmp_path, client_id=7)

    async def together():
        asks = [conn.gateway_time_async() for _ in range(3)]
        return await asyncio.wait_for(asyncio.gather(*asks), 3)

    answers = conn.run_sync(together())
    assert len(set(answers)) == 1 and T0 <= answers[0] < T0 + dt.timedelta(minutes=1)
    later = conn.run_sync(asyncio.wait_for(conn.gateway_time_async(), 3))  # a new request once answered
    assert later >= answers[0]
