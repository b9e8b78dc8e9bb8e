"""A work queue in the metadata store: items handed out under leases, so that several processes
(on one machine or several) share a job and a killed worker's items are done by another.

    queue = metadata_store.work_queue("seed:2025-03-04:9f2c")   # the same name on every host
    queue.add(["SP500/20250600/D", "SP500/20250900/D"])      # idempotent: known items stay as they are
    while (item := queue.claim(owner, lease_seconds=300)) is not None:
        ...                                                    # renew(item, ...) while working
        queue.done(item, {"bars_added": 12})
    queue.results()                                            # {item: result} of the items done

An item is pending, leased (to one owner until its lease expires) or done. `claim` takes the
first pending item, or one whose lease expired (its worker died); every claim of an item has a
new attempt number, and only the holder of the newest attempt can renew it or mark it done, so
a worker that comes back after its lease was taken over changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Claim:
    """One worker's hold on one item."""

    item: str
    attempt: int
    owner: str


class WorkQueue(Protocol):
    name: str

    def add(self, items: list[str]) -> int:
        """Queue items not queued yet (in this order); returns how many were new."""

    def claim(self, owner: str, lease_seconds: float, now: float | None = None) -> Claim | None:
        """The next pending item, or one whose lease expired; None when nothing is left to take."""

    def renew(self, claim: Claim, lease_seconds: float, now: float | None = None) -> bool:
        """Extend a lease; False if the item was taken over (the lease had expired)."""

    def done(self, claim: Claim, result: dict[str, Any]) -> bool:
        """Mark an item done with its result; False if the claim is no longer the newest."""

    def counts(self) -> dict[str, int]:
        """{"pending": n, "leased": n, "done": n} (leased counts expired leases too)."""

    def results(self) -> dict[str, dict[str, Any]]:
        """The results of the items done."""
