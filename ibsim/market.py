"""Deterministic market model of the simulator: one price path per contract.

Everything is a pure function of (global seed, product, contract, time), so any window can be
produced without generating what precedes it, and every view is derived top-down from one path:

* Daily level: a product-wide mean-reverting log walk (contracts of a product move together), a
  small per-contract walk and a carry basis that decays to zero at expiry give each trade date's
  close. Open = previous calendar day's model close plus a small gap; high/low lie beyond them.
  Volume/count depend on time to expiry (front months trade most).
* Minute level: each session's minute slots are a Brownian bridge from the session open to its
  close, with per-minute excursions, mapped monotonically onto [low, high] and rounded to the tick
  grid, so the minutes' extremes are exactly the session's. Volumes and counts are split with exact
  integer sums, and minute waps are blended so their volume-weighted mean is the session wap.
* Second level: the same construction inside each minute, conditioned on that minute's bar.
* Coarser bars aggregate the finer base (seconds for sub-minute sizes, minutes otherwise, daily
  rows for weeks and months); a daily bar therefore equals the aggregate of any intraday bars of
  its session exactly (wap within float rounding).

Random numbers come from a counter-based hash (splitmix64 finaliser) indexed by absolute time, so
no generator state is carried between calls. Prices are integers in ticks internally.

Conventions chosen here (IB leaves them open or the model needs one):
* A minute slot is labelled by its clock minute; coarser intraday bars are aligned to the clock of
  the exchange time zone and labelled by the bin start, even if trading starts later in the bin.
* A daily bar belongs to a request window when its session *starts* inside the window; its `time`
  is midnight UTC of the trade date. Weeks (Monday-based) and months are labelled by their first
  trade date, and include every session of the period (up to the request end).
* Bars with zero volume have wap = close.
* BID_ASK bars: open = time-weighted average bid, high = max ask, low = min bid, close =
  time-weighted average ask; the per-minute average bid/ask is (o+h+l+c)/4 of the minute's path
  -/+ its spread offsets, so BID_ASK open/close of a minute differ slightly from the average of its
  one-second BID_ASK bars (all other fields aggregate exactly).
* `path_between` returns (nan, nan) when no trading took place in the interval.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from ibsim.model import Bars, Instrument, Product, Quote, Session

SessionsFn = Callable[[Instrument, dt.datetime, dt.datetime], list[Session]]

UTC = dt.UTC
DAY = 86400
WEEK = 7 * DAY
MONTH = 30 * DAY

BAR_SIZES: dict[str, int] = {
    "1 secs": 1,
    "5 secs": 5,
    "10 secs": 10,
    "15 secs": 15,
    "30 secs": 30,
    "1 min": 60,
    "2 mins": 120,
    "3 mins": 180,
    "5 mins": 300,
    "10 mins": 600,
    "15 mins": 900,
    "20 mins": 1200,
    "30 mins": 1800,
    "1 hour": 3600,
    "2 hours": 7200,
    "3 hours": 10800,
    "4 hours": 14400,
    "8 hours": 28800,
    "1 day": DAY,
    "1 week": WEEK,
    "1 month": MONTH,
}
# Spellings IB also accepts or clients send.
_BAR_ALIASES = {
    "1 sec": "1 secs",
    "1 mins": "1 min",
    "1 hours": "1 hour",
    "1 days": "1 day",
    "1W": "1 week",
    "1 W": "1 week",
    "1 weeks": "1 week",
    "1M": "1 month",
    "1 M": "1 month",
    "1 months": "1 month",
}
WHAT_TO_SHOW = ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST")

# Model constants (per calendar day unless stated).
_EPOCH = dt.date(1970, 1, 1)
_PRODUCT_HALF_LIFE = 730.0  # days: keeps long histories near the product's base price
_CONTRACT_HALF_LIFE = 30.0
_CONTRACT_VOL_SHARE = 0.2  # idiosyncratic vol relative to the product's
_MAX_CARRY = 0.03  # |annual basis| drawn per product
_GAP = 0.2  # open gap in session sigmas
_EXCURSION = 0.6  # high/low beyond open/close, in session sigmas
_ETH_VOL = 0.45  # path volatility outside RTH relative to RTH
_ETH_VOLUME = 0.1  # per-minute volume weight outside RTH relative to RTH
_CHUNK = 256  # OU series are built in chunks aligned to their origin (determinism)


# ---------------------------------------------------------------- counter-based random numbers

_G1 = np.uint64(0x9E3779B97F4A7C15)
_G2 = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LO32 = np.uint64(0xFFFFFFFF)


def _key(*parts: object) -> int:
    """A 64-bit key from any printable parts (stable across processes, unlike hash())."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _hash(key: int, a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """uint64 hash of (key, a, b), elementwise with broadcasting."""
    a = np.asarray(a, dtype=np.int64).astype(np.uint64)
    b = np.asarray(b, dtype=np.int64).astype(np.uint64)
    z = _mix(a * _G1 + np.uint64(key))
    return _mix(z + (b + np.uint64(1)) * _G2)


def _uniforms(key: int, a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """Uniforms in (0, 1)."""
    return ((_hash(key, a, b) >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _normals(key: int, a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """Standard normals (Box-Muller on the two 32-bit halves of one hash)."""
    h = _hash(key, a, b)
    u1 = ((h >> np.uint64(32)).astype(np.float64) + 0.5) * 2.0**-32
    u2 = ((h & _LO32).astype(np.float64) + 0.5) * 2.0**-32
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


# ---------------------------------------------------------------- daily level


class _OUSeries:
    """A mean-reverting (AR(1)) series per calendar day from a fixed origin day, grown on demand.

    Chunks are aligned to the origin so a value never depends on which days were asked first.
    """

    def __init__(self, key: int, sigma: float, half_life: float, origin: int) -> None:
        self.key = key
        self.sigma = sigma
        self.phi = math.exp(-math.log(2.0) / half_life)
        self.origin = origin
        self.x = np.zeros(0)

    def at(self, days: np.ndarray) -> np.ndarray:
        idx = np.clip(days - self.origin, 0, None)
        need = int(idx.max()) + 1 if idx.size else 0
        if need > self.x.size:
            self._extend(need)
        return self.x[idx]

    def _extend(self, need: int) -> None:
        k = np.arange(_CHUNK, dtype=np.float64)
        grow, shrink = self.phi**-k, self.phi**k
        parts = [self.x]
        prev = float(self.x[-1]) if self.x.size else 0.0
        for first in range(self.x.size, need, _CHUNK):
            days = self.origin + np.arange(first, first + _CHUNK)
            e = _normals(self.key, days, 0) * self.sigma
            # x[t] = phi x[t-1] + e[t], solved for the chunk in closed form
            y = shrink * np.cumsum(e * grow) + prev * self.phi * shrink
            parts.append(y)
            prev = float(y[-1])
        self.x = np.concatenate(parts)


@dataclass(frozen=True)
class _ProductParams:
    key: int
    carry: float  # annual log basis per year to expiry
    volume: float  # typical front-month session volume
    trade_size: float  # average contracts per trade


@dataclass
class _Daily:
    """Session-level values per trade date, prices in ticks."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    count: np.ndarray
    wap: np.ndarray
    sigma: np.ndarray  # session path scale in ticks


# ---------------------------------------------------------------- sessions in epoch seconds


@dataclass(frozen=True)
class _Sess:
    trade_date: dt.date
    day: int  # days since 1970-01-01
    segs: tuple[tuple[int, int], ...]
    rth: tuple[tuple[int, int], ...]

    @property
    def start(self) -> int:
        return self.segs[0][0]

    @property
    def end(self) -> int:
        return self.segs[-1][1]


def _epoch(t: dt.datetime) -> float:
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r}: timestamps must be timezone-aware")
    return t.timestamp()


def _clip(pairs, hi: float) -> tuple[tuple[int, int], ...]:
    """Intervals as whole epoch seconds, cut at `hi`, empty ones dropped."""
    out = []
    for a, b in pairs:
        a2, b2 = math.ceil(_epoch(a)), min(math.ceil(_epoch(b)), hi)
        if b2 > a2:
            out.append((int(a2), int(b2)))
    return tuple(out)


# ---------------------------------------------------------------- minute and second paths


@dataclass
class _Minutes:
    """One session's minute slots (a partial minute at a segment edge is its own slot)."""

    label: np.ndarray  # clock minute, epoch s
    start: np.ndarray  # first traded second of the slot
    dur: np.ndarray  # traded seconds in the slot
    rth: np.ndarray  # bool
    o: np.ndarray  # int64 ticks
    h: np.ndarray
    l: np.ndarray
    c: np.ndarray
    v: np.ndarray
    n: np.ndarray
    w: np.ndarray  # float ticks
    sig: np.ndarray  # path scale of the slot (ticks), conditions its seconds
    db: np.ndarray  # bid = trade - db, ask = trade + da (ticks); db + da >= 1
    da: np.ndarray
    cumv: np.ndarray  # running session volume at the end of each slot
    cumh: np.ndarray  # running session high
    cuml: np.ndarray
    open: int  # session open (ticks)


@dataclass
class _Seconds:
    """Seconds of a set of slots, as (slots x 60) arrays; valid columns are < dur."""

    start: np.ndarray  # (P,) first second of each slot
    dur: np.ndarray  # (P,)
    o: np.ndarray
    h: np.ndarray
    l: np.ndarray
    c: np.ndarray
    v: np.ndarray
    n: np.ndarray
    w: np.ndarray


def _split(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split integer totals (P,) over rows of non-negative weights (P, K), sums exact."""
    s = weights.sum(axis=1, keepdims=True)
    q = weights * (total[:, None] / np.where(s > 0, s, 1.0))
    fl = np.floor(q)
    rem = total - fl.sum(axis=1).astype(np.int64)
    frac = np.where(weights > 0, q - fl, -1.0)
    order = np.argsort(-frac, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(weights.shape[1])[None, :], axis=1)
    return fl.astype(np.int64) + (rank < rem[:, None])


def _tilt(logw: np.ndarray, x: np.ndarray, iters: int = 12) -> np.ndarray:
    """Probabilities p ~ exp(logw + theta x) per row with sum(p x) ~ 0 (Newton on theta)."""
    theta = np.zeros((x.shape[0], 1))
    for _ in range(iters):
        a = logw + theta * x
        a = a - a.max(axis=1, keepdims=True)
        p = np.exp(a)
        p /= p.sum(axis=1, keepdims=True)
        m = (p * x).sum(axis=1, keepdims=True)
        var = (p * x * x).sum(axis=1, keepdims=True) - m * m
        step = np.clip(m / np.maximum(var, 1e-9), -10.0, 10.0)
        theta = np.clip(theta - step, -60.0, 60.0)
    a = logw + theta * x
    p = np.exp(a - a.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def _fill(
    parent: dict[str, np.ndarray],
    tau: np.ndarray,
    mask: np.ndarray,
    z: np.ndarray,
    profile: np.ndarray,
    burst: float,
) -> dict[str, np.ndarray]:
    """Children bars (P, K) of parent bars (P,) so that the children aggregate to the parents.

    parent: o, h, l, c (ticks), v, n (int), w (float ticks), sigma (path scale, ticks).
    tau: variance time per child (0 where masked); z: (4, P, K) normals; profile: volume weights.
    """
    o, h, l, c = (parent[k][:, None].astype(np.float64) for k in ("o", "h", "l", "c"))
    tau = np.where(mask, tau, 0.0)
    ctau = np.cumsum(tau, axis=1)
    total = ctau[:, -1:]
    frac = ctau / total
    walk = np.cumsum(z[0] * np.sqrt(tau), axis=1)
    scale = parent["sigma"][:, None] / np.sqrt(total)
    # Brownian bridge from the parent's open to its close (exact at both ends)
    r_end = o + (c - o) * frac + scale * (walk - frac * walk[:, -1:])
    r_beg = np.concatenate([o, r_end[:, :-1]], axis=1)
    ex = 0.5 * scale * np.sqrt(tau)
    raw_h = np.maximum(r_beg, r_end) + np.abs(z[1]) * ex + 1e-3
    raw_l = np.minimum(r_beg, r_end) - np.abs(z[2]) * ex - 1e-3
    hi, lo = np.maximum(o, c), np.minimum(o, c)
    rmax = np.where(mask, raw_h, -np.inf).max(axis=1, keepdims=True)
    rmin = np.where(mask, raw_l, np.inf).min(axis=1, keepdims=True)
    ku = (h - hi) / (rmax - hi)
    kd = (lo - l) / (lo - rmin)

    def fit(x: np.ndarray) -> np.ndarray:
        # monotone piecewise-linear: identity on [lo, hi], stretched onto [l, lo] and [hi, h]
        y = np.where(
            x > hi, hi + (x - hi) * ku, np.where(x < lo, lo - (lo - x) * kd, x)
        )
        return np.where(mask, np.rint(y), c)

    co, ch, cl, cc = fit(r_beg), fit(raw_h), fit(raw_l), fit(r_end)

    v, n, w = parent["v"], parent["n"], parent["w"]
    typical = (ch + cl + cc) / 3.0
    logw = np.where(
        mask & (profile > 0),
        np.log(np.maximum(profile, 1e-300)) + burst * z[3],
        -np.inf,
    )
    x = (typical - w[:, None]) / (h - l + 1.0)
    p = _tilt(logw, x)
    cv = _split(v, p)
    cn = _split(n, cv.astype(np.float64))
    # waps: blend towards the children's highs or lows so the parent wap is met exactly
    vf = cv.astype(np.float64)
    vt = np.where(v > 0, v, 1).astype(np.float64)[:, None]
    d = w[:, None] - (vf * typical).sum(axis=1, keepdims=True) / vt
    up = d >= 0
    edge = np.where(up, ch, cl) - typical
    room = np.abs((vf * edge).sum(axis=1, keepdims=True) / vt)
    lam = np.clip(np.abs(d) / np.where(room > 0, room, np.inf), 0.0, 1.0)
    rest = np.sign(d) * np.maximum(np.abs(d) - room, 0.0)
    cw = np.where(cv > 0, typical + lam * edge + rest, cc)
    return {
        "o": co,
        "h": ch,
        "l": cl,
        "c": cc,
        "v": cv,
        "n": cn,
        "w": cw,
        "scale": scale,
    }


# ---------------------------------------------------------------- bar containers


@dataclass
class _Base:
    """Columnar bars in ticks, used for both base rows and aggregates."""

    time: np.ndarray
    o: np.ndarray
    h: np.ndarray
    l: np.ndarray
    c: np.ndarray
    v: np.ndarray
    n: np.ndarray
    w: np.ndarray
    dur: np.ndarray
    db: np.ndarray
    da: np.ndarray

    @classmethod
    def concat(cls, parts: Sequence[_Base]) -> _Base:
        if not parts:
            f, i = np.empty(0), np.empty(0, dtype=np.int64)
            return cls(i, f, f, f, f, i, i, f, f, i, i)
        return cls(
            *(
                np.concatenate([getattr(p, k) for p in parts])
                for k in cls.__dataclass_fields__
            )
        )

    def take(self, idx: np.ndarray) -> _Base:
        return _Base(*(getattr(self, k)[idx] for k in self.__dataclass_fields__))

    def __len__(self) -> int:
        return int(self.time.shape[0])


def _aggregate(b: _Base, bins: np.ndarray, averaged: bool = False) -> _Base:
    """Aggregate consecutive rows sharing a bin (bins non-decreasing); time = bin."""
    if not len(b):
        return b
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    ends = np.r_[starts[1:], len(b)] - 1
    v = np.add.reduceat(b.v, starts)
    c = b.c[ends]
    vw = np.add.reduceat(b.v * b.w, starts)
    dur = np.add.reduceat(b.dur, starts)
    if averaged:  # BID_ASK: open/close are time-weighted averages
        o = np.add.reduceat(b.o * b.dur, starts) / dur
        c = np.add.reduceat(b.c * b.dur, starts) / dur
    else:
        o = b.o[starts]
    return _Base(
        time=bins[starts],
        o=o,
        h=np.maximum.reduceat(b.h, starts),
        l=np.minimum.reduceat(b.l, starts),
        c=c,
        v=v,
        n=np.add.reduceat(b.n, starts),
        w=np.where(v > 0, vw / np.where(v > 0, v, 1), c),
        dur=dur,
        db=b.db[ends],
        da=b.da[ends],
    )


def _quote_side(b: _Base, what: str) -> tuple[_Base, bool]:
    """Base TRADES rows -> the rows of `what` (and whether open/close are averages)."""
    if what == "TRADES":
        return b, False
    zero = np.zeros_like(b.v)
    if what == "BID_ASK":
        avg = (b.o + b.h + b.l + b.c) / 4.0
        return _Base(
            b.time,
            avg - b.db,
            b.h + b.da,
            b.l - b.db,
            avg + b.da,
            zero,
            zero,
            b.w,
            b.dur,
            b.db,
            b.da,
        ), True
    shift = {"BID": -b.db, "ASK": b.da, "MIDPOINT": (b.da - b.db) / 2.0}[what]
    return _Base(
        b.time,
        b.o + shift,
        b.h + shift,
        b.l + shift,
        b.c + shift,
        zero,
        zero,
        b.w,
        b.dur,
        b.db,
        b.da,
    ), False


@functools.lru_cache(maxsize=256)
def _decimals(x: float) -> int:
    for d in range(13):
        if abs(round(x, d) - x) < 1e-13:
            return d
    return 12


class _LRU(OrderedDict):
    """A small bounded mapping that forgets the least recently used entries."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def lookup(self, key):
        value = super().get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key, value) -> None:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)


@dataclass
class _Window:
    """Sessions around a recent instant, for quote/price lookups without calling sessions_fn."""

    lo: float
    hi: float
    sessions: list[_Sess]
    starts: list[int]


# ---------------------------------------------------------------- the model


class MarketModel:
    """Deterministic prices, bars and quotes for simulated instruments.

    sessions_fn(instrument, start_utc, end_utc) returns every Session whose segments intersect
    [start, end), in order, holidays removed, ending at the instrument's expiry.
    """

    def __init__(
        self, sessions_fn: SessionsFn, seed: int = 0, cache_sessions: int = 1024
    ) -> None:
        self.sessions_fn = sessions_fn
        self.seed = seed
        self._minute_cache = _LRU(cache_sessions)
        self._second_cache = _LRU(4096)
        self._products: dict[tuple, tuple[_ProductParams, _OUSeries]] = {}
        self._contracts: dict[int, _OUSeries] = {}
        self._windows: dict[int, _Window] = {}
        self._zones: dict[str, ZoneInfo] = {}

    # ------------------------------------------------------------ public API

    def bars(
        self,
        instrument: Instrument,
        start_utc: dt.datetime,
        end_utc: dt.datetime,
        bar_size: str,
        what_to_show: str = "TRADES",
        use_rth: bool = False,
    ) -> Bars:
        """Bars starting in [start_utc, end_utc); the bar in progress at end_utc is truncated there."""
        size = BAR_SIZES[_BAR_ALIASES.get(bar_size, bar_size)]
        what = what_to_show.upper()
        if what not in WHAT_TO_SHOW:
            raise ValueError(f"unsupported whatToShow {what_to_show!r}")
        what = "TRADES" if what == "ADJUSTED_LAST" else what
        t0, t1 = _epoch(start_utc), _epoch(end_utc)
        if t1 <= t0:
            return Bars.empty()
        if size < DAY:
            sessions = self._sessions(instrument, t0, t1)
            base = self._intraday(instrument, sessions, t0, t1, size, use_rth)
            rows, averaged = _quote_side(base, what)
            bins = self._bins(instrument, rows.time, size)
            keep = bins >= t0
            out = _aggregate(rows.take(keep), bins[keep], averaged)
            return self._to_bars(instrument, out, what, None)
        lookback = {DAY: 0, WEEK: 8 * DAY, MONTH: 32 * DAY}[size]
        sessions = self._sessions(instrument, t0 - lookback, t1)
        sessions = [s for s in sessions if s.start < t1]
        if size == DAY:
            sessions = [s for s in sessions if s.start >= t0]
        daily, days, starts = self._daily_rows(instrument, sessions, t1, what, use_rth)
        dates = [_EPOCH + dt.timedelta(int(d)) for d in days]
        if size == DAY:
            return self._to_bars(instrument, daily, what, dates)
        if size == WEEK:
            group = np.array(
                [d.toordinal() - d.weekday() for d in dates], dtype=np.int64
            )
        else:
            group = np.array([d.year * 12 + d.month for d in dates], dtype=np.int64)
        # a period is reported when one of its sessions starts in the window, with all its sessions
        keep = np.isin(group, group[(starts >= t0) & (starts < t1)])
        daily, group, days = daily.take(keep), group[keep], days[keep]
        out = _aggregate(daily, group, averaged=(what == "BID_ASK"))
        first = (
            days[np.flatnonzero(np.r_[True, group[1:] != group[:-1]])]
            if days.size
            else days
        )
        out.time = first * DAY
        return self._to_bars(
            instrument, out, what, [_EPOCH + dt.timedelta(int(d)) for d in first]
        )

    def quote(self, instrument: Instrument, at_utc: dt.datetime) -> Quote:
        """Top of book and session statistics at `at_utc` (derived from the one-second path)."""
        t = _epoch(at_utc)
        loc = self._locate(instrument, t)
        nan = math.nan
        if loc is None:
            return Quote(at_utc, nan, nan, 0, 0, nan, 0, 0, nan, nan, nan, nan, False)
        _, prev, mins, j, k, live = loc
        sec = self._second_row(instrument, mins, j)
        px = self._price
        last = int(sec.c[0, k])
        vol = int(mins.cumv[j] - mins.v[j] + sec.v[0, : k + 1].sum())
        high = max(int(mins.cumh[j - 1]) if j else last, int(sec.h[0, : k + 1].max()))
        low = min(int(mins.cuml[j - 1]) if j else last, int(sec.l[0, : k + 1].min()))
        second = int(sec.start[0]) + k
        sizes = _hash(
            self._qkey(instrument), np.array([second, second]), np.array([0, 1])
        )
        bid_size, ask_size = (5 + (sizes % np.uint64(56))).tolist()
        last_size = int(sec.v[0, k]) or 1 + int(sizes[0] % np.uint64(5))
        close = (
            px(instrument, int(self._daily(instrument, np.array([prev.day])).close[0]))
            if prev
            else nan
        )
        return Quote(
            time=at_utc,
            bid=px(instrument, last - int(mins.db[j])),
            ask=px(instrument, last + int(mins.da[j])),
            bid_size=int(bid_size),
            ask_size=int(ask_size),
            last=px(instrument, last),
            last_size=last_size,
            volume=vol,
            open=px(instrument, mins.open),
            high=px(instrument, high),
            low=px(instrument, low),
            close=close,
            is_open=live,
        )

    def price_at(self, instrument: Instrument, at_utc: dt.datetime) -> float:
        """The traded path at `at_utc` (last price of the second containing it; nan before listing)."""
        loc = self._locate(instrument, _epoch(at_utc))
        if loc is None:
            return math.nan
        _, _, mins, j, k, _ = loc
        return self._price(
            instrument, int(self._second_row(instrument, mins, j).c[0, k])
        )

    def path_between(
        self, instrument: Instrument, start_utc: dt.datetime, end_utc: dt.datetime
    ) -> tuple[float, float]:
        """(low, high) of the traded path over [start, end); (nan, nan) if nothing traded."""
        t0, t1 = _epoch(start_utc), _epoch(end_utc)
        if t1 <= t0:
            return math.nan, math.nan
        win = self._window(instrument, t1)
        if win.lo <= t0 and t1 <= win.hi:
            sessions = [s for s in win.sessions if s.end > t0 and s.start < t1]
        else:
            sessions = self._sessions(instrument, t0, t1)
        lo, hi = math.inf, -math.inf
        for s in sessions:
            mins = self._minutes(instrument, [s])[0]
            ends = mins.start + mins.dur
            idx = np.flatnonzero((ends > t0) & (mins.start < t1))
            if not idx.size:
                continue
            inner = idx[(mins.start[idx] >= t0) & (ends[idx] <= t1)]
            if inner.size:
                lo = min(lo, int(mins.l[inner].min()))
                hi = max(hi, int(mins.h[inner].max()))
            for j in (idx[0], idx[-1]):
                if mins.start[j] >= t0 and ends[j] <= t1:
                    continue
                sec = self._second_row(instrument, mins, j)
                secs = int(mins.start[j]) + np.arange(int(mins.dur[j]))
                sel = (secs + 1 > t0) & (secs < t1)
                if sel.any():
                    lo = min(lo, int(sec.l[0, : secs.size][sel].min()))
                    hi = max(hi, int(sec.h[0, : secs.size][sel].max()))
        if lo > hi:
            return math.nan, math.nan
        return self._price(instrument, lo), self._price(instrument, hi)

    def head_timestamp(
        self,
        instrument: Instrument,
        what_to_show: str = "TRADES",
        use_rth: bool = False,
    ) -> dt.datetime:
        """Start of the instrument's first bar (first session on or after listing)."""
        first = dt.datetime.combine(
            instrument.first_trade_date, dt.time(), UTC
        ).timestamp()
        for span in (20, 400, 40000):
            for s in self._sessions(instrument, first - 2 * DAY, first + span * DAY):
                if use_rth and not s.rth:
                    continue
                return dt.datetime.fromtimestamp(
                    s.rth[0][0] if use_rth else s.start, UTC
                )
        raise ValueError(
            f"{instrument.local_symbol}: no sessions after its first trade date"
        )

    def session_close(
        self, instrument: Instrument, trade_date: dt.date
    ) -> float | None:
        """Close of the session of `trade_date`, or None if the contract did not trade that day."""
        mid = dt.datetime.combine(trade_date, dt.time(), UTC).timestamp()
        for s in self._sessions(instrument, mid - 3 * DAY, mid + 3 * DAY):
            if s.trade_date == trade_date:
                return self._price(
                    instrument, int(self._daily(instrument, np.array([s.day])).close[0])
                )
        return None

    # ------------------------------------------------------------ sessions

    def _sessions(self, inst: Instrument, t0: float, t1: float) -> list[_Sess]:
        """Listed sessions intersecting [t0, t1), clipped at expiry, as epoch seconds."""
        expiry = _epoch(inst.expiry_utc) if inst.expiry_utc else math.inf
        if t0 >= expiry:
            return []
        raw = self.sessions_fn(
            inst,
            dt.datetime.fromtimestamp(t0, UTC),
            dt.datetime.fromtimestamp(min(t1, expiry), UTC),
        )
        out = []
        for s in raw:
            if s.trade_date < inst.first_trade_date:
                continue
            segs = _clip(s.segments, expiry)
            if segs:
                out.append(
                    _Sess(
                        s.trade_date,
                        (s.trade_date - _EPOCH).days,
                        segs,
                        _clip(s.rth, expiry),
                    )
                )
        return out

    def _window(self, inst: Instrument, t: float) -> _Window:
        if inst.expiry_utc is not None:
            t = min(t, _epoch(inst.expiry_utc) - 1)
        win = self._windows.get(inst.con_id)
        if win is None or not (win.lo + 12 * DAY <= t < win.hi - DAY):
            lo, hi = t - 14 * DAY, t + 3 * DAY
            sessions = self._sessions(inst, lo, hi)
            win = _Window(lo, hi, sessions, [s.start for s in sessions])
            self._windows[inst.con_id] = win
        return win

    def _locate(self, inst: Instrument, t: float):
        """(session, previous session, minutes, slot, second, trading) at t, or None."""
        win = self._window(inst, t)
        i = bisect.bisect_right(win.starts, t) - 1
        if i < 0:
            return None
        sess = win.sessions[i]
        prev = win.sessions[i - 1] if i > 0 else None
        mins = self._minutes(inst, [sess])[0]
        j = int(np.searchsorted(mins.start, t, side="right")) - 1
        k = int(t - mins.start[j])
        live = k < int(mins.dur[j])
        return sess, prev, mins, j, (k if live else int(mins.dur[j]) - 1), live

    # ------------------------------------------------------------ daily level

    def _product(self, p: Product) -> tuple[_ProductParams, _OUSeries]:
        ident = (p.symbol, p.sec_type, p.exchange, p.currency, p.trading_class)
        got = self._products.get(ident)
        if got is None:
            key = _key(self.seed, "product", ident)
            u = _uniforms(key, np.arange(3), 1)
            params = _ProductParams(
                key=key,
                carry=float(_MAX_CARRY * (2 * u[0] - 1)),
                volume=float(150_000 * math.exp(-1.5 + 2.5 * u[1])),
                trade_size=float(1.2 + 3 * u[2]),
            )
            sigma = p.annual_vol / math.sqrt(365.25)
            got = params, _OUSeries(key, sigma, _PRODUCT_HALF_LIFE, 0)
            self._products[ident] = got
        return got

    def _contract(self, inst: Instrument) -> _OUSeries:
        series = self._contracts.get(inst.con_id)
        if series is None:
            sigma = _CONTRACT_VOL_SHARE * inst.product.annual_vol / math.sqrt(365.25)
            origin = (inst.first_trade_date - _EPOCH).days - 90
            series = _OUSeries(
                _key(self.seed, "contract", inst.con_id),
                sigma,
                _CONTRACT_HALF_LIFE,
                origin,
            )
            self._contracts[inst.con_id] = series
        return series

    def _daily(self, inst: Instrument, days: np.ndarray) -> _Daily:
        """Session-level OHLCV of the given trade dates (days since 1970), prices in ticks."""
        prod = inst.product
        params, common = self._product(prod)
        both = np.concatenate([days, days - 1])
        logp = (
            math.log(prod.base_price) + common.at(both) + self._contract(inst).at(both)
        )
        if inst.last_trade_date is not None:
            expiry = (inst.last_trade_date - _EPOCH).days
            to_expiry = np.maximum(expiry - both, 0)
            logp = logp + params.carry * to_expiry / 365.25
        ticks = np.exp(logp) / prod.min_tick
        now, before = ticks[: days.size], ticks[days.size :]
        key = _key(self.seed, "session", inst.con_id)
        z = _normals(key, days[None, :], np.arange(5)[:, None])
        sd = prod.annual_vol / math.sqrt(252.0)
        sigma = sd * now
        close = np.maximum(np.rint(now), 1)
        open_ = np.maximum(np.rint(before * np.exp(_GAP * sd * z[0])), 1)
        high = np.maximum(open_, close) + np.rint(np.abs(z[1]) * _EXCURSION * sigma)
        low = np.maximum(
            np.minimum(open_, close) - np.rint(np.abs(z[2]) * _EXCURSION * sigma), 1
        )
        if inst.last_trade_date is not None:
            left = ((inst.last_trade_date - _EPOCH).days - days).astype(np.float64)
            # front months trade most; activity fades approaching expiry after the roll
            life = np.exp(-np.maximum(left - 20.0, 0.0) / 40.0) * (
                0.05 + 0.95 * np.clip((left - 2.0) / 12.0, 0, 1)
            )
        else:
            life = np.ones(days.size)
        volume = np.rint(params.volume * life * np.exp(0.35 * z[3])).astype(np.int64)
        size = params.trade_size * np.exp(0.2 * z[4])
        count = np.where(
            volume > 0, np.clip(np.rint(volume / size), 1, volume), 0
        ).astype(np.int64)
        wap = np.where(volume > 0, (open_ + high + low + close) / 4.0, close)
        i64 = np.int64
        return _Daily(
            open_.astype(i64),
            high.astype(i64),
            low.astype(i64),
            close.astype(i64),
            volume,
            count,
            wap,
            sigma,
        )

    # ------------------------------------------------------------ minute level

    def _minutes(self, inst: Instrument, sessions: Sequence[_Sess]) -> list[_Minutes]:
        keys = [(inst.con_id, s.day, s.segs, s.rth) for s in sessions]
        out = [self._minute_cache.lookup(k) for k in keys]
        missing = [i for i, m in enumerate(out) if m is None]
        if missing:
            daily = self._daily(
                inst, np.array([sessions[i].day for i in missing], dtype=np.int64)
            )
            for row, i in enumerate(missing):
                out[i] = self._make_minutes(inst, sessions[i], daily, row)
                self._minute_cache.put(keys[i], out[i])
        return out

    def _make_minutes(
        self, inst: Instrument, s: _Sess, daily: _Daily, row: int
    ) -> _Minutes:
        labels, starts, durs = [], [], []
        for a, b in s.segs:
            lab = np.arange(a - a % 60, b, 60, dtype=np.int64)
            st = np.maximum(lab, a)
            du = np.minimum(lab + 60, b) - st
            labels.append(lab)
            starts.append(st)
            durs.append(du)
        label, start, dur = (np.concatenate(x) for x in (labels, starts, durs))
        rth = np.zeros(label.size, dtype=bool)
        profile = np.full(label.size, _ETH_VOLUME)
        for a, b in s.rth:
            inside = (start >= a) & (start < b)
            rth |= inside
            u = (start[inside] - a) / max(b - a, 1)
            profile[inside] = (
                1.0 + 1.5 * (2.0 * u - 1.0) ** 2
            )  # busier at the open and close
        tau = dur * np.where(rth, 1.0, _ETH_VOL**2)
        key = _key(self.seed, "minute", inst.con_id)
        z = _normals(key, start[None, None, :], np.arange(4)[:, None, None])
        parent = {
            "o": daily.open[row : row + 1],
            "h": daily.high[row : row + 1],
            "l": daily.low[row : row + 1],
            "c": daily.close[row : row + 1],
            "v": daily.volume[row : row + 1],
            "n": daily.count[row : row + 1],
            "w": daily.wap[row : row + 1],
            "sigma": 0.8 * daily.sigma[row : row + 1],
        }
        f = _fill(
            parent,
            tau[None, :],
            np.ones((1, label.size), dtype=bool),
            z,
            (profile * dur / 60.0)[None, :],
            0.6,
        )
        o, h, l, c = (f[k][0].astype(np.int64) for k in ("o", "h", "l", "c"))
        v, n = f["v"][0], f["n"][0]
        # spread: mostly one tick in RTH, wider and more variable outside
        u = _uniforms(
            _key(self.seed, "spread", inst.con_id),
            start[None, :],
            np.arange(2)[:, None],
        )
        spread = np.where(
            rth, 1 + (u[0] > 0.85), 1 + (u[0] > 0.5) + (u[0] > 0.85)
        ).astype(np.int64)
        db = spread // 2 + ((spread % 2 == 1) & (u[1] < 0.5))
        return _Minutes(
            label=label,
            start=start,
            dur=dur,
            rth=rth,
            o=o,
            h=h,
            l=l,
            c=c,
            v=v,
            n=n,
            w=f["w"][0],
            sig=f["scale"][0, 0] * np.sqrt(tau),
            db=db,
            da=spread - db,
            cumv=np.cumsum(v),
            cumh=np.maximum.accumulate(h),
            cuml=np.minimum.accumulate(l),
            open=int(daily.open[row]),
        )

    # ------------------------------------------------------------ second level

    def _seconds(self, inst: Instrument, m: _Minutes, idx: np.ndarray) -> _Seconds:
        """Seconds of the slots idx of one session's minutes."""
        start, dur = m.start[idx], m.dur[idx]
        cols = np.arange(60)
        mask = cols[None, :] < dur[:, None]
        secs = start[:, None] + cols[None, :]
        z = _normals(
            _key(self.seed, "second", inst.con_id),
            secs[None, :, :],
            np.arange(4)[:, None, None],
        )
        parent = {
            "o": m.o[idx],
            "h": m.h[idx],
            "l": m.l[idx],
            "c": m.c[idx],
            "v": m.v[idx],
            "n": m.n[idx],
            "w": m.w[idx],
            "sigma": m.sig[idx],
        }
        f = _fill(parent, np.ones(mask.shape), mask, z, np.ones(mask.shape), 1.0)
        i64 = np.int64
        return _Seconds(
            start,
            dur,
            *(f[k].astype(i64) for k in ("o", "h", "l", "c")),
            f["v"],
            f["n"],
            f["w"],
        )

    def _second_row(self, inst: Instrument, m: _Minutes, j: int) -> _Seconds:
        key = (inst.con_id, int(m.start[j]))
        sec = self._second_cache.lookup(key)
        if sec is None:
            sec = self._seconds(inst, m, np.array([j]))
            self._second_cache.put(key, sec)
        return sec

    # ------------------------------------------------------------ building bars

    def _intraday(
        self,
        inst: Instrument,
        sessions: list[_Sess],
        t0: float,
        t1: float,
        size: int,
        use_rth: bool,
    ) -> _Base:
        """Base rows (seconds if size < 60 else minute slots) overlapping [t0, t1), cut at t1."""
        parts: list[_Base] = []
        for m in self._minutes(inst, sessions):
            ends = m.start + m.dur
            sel = (m.start < t1) & (ends > t0)
            if use_rth:
                sel &= m.rth
            idx = np.flatnonzero(sel)
            if not idx.size:
                continue
            if size < 60:
                parts.append(self._second_base(inst, m, idx, t1))
                continue
            full = idx[ends[idx] <= t1]
            parts.append(self._minute_base(m, full))
            if full.size < idx.size:  # the minute in progress at t1, from its seconds
                part = self._second_base(inst, m, idx[-1:], t1)
                if len(part):
                    row = _aggregate(part, np.full(len(part), m.label[idx[-1]]))
                    parts.append(row)
        return _Base.concat(parts)

    @staticmethod
    def _minute_base(m: _Minutes, idx: np.ndarray) -> _Base:
        f = np.float64
        return _Base(
            m.label[idx],
            m.o[idx].astype(f),
            m.h[idx].astype(f),
            m.l[idx].astype(f),
            m.c[idx].astype(f),
            m.v[idx],
            m.n[idx],
            m.w[idx],
            m.dur[idx].astype(f),
            m.db[idx],
            m.da[idx],
        )

    def _second_base(
        self, inst: Instrument, m: _Minutes, idx: np.ndarray, t1: float
    ) -> _Base:
        if idx.size == 1:
            sec = self._second_row(inst, m, int(idx[0]))
        else:
            sec = self._seconds(inst, m, idx)
        cols = np.arange(60)
        secs = sec.start[:, None] + cols[None, :]
        valid = (cols[None, :] < sec.dur[:, None]) & (secs < t1)
        rows = np.broadcast_to(idx[:, None], valid.shape)[valid]
        f = np.float64
        return _Base(
            secs[valid],
            sec.o[valid].astype(f),
            sec.h[valid].astype(f),
            sec.l[valid].astype(f),
            sec.c[valid].astype(f),
            sec.v[valid],
            sec.n[valid],
            sec.w[valid],
            np.ones(int(valid.sum())),
            m.db[rows],
            m.da[rows],
        )

    def _daily_rows(
        self,
        inst: Instrument,
        sessions: list[_Sess],
        t1: float,
        what: str,
        use_rth: bool,
    ) -> tuple[_Base, np.ndarray, np.ndarray]:
        """One row per session (aggregated up to t1), time = midnight UTC of the trade date.

        Returns the rows, their days since 1970 and their sessions' starts.
        """
        if not sessions:
            empty = np.empty(0, dtype=np.int64)
            return _Base.concat([]), empty, empty
        days = np.array([s.day for s in sessions], dtype=np.int64)
        direct = np.array(
            [what == "TRADES" and not use_rth and s.end <= t1 for s in sessions]
        )
        rows: list[_Base | None] = [None] * len(sessions)
        if direct.any():
            d = self._daily(inst, days[direct])
            f = np.float64
            i = np.zeros(d.close.size, dtype=np.int64)
            span = np.array(
                [
                    sum(b - a for a, b in s.segs)
                    for s, ok in zip(sessions, direct)
                    if ok
                ],
                dtype=f,
            )
            block = _Base(
                days[direct] * DAY,
                d.open.astype(f),
                d.high.astype(f),
                d.low.astype(f),
                d.close.astype(f),
                d.volume,
                d.count,
                d.wap,
                span,
                i,
                i,
            )
            for r, pos in enumerate(np.flatnonzero(direct)):
                rows[pos] = block.take(np.array([r]))
        others = [s for s, ok in zip(sessions, direct) if not ok]
        for s, pos in zip(others, np.flatnonzero(~direct)):
            base = self._intraday(inst, [s], s.start, t1, 60, use_rth)
            if not len(base):
                continue
            side, averaged = _quote_side(base, what)
            rows[pos] = _aggregate(
                side, np.full(len(side), s.day * DAY, dtype=np.int64), averaged
            )
        kept = [k for k, r in enumerate(rows) if r is not None]
        starts = np.array([sessions[k].start for k in kept], dtype=np.int64)
        return _Base.concat([rows[k] for k in kept]), days[kept], starts

    def _bins(self, inst: Instrument, labels: np.ndarray, size: int) -> np.ndarray:
        """Bar start of each base label: clock-aligned in the exchange time zone."""
        if not labels.size or size <= 60:
            return labels - labels % size
        zone = self._zones.get(inst.product.iana_zone)
        if zone is None:
            zone = self._zones[inst.product.iana_zone] = ZoneInfo(
                inst.product.iana_zone
            )

        def offset(t: int) -> int:
            return int(dt.datetime.fromtimestamp(t, zone).utcoffset().total_seconds())

        first, last = offset(int(labels[0])), offset(int(labels[-1]))
        if first == last:
            off = np.int64(first)
        else:  # a DST change inside the range: per hour
            hours = labels // 3600
            uniq, inv = np.unique(hours, return_inverse=True)
            off = np.array([offset(int(h) * 3600) for h in uniq], dtype=np.int64)[inv]
        local = labels + off
        return local - local % size - off

    # ------------------------------------------------------------ output

    def _price(self, inst: Instrument, ticks: float) -> float:
        return round(ticks * inst.min_tick, _decimals(inst.min_tick / 2))

    def _qkey(self, inst: Instrument) -> int:
        return _key(self.seed, "quote", inst.con_id)

    def _to_bars(
        self, inst: Instrument, b: _Base, what: str, dates: list[dt.date] | None
    ) -> Bars:
        tick = inst.min_tick
        digits = _decimals(tick / 2)

        def px(x: np.ndarray) -> np.ndarray:
            return np.round(x * tick, digits)

        if what == "TRADES":
            volume, wap, count = b.v.astype(np.int64), b.w * tick, b.n.astype(np.int64)
        elif what == "BID_ASK":
            volume = count = np.full(len(b), -1, dtype=np.int64)
            wap = np.full(len(b), -1.0)
            return Bars(
                b.time.astype(np.int64),
                b.o * tick,
                px(b.h),
                px(b.l),
                b.c * tick,
                volume,
                wap,
                count,
                dates,
            )
        else:
            volume = count = np.full(len(b), -1, dtype=np.int64)
            wap = np.full(len(b), -1.0)
        return Bars(
            b.time.astype(np.int64),
            px(b.o),
            px(b.h),
            px(b.l),
            px(b.c),
            volume,
            wap,
            count,
            dates,
        )
