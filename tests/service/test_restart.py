"""Readers stay connected across a gateway restart and the data resumes; a reader that reconnects
with Last-Event-ID gets what it missed from the ring buffer, with no duplicates."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.service.conftest import ES, SSEReader, market_subscriptions, run


def test_readers_stay_connected_across_a_gateway_restart_and_quotes_resume(stack):
    sim, conn, service = stack()

    async def scenario():
        async with aiohttp.ClientSession() as session:
            readers = [await SSEReader(session, f"{service.url}/quotes?contract={ES}").open() for _ in range(2)]
            await asyncio.gather(*(r.events(3, "quote") for r in readers))
            sim.faults.daily_restart(down_seconds=0.6)

            async def through_restart(reader: SSEReader) -> list[dict]:
                """Events until the connection is back and 3 quotes came after that."""
                seen: list[dict] = []
                back_at = None
                while back_at is None or sum(e["event"] == "quote" for e in seen[back_at:]) < 3:
                    event = await reader.event()
                    assert event is not None, "the stream ended"
                    seen.append(event)
                    went_down = any(e["event"] == "status" and e["data"]["state"] != "connected" for e in seen)
                    if went_down and event["event"] == "status" and event["data"]["state"] == "connected":
                        back_at = len(seen)
                return seen

            seen = await asyncio.gather(*(through_restart(r) for r in readers))
            subscribed = market_subscriptions(sim)
            for reader in readers:
                reader.close()
        return readers, seen, subscribed

    readers, seen, subscribed = run(conn, scenario(), timeout=30)
    assert conn.get_stats()["reconnects"] == 1 and subscribed == 1  # resubscribed once, still shared
    for reader, events in zip(readers, seen, strict=True):
        states = [e["data"]["state"] for e in events if e["event"] == "status"]
        assert states[0] != "connected" and states[-1] == "connected"
        last_status = max(i for i, e in enumerate(events) if e["event"] == "status")
        assert any(e["event"] == "quote" for e in events[last_status:])  # data resumed after the restart
        ids = [e["id"] for e in reader.received]
        assert ids == list(range(ids[0], ids[0] + len(ids)))  # one connection, no gap, no duplicate


def test_a_reader_reconnecting_with_last_event_id_gets_the_missed_events_once(stack):
    sim, conn, service = stack()

    async def scenario():
        url = f"{service.url}/quotes?contract={ES}"
        async with aiohttp.ClientSession() as session:
            keeper = await SSEReader(session, url).open()  # keeps the stream (and its ring) alive
            await keeper.events(1)
            first = await SSEReader(session, url).open()
            early = await first.events(5, "quote")
            first.close()
            await asyncio.sleep(0.3)  # events go by while it is away
            last_id = early[-1]["id"]
            again = await SSEReader(session, url, headers={"Last-Event-ID": str(last_id)}).open()
            resumed = await again.events(20)
            again.close()
            keeper.close()
        return early, resumed

    early, resumed = run(conn, scenario())
    ids = [e["id"] for e in resumed]
    assert ids[0] == early[-1]["id"] + 1  # replayed from the ring, starting right after
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # then live, no duplicates, no gap
    assert not {e["id"] for e in early} & set(ids)
