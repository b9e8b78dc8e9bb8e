"""The simulated IB Gateway: a TCP server speaking the TWS API socket protocol.

    with IBSim(SimConfig(port=0, start=dt.datetime(2025, 3, 4, 15, tzinfo=dt.UTC))) as sim:
        ib.connect("127.0.0.1", sim.port, clientId=1)
        sim.faults.daily_restart(down_seconds=5)

The server owns the catalog, market, order engine and clock; each socket gets a session.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import logging
import os
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from . import convert
from . import messages as m
from .admin import AdminServer
from .broker import Broker
from .catalog import Catalog
from .clock import SimClock
from .config import SimConfig, Timing
from .faults import FaultInjector
from .history import price_decimals
from .market import MarketModel
from .model import Instrument
from .pacing import HistoricalPacer
from .session import ClientSession

__all__ = ["IBSim", "SimConfig", "Timing"]

log = logging.getLogger("ibsim")
UTC = dt.UTC


class IBSim:
    """A simulated IB Gateway.

    Use `await sim.start()` / `await sim.stop()` on a running loop, or `sim.start_in_thread()` /
    `sim.stop_in_thread()` (or `with IBSim(...) as sim:`) to run it on a thread of its own.
    Fault injection lives in `sim.faults`.
    """

    def __init__(self, config: SimConfig | None = None, **overrides):
        if config is None:
            config = SimConfig(**overrides)
        elif overrides:
            raise TypeError("pass either a SimConfig or keyword overrides, not both")
        if not config.accounts or not all(config.accounts):
            raise ValueError("the gateway needs at least one non-empty account code")
        self.config = config
        self.tws_zoneinfo = ZoneInfo(config.tws_zone)
        self.clock = SimClock(config.start, config.speed)
        self.catalog = Catalog()
        self.market = MarketModel(self.catalog.sessions_for_instrument, seed=config.seed)
        self.pacer = HistoricalPacer(config.pacing)
        self.broker = self._load_broker()
        self.faults = FaultInjector(self)
        self.accounts = list(config.accounts)
        self.sessions: dict[int, ClientSession] = {}
        self.connections: set[ClientSession] = set()
        self.stats: collections.Counter = collections.Counter()
        self.port: int = config.port
        self.admin_port: int | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._admin = None
        self._tasks: list[asyncio.Task] = []
        self._decimals: dict[int, int] = {}
        self._thread: threading.Thread | None = None
        self._accepting = False
        self.connectivity_ok = True

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> IBSim:
        self.loop = asyncio.get_running_loop()
        await self.listen()
        self._tasks = [
            asyncio.create_task(self._ticker_loop(), name="ibsim-ticks"),
            asyncio.create_task(self._order_loop(), name="ibsim-orders"),
            asyncio.create_task(self._account_loop(), name="ibsim-accounts"),
        ]
        if self.config.admin_port is not None:
            self._admin = AdminServer(self, self.config.host, self.config.admin_port)
            self.admin_port = await self._admin.start()
        log.info(
            "ibsim listening on %s:%d (accounts %s, simulated time %s, speed %g)",
            self.config.host,
            self.port,
            ",".join(self.accounts),
            self.clock.now().isoformat(timespec="seconds"),
            self.clock.speed,
        )
        return self

    async def listen(self) -> None:
        self._server = await asyncio.start_server(self._on_connect, self.config.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        self._accepting = True

    async def stop_listening(self) -> None:
        self._accepting = False
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def stop(self) -> None:
        await self.stop_listening()
        if self._admin is not None:
            await self._admin.stop()
            self._admin = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                continue  # what stopping a background loop means
            except Exception:
                log.exception("background task %s failed", task.get_name())
        self._tasks = []
        await self.drop_all_connections()
        self.faults.cancel_pending()
        self.save_state()
        log.info("ibsim stopped")

    async def drop_all_connections(self) -> None:
        for session in list(self.connections):
            await session.close()

    def start_in_thread(self, timeout: float = 10.0) -> IBSim:
        """Run the gateway on a private event loop in a daemon thread; returns once it listens."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def runner() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # report start-up failures to the caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=runner, name="ibsim", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("ibsim did not start in time")
        if failure:
            raise failure[0]
        return self

    def stop_in_thread(self, timeout: float = 10.0) -> None:
        if self._thread is None or self.loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.stop(), self.loop)
        future.result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        self._thread = None

    def call(self, fn, *args, timeout: float = 10.0):
        """Run `fn(*args)` on the gateway's loop (from any thread) and return its result."""
        if self.loop is None:
            raise RuntimeError("ibsim is not running")
        if self._thread is None or threading.current_thread() is self._thread:
            return fn(*args)

        async def run():
            result = fn(*args)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def __enter__(self) -> IBSim:
        return self.start_in_thread()

    def __exit__(self, *exc) -> None:
        self.stop_in_thread()

    # --------------------------------------------------------- connections
    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._accepting:
            writer.close()
            return
        session = ClientSession(self, reader, writer)
        self.connections.add(session)
        self.stats["connections"] += 1
        log.info("connection from %s", session.peer)
        await session.run()

    def register(self, session: ClientSession, client_id: int) -> bool:
        """Bind a client id to a session; False if another live session holds it (error 326)."""
        current = self.sessions.get(client_id)
        if current is not None and not current.closed:
            return False
        self.sessions[client_id] = session
        return True

    def unregister(self, session: ClientSession) -> None:
        self.connections.discard(session)
        if session.client_id is not None and self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]

    def live_sessions(self) -> list[ClientSession]:
        return [s for s in self.sessions.values() if not s.closed]

    # ----------------------------------------------------------- helpers
    def instrument(self, con_id: int) -> Instrument:
        inst = self.catalog.by_con_id(con_id)
        if inst is None:
            raise KeyError(f"unknown conId {con_id}")
        return inst

    def decimals(self, inst: Instrument) -> int:
        d = self._decimals.get(inst.con_id)
        if d is None:
            d = self._decimals[inst.con_id] = price_decimals(inst.min_tick)
        return d

    def permitted(self, inst: Instrument, historical: bool = False) -> bool:
        allowed = self.config.permissions
        return allowed is None or inst.exchange in allowed

    def all_market_subscriptions(self) -> list:
        return [sub for s in self.live_sessions() for sub in s.mkt_subs.values()]

    # ------------------------------------------------------ broker events
    def dispatch(self, events: list, origin: ClientSession | None = None) -> None:
        """Turn order-engine events into messages for the connected clients concerned.

        Events about an order go to the session of the client that placed it; plain errors
        go to `origin`, the session whose request caused them.
        """
        if not events:
            return
        positions_changed = False
        for event in events:
            kind = type(event).__name__
            order = getattr(event, "order", None)
            session = self.sessions.get(order.client_id) if order is not None else origin
            if session is not None and session.closed:
                session = None
            if kind == "FillEvent":
                positions_changed = True
                self.stats["fills"] += 1
            if session is None:
                continue
            for msg in convert.event_messages(self, event, session.version):
                if msg is convert.COMMISSION_LATER:
                    self.faults.send_commission(session, event.fill)
                    continue
                session.send(msg)
                if msg[0] == m.Out.ORDER_STATUS and self.faults.take_duplicate_status():
                    session.send(msg)
        if positions_changed:
            self._publish_account_changes()

    def _publish_account_changes(self) -> None:
        now = self.clock.now()
        positions = self.broker.positions(None)
        for session in self.live_sessions():
            if session.positions_subscribed:
                session.send_many(
                    [
                        m.position(
                            p.account, convert.contract_fields(self.instrument(p.con_id)), p.position, p.avg_cost
                        )
                        for p in positions
                    ]
                )
            if session.account_updates:
                session.send_account_update(session.account_updates)
            for req_id, account in session.account_multi.items():
                session.send_account_multi(req_id, account)
        del now

    # ------------------------------------------------------------- loops
    async def _ticker_loop(self) -> None:
        interval = self.config.timing.tick_interval
        due = time.monotonic()
        while True:
            # A fixed rate, not a fixed pause: the work of one round does not slow the next.
            due = max(due + interval, time.monotonic())
            await asyncio.sleep(due - time.monotonic())
            if not self.connectivity_ok:
                continue
            try:
                now = self.clock.now()
                mono = time.monotonic()
                for session in self.live_sessions():
                    if session.mkt_subs:
                        # One socket write per client and round, however many tickers it has.
                        out: list[list] = []
                        for sub in list(session.mkt_subs.values()):
                            out.extend(session.tick_messages(sub, now))
                        session.send_many(out)
                        self.stats["ticks_sent"] += len(out)
                    if session.bar_subs:
                        session.send_bar_updates(now, mono)
                    if session.rt_subs:
                        session.send_real_time_bars(now)
                    if session.tbt_subs:
                        session.send_tick_by_tick(now)
            except Exception:
                log.exception("market data loop error")

    async def _order_loop(self) -> None:
        interval = self.config.timing.order_step_interval
        while True:
            await asyncio.sleep(interval)
            try:
                self.dispatch(self.broker.step(self.clock.now()))
            except Exception:
                log.exception("order loop error")

    async def _account_loop(self) -> None:
        timing = self.config.timing
        next_account = time.monotonic() + timing.account_update_interval
        while True:
            await asyncio.sleep(timing.pnl_interval)
            try:
                for session in self.live_sessions():
                    if session.pnl_subs or session.pnl_single_subs:
                        session.send_pnl()
                if time.monotonic() >= next_account:
                    next_account = time.monotonic() + timing.account_update_interval
                    for session in self.live_sessions():
                        if session.account_updates:
                            session.send_account_update(session.account_updates)
            except Exception:
                log.exception("account loop error")

    # ------------------------------------------------------------- state
    def _load_broker(self) -> Broker:
        links = dict(instrument_by_con_id=self.catalog.by_con_id, market=self.market, fx_rate=self._fx_rate)
        path = self.config.state_file
        if path and os.path.exists(path):
            with open(path) as fh:
                state = json.load(fh)
            log.info("ibsim state restored from %s", path)
            return Broker.from_state(state, **links)
        return Broker(
            accounts=list(self.config.accounts),
            base_currency=self.config.base_currency,
            initial_cash=self.config.initial_cash,
            **links,
        )

    def save_state(self) -> None:
        path = self.config.state_file
        if not path:
            return
        tmp = Path(path).with_suffix(".tmp")
        tmp.write_text(json.dumps(self.broker.to_state()))
        os.replace(tmp, path)

    def _fx_rate(self, currency: str, at: dt.datetime) -> float:
        """Base-currency units per one unit of `currency`, from the simulated FX market."""
        base = self.config.base_currency
        if currency == base:
            return 1.0
        direct = self.catalog.fx_pair(currency, base)
        if direct is not None:
            q = self.market.quote(direct, at)
            return (q.bid + q.ask) / 2
        inverse = self.catalog.fx_pair(base, currency)
        if inverse is not None:
            q = self.market.quote(inverse, at)
            return 2 / (q.bid + q.ask)
        raise KeyError(f"no FX pair to convert {currency} into {base}")

    # ------------------------------------------------------------ status
    def status(self) -> dict:
        return {
            "port": self.port,
            "accepting": self._accepting,
            "connectivity_ok": self.connectivity_ok,
            "simulated_time": self.clock.now().isoformat(),
            "speed": self.clock.speed,
            "clients": sorted(self.sessions),
            "stats": dict(self.stats),
            "pacing_violations": self.pacer.violations,
        }
