"""The fan-out hub: one upstream stream per topic, shared by any number of readers.

    hub = Hub(opener, encode, queue_size=256, policy="drop_oldest")
    reader = await hub.join(TopicKey("quotes", "contract", "SP500/202506"), last_event_id=None)
    try:
        while not reader.closed:
            for entry in await reader.take():            # [] when woken for a keepalive
                send(entry.frame)                        # SSE bytes, encoded once for all readers
    finally:
        hub.leave(reader)

*Reference counted.* The first reader of a topic opens its upstream (`opener(key)`, an async
iterator that holds one IB subscription); the last reader to leave closes it (`aclose()`), which
cancels the subscription at the gateway. A topic that comes back later continues its event ids.

*Bounded per reader.* Publishing never waits for a reader. An idle reader whose socket keeps up
gets the frame written at once through its `sink` (set by the server; no task switch); otherwise
the entry goes into the reader's queue of `queue_size` entries. When it is full, `drop_oldest` drops the reader's oldest entry and counts it
(the reader sees a gap in the ids); `disconnect` closes the reader with a reason instead. Either
way the other readers and the upstream are not slowed.

*Resumable.* Event ids are monotonic per topic; the last `ring_size` entries are kept, so a reader
that reconnects with `Last-Event-ID` gets what it missed (if still kept) and then live events,
without duplicates.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from sysproduction.mds import sse

log = logging.getLogger(__name__)

POLICIES = ("drop_oldest", "disconnect")
DEFAULT_RING_SIZE = 512
CLOSE_TIMEOUT = 5.0  # bound on closing an upstream (cancelling its subscription)


@dataclass(frozen=True)
class TopicKey:
    """What a topic streams: `kind` quotes or bars, of a `contract` ("SP500/202506") or of an
    `instrument`'s front month ("SP500")."""

    kind: str
    target: str  # "contract" or "instrument"
    name: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Entry:
    """One published event: its id within the topic and its SSE bytes."""

    id: int
    event: str
    frame: bytes


class Reader:
    """One connected reader of a topic: a bounded queue the hub fills and the reader drains."""

    def __init__(self, topic: Topic, queue_size: int, policy: str) -> None:
        self.topic = topic
        self.queue_size = queue_size
        self.policy = policy
        self.dropped = 0
        self.delivered = 0
        self.closed: str | None = None  # the reason, once closed
        self.connected_at = time.time()
        self.on_close: Callable[[], None] | None = None  # the server's hook (abort a blocked socket)
        # The server's direct write: frame -> True if written at once (socket not backed up).
        self.sink: Callable[[bytes], bool] | None = None
        self._queue: collections.deque[Entry] = collections.deque()
        self._waiter: asyncio.Future | None = None  # set while the reader waits in take()

    def offer(self, entry: Entry) -> None:
        """Queue `entry` without ever waiting (the slow-reader policy applies when full)."""
        if self.closed is not None:
            return
        if self._waiter is not None and self.sink is not None and self.sink(entry.frame):
            # Idle reader, socket accepting: written now, no task switch (the common case).
            self.delivered += 1
            return
        if len(self._queue) >= self.queue_size:
            if self.policy == "disconnect":
                self.close(f"too slow: {self.queue_size} events queued (market_data_service_slow_reader_policy)")
                self.topic.hub.stats["slow_disconnects"] += 1
                return
            self._queue.popleft()
            self.dropped += 1
            self.topic.hub.stats["dropped"] += 1
        self._queue.append(entry)
        self._wake()

    def close(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason
            self._wake()
            if self.on_close is not None:
                self.on_close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def take(self) -> list[Entry]:
        """Everything queued, waiting for something if nothing is; [] on close or when the hub's
        keepalive wakes idle readers (`Hub.wake_idle`)."""
        if not self._queue and self.closed is None:
            # A bare future, no timer: the cheapest wait asyncio has (this runs per event and reader).
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        entries = list(self._queue)
        self._queue.clear()
        self.delivered += len(entries)
        return entries

    @property
    def idle(self) -> bool:
        return self._waiter is not None

    @property
    def queued(self) -> int:
        return len(self._queue)


class Topic:
    """One upstream stream and its readers."""

    def __init__(self, hub: Hub, key: TopicKey, first_id: int, ring_size: int) -> None:
        self.hub = hub
        self.key = key
        self.readers: set[Reader] = set()
        self.ring: collections.deque[Entry] = collections.deque(maxlen=ring_size)
        self.next_id = first_id
        self.published = 0
        self.last_event_at: float | None = None
        self.last_payload: dict[str, Any] | None = None
        self.error: str | None = None
        self.started_at = time.time()
        self._task: asyncio.Task | None = None
        self.stream: Any = None  # the upstream iterator (its `.stats` when it has them)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._pump())

    def publish(self, event: str, payload: dict[str, Any]) -> Entry:
        entry = Entry(self.next_id, event, sse.frame(self.next_id, event, payload))
        self.next_id += 1
        self.published += 1
        self.hub.stats["published"] += 1
        self.last_event_at = time.time()
        if event in ("quote", "bar"):
            self.last_payload = payload
        self.ring.append(entry)
        for reader in list(self.readers):
            reader.offer(entry)
        return entry

    def replay_after(self, last_id: int) -> list[Entry]:
        return [entry for entry in self.ring if entry.id > last_id]

    async def _pump(self) -> None:
        stream: AsyncIterator[Any] | None = None
        try:
            stream = self.stream = self.hub.opener(self.key)
            async for item in stream:
                encoded = self.hub.encode(item)
                if encoded is not None:
                    self.publish(*encoded)
            self._fail("the upstream stream ended")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s failed: %s", self.key.label, exc)
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            if stream is not None and hasattr(stream, "aclose"):
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(stream.aclose(), CLOSE_TIMEOUT)
            self.hub.stats["upstreams_closed"] += 1

    def _fail(self, reason: str) -> None:
        self.error = reason
        self.publish("error", {"error": reason, "stream": self.key.label})
        for reader in list(self.readers):
            reader.close(f"upstream failed: {reason}")
        self.hub._drop(self)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, CLOSE_TIMEOUT + 1)

    def describe(self) -> dict[str, Any]:
        stats = getattr(self.stream, "stats", None)
        return {
            "upstream": stats.as_dict() if hasattr(stats, "as_dict") else None,
            "stream": self.key.kind,
            self.key.target: self.key.name,
            "readers": len(self.readers),
            "events": self.published,
            "last_event_id": self.next_id - 1,
            "last": self.last_payload,
            "seconds_since_last_event": None
            if self.last_event_at is None
            else round(time.time() - self.last_event_at, 3),
        }


class Hub:
    """Topics by key; readers join and leave (see the module docstring)."""

    def __init__(
        self,
        opener: Callable[[TopicKey], AsyncIterator[Any]],
        encode: Callable[[Any], tuple[str, dict[str, Any]] | None],
        queue_size: int = 256,
        policy: str = "drop_oldest",
        ring_size: int = DEFAULT_RING_SIZE,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"slow-reader policy must be one of {POLICIES}, got {policy!r}")
        if queue_size < 1:
            raise ValueError("a reader's queue holds at least one event")
        self.opener = opener
        self.encode = encode
        self.queue_size = queue_size
        self.policy = policy
        self.ring_size = ring_size
        self.topics: dict[TopicKey, Topic] = {}
        self.stats: collections.Counter[str] = collections.Counter()
        self._next_ids: dict[TopicKey, int] = {}
        self._closing: set[asyncio.Task] = set()

    async def join(self, key: TopicKey, last_event_id: int | None = None) -> Reader:
        """A new reader of `key` (opening the topic's upstream if it has none): first the kept
        events after `last_event_id` (when given), then live ones."""
        topic = self.topics.get(key)
        if topic is None:
            topic = Topic(self, key, self._next_ids.get(key, 1), self.ring_size)
            self.topics[key] = topic
            self.stats["upstreams_opened"] += 1
            topic.start()
        reader = Reader(topic, self.queue_size, self.policy)
        if last_event_id is not None:
            for entry in topic.replay_after(last_event_id):
                reader.offer(entry)
        topic.readers.add(reader)
        self.stats["readers_joined"] += 1
        return reader

    def leave(self, reader: Reader) -> None:
        """The reader is gone; the last reader of a topic closes its upstream."""
        reader.close(reader.closed or "left")
        topic = reader.topic
        if reader not in topic.readers:
            return
        topic.readers.discard(reader)
        self.stats["readers_left"] += 1
        if not topic.readers and self.topics.get(topic.key) is topic:
            self._drop(topic)
            task = asyncio.ensure_future(topic.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def wake_idle(self) -> int:
        """Wake every reader waiting for events (they send a keepalive comment); how many."""
        woken = 0
        for topic in list(self.topics.values()):
            for reader in list(topic.readers):
                if reader.idle:
                    reader._wake()
                    woken += 1
        return woken

    def broadcast(self, event: str, payload: dict[str, Any]) -> None:
        """An event for every reader of every topic (connection state changes)."""
        for topic in list(self.topics.values()):
            topic.publish(event, payload)

    def _drop(self, topic: Topic) -> None:
        if self.topics.get(topic.key) is topic:
            del self.topics[topic.key]
            self._next_ids[topic.key] = topic.next_id

    @property
    def readers(self) -> int:
        return sum(len(topic.readers) for topic in self.topics.values())

    async def close(self) -> None:
        """Close every reader and upstream (service shutdown)."""
        topics = list(self.topics.values())
        for topic in topics:
            for reader in list(topic.readers):
                reader.close("service stopping")
            self._drop(topic)
        await asyncio.gather(*(topic.close() for topic in topics), return_exceptions=True)
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=CLOSE_TIMEOUT + 1)


__all__ = ["POLICIES", "Entry", "Hub", "Reader", "Topic", "TopicKey"]
