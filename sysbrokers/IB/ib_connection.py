"""`connectionIB`: one live `ib_async.IB` connection, as in pysystemtrade, plus supervision.

    conn = connectionIB(999, ib_ipaddress="127.0.0.1", ib_port=4001, account="U999999")
    conn = connectionIB(config)          # client id from the client-id store
    with connectionIB(...) as conn: ...

Values not passed come from the configuration (private_config.yaml, then defaults.yaml). The
connection connects on construction, fails fast with `IBNotConnected` / `IBClientIdInUse` /
`IBAccountNotManaged`, renews its client-id lease while alive, and is supervised: it reconnects
and resubscribes by itself (see `connection_supervisor.py` and docs/connection.md).

Three modes, one rule (docs/async.md): calls from a thread other than the one running the event
loop that owns the IB socket are handed to that loop (`call_in_loop`, `run_sync`) and waited for,
bounded.

* script: built with no event loop running (a script, plain IPython). ib_async's loop runs on
  the calling thread during each blocking call, as in pysystemtrade.
* notebook: built synchronously while this thread runs an event loop (Jupyter). The connection
  runs its own loop on an "ib-loop" daemon thread, which keeps the socket serviced between
  cells (reconnects, streams, order events); blocking calls work unchanged from any thread.
* async: `conn = await connectionIB.create(...)` inside an asyncio program; the IB loop is the
  program's loop, and the data objects' `*_async` forms run the blocking calls off that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ib_async import IB, util
from ib_async.client import Client

from sysbrokers.IB.connection_supervisor import ConnectionEvent, ConnectionState, ConnectionSupervisor
from sysbrokers.IB.ib_errors import (
    IBAccountNotManaged,
    IBClientIdInUse,
    IBError,
    IBNotConnected,
    IBReadOnlyError,
    IBRequestTimeout,
    IBResetWindow,
    error_from,
)
from sysbrokers.IB.ib_log_filter import install_handled_error_filter
from sysbrokers.IB.loop_thread import LoopThread
from sysbrokers.IB.loop_thread import call_in_loop as _call_in_loop
from sysbrokers.IB.loop_thread import run_in_loop as _run_in_loop
from sysbrokers.IB.request_watch import RequestWatch
from sysbrokers.IB.reset_windows import as_windows, window_at, window_end
from sysbrokers.IB.stream_guard import market_data_type
from sysdata.config.configdata import Config, get_production_config
from sysdata.config.schema import ReconnectPolicy, ResetWindow

DEFAULT_LOG_NAME = "connectionIB"
DEFAULT_CLIENT_ID_RETRIES = 5  # as pysystemtrade's dataBlob: up to 5 further ids after a refusal
FAIL_FAST_CODES = (326, 502, 503)  # errors during connect that no amount of waiting will fix
LOOP_CALL_TIMEOUT = 600.0  # bound on a hand-off to the IB loop thread that brings no bound of its own
LOOP_MARGIN = 10.0  # added to a call's own time limit when it is handed to the IB loop thread


class connectionIB:  # noqa: N801 - pysystemtrade's public name
    """A connection to an IB Gateway / TWS, holding one live `ib_async.IB` as `conn.ib`."""

    def __init__(
        self,
        client_id: int | Config | None = None,
        ib_ipaddress: str | None = None,
        ib_port: int | None = None,
        account: str | None = None,
        ib_readonly: bool | None = None,
        log_name: str = DEFAULT_LOG_NAME,
        config: Config | None = None,
        client_id_data: Any = None,
        connect_timeout: float | None = None,
        reconnect_policy: ReconnectPolicy | None = None,
        reset_windows: Iterable[ResetWindow | dict] | None = None,
        heartbeat_seconds: float | None = None,
        max_client_id_retries: int = DEFAULT_CLIENT_ID_RETRIES,
        auto_reconnect: bool = True,
        clock: Callable[[], dt.datetime] | None = None,
        auto_connect: bool = True,
    ) -> None:
        if isinstance(client_id, Config):  # the config-only form: connectionIB(config)
            config, client_id = client_id, None
        config = config or get_production_config()
        self.config = config
        self._log = logging.getLogger(log_name)
        self._ipaddress = ib_ipaddress or config.ib_ipaddress
        self._port = int(ib_port or config.ib_port)
        self._requested_account = account if account is not None else (config.broker_account or "")
        self._account = self._requested_account
        self._readonly = config.ib_readonly if ib_readonly is None else bool(ib_readonly)
        self.connect_timeout = float(connect_timeout or config.ib_connect_timeout)
        self.max_client_id_retries = int(max_client_id_retries)
        self._heartbeat_seconds = float(heartbeat_seconds or config.client_id_heartbeat_seconds)
        self._closed = False
        self._clock_offset: float | None = None
        self._current_time_request: tuple[asyncio.Future, float] | None = None
        self._heartbeat: Any = None
        self._heartbeat_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop that owns the IB socket
        self._loop_thread: LoopThread | None = None  # notebook mode: that loop's own thread
        self._async_mode = False
        self.loop_call_timeout = LOOP_CALL_TIMEOUT
        # Inside a reset window a request waits for the window to end; True: raise IBResetWindow.
        self.reset_window_fail_fast = False
        if not self._requested_account:
            self._log.warning("Broker account ID not found in private config - may cause issues")

        self._own_store: Any = None  # a metadata store we opened ourselves (closed with us)
        self._client_id_data = client_id_data
        if client_id is None and client_id_data is None:
            from sysdata.metadata_store import open_metadata_store

            self._own_store = open_metadata_store(config)
            self._client_id_data = self._own_store.client_id_data(log=self._log)
        if self._client_id_data is not None:
            self._client_id = self._client_id_data.return_valid_client_id(client_id)
            if client_id is not None and self._client_id != client_id:
                self._log.info("IB client id %d is taken; using %d from the store", client_id, self._client_id)
        else:
            self._client_id = int(client_id)

        self._ib = IB()
        install_handled_error_filter(self._ib)  # 162 no data, 200, 202 after our cancel: INFO, not ERROR
        self.request_watch = RequestWatch(self._ib)  # errors and time limits of requests in flight
        self.supervisor = ConnectionSupervisor(
            self._ib,
            connect=self._connect_async,
            policy=reconnect_policy or config.ib_reconnect,
            reset_windows=as_windows(config.ib_reset_windows if reset_windows is None else reset_windows),
            clock=clock or _utc_now,
            logger=self._log,
            auto_reconnect=auto_reconnect,
        )
        self.supervisor.lines_factory = self._market_data_lines
        # The supervisor's synchronous entry points hand their IB work to the loop through us.
        self.supervisor.call_in_loop = self.call_in_loop
        self.supervisor.run_sync = self.run_sync
        self.supervisor.sleep = self.sleep
        self._lines_store: Any = None
        if auto_connect:
            if _loop_is_running():
                self._connect_on_loop_thread()  # notebook mode
            else:
                self._run_sync(self.connect_async())  # script mode

    @classmethod
    async def create(cls, *args: Any, **kwargs: Any) -> connectionIB:
        """Build and connect inside a running event loop: `conn = await connectionIB.create(...)`."""
        conn = cls(*args, auto_connect=False, **kwargs)
        conn._async_mode = True
        await conn.connect_async()
        return conn

    def _connect_on_loop_thread(self) -> None:
        """Notebook mode: an event loop of our own on the "ib-loop" thread owns the socket."""
        self._loop_thread = LoopThread("ib-loop")
        # Every client id the store may offer gets its connect timeout, plus the start-up requests.
        bound = self.connect_timeout * (self.max_client_id_retries + 2) + LOOP_MARGIN
        try:
            self._loop_thread.run(self.connect_async(), bound, f"connecting to {self._ipaddress}:{self._port}")
        except BaseException:
            self._stop_loop_thread()
            raise

    async def connect_async(self) -> None:
        """First connect (called by the constructor); on failure the client id is released."""
        self._loop = asyncio.get_running_loop()
        try:
            await self._connect_async()
        except BaseException:
            self._release_client_id()
            self._close_own_store()
            self.supervisor.close()
            raise
        data_type = market_data_type(self.config.ib_market_data_type)
        if data_type != 1:  # IB's default is live: only another type needs sending (re-sent on reconnects)
            self.supervisor.set_market_data_type(data_type)
        await self.supervisor.on_connected()
        self._start_heartbeat()
        self._log.info("Connected to IB gateway %s:%d as client %d", self._ipaddress, self._port, self._client_id)

    # ------------------------------------------------------------ pysystemtrade API
    @property
    def ib(self) -> IB:
        return self._ib

    @property
    def log(self) -> logging.Logger:
        return self._log

    @property
    def account(self) -> str:
        return self._account

    @property
    def readonly(self) -> bool:
        return self._readonly

    def client_id(self) -> int:
        return self._client_id

    def close_connection(self) -> None:
        """Disconnect, stop supervising and heartbeating, release the client id. Idempotent.

        In notebook mode the "ib-loop" thread is stopped too (its tasks cancelled, its loop closed)."""
        if self._closed:
            return
        self._closed = True
        self._stop_heartbeat()
        try:
            self.call_in_loop(self._close_on_loop, timeout=LOOP_MARGIN)
        except Exception as exc:  # the loop thread is gone or stuck: still release what we hold
            self._log.warning("Closing the IB connection on its event loop failed: %s", exc)
        if self._loop_thread is not None:
            self._stop_loop_thread()
        else:
            self._settle_loop()
        self._release_client_id()
        self._close_own_store()

    def _close_on_loop(self) -> None:
        self.supervisor.close()
        self.request_watch.close()
        try:
            self._ib.disconnect()
        except Exception as exc:  # the socket may already be gone
            self._log.warning("Trying to disconnect IB client failed: %s", exc)

    def _stop_loop_thread(self) -> None:
        if self._loop_thread is not None:
            self._loop_thread.stop()

    def __repr__(self) -> str:
        return "IB broker connection" + str(
            {"ipaddress": self._ipaddress, "port": self._port, "client": self._client_id}
        )

    def __enter__(self) -> connectionIB:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close_connection()

    # ------------------------------------------------------------------- guards
    def check_can_trade(self) -> None:
        """Raise `IBReadOnlyError` on a read-only connection: every order call checks this first."""
        if self._readonly:
            raise IBReadOnlyError(
                message=f"connection {self!r} is read-only (ib_readonly=True): orders are not allowed"
            )

    def is_connected(self) -> bool:
        return self._ib.isConnected() and self.supervisor.state not in (
            ConnectionState.DISCONNECTED,
            ConnectionState.RECONNECTING,
            ConnectionState.CLOSED,
        )

    def ensure_connected(self, timeout: float | None = None) -> None:
        """Reconnect now if the socket is down; raises `IBNotConnected` after `timeout` seconds.

        Data and client objects call this before each request. Inside a running event loop use
        `await conn.ensure_connected_async()` instead (the supervisor reconnects by itself there).
        """
        if self._closed:
            raise IBNotConnected(message=f"{self!r} has been closed")
        if self.off_loop_thread():
            self.run_sync(self.ensure_connected_async(timeout), timeout=self._ensure_bound(timeout))
            return
        if _loop_is_running() and not _nested_loop_allowed():
            if self._ib.isConnected():
                return
            raise IBNotConnected(message="not connected; inside a running event loop await ensure_connected_async()")
        self._run_sync(self.ensure_connected_async(timeout))

    async def ensure_connected_async(self, timeout: float | None = None) -> None:
        """As `ensure_connected`. With no `timeout`, inside one of IB's reset windows it waits for
        the gateway until the window ends (plus `ib_connect_timeout`), or raises `IBResetWindow`
        at once if `conn.reset_window_fail_fast` is set; elsewhere it waits `ib_connect_timeout`.

        Awaited on another loop than the IB loop (a notebook cell), it runs on the IB loop."""
        if self._foreign_loop():
            await self._await_on_ib_loop(self.ensure_connected_async(timeout))
            return
        supervisor = self.supervisor
        if timeout is not None:
            await supervisor.ensure_connected_async(timeout)
            return
        now = supervisor.clock()
        window = window_at(now, supervisor.reset_windows) if supervisor.reset_windows else None
        end = window_end(now, window) if window is not None else None
        if end is None:
            await supervisor.ensure_connected_async(self.connect_timeout)
            return
        if self.reset_window_fail_fast:
            try:
                await supervisor.ensure_connected_async(0)
            except IBNotConnected:
                raise IBResetWindow(
                    message=f"IB gateway not connected inside the {window.region} reset window (until "
                    f"{end:%H:%M} UTC); not waiting (reset_window_fail_fast)"
                ) from None
            return
        await supervisor.ensure_connected_async((end - now).total_seconds() + self.connect_timeout)

    def _ensure_bound(self, timeout: float | None) -> float:
        """How long `ensure_connected_async(timeout)` may take, plus a margin (for a hand-off)."""
        if timeout is not None:
            return float(timeout) + LOOP_MARGIN
        supervisor = self.supervisor
        now = supervisor.clock()
        window = window_at(now, supervisor.reset_windows) if supervisor.reset_windows else None
        end = window_end(now, window) if window is not None else None
        waited = (end - now).total_seconds() if end is not None else 0.0
        return waited + self.connect_timeout + LOOP_MARGIN

    def sleep(self, seconds: float) -> None:
        """Run the event loop for `seconds` (streams update, reconnects proceed).

        Unlike `ib.sleep`, a socket loss during the wait does not raise. Off the IB loop's thread
        (notebook mode, worker threads) it only waits: that loop runs by itself meanwhile.
        """
        if self.off_loop_thread():
            time.sleep(max(0.0, seconds))
            return
        self._run_sync(asyncio.sleep(seconds))

    def wait_until(self, predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
        """Run the event loop until `predicate()` is true or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            self.sleep(step)
        return bool(predicate())

    # ------------------------------------------------------------- supervision
    @property
    def state(self) -> ConnectionState:
        return self.supervisor.state

    @property
    def events(self):
        """`ConnectionEvent`s: `conn.events += callback`."""
        return self.supervisor.events

    @events.setter
    def events(self, value) -> None:
        # `conn.events += cb` rebinds the attribute to the same Event; nothing else is allowed.
        if value is not self.supervisor.events:
            raise AttributeError("conn.events cannot be replaced; use conn.events += callback")

    @property
    def address(self) -> tuple[str, int]:
        """(IP address, port) of the gateway."""
        return self._ipaddress, self._port

    def now(self) -> dt.datetime:
        """The gateway's current time (UTC).

        Decisions like "has this contract expired?" or "download up to now" follow the gateway's
        clock, which is the machine's clock against a real gateway and the simulated clock
        against ibsim. The offset is measured once per connection with reqCurrentTime.
        """
        if self._clock_offset is None:
            self.run_sync(self._measure_clock_offset())
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self._clock_offset)

    def estimated_now(self) -> dt.datetime:
        """`now()` without asking IB: the offset measured so far (none yet: this machine's clock)."""
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self._clock_offset or 0.0)

    async def now_async(self) -> dt.datetime:
        """`now()` for code running inside the event loop (any loop: see `ensure_connected_async`)."""
        if self._clock_offset is None:
            if self._foreign_loop():
                await self._await_on_ib_loop(self._measure_clock_offset())
            else:
                await self._measure_clock_offset()
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self._clock_offset)

    def gateway_time_async(self) -> asyncio.Future:
        """IB's `reqCurrentTime` (whole seconds, UTC), on the IB loop. Callers asking at the same
        time share one request: ib_async keeps a single 'currentTime' slot, so a second request
        in flight would leave the first unanswered."""
        pending, asked = self._current_time_request or (None, 0.0)
        # A request older than a few seconds was lost (say, in a reconnect): ask again.
        if pending is None or pending.done() or time.monotonic() - asked > 5.0:
            pending = asyncio.ensure_future(self._ib.reqCurrentTimeAsync())
            self._current_time_request = (pending, time.monotonic())
        return asyncio.shield(pending)

    async def _measure_clock_offset(self) -> None:
        local_before = time.time()
        limit = float(self.config.ib_request_timeout)
        try:  # a silent gateway must not hang `now()` for ever
            gateway = await asyncio.wait_for(self.gateway_time_async(), limit)
        except TimeoutError:
            raise IBRequestTimeout(message=f"current time: no answer from IB within {limit:g}s") from None
        local_after = time.time()
        offset = gateway.timestamp() - (local_before + local_after) / 2
        # A real gateway's clock agrees with ours within a second or two: treat as equal.
        self._clock_offset = 0.0 if abs(offset) < 5 else offset

    def get_stats(self) -> dict[str, Any]:
        stats = self.supervisor.get_stats()
        stats.update(client_id=self._client_id, ipaddress=self._ipaddress, port=self._port, readonly=self._readonly)
        return stats

    # --------------------------------------------------------------- connecting
    async def _connect_async(self) -> None:
        """Open the socket; on 326 take the next id from the store (up to N times)."""
        refused: list[int] = []
        while True:
            try:
                await self._connect_once(self._client_id)
                return
            except IBClientIdInUse as exc:
                refused.append(self._client_id)
                if self._client_id_data is None:
                    raise IBClientIdInUse(
                        exc.code,
                        exc.text,
                        message=f"IB client id {self._client_id} is already in use at {self._ipaddress}:{self._port} "
                        "(error 326); pass another id or use a client-id store",
                    ) from None
                if len(refused) > self.max_client_id_retries:
                    raise IBClientIdInUse(
                        exc.code, exc.text, message=f"IB gateway refused client ids {refused} (error 326)"
                    ) from None
                self._switch_client_id(self._next_client_id(self._client_id))
                self._log.warning("IB client id %d in use (326); retrying with %d", refused[-1], self._client_id)

    async def _connect_once(self, client_id: int) -> None:
        ib = self._ib
        loop = asyncio.get_running_loop()
        failure: asyncio.Future[IBError] = loop.create_future()

        def fail(exc: IBError) -> None:
            if not failure.done():
                failure.set_result(exc)

        def on_error(req_id: int, code: int, text: str, contract: Any) -> None:
            if code in FAIL_FAST_CODES:
                fail(error_from(code, text, req_id))

        def on_api_start() -> None:
            managed = list(ib.client._accounts)
            if self._requested_account and self._requested_account not in managed:
                fail(
                    IBAccountNotManaged(
                        message=f"account {self._requested_account!r} is not managed by the IB gateway at "
                        f"{self._ipaddress}:{self._port}; managed accounts: {', '.join(managed) or 'none'}"
                    )
                )

        ib.errorEvent += on_error
        ib.client.apiStart += on_api_start
        task = loop.create_task(
            ib.connectAsync(
                self._ipaddress,
                self._port,
                clientId=client_id,
                timeout=self.connect_timeout,
                readonly=self._readonly,
                account=self._requested_account,
            )
        )
        try:
            done, _ = await asyncio.wait({task, failure}, timeout=self.connect_timeout, return_when="FIRST_COMPLETED")
        except asyncio.CancelledError:  # closed while reconnecting: leave no socket behind
            await self._abandon(task)
            raise
        finally:
            ib.errorEvent -= on_error
            ib.client.apiStart -= on_api_start
        if failure in done or task not in done:
            await self._abandon(task)
            if failure.done():
                raise failure.result()
            raise IBNotConnected(
                message=f"IB gateway at {self._ipaddress}:{self._port} did not complete the API handshake "
                f"within {self.connect_timeout:g} s (client id {client_id})"
            )
        exc = task.exception()
        if exc is not None:
            self._drop_socket()
            raise self._connect_error(exc, client_id) from exc
        if not self._requested_account and len(ib.managedAccounts()) == 1:
            self._account = ib.managedAccounts()[0]

    async def _abandon(self, task: asyncio.Task) -> None:
        # asyncio.wait_for (3.11) swallows a cancel that lands as its inner future completes, and
        # ib_async then carries on with its start-up requests; so cancel until the task ends.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.0
        while not task.done() and loop.time() < deadline:
            task.cancel()
            await asyncio.wait({task}, timeout=0.05)
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the caller raises its own, clearer error
        self._drop_socket()

    def _drop_socket(self) -> None:
        # ib_async's own clean-up can leave a half-open socket when the API never became ready.
        if self._ib.client.connState != Client.DISCONNECTED:
            with contextlib.suppress(Exception):
                self._ib.client.disconnect()

    def _connect_error(self, exc: BaseException, client_id: int) -> IBError:
        where = f"{self._ipaddress}:{self._port}"
        if isinstance(exc, IBError):
            return exc
        if isinstance(exc, ConnectionRefusedError):
            return IBNotConnected(
                message=f"IB gateway not reachable at {where} (connection refused): is IB Gateway/TWS running "
                "with the API enabled on that port?"
            )
        if isinstance(exc, TimeoutError):
            return IBNotConnected(message=f"IB gateway at {where} did not answer within {self.connect_timeout:g} s")
        if isinstance(exc, OSError):
            return IBNotConnected(message=f"IB gateway not reachable at {where}: {exc}")
        return IBNotConnected(message=f"IB connection to {where} as client {client_id} failed: {exc!r}")

    # -------------------------------------------------------------- client ids
    def _next_client_id(self, refused: int) -> int:
        store = self._client_id_data
        if hasattr(store, "next_after_refused"):
            return store.next_after_refused(refused)
        if hasattr(store, "mark_refused"):
            store.mark_refused(refused)
        else:
            store.release_clientid(refused)
        return store.return_valid_client_id()

    def _switch_client_id(self, new_id: int) -> None:
        with self._heartbeat_lock:
            restart = self._heartbeat is not None
        if restart:
            self._stop_heartbeat()
        self._client_id = new_id
        if restart:
            self._start_heartbeat()

    def _start_heartbeat(self) -> None:
        store = self._client_id_data
        if store is None:
            return
        with self._heartbeat_lock:
            # Every brokerClientIdData renews its lease from a thread of its own.
            self._heartbeat = store.start_heartbeat(
                self._client_id, self._heartbeat_seconds, on_lost=self._on_lease_lost
            )

    def _stop_heartbeat(self) -> None:
        with self._heartbeat_lock:
            keeper, self._heartbeat = self._heartbeat, None
        if keeper is not None:
            keeper.stop()

    def _on_lease_lost(self, client_id: int) -> None:
        # Runs on the heartbeat thread. The connection itself is fine; try to take the id back.
        store = self._client_id_data
        if self._closed or store is None:
            return
        try:
            again = store.return_valid_client_id(client_id)
        except Exception:
            again = None
        if again == client_id:
            self._log.warning("Lease on IB client id %d was lost and has been re-taken", client_id)
            with self._heartbeat_lock:
                self._heartbeat = None
            self._start_heartbeat()
            return
        if again is not None:
            store.release_clientid(again)
        self._log.critical("Lost the lease on IB client id %d: another process may be given it", client_id)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.supervisor.emit_client_id_lost, client_id)

    def _release_client_id(self) -> None:
        if self._client_id_data is None:
            return
        try:
            self._client_id_data.release_clientid(self._client_id)
        except Exception as exc:
            self._log.warning("Could not release IB client id %d: %s", self._client_id, exc)

    def _close_own_store(self) -> None:
        for name in ("_own_store", "_lines_store"):
            store = getattr(self, name)
            setattr(self, name, None)
            if store is not None:
                with contextlib.suppress(Exception):
                    store.close()

    def _market_data_lines(self) -> Any:
        """The login's market-data line budget (config `ib_market_data_lines`; None when off)."""
        budget = self.config.ib_market_data_lines
        if not budget:
            return None
        from sysbrokers.IB.market_data_lines import MarketDataLines
        from sysbrokers.IB.pacers import gateway_login_key
        from sysdata.metadata_store import open_metadata_store

        gateway = gateway_login_key(self.address)
        self._lines_store = open_metadata_store(self.config)
        return MarketDataLines(
            self._lines_store.market_data_lines(gateway), budget, gateway, self.config.client_id_lease_seconds
        )

    # ---------------------------------------------------------------- loop
    @property
    def mode(self) -> str:
        """The mode: "script", "notebook" (own "ib-loop" thread) or "async" (`connectionIB.create`)."""
        if self._loop_thread is not None:
            return "notebook"
        return "async" if self._async_mode else "script"

    @property
    def ib_loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop that owns the IB socket (None before the first connect)."""
        return self._loop

    def off_loop_thread(self) -> bool:
        """True when the IB loop is running on another thread than this one: IB work must then be
        handed to it (`call_in_loop`, `run_sync`). False in script mode and on the loop's thread."""
        loop = self._loop
        if loop is None or not loop.is_running():
            if self._loop_thread is not None and not self._loop_thread.in_thread():
                return True  # notebook mode with a stopped loop: the hand-off reports it
            return False
        return asyncio._get_running_loop() is not loop

    def call_in_loop(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """`fn(*args)` on the IB loop's thread: a direct call there and in script mode; from any
        other thread it is handed to the loop and waited for, up to `timeout` s (default
        `loop_call_timeout`; `IBRequestTimeout` after it, `IBNotConnected` if the loop stopped)."""
        if not self.off_loop_thread():
            return fn(*args)
        limit = self.loop_call_timeout if timeout is None else timeout
        return _call_in_loop(self._ib_loop_or_fail(), fn, *args, timeout=limit, what=_name_of(fn))

    def _foreign_loop(self) -> bool:
        """Running on a loop other than the (running) IB loop, e.g. Jupyter's in notebook mode."""
        loop = self._loop
        return loop is not None and loop.is_running() and asyncio._get_running_loop() is not loop

    async def _await_on_ib_loop(self, coro):
        """Await `coro` run as a task on the IB loop (from another running loop)."""
        try:
            loop = self._ib_loop_or_fail()
        except IBNotConnected:
            coro.close()
            raise
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    def _ib_loop_or_fail(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            raise IBNotConnected(message=f"{self!r}: its event loop is not running (connection closed?)")
        return loop

    def run_sync(self, coro, timeout: float | None = None):
        """Run a coroutine to completion on ib_async's loop, from synchronous code.

        Script mode: the loop runs on this thread until the coroutine is done. From another
        thread than the running IB loop's (notebook mode, worker threads of an asyncio program)
        the coroutine is handed to that loop and waited for, up to `timeout` s (default
        `loop_call_timeout`)."""
        if self.off_loop_thread():
            limit = self.loop_call_timeout if timeout is None else timeout
            try:
                loop = self._ib_loop_or_fail()
            except IBNotConnected:
                if asyncio.iscoroutine(coro):
                    coro.close()
                raise
            return _run_in_loop(loop, coro, limit, _name_of(coro))
        try:
            loop = self.sync_loop()
        except RuntimeError:
            if asyncio.iscoroutine(coro):
                coro.close()  # never awaited: close it so Python does not warn about it
            raise
        return loop.run_until_complete(coro)

    def sync_loop(self) -> asyncio.AbstractEventLoop:
        """ib_async's event loop, for blocking calls (RuntimeError inside a running loop)."""
        loop = util.getLoop()
        if loop.is_running() and not _nested_loop_allowed():
            raise RuntimeError(
                "connectionIB called synchronously on the thread of its running event loop: "
                "await the data objects' `*_async` forms (`name_async` for each method `name`) "
                "or the connection's `*_async` methods instead (docs/async.md)"
            )
        return loop

    _run_sync = run_sync  # the name the client objects already use

    def _settle_loop(self) -> None:
        """Let cancelled background tasks finish so none is left pending on the loop."""
        loop = util.getLoop()
        if loop.is_running() or loop.is_closed():
            return
        pending = [t for t in self.supervisor.pending_tasks() if t.get_loop() is loop]
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=3))
        loop.run_until_complete(asyncio.sleep(0))


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name_of(work: Any) -> str:
    name = getattr(work, "__qualname__", None) or getattr(work, "__name__", None) or repr(work)
    return f"IB call {name}"


def _loop_is_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _nested_loop_allowed() -> bool:
    # ib_async's util.startLoop() (Jupyter) patches the loop with nest_asyncio.
    loop = util.getLoop()
    return bool(getattr(loop, "_nest_patched", False))


__all__ = ["ConnectionEvent", "ConnectionState", "connectionIB"]
