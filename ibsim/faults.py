"""Fault injection: the gateway misbehaving the way a real one does.

    sim.faults.daily_restart(down_seconds=5)
    sim.faults.connectivity_lost(restore="1101", after=2)
    sim.faults.reject_next_orders(1)

Every public method may be called from any thread (tests drive the gateway from their own
thread); the work runs on the gateway's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from . import convert, errors

if TYPE_CHECKING:
    from .interfaces import Gateway, Session

log = logging.getLogger("ibsim.faults")

RESTORE_CODES = ("1101", "1102")


class FaultInjector:
    """Python API for injecting faults into a running `IBSim`."""

    def __init__(self, sim: Gateway):
        self.sim = sim
        self.commission_delay: float | None = None  # seconds; None = the normal short delay
        self._drop_commissions = 0
        self._missing_commissions: set[str] = set()
        self._duplicate_status = 0
        self._pending: set[asyncio.Handle | asyncio.Task] = set()
        self.restarts = 0
        self._unanswered: set[int] = set(sim.config.unanswered_requests)

    # -------------------------------------------------------------- public
    def daily_restart(self, down_seconds: float = 5.0, wait: bool = False) -> None:
        """Close every socket, refuse connections for `down_seconds`, then come back (state kept).

        With `wait=True` the call returns once the gateway accepts connections again.
        """
        if down_seconds < 0:
            raise ValueError("down_seconds must be >= 0")
        self.sim.call(self._start_restart, down_seconds, wait, timeout=down_seconds + 30)

    def connectivity_lost(self, restore: str | None = "1102", after: float = 2.0) -> None:
        """Send 1100 (and broken-farm notices); after `after` seconds send `restore` (1101 or 1102).

        1101 = restored, data lost: every market-data, keepUpToDate and real-time-bar subscription
        ends and clients must resubscribe. 1102 = restored, data maintained. `restore=None`
        leaves the connectivity lost until `connectivity_restored` is called.
        """
        if restore is not None and str(restore) not in RESTORE_CODES:
            raise ValueError(f"restore must be one of {RESTORE_CODES} or None, got {restore!r}")
        self.sim.call(self._lose_connectivity, None if restore is None else str(restore), after)

    def connectivity_restored(self, code: str = "1102") -> None:
        if str(code) not in RESTORE_CODES:
            raise ValueError(f"code must be one of {RESTORE_CODES}")
        self.sim.call(self._restore, str(code))

    def farm_notice(self, code: int, farm: str | None = None) -> None:
        """Send a data-farm notice (2103/2104/2105/2106/2107/2108/2157/2158) to every client."""
        if code not in (2103, 2104, 2105, 2106, 2107, 2108, 2157, 2158):
            raise ValueError(f"{code} is not a farm notice code")
        farms = (farm,) if farm else errors.FARMS.get(code, ("usfarm",))
        self.sim.call(self._broadcast, [(code, errors.text(code, farm=f)) for f in farms])

    def notice(self, code: int, text: str | None = None) -> None:
        """Send any error/notice code with id -1 to every client (e.g. 2110)."""
        self.sim.call(self._broadcast, [(code, text if text is not None else errors.text(code))])

    def force_pacing_violations(self, count: int = 1) -> None:
        self.sim.call(self.sim.pacer.force_violations, count)

    def reject_next_orders(self, count: int = 1, text: str | None = None) -> None:
        kwargs = {"count": count}
        if text is not None:
            kwargs["text"] = text
        self.sim.call(lambda: self.sim.broker.inject_reject(**kwargs))

    def delay_commissions(self, seconds: float | None) -> None:
        """Send commission reports `seconds` after their fill (None restores the normal delay)."""
        self.commission_delay = seconds

    def drop_commissions(self, count: int = 1) -> None:
        """The next `count` fills get no commission report at all."""
        self._drop_commissions += count

    def duplicate_order_status(self, count: int = 1) -> None:
        """The next `count` orderStatus messages are each sent twice."""
        self._duplicate_status += count

    def leave_unanswered(self, *msg_ids: int) -> None:
        """The gateway stops answering these request ids (e.g. 81 reqMatchingSymbols), as a hung
        data farm would: the client waits for its own time limit."""
        self._unanswered.update(int(i) for i in msg_ids)

    def answer_all(self) -> None:
        """Undo `leave_unanswered`: every request is answered again."""
        self._unanswered.clear()

    def disconnect_client(self, client_id: int) -> None:
        """Drop one client's socket (as a network failure would)."""

        async def drop():
            session = self.sim.sessions.get(client_id)
            if session is not None:
                await session.close()

        self.sim.call(drop)

    # ------------------------------------------------- used by the gateway
    def is_unanswered(self, msg_id: int) -> bool:
        return msg_id in self._unanswered

    def is_commission_missing(self, exec_id: str) -> bool:
        return exec_id in self._missing_commissions

    def take_duplicate_status(self) -> bool:
        if self._duplicate_status > 0:
            self._duplicate_status -= 1
            return True
        return False

    def send_commission(self, session: Session, fill) -> None:
        if self._drop_commissions > 0:
            self._drop_commissions -= 1
            self._missing_commissions.add(fill.exec_id)
            log.info("commission report for %s dropped (fault)", fill.exec_id)
            return
        delay = self.commission_delay
        if delay is None:
            delay = self.sim.config.timing.commission_delay
        msg = convert.commission_message(fill)
        loop = asyncio.get_running_loop()
        handle = loop.call_later(delay, self._deliver, session, msg)
        self._pending.add(handle)

    def _deliver(self, session: Session, msg: list) -> None:
        self._pending = {h for h in self._pending if not getattr(h, "cancelled", lambda: False)()}
        if not session.closed:
            session.send(msg)

    def cancel_pending(self) -> None:
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()

    # ----------------------------------------------------------- internals
    async def _start_restart(self, down_seconds: float, wait: bool) -> None:
        sim = self.sim
        self.restarts += 1
        log.warning("daily restart: closing all connections, refusing connections for %.1fs", down_seconds)
        await sim.stop_listening()
        await sim.drop_all_connections()
        sim.save_state()

        async def come_back():
            await asyncio.sleep(down_seconds)
            await sim.listen()
            log.warning("daily restart finished: accepting connections on port %d", sim.port)

        task = asyncio.create_task(come_back())
        self._pending.add(task)
        if wait:
            await task

    def _broadcast(self, notices: list[tuple[int, str]]) -> None:
        for session in self.sim.live_sessions():
            for code, text in notices:
                session.error(-1, code, text)

    def _lose_connectivity(self, restore: str | None, after: float) -> None:
        sim = self.sim
        sim.connectivity_ok = False
        notices = [(1100, errors.text(1100))]
        for code in errors.FARMS_BROKEN:
            notices += [(code, errors.text(code, farm=f)) for f in errors.FARMS[code]]
        self._broadcast(notices)
        log.warning("connectivity lost (1100); restore %s in %.1fs", restore, after)
        if restore is not None:
            handle = asyncio.get_running_loop().call_later(after, self._restore, restore)
            self._pending.add(handle)

    def _restore(self, code: str) -> None:
        sim = self.sim
        if code == "1101":
            for session in sim.live_sessions():
                session.drop_market_subscriptions()
        sim.connectivity_ok = True
        notices = [(int(code), errors.text(int(code)))]
        for ok in errors.FARMS_OK:
            notices += [(ok, errors.text(ok, farm=f)) for f in errors.FARMS[ok]]
        self._broadcast(notices)
        log.warning("connectivity restored (%s)", code)
