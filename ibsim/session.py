"""One client connection to the simulated gateway: handshake, dispatch, subscriptions.

    session = ClientSession(gateway, reader, writer)   # one per accepted socket (server.py)
    await session.run()                                # until either side closes

A session decodes each request, answers it, and keeps the client's subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import combos, convert, errors, history, ticks, unsupported
from . import messages as m
from .broker import ExecutionFilter
from .pacing import MessageRateLimiter
from .wire import (
    FrameReader,
    ProtocolError,
    connection_time,
    encode_frame,
    encode_frames,
    negotiate,
    parse_ib_datetime,
)

if TYPE_CHECKING:
    from .interfaces import Gateway
    from .model import Instrument

log = logging.getLogger("ibsim.session")
UTC = dt.UTC


@dataclass
class MarketDataSub:
    req_id: int
    instrument: Instrument
    delayed: bool
    last_sent: dict[int, Any] = field(default_factory=dict)
    data_type: int = 1  # the marketDataType in force: 1 live, 2 frozen, 3 delayed, 4 delayed frozen
    announce: bool = False  # send marketDataType (58) when the type in force changes


@dataclass
class BarsSub:
    """A keepUpToDate historical request or a 5-second real-time bar stream."""

    req_id: int
    instrument: Instrument
    bar_size: str
    what_to_show: str
    use_rth: bool
    format_date: int = 2
    next_due: float = 0.0  # real monotonic time of the next update
    last_bar_end: dt.datetime | None = None


class ClientSession:
    """Serves one TCP connection until either side closes it."""

    def __init__(self, server: Gateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.version = 0
        self.client_id: int | None = None
        self.api_started = False
        self.closed = False
        self.market_data_type = 1
        self.market_data_type_requested = False
        self.mkt_subs: dict[int, MarketDataSub] = {}
        self.bar_subs: dict[int, BarsSub] = {}  # keepUpToDate
        self.rt_subs: dict[int, BarsSub] = {}  # real-time bars
        self.tbt_subs: dict[int, ticks.TickByTickSub] = {}  # tick-by-tick streams
        self.account_updates: str | None = None  # account subscribed with reqAccountUpdates
        self.account_multi: dict[int, str] = {}
        self.positions_subscribed = False
        self.pnl_subs: dict[int, str] = {}
        self.pnl_single_subs: dict[int, tuple[str, int]] = {}
        self.summary_subs: dict[int, tuple[str, str]] = {}
        self.messages_in = 0
        self.messages_out = 0
        rate = server.config.max_message_rate
        self.rate_limiter = MessageRateLimiter(rate) if rate else None
        self.paced = False  # the client asked TWS to pace its messages ("+PACEAPI")
        self.rate_violations = 0
        self._handlers = self._handler_table()

    # ------------------------------------------------------------------ io
    def send(self, fields: list) -> None:
        if self.closed:
            return
        self.writer.write(encode_frame(fields))
        self.messages_out += 1

    def send_many(self, messages: list[list]) -> None:
        if self.closed or not messages:
            return
        self.writer.write(encode_frames(messages))
        self.messages_out += len(messages)

    def error(self, req_id: int, code: int, text: str | None = None, advanced_json: str = "") -> None:
        self.send(m.error(req_id, code, text if text is not None else errors.text(code), self.version, advanced_json))

    async def run(self) -> None:
        frames = FrameReader()
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    break
                try:
                    messages = frames.feed(data)
                except ProtocolError as exc:
                    log.warning("closing %s: malformed input: %s", self.peer, exc)
                    break
                if not self.version and frames.handshake is not None:
                    if not self._handshake(*frames.handshake):
                        break
                arrived = time.monotonic()
                for fields in messages:
                    self.messages_in += 1
                    if self.rate_limiter is not None and self.api_started and not await self._within_rate(arrived):
                        if self.closed:
                            break
                        continue
                    self._dispatch(fields)
                    if self.closed:
                        break
                if self.writer.transport.get_write_buffer_size() > 4 * 1024 * 1024:
                    await self.writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("connection %s lost: %s", self.peer, exc)  # the client went away: end the session
        finally:
            await self.close()

    async def _within_rate(self, arrived: float) -> bool:
        """IB's message-rate limit: a paced client waits; any other gets error 100 for each message
        past the limit (the message is dropped), and is disconnected at the configured count."""
        limiter = self.rate_limiter
        if self.paced:
            wait = limiter.delay(max(arrived, time.monotonic()))
            if wait > 0:
                await asyncio.sleep(wait)
            limiter.admit(time.monotonic())
            return True
        if limiter.admit(arrived):
            return True
        self.rate_violations += 1
        self.server.stats["rate_violations"] += 1
        log.warning(
            "client %s: message rate above %d/s (%d)", self.client_id, limiter.max_per_second, self.rate_violations
        )
        self.error(-1, 100)
        if self.rate_violations >= self.server.config.rate_violations_to_disconnect:
            log.warning("client %s disconnected for exceeding the message rate", self.client_id)
            await self.close()
        return False

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.server.unregister(self)
        # A socket that is already broken cannot be closed more cleanly than this.
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        log.info("connection %s (client id %s) closed", self.peer, self.client_id)

    # ------------------------------------------------------------ handshake
    def _handshake(self, client_min: int, client_max: int, options: str) -> bool:
        self.paced = "+PACEAPI" in options.upper()
        try:
            self.version = negotiate(client_min, client_max)
        except ProtocolError as exc:
            log.warning("refusing %s: %s", self.peer, exc)
            return False
        conn_time = connection_time(self.server.clock.now(), self.server.config.tws_zone)
        self.writer.write(encode_frame(m.handshake_reply(self.version, conn_time)))
        log.info(
            "connection %s negotiated version %d (client offers %d..%d)",
            self.peer,
            self.version,
            client_min,
            client_max,
        )
        return True

    def _start_api(self, req: m.StartApi) -> None:
        if self.api_started:
            return
        if not self.server.register(self, req.client_id):
            self.error(-1, 326)
            asyncio.get_running_loop().create_task(self._close_soon())
            return
        self.client_id = req.client_id
        self.api_started = True
        log.info("client id %d connected from %s", self.client_id, self.peer)
        self.send(m.managed_accounts(self.server.accounts))
        self.send(m.next_valid_id(self.server.broker.next_valid_id(self.client_id)))
        asyncio.get_running_loop().call_later(
            self.server.config.timing.farm_notice_delay, self.send_farm_notices, errors.FARMS_AT_CONNECT
        )

    async def _close_soon(self) -> None:
        await asyncio.sleep(0.05)
        await self.close()

    def send_farm_notices(self, codes: tuple[int, ...]) -> None:
        for code in codes:
            for farm in errors.FARMS[code]:
                self.error(-1, code, errors.text(code, farm=farm))

    # -------------------------------------------------------------- dispatch
    def _handler_table(self) -> dict[type, Any]:
        return {
            m.StartApi: self._start_api,
            m.ReqContractDetails: self._req_contract_details,
            m.ReqHistoricalData: self._req_historical_data,
            m.CancelHistoricalData: self._cancel_historical_data,
            m.ReqHeadTimeStamp: self._req_head_timestamp,
            m.CancelHeadTimeStamp: lambda req: None,
            m.ReqMktData: self._req_mkt_data,
            m.CancelMktData: self._cancel_mkt_data,
            m.ReqMarketDataType: self._req_market_data_type,
            m.ReqRealTimeBars: self._req_real_time_bars,
            m.CancelRealTimeBars: lambda req: self.rt_subs.pop(req.req_id, None),
            m.PlaceOrder: self._place_order,
            m.CancelOrder: self._cancel_order,
            m.ReqGlobalCancel: self._global_cancel,
            m.ReqIds: self._req_ids,
            m.ReqOpenOrders: self._req_open_orders,
            m.ReqAllOpenOrders: self._req_all_open_orders,
            m.ReqAutoOpenOrders: self._req_auto_open_orders,
            m.ReqCompletedOrders: self._req_completed_orders,
            m.ReqExecutions: self._req_executions,
            m.ReqPositions: self._req_positions,
            m.CancelPositions: self._cancel_positions,
            m.ReqAccountUpdates: self._req_account_updates,
            m.ReqAccountUpdatesMulti: self._req_account_updates_multi,
            m.CancelAccountUpdatesMulti: lambda req: self.account_multi.pop(req.req_id, None),
            m.ReqAccountSummary: self._req_account_summary,
            m.CancelAccountSummary: lambda req: self.summary_subs.pop(req.req_id, None),
            m.ReqCurrentTime: self._req_current_time,
            m.ReqPnL: self._req_pnl,
            m.CancelPnL: lambda req: self.pnl_subs.pop(req.req_id, None),
            m.ReqPnLSingle: self._req_pnl_single,
            m.CancelPnLSingle: lambda req: self.pnl_single_subs.pop(req.req_id, None),
            m.ReqManagedAccts: lambda req: self.send(m.managed_accounts(self.server.accounts)),
            m.ReqHistoricalTicks: self._req_historical_ticks,
            m.ReqTickByTickData: self._req_tick_by_tick,
            m.CancelTickByTickData: lambda req: self.tbt_subs.pop(req.req_id, None),
            m.ReqPositionsMulti: self._req_positions_multi,
            m.CancelPositionsMulti: lambda req: None,
            m.ReqMarketRule: self._req_market_rule,
            m.ReqMatchingSymbols: self._req_matching_symbols,
        }

    def _dispatch(self, fields: list[str]) -> None:
        try:
            msg_id = int(fields[0])
        except (ValueError, IndexError):
            log.warning("%s: ignoring message with a non-numeric id %r", self.peer, fields[:1])
            return
        if self.server.faults.is_unanswered(msg_id) and self.api_started:
            log.info("%s: message %d left unanswered (fault injection)", self.peer, msg_id)
            return
        try:
            req = m.decode_request(msg_id, fields, self.version)
        except ProtocolError as exc:
            log.warning("%s: bad message %d: %s", self.peer, msg_id, exc)
            self.error(-1, 320, f"Error reading request.-'{msg_id}' : cause - {exc}")
            return
        if not self.api_started and not isinstance(req, m.StartApi):
            log.info("%s: message %d before startApi ignored", self.peer, msg_id)
            return
        if isinstance(req, m.UnknownRequest):
            # Not simulated in full: the answer a gateway gives (data, an error, or none for cancels).
            log.info("%s: %s (%d) answered as not simulated", self.peer, unsupported.request_name(msg_id), msg_id)
            self.send_many(unsupported.answer(msg_id, req.fields, self.server.accounts, self.version))
            return
        handler = self._handlers.get(type(req))
        if handler is None:
            log.info("%s: no handler for %s; ignored", self.peer, type(req).__name__)
            return
        try:
            handler(req)
        except Exception as exc:  # a bug in one handler must not take the gateway down
            log.exception("%s: error handling %s", self.peer, type(req).__name__)
            self.error(getattr(req, "req_id", -1), 322, f"Error processing request.-'{msg_id}' : cause - {exc}")

    # ------------------------------------------------------------ contracts
    def _resolve(self, spec: m.ContractSpec, include_expired: bool | None = None) -> list[Instrument]:
        expired = spec.include_expired if include_expired is None else include_expired
        return self.server.catalog.match(spec, self.server.clock.now(), expired)

    def _req_contract_details(self, req: m.ReqContractDetails) -> None:
        spec = req.contract
        now = self.server.clock.now()
        sec_type = (spec.sec_type or "").upper()
        if sec_type not in ("", "FUT", "CONTFUT", "CASH", "FUT+CONTFUT"):
            self.error(req.req_id, 321, errors.text(321, code="bQ", cause="Please enter a valid security type"))
            return
        if sec_type == "CONTFUT":
            front = self.server.catalog.front_month_for(spec, now)
            found = [front] if front is not None else []
        else:
            found = self._resolve(spec)
        if not found:
            self.error(req.req_id, 200)
            return
        rows = [
            m.contract_data(req.req_id, convert.details_data(self.server.catalog, inst, now, sec_type), self.version)
            for inst in found
        ]
        rows.append(m.contract_data_end(req.req_id))
        self.send_many(rows)

    def _single_instrument(
        self, req_id: int, spec: m.ContractSpec, include_expired: bool = True, combo_ok: bool = False
    ) -> Instrument | None:
        if (spec.sec_type or "").upper() == "BAG":  # a combo: resolved from its legs (orders, market data)
            if not combo_ok:
                cause = "The simulator serves combination (BAG) contracts for market data and orders only"
                self.error(req_id, 321, errors.text(321, code="bK", cause=cause))
                return None
            combo = combos.resolve_combo(spec, self.server.catalog.by_con_id)
            if isinstance(combo, combos.ComboError):
                self.error(req_id, combo.code, combo.text)
                return None
            return combo  # type: ignore[return-value]
        if (spec.sec_type or "").upper() == "CONTFUT":
            inst = self.server.catalog.front_month_for(spec, self.server.clock.now())
            found = [inst] if inst else []
        else:
            found = self._resolve(spec, include_expired)
            if not found and spec.con_id:
                # Data requests by conId still find contracts that left the listing window.
                inst = self.server.catalog.by_con_id(spec.con_id)
                found = [inst] if inst is not None else []
        if len(found) != 1:
            self.error(req_id, 200)
            return None
        return found[0]

    # ------------------------------------------------------------- history
    def _req_historical_data(self, req: m.ReqHistoricalData) -> None:
        server = self.server
        inst = self._single_instrument(req.req_id, req.contract)
        if inst is None:
            return
        what = req.what_to_show.upper()
        if what not in history.WHAT_TO_SHOW:
            self.error(
                req.req_id, 321, errors.text(321, code="bW", cause="What to show field is missing or incorrect.")
            )
            return
        try:
            bar_size = history.normalise_bar_size(req.bar_size)
            if req.keep_up_to_date and req.end_date_time:
                raise history.HistoryRequestError(
                    321, errors.text(321, code="bM", cause="End date not supported with live updates")
                )
            now = server.clock.now()
            end = now
            if req.end_date_time:
                parsed, has_zone = parse_ib_datetime(req.end_date_time, "UTC")
                if not has_zone:
                    self.error(req.req_id, 2174)
                end = min(parsed, now) if parsed is not None else now
            window = history.window_for(end, req.duration, bar_size)
        except history.HistoryRequestError as exc:
            self.error(req.req_id, exc.code, exc.text)
            return
        if not server.permitted(inst, historical=True):
            self.error(req.req_id, 162, errors.hmds(f"No market data permissions for {inst.exchange} {inst.sec_type}"))
            return
        contract_key = (inst.con_id, inst.exchange)
        request_key = (
            inst.con_id,
            end.replace(microsecond=0) if req.end_date_time else "",
            bar_size,
            req.duration,
            what,
            req.use_rth,
            self.client_id,
        )
        bar_seconds = history.bar_seconds(bar_size)
        broken = server.pacer.check(request_key, contract_key, what, time.monotonic(), bar_seconds)
        if broken is not None:
            log.info("client %s: pacing violation (%s)", self.client_id, broken)
            self.error(req.req_id, 162, errors.hmds("Historical data request pacing violation"))
            return
        no_data = errors.hmds(f"HMDS query returned no data: {inst.local_symbol}@{inst.exchange} {_what_label(what)}")
        if inst.expiry_utc is not None and now - inst.expiry_utc > history.EXPIRED_HISTORY:
            self.error(req.req_id, 162, no_data)
            return
        if history.MAX_DURATION[bar_size] <= 28_800 and now - window.start > history.SMALL_BAR_HISTORY:
            self.error(req.req_id, 162, no_data)
            return
        if (req.contract.sec_type or "").upper() == "CONTFUT":
            bars = self._continuous_bars(inst, window.start, window.end, bar_size, what, req.use_rth)
        else:
            bars = server.market.bars(inst, window.start, window.end, bar_size, what, req.use_rth)
        if len(bars) == 0 and not req.keep_up_to_date:
            self.error(req.req_id, 162, no_data)
            return
        decimals = server.decimals(inst)
        rows = history.format_rows(bars, bar_size, req.format_date, server.config.tws_zone, decimals)
        reply = m.historical_data(req.req_id, history.header_time(window.start), history.header_time(window.end), rows)
        delay = server.pacer.answer_delay(bar_seconds, time.monotonic())
        if delay > 0:  # IB's soft throttle: a slow answer, not an error
            asyncio.get_running_loop().call_later(delay, self.send, reply)
        else:
            self.send(reply)
        server.stats["bars_sent"] += len(rows)
        if req.keep_up_to_date:
            self.bar_subs[req.req_id] = BarsSub(
                req.req_id,
                inst,
                bar_size,
                what,
                req.use_rth,
                req.format_date,
                next_due=time.monotonic() + server.config.timing.keep_up_to_date_interval,
            )

    def _continuous_bars(
        self, front: Instrument, start: dt.datetime, end: dt.datetime, bar_size: str, what: str, use_rth: bool
    ):
        """CONTFUT history: at each time the bars of the lead contract of that time (the nearest
        contract not yet expired), rolling at each expiry; prices are not adjusted."""
        catalog, market = self.server.catalog, self.server.market
        parts = []
        t = start
        while t < end:
            listed = catalog.instruments_for(front.product, t)
            if not listed:
                break
            lead = listed[0]
            stop = min(lead.expiry_utc or end, end)
            if stop <= t:
                break
            parts.append(market.bars(lead, t, stop, bar_size, what, use_rth))
            t = stop
        return history.concat_bars(parts)

    def _cancel_historical_data(self, req: m.CancelHistoricalData) -> None:
        if self.bar_subs.pop(req.req_id, None) is None:
            # Historical replies are sent in one piece, so a cancel always finds nothing running.
            log.debug("cancelHistoricalData %s: no query running", req.req_id)

    def _req_head_timestamp(self, req: m.ReqHeadTimeStamp) -> None:
        inst = self._single_instrument(req.req_id, req.contract)
        if inst is None:
            return
        now = self.server.clock.now()
        if inst.expiry_utc is not None and now - inst.expiry_utc > history.EXPIRED_HISTORY:
            self.error(req.req_id, 162, errors.hmds("No head time stamp"))
            return
        head = self.server.market.head_timestamp(inst, req.what_to_show.upper(), req.use_rth)
        if req.format_date == 2:
            text = str(int(head.timestamp()))
        else:
            zone = self.server.config.tws_zone
            text = head.astimezone(self.server.tws_zoneinfo).strftime("%Y%m%d %H:%M:%S ") + zone
        self.send(m.head_timestamp(req.req_id, text))

    def send_bar_updates(self, now: dt.datetime, mono: float) -> None:
        """keepUpToDate: the bar in progress, every few seconds (called by the server loop)."""
        server = self.server
        for sub in list(self.bar_subs.values()):
            if mono < sub.next_due:
                continue
            sub.next_due = mono + server.config.timing.keep_up_to_date_interval
            span = history.MAX_DURATION[sub.bar_size]
            lookback = dt.timedelta(seconds=min(span, 8 * 86400))
            bars = server.market.bars(sub.instrument, now - lookback, now, sub.bar_size, sub.what_to_show, sub.use_rth)
            row = history.last_bar_row(
                bars, sub.bar_size, sub.format_date, server.config.tws_zone, server.decimals(sub.instrument)
            )
            if row is None:
                continue
            date, o, h, lo, c, vol, wap, count = row
            bar_count = int(count) if sub.what_to_show in ("TRADES", "ADJUSTED_LAST") else -1
            self.send(m.historical_data_update(sub.req_id, bar_count, date, o, c, h, lo, wap, vol))

    # --------------------------------------------------------- real-time bars
    def _req_real_time_bars(self, req: m.ReqRealTimeBars) -> None:
        inst = self._single_instrument(req.req_id, req.contract, include_expired=False)
        if inst is None:
            return
        if not self.server.permitted(inst):  # IB has no delayed real-time bars: refused outright
            self.error(req.req_id, 420, f"Invalid Real-time Query:No market data permissions for {inst.exchange} FUT")
            return
        now = self.server.clock.now()
        aligned = now.replace(second=now.second - now.second % 5, microsecond=0)
        self.rt_subs[req.req_id] = BarsSub(
            req.req_id, inst, "5 secs", req.what_to_show.upper(), req.use_rth, last_bar_end=aligned
        )

    def send_real_time_bars(self, now: dt.datetime) -> None:
        server = self.server
        for sub in list(self.rt_subs.values()):
            start = sub.last_bar_end
            if start is None or now - start < dt.timedelta(seconds=5):
                continue
            # At high clock speeds several bars may be due: send the ones that finished.
            end = now.replace(second=now.second - now.second % 5, microsecond=0)
            if (end - start).total_seconds() > 3600:
                start = end - dt.timedelta(seconds=3600)
            bars = server.market.bars(sub.instrument, start, end, "5 secs", sub.what_to_show, sub.use_rth)
            sub.last_bar_end = end
            if len(bars) == 0:
                continue
            decimals = server.decimals(sub.instrument)
            out = []
            for i in range(len(bars)):
                out.append(
                    m.real_time_bar(
                        sub.req_id,
                        int(bars.time[i]),
                        round(float(bars.open[i]), decimals),
                        round(float(bars.high[i]), decimals),
                        round(float(bars.low[i]), decimals),
                        round(float(bars.close[i]), decimals),
                        max(int(bars.volume[i]), 0),
                        round(float(bars.wap[i]), decimals + 2) if bars.wap[i] >= 0 else -1.0,
                        max(int(bars.count[i]), 0),
                    )
                )
            self.send_many(out)

    # ----------------------------------------------------------- market data
    def _req_market_data_type(self, req: m.ReqMarketDataType) -> None:
        if req.market_data_type not in (1, 2, 3, 4):
            self.error(-1, 321, errors.text(321, code="bJ", cause=f"Invalid market data type {req.market_data_type}"))
            return
        self.market_data_type = req.market_data_type
        self.market_data_type_requested = True

    def _req_mkt_data(self, req: m.ReqMktData) -> None:
        server = self.server
        inst = self._single_instrument(req.req_id, req.contract, include_expired=False, combo_ok=True)
        if inst is None:
            return
        if not req.snapshot and len(server.all_market_subscriptions()) >= server.config.max_tickers:
            self.error(req.req_id, 101)
            return
        delayed = False
        if not server.permitted(inst):
            if self.market_data_type in (3, 4):
                delayed = True
                self.error(req.req_id, 10167)
            else:
                self.error(req.req_id, 354)
                return
        now = server.clock.now()
        sub = MarketDataSub(req.req_id, inst, delayed, announce=self.market_data_type_requested or delayed)
        sub.data_type = self._data_type_in_force(sub, now)
        self.send(m.tick_req_params(req.req_id, inst.min_tick, "", 3))
        if sub.announce:
            self.send(m.market_data_type(req.req_id, sub.data_type))
        self.send_ticks(sub, now, full=True)
        if req.snapshot or req.regulatory_snapshot:
            self.send(m.tick_snapshot_end(req.req_id))
        else:
            self.mkt_subs[req.req_id] = sub

    def _data_type_in_force(self, sub: MarketDataSub, now: dt.datetime, is_open: bool | None = None) -> int:
        """IB's rule: live data whenever it is available (permission and an open market), else
        the frozen (2, 4) or delayed (3) kind that reqMarketDataType allows."""
        if is_open is None:
            is_open = self.server.market.quote(sub.instrument, now).is_open
        if not sub.delayed:
            return 2 if self.market_data_type in (2, 4) and not is_open else 1
        return 4 if self.market_data_type == 4 and not is_open else 3

    def _cancel_mkt_data(self, req: m.CancelMktData) -> None:
        self.mkt_subs.pop(req.req_id, None)

    def send_ticks(self, sub: MarketDataSub, now: dt.datetime, full: bool = False) -> int:
        """Send what changed in `sub`'s quote since the last call; returns the ticks sent."""
        out = self.tick_messages(sub, now, full)
        self.send_many(out)
        return len(out)

    def tick_messages(self, sub: MarketDataSub, now: dt.datetime, full: bool = False) -> list[list]:
        """The tick messages for what changed in `sub`'s quote since the last call."""
        server = self.server
        quote = server.market.quote(sub.instrument, now - server.config.delayed_by if sub.delayed else now)
        d = sub.instrument.decimals if combos.is_combo(sub.instrument) else server.decimals(sub.instrument)
        ids = _DELAYED_IDS if sub.delayed else _LIVE_IDS
        last = sub.last_sent
        out: list[list] = []
        rid = sub.req_id
        if sub.announce and not full:
            kind = self._data_type_in_force(sub, now, None if sub.delayed else quote.is_open)
            if kind != sub.data_type:  # e.g. frozen at the close, live again at the open
                sub.data_type = kind
                out.append(m.market_data_type(rid, kind))
        prices = (
            (ids["bid"], round(quote.bid, d), quote.bid_size),
            (ids["ask"], round(quote.ask, d), quote.ask_size),
            (ids["last"], round(quote.last, d), quote.last_size),
        )
        for tick, price, size in prices:
            if full or last.get(tick) != (price, size):
                last[tick] = (price, size)
                out.append(m.tick_price(rid, tick, price, size, 0))
                out.append(m.tick_size(rid, ids["size_of"][tick], size))
        stats = (
            (ids["high"], round(quote.high, d)),
            (ids["low"], round(quote.low, d)),
            (ids["close"], round(quote.close, d)),
            (ids["open"], round(quote.open, d)),
        )
        for tick, price in stats:
            if full or last.get(tick) != price:
                last[tick] = price
                out.append(m.tick_price(rid, tick, price, 0, 0))
        if full or last.get(ids["volume"]) != quote.volume:
            last[ids["volume"]] = quote.volume
            out.append(m.tick_size(rid, ids["volume"], quote.volume))
        if out and (full or last.get("ts") != int(quote.time.timestamp())):
            last["ts"] = int(quote.time.timestamp())
            out.append(m.tick_string(rid, ids["timestamp"], str(last["ts"])))
        return out

    # ------------------------------------------------------------ tick data
    def _req_historical_ticks(self, req: m.ReqHistoricalTicks) -> None:
        server = self.server
        inst = self._single_instrument(req.req_id, req.contract)
        if inst is None:
            return
        what = req.what_to_show.upper()
        if what not in ticks.WHAT:
            self.error(
                req.req_id, 321, errors.text(321, code="bW", cause="What to show field is missing or incorrect.")
            )
            return
        try:
            start, start_zone = parse_ib_datetime(req.start_date_time, "UTC")
            end, end_zone = parse_ib_datetime(req.end_date_time, "UTC")
        except ProtocolError as exc:
            self.error(req.req_id, 321, errors.text(321, code="bH", cause=str(exc)))
            return
        if (start is None) == (end is None):
            cause = "Exactly one of start and end date/time must be specified."
            self.error(req.req_id, 321, errors.text(321, code="bH", cause=cause))
            return
        if not (start_zone and end_zone):
            self.error(req.req_id, 2174)
        if not server.permitted(inst, historical=True):
            self.error(req.req_id, 10187, "Failed to request historical ticks:No market data permissions.")
            return
        now = server.clock.now()
        self.send(
            ticks.historical_ticks(
                server.market, inst, req.req_id, what, start, end, req.number_of_ticks, req.use_rth, now
            )
        )

    def _req_tick_by_tick(self, req: m.ReqTickByTickData) -> None:
        server = self.server
        inst = self._single_instrument(req.req_id, req.contract, include_expired=False)
        if inst is None:
            return
        if req.tick_type not in ticks.TICK_BY_TICK_TYPES:
            cause = f"Invalid tick-by-tick data type: {req.tick_type}"
            self.error(req.req_id, 321, errors.text(321, code="bB", cause=cause))
            return
        if not server.permitted(inst):
            self.error(req.req_id, 10089, errors.text(10089))
            return
        decimals = server.decimals(inst)
        sub = ticks.TickByTickSub(req.req_id, inst, req.tick_type, market=server.market, decimals=decimals)
        self.tbt_subs[req.req_id] = sub
        self.send_many(sub.messages(server.market.quote(inst, server.clock.now())))

    def send_tick_by_tick(self, now: dt.datetime) -> None:
        """Tick-by-tick streams: one tick per change (called by the server loop)."""
        out: list[list] = []
        for sub in list(self.tbt_subs.values()):
            out += sub.messages(self.server.market.quote(sub.instrument, now))
        self.send_many(out)

    # ----------------------------------------------------------------- orders
    def _place_order(self, req: m.PlaceOrder) -> None:
        server = self.server
        if server.config.readonly_api:
            self.error(
                req.order_id,
                321,
                errors.text(321, code="aA", cause="The API interface is currently in Read-Only mode."),
            )
            return
        inst = self._single_instrument(req.order_id, req.contract, include_expired=False, combo_ok=True)
        if inst is None:
            return
        server.stats["orders_received"] += 1
        events = server.broker.place_order(self.client_id, req.order_id, inst, req.order, server.clock.now())
        server.dispatch(events, origin=self)

    def _cancel_order(self, req: m.CancelOrder) -> None:
        events = self.server.broker.cancel(self.client_id, req.order_id, self.server.clock.now())
        self.server.dispatch(events, origin=self)

    def _global_cancel(self, req: m.ReqGlobalCancel) -> None:
        self.server.dispatch(self.server.broker.global_cancel(self.server.clock.now()), origin=self)

    def _req_ids(self, req: m.ReqIds) -> None:
        self.send(m.next_valid_id(self.server.broker.next_valid_id(self.client_id)))

    def _send_open_orders(self, client_id: int | None) -> None:
        server = self.server
        out = []
        for order in server.broker.open_orders(client_id):
            out.extend(convert.order_messages(server, order, self.version))
        out.append(m.open_order_end())
        self.send_many(out)

    def _req_open_orders(self, req: m.ReqOpenOrders) -> None:
        self._send_open_orders(self.client_id)

    def _req_all_open_orders(self, req: m.ReqAllOpenOrders) -> None:
        self._send_open_orders(None)

    def _req_auto_open_orders(self, req: m.ReqAutoOpenOrders) -> None:
        if self.client_id != 0:
            self.error(-1, 327)

    def _req_completed_orders(self, req: m.ReqCompletedOrders) -> None:
        server = self.server
        out = [
            m.completed_order(convert.open_order_data(server, order), self.version)
            for order in server.broker.completed_orders(server.clock.now())
        ]
        out.append(m.completed_orders_end())
        self.send_many(out)

    def _req_executions(self, req: m.ReqExecutions) -> None:
        server = self.server
        out = []
        flt = ExecutionFilter(req.client_id, req.acct_code, req.time, req.symbol, req.sec_type, req.exchange, req.side)
        for fill in server.broker.executions(flt, server.clock.now()):
            out.append(m.exec_details(req.req_id, convert.execution_data(server, fill), self.version))
            if fill.commission is not None and not server.faults.is_commission_missing(fill.exec_id):
                out.append(convert.commission_message(fill))
        out.append(m.exec_details_end(req.req_id))
        self.send_many(out)

    # -------------------------------------------------------------- accounts
    def _check_account(self, account: str) -> bool:
        return account in self.server.accounts

    def _req_positions(self, req: m.ReqPositions) -> None:
        server = self.server
        self.positions_subscribed = True
        out = [
            m.position(p.account, convert.contract_fields(server.instrument(p.con_id)), p.position, p.avg_cost)
            for p in server.broker.positions(None)
        ]
        out.append(m.position_end())
        self.send_many(out)

    def _req_positions_multi(self, req: m.ReqPositionsMulti) -> None:
        server = self.server
        wanted = req.account if req.account and req.account.upper() != "ALL" else None
        if wanted is not None and not self._check_account(wanted):
            self.error(req.req_id, 321, errors.text(321, code="bA", cause=f"Invalid account code '{wanted}'"))
            return
        out = [
            m.position_multi(
                req.req_id, p.account, convert.contract_fields(server.instrument(p.con_id)), p.position, p.avg_cost
            )
            for p in server.broker.positions(None)
            if wanted is None or p.account == wanted
        ]
        out.append(m.position_multi_end(req.req_id))
        self.send_many(out)

    def _req_market_rule(self, req: m.ReqMarketRule) -> None:
        ticks_of = self.server.catalog.market_rule_ticks(req.market_rule_id)
        if ticks_of is None:
            self.error(-1, 321, errors.text(321, code="bR", cause=f"Invalid market rule id {req.market_rule_id}"))
            return
        self.send(m.market_rule(req.market_rule_id, [(0.0, ticks_of)]))

    def _req_matching_symbols(self, req: m.ReqMatchingSymbols) -> None:
        rows = self.server.catalog.matching_symbols(req.pattern)
        self.send(m.symbol_samples(req.req_id, rows, self.version))

    def _cancel_positions(self, req: m.CancelPositions) -> None:
        self.positions_subscribed = False

    def _req_account_updates(self, req: m.ReqAccountUpdates) -> None:
        if not req.subscribe:
            self.account_updates = None
            return
        account = req.acct_code or self.server.accounts[0]
        if not self._check_account(account):
            self.error(-1, 321, errors.text(321, code="bA", cause=f"Invalid account code '{account}'"))
            return
        self.account_updates = account
        self.send_account_update(account, end=True)

    def send_account_update(self, account: str, end: bool = False) -> None:
        server = self.server
        now = server.clock.now()
        out = [m.update_account_value(k, v, c, account) for k, v, c in server.broker.account_values(account, now)]
        for item in server.broker.portfolio(account, now):
            out.append(
                m.update_portfolio(
                    convert.contract_fields(server.instrument(item.con_id), portfolio=True),
                    item.position,
                    item.market_price,
                    item.market_value,
                    item.avg_cost,
                    item.unrealized_pnl,
                    item.realized_pnl,
                    account,
                )
            )
        out.append(m.update_account_time(now.astimezone(server.tws_zoneinfo).strftime("%H:%M")))
        if end:
            out.append(m.account_download_end(account))
        self.send_many(out)

    def _req_account_updates_multi(self, req: m.ReqAccountUpdatesMulti) -> None:
        account = req.account or self.server.accounts[0]
        if not self._check_account(account):
            self.error(req.req_id, 321, errors.text(321, code="bA", cause=f"Invalid account code '{account}'"))
            return
        self.account_multi[req.req_id] = account
        self.send_account_multi(req.req_id, account, end=True)

    def send_account_multi(self, req_id: int, account: str, end: bool = False) -> None:
        now = self.server.clock.now()
        out = [
            m.account_update_multi(req_id, account, "", k, v, c)
            for k, v, c in self.server.broker.account_values(account, now)
        ]
        if end:
            out.append(m.account_update_multi_end(req_id))
        self.send_many(out)

    def _req_account_summary(self, req: m.ReqAccountSummary) -> None:
        self.summary_subs[req.req_id] = (req.group, req.tags)
        self.send_account_summary(req.req_id, req.tags)

    def send_account_summary(self, req_id: int, tags: str) -> None:
        server = self.server
        now = server.clock.now()
        wanted = [t.strip() for t in tags.split(",") if t.strip()]
        out = []
        for account in server.accounts:
            for tag, value, ccy in server.broker.account_summary(account, wanted, now):
                out.append(m.account_summary(req_id, account, tag, value, ccy))
        out.append(m.account_summary_end(req_id))
        self.send_many(out)

    def _req_current_time(self, req: m.ReqCurrentTime) -> None:
        self.send(m.current_time(int(self.server.clock.now().timestamp())))

    def _req_pnl(self, req: m.ReqPnL) -> None:
        self.pnl_subs[req.req_id] = req.account or self.server.accounts[0]
        self.send_pnl()

    def _req_pnl_single(self, req: m.ReqPnLSingle) -> None:
        self.pnl_single_subs[req.req_id] = (req.account or self.server.accounts[0], req.con_id)
        self.send_pnl()

    def send_pnl(self) -> None:
        server = self.server
        now = server.clock.now()
        out = []
        for req_id, account in self.pnl_subs.items():
            daily, unrealized, realized = server.broker.pnl(account, now)
            out.append(m.pnl(req_id, daily, unrealized, realized))
        for req_id, (account, con_id) in self.pnl_single_subs.items():
            single = server.broker.pnl_single(account, con_id, now)
            if single is not None:
                out.append(
                    m.pnl_single(
                        req_id, single.position, single.daily, single.unrealized, single.realized, single.value
                    )
                )
        self.send_many(out)

    def drop_market_subscriptions(self) -> None:
        """What TWS does on 1101 (data lost): every streaming subscription ends silently."""
        self.mkt_subs.clear()
        self.tbt_subs.clear()
        self.bar_subs.clear()
        self.rt_subs.clear()


def _what_label(what: str) -> str:
    return {"TRADES": "Trades", "MIDPOINT": "Midpoint", "BID": "Bid", "ASK": "Ask", "BID_ASK": "Bid_Ask"}.get(
        what, what.title()
    )


_LIVE_IDS: dict[str, Any] = {
    "bid": 1,
    "ask": 2,
    "last": 4,
    "high": 6,
    "low": 7,
    "close": 9,
    "open": 14,
    "volume": 8,
    "timestamp": 45,
    "size_of": {1: 0, 2: 3, 4: 5},
}
_DELAYED_IDS: dict[str, Any] = {
    "bid": 66,
    "ask": 67,
    "last": 68,
    "high": 72,
    "low": 73,
    "close": 75,
    "open": 76,
    "volume": 74,
    "timestamp": 88,
    "size_of": {66: 69, 67: 70, 68: 71},
}
