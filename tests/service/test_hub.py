"""The hub on its own (no gateway, no sockets): reference counting, the slow-reader policies, ids
and the replay ring, with a fake upstream the test drives event by event."""

from __future__ import annotations

import asyncio

import pytest

from sysproduction.mds.hub import Hub, TopicKey

KEY = TopicKey("quotes", "contract", "SP500/202506")


class FakeUpstreams:
    """Opened upstreams by key; `push(n)` publishes n events through every open one."""

    def __init__(self) -> None:
        self.opened: list[TopicKey] = []
        self.closed: list[TopicKey] = []
        self.queues: list[asyncio.Queue] = []

    def open(self, key: TopicKey):
        queue: asyncio.Queue = asyncio.Queue()
        self.opened.append(key)
        self.queues.append(queue)

        async def stream():
            try:
                while True:
                    yield await queue.get()
            finally:
                self.closed.append(key)

        return stream()

    async def push(self, *values: int) -> None:
        for _ in range(5):  # let newly opened upstreams start
            await asyncio.sleep(0)
        for value in values:
            for queue in self.queues:
                queue.put_nowait(value)
        for _ in range(5):
            await asyncio.sleep(0)


def encode(value: int) -> tuple[str, dict]:
    return "quote", {"n": value}


def ids(entries) -> list[int]:
    return [e.id for e in entries]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 5))


def test_readers_share_one_upstream_closed_when_the_last_leaves_and_ids_continue():
    async def scenario():
        fake = FakeUpstreams()
        hub = Hub(fake.open, encode, queue_size=10)
        a, b = await hub.join(KEY), await hub.join(KEY)
        await fake.push(1, 2)
        got = ids(await a.take()), ids(await b.take())
        hub.leave(a)
        opened_after_one_left = (len(fake.opened), len(fake.closed))
        hub.leave(b)
        await asyncio.sleep(0.01)
        c = await hub.join(KEY)  # reopened later: ids go on from where they were
        await fake.push(3)
        await asyncio.sleep(0)
        later = ids(await c.take())
        hub.leave(c)
        await hub.close()
        return got, opened_after_one_left, fake, later

    got, opened_after_one_left, fake, later = run(scenario())
    assert got == ([1, 2], [1, 2])
    assert opened_after_one_left == (1, 0)
    assert fake.opened == [KEY, KEY] and fake.closed == [KEY, KEY]
    assert later == [3]


@pytest.mark.parametrize("policy", ["drop_oldest", "disconnect"])
def test_a_full_queue_drops_the_oldest_or_disconnects_without_touching_the_others(policy):
    async def scenario():
        fake = FakeUpstreams()
        hub = Hub(fake.open, encode, queue_size=3, policy=policy)
        slow, fast = await hub.join(KEY), await hub.join(KEY)
        fast_seen = []
        for n in range(1, 8):
            await fake.push(n)
            fast_seen += ids(await fast.take())
        slow_seen = ids(await slow.take())
        return hub, slow, fast_seen, slow_seen

    hub, slow, fast_seen, slow_seen = run(scenario())
    assert fast_seen == [1, 2, 3, 4, 5, 6, 7]
    if policy == "drop_oldest":
        assert slow_seen == [5, 6, 7] and slow.dropped == 4 and hub.stats["dropped"] == 4 and slow.closed is None
    else:
        assert slow_seen == [1, 2, 3] and slow.closed.startswith("too slow") and hub.stats["slow_disconnects"] == 1


def test_last_event_id_replays_what_the_ring_still_holds_then_live():
    async def scenario():
        fake = FakeUpstreams()
        hub = Hub(fake.open, encode, queue_size=100, ring_size=5)
        keeper = await hub.join(KEY)
        await fake.push(*range(1, 9))
        back = await hub.join(KEY, last_event_id=5)
        old = await hub.join(KEY, last_event_id=1)  # older than the ring: what is kept
        await fake.push(9)
        result = ids(await back.take()), ids(await old.take()), ids(await keeper.take())
        await hub.close()
        return result

    back, old, keeper = run(scenario())
    assert back == [6, 7, 8, 9]
    assert old == [4, 5, 6, 7, 8, 9]  # ids 2-3 fell out of the ring: the gap shows it
    assert keeper == list(range(1, 10))


def test_a_failing_upstream_ends_its_readers_with_the_reason():
    async def scenario():
        async def broken(key):
            yield 1
            raise RuntimeError("permission removed")

        hub = Hub(broken, encode)
        reader = await hub.join(KEY)
        await asyncio.sleep(0.01)
        entries = await reader.take()
        return hub, reader, entries

    hub, reader, entries = run(scenario())
    assert [e.event for e in entries] == ["quote", "error"]
    assert b"permission removed" in entries[1].frame
    assert reader.closed.startswith("upstream failed") and not hub.topics
