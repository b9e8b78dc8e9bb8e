"""Deterministic market model of the simulator: one price path per contract.

    market = MarketModel(catalog.sessions_for_instrument, seed=7)
    bars = market.bars(instrument, start_utc, end_utc, "1 min", "TRADES")
    quote = market.quote(instrument, now)                  # bid/ask/last, session stats

Everything is a pure function of (global seed, product, contract, time), so any window can be
produced without generating what precedes it, and every view is derived top-down from one path:

* Daily level: a product-wide mean-reverting log walk (contracts of a product move together), a
  small per-contract walk and a carry basis that decays to zero at expiry give each trade date's
  close. Open = previous calendar day's model close plus a small gap; high/low lie beyond them.
  Volume/count depend on time to expiry (front months trade most).
* Minute level: each session's minute slots are a Brownian bridge from the session open to its
  close, with per-minute excursions, mapped monotonically onto [low, high] and rounded to the tick
  grid, so the minutes' extremes are exactly the session's. Trades, then volumes, are split with
  exact integer sums (count <= volume, and a bar has volume iff it has trades), and minute waps are
  blended inside their bars so their volume-weighted mean is the session wap.
* Second level: the same construction inside each minute, conditioned on that minute's bar.
* Coarser bars aggregate the finer base (seconds for sub-minute sizes, minutes otherwise, daily
  rows for weeks and months); a daily bar therefore equals the aggregate of any intraday bars of
  its session exactly (wap within float rounding).

Random numbers come from a counter-based hash (splitmix64 finaliser) indexed by absolute time, so
no generator state is carried between calls. Prices are integers in ticks internally.

Conventions chosen here (IB leaves them open or the model needs one):
* A minute slot is labelled by its clock minute; coarser intraday bars are aligned to the clock of
  the exchange time zone, but never span two sessions: a session's first bar starts with its first
  minute (4-hour bars of a 17:00 open: 17:00, 20:00, 00:00, ...). With use_rth only RTH minutes
  count, so the first bar starts at the RTH open.
* A daily bar belongs to a request window when its session *starts* inside the window; its `time`
  is midnight UTC of the trade date. Weeks (Monday-based) and months are labelled by their first
  trade date, and include every session of the period (up to the request end).
* Prices move only in bars that trade: bars with zero volume have open = high = low = close =
  wap = the last traded price (the path is drawn with no variance time where nothing trades).
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
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from ibsim.combos import combo_quote, is_combo
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
_CONTRACT_VOL_SHARE = 0.05  # idiosyncratic vol relative to the product's
_MAX_CARRY = 0.03  # |annual basis| drawn per product
_GAP = 0.2  # open gap in session sigmas
_EXCURSION = 0.45  # high/low beyond open/close, in session sigmas
_ETH_VOL = 0.45  # path volatility outside RTH relative to RTH
_REDRAWS = 12  # attempts to settle a bar's path on the children that trade
_ETH_VOLUME = 0.1  # per-minute volume weight outside RTH relative to RTH
_WIDTH = 1536  # minute rows are padded to a multiple of this (fixed, so rows never depend on batches)
_BATCH = 64  # sessions generated together
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
    a = np.atleast_1d(np.asarray(a, dtype=np.int64)).astype(np.uint64)
    b = np.atleast_1d(np.asarray(b, dtype=np.int64)).astype(np.uint64)
    z = _mix(a * _G1 + np.uint64(key))
    return _mix(z + (b + np.uint64(1)) * _G2)


_MASK64 = (1 << 64) - 1


def _ihash(key: int, a: int, b: int) -> int:
    """Scalar hash for hot paths (quote sizes); not the same stream as _hash."""
    z = (key + a * 0x9E3779B97F4A7C15 + (b + 1) * 0xD1B54A32D192ED03) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _uniforms(key: int, a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """Uniforms in (0, 1)."""
    return ((_hash(key, a, b) >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _normals(key: int, a: np.ndarray, count: int) -> np.ndarray:
    """`count` independent standard normals per element of a, shape (count, *a.shape).

    Box-Muller on the two 32-bit halves of one hash gives two normals (cos and sin).
    """
    a = np.asarray(a)
    pairs = (count + 1) // 2
    h = _hash(key, a[None, ...], np.arange(pairs).reshape((pairs,) + (1,) * a.ndim))
    u1 = ((h >> np.uint64(32)).astype(np.float64) + 0.5) * 2.0**-32
    angle = (2.0 * np.pi * 2.0**-32) * ((h & _LO32).astype(np.float64) + 0.5)
    r = np.sqrt(-2.0 * np.log(u1))
    return np.concatenate([r * np.cos(angle), r * np.sin(angle)])[:count]


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
        x = self.x  # one read: another thread may grow the series meanwhile
        need = int(idx.max()) + 1 if idx.size else 0
        if need > x.size:
            x = self._extend(x, need)
            if x.size > self.x.size:
                self.x = x
        return x[idx]

    def _extend(self, x: np.ndarray, need: int) -> np.ndarray:
        k = np.arange(_CHUNK, dtype=np.float64)
        grow, shrink = self.phi**-k, self.phi**k
        parts = [x]
        prev = float(x[-1]) if x.size else 0.0
        for first in range(x.size, need, _CHUNK):
            days = self.origin + np.arange(first, first + _CHUNK)
            e = _normals(self.key, days, 1)[0] * self.sigma
            # x[t] = phi x[t-1] + e[t], solved for the chunk in closed form
            y = shrink * np.cumsum(e * grow) + prev * self.phi * shrink
            parts.append(y)
            prev = float(y[-1])
        return np.concatenate(parts)


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


def _slots(s: _Sess) -> tuple[np.ndarray, ...]:
    """A session's minute slots: clock label, first second, seconds, RTH flag, volume profile,
    variance time. A partial minute at a segment edge is its own slot."""
    labels, starts, durs = [], [], []
    for a, b in s.segs:
        lab = np.arange(a - a % 60, b, 60, dtype=np.int64)
        st = np.maximum(lab, a)
        labels.append(lab)
        starts.append(st)
        durs.append(np.minimum(lab + 60, b) - st)
    label, start, dur = (np.concatenate(x) for x in (labels, starts, durs))
    rth = np.zeros(label.size, dtype=bool)
    profile = np.full(label.size, _ETH_VOLUME)
    for a, b in s.rth:
        inside = (start >= a) & (start < b)
        rth |= inside
        u = (start[inside] - a) / max(b - a, 1)
        profile[inside] = 1.0 + 1.5 * (2.0 * u - 1.0) ** 2  # busier at the open and close
    tau = dur * np.where(rth, 1.0, _ETH_VOL**2)
    return label, start, dur, rth, profile, tau


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
    l: np.ndarray  # noqa: E741 (OHLC)
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
    day: int  # trade date, days since 1970


@dataclass
class _Seconds:
    """Seconds of a set of slots, as (slots x 60) arrays; valid columns are < dur."""

    start: np.ndarray  # (P,) first second of each slot
    dur: np.ndarray  # (P,)
    o: np.ndarray
    h: np.ndarray
    l: np.ndarray  # noqa: E741 (OHLC)
    c: np.ndarray
    v: np.ndarray
    n: np.ndarray
    w: np.ndarray
    # single-slot rows only: python lists (close, cum volume, cum high, cum low, volume)
    quick: tuple[list[int], ...] = ()


def _split(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split integer totals (P,) over rows of non-negative weights (P, K), sums exact.

    Cumulative rounding: each share is the floor or the ceiling of its exact quota.
    """
    s = weights.sum(axis=1, keepdims=True)
    q = weights * (total[:, None] / np.where(s > 0, s, 1.0))
    edges = np.rint(np.cumsum(q, axis=1))
    edges[:, -1] = total
    return np.diff(edges, axis=1, prepend=0.0).astype(np.int64)


def _tilt(logw: np.ndarray, x: np.ndarray, iters: int = 8) -> np.ndarray:
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


def _feasible(
    cv: np.ndarray,
    ch: np.ndarray,
    cl: np.ndarray,
    mask: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    floor: np.ndarray | None = None,
) -> np.ndarray:
    """Rebalance child volumes so each parent wap can be met by child waps inside their bars.

    w is reachable iff sum(v l) <= v_parent w <= sum(v h). Where integer rounding (small volumes)
    or a path that spends little time near the parent's extreme breaks that, volume moves to the
    child holding the parent's high (or low), taken first from the children furthest from it, just
    enough to make w reachable. All volume on that child always suffices, since l <= w <= h.
    """
    target = v * w
    vf = cv.astype(np.float64)
    high_sum, low_sum = (vf * ch).sum(axis=1), (vf * cl).sum(axis=1)
    tol = 1e-9 * np.maximum(np.abs(target), 1.0)
    up = (v > 0) & (high_sum < target - tol)
    down = (v > 0) & (low_sum > target + tol)
    rows = np.flatnonzero(up | down)
    if not rows.size:
        return cv
    up = up[rows]
    sub = cv[rows].copy()
    # "up" rows need more volume high, "down" rows more volume low: one score for both
    score = np.where(mask[rows], np.where(up[:, None], ch[rows], -cl[rows]), -np.inf)
    # the receiver is a child whose bar contains w (children's bars chain, so one does)
    wr = w[rows][:, None]
    contains = mask[rows] & (cl[rows] <= wr + 1e-9) & (ch[rows] >= wr - 1e-9)
    busy = contains & (sub > 0)  # prefer a child that already trades (keeps counts >= 1)
    best = np.argmax(score, axis=1)
    best = np.where(contains.any(axis=1), np.argmax(np.where(contains, score, -np.inf), axis=1), best)
    best = np.where(busy.any(axis=1), np.argmax(np.where(busy, score, -np.inf), axis=1), best)
    k = np.arange(rows.size)
    need = np.where(up, target[rows] - high_sum[rows], low_sum[rows] - target[rows])[:, None]
    gain = np.where(sub > 0, score[k, best][:, None] - score, 0.0)
    order = np.argsort(-gain, axis=1, kind="stable")
    g = np.take_along_axis(gain, order, axis=1)
    vol = np.take_along_axis(sub, order, axis=1)
    if floor is not None:  # children that must keep trading keep one contract
        vol = vol - np.minimum(np.take_along_axis(floor[rows], order, axis=1), vol)
    cum = np.cumsum(g * vol, axis=1)
    before = cum - g * vol
    partial = np.ceil((need - before) / np.where(g > 0, g, 1.0))
    take = np.where(cum <= need, vol, np.where((before < need) & (g > 0), partial, 0))
    take = np.minimum(take, vol).astype(np.int64)
    # a receiver that did not trade yet needs a trade: free one by draining touched donors fully
    fresh = sub[k, best] == 0
    take[fresh] = np.where(take[fresh] > 0, vol[fresh], 0)
    moved = np.empty_like(take)
    np.put_along_axis(moved, order, take, axis=1)
    sub -= moved
    sub[k, best] += moved.sum(axis=1)
    # rare leftovers (moving volume overshot the other bound): everything on the receiver
    sf = sub.astype(np.float64)
    hs, ls = (sf * ch[rows]).sum(axis=1), (sf * cl[rows]).sum(axis=1)
    still = (hs < target[rows] - tol[rows]) | (ls > target[rows] + tol[rows])
    if still.any():
        keep = np.zeros_like(sub) if floor is None else np.minimum(floor[rows], sub)
        sub[still] = keep[still]
        sub[k[still], best[still]] += v[rows][still] - keep[still].sum(axis=1)
    out = cv.copy()
    out[rows] = sub
    return out


def _counts(n: np.ndarray, cv: np.ndarray) -> np.ndarray:
    """Split trade counts n (P,) over child volumes cv: count <= volume, and at least one trade
    wherever volume traded when n allows it."""
    traded = cv > 0
    busy = traded.sum(axis=1)
    spare = n - busy
    ok = spare >= 0
    out = np.empty_like(cv)
    out[ok] = traded[ok] + _split(spare[ok], (cv[ok] - 1) * traded[ok])
    if not ok.all():  # more traded children than trades: proportional, some get none
        out[~ok] = _split(n[~ok], cv[~ok].astype(np.float64))
    return out


def _bridge(
    parent: dict[str, np.ndarray], tau: np.ndarray, mask: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Children's open, high, low, close (ticks) on a Brownian bridge from the parent's open to its
    close over variance times `tau`, mapped monotonically onto the parent's [low, high]."""
    o, h, l, c = (parent[k][:, None].astype(np.float64) for k in ("o", "h", "l", "c"))  # noqa: E741
    ctau = np.cumsum(tau, axis=1)
    total = ctau[:, -1:]
    frac = ctau / total
    walk = np.cumsum(z[0] * np.sqrt(tau), axis=1)
    scale = parent["sigma"][:, None] / np.sqrt(total)
    # Brownian bridge from the parent's open to its close (exact at both ends)
    r_end = o + (c - o) * frac + scale * (walk - frac * walk[:, -1:])
    r_beg = np.concatenate([o, r_end[:, :-1]], axis=1)
    ex = 0.5 * scale * np.sqrt(tau)
    moves = tau > 0
    raw_h = np.where(moves, np.maximum(r_beg, r_end) + np.abs(z[1]) * ex + 1e-3, r_end)
    raw_l = np.where(moves, np.minimum(r_beg, r_end) - np.abs(z[2]) * ex - 1e-3, r_end)
    hi, lo = np.maximum(o, c), np.minimum(o, c)
    rmax = np.where(mask, raw_h, -np.inf).max(axis=1, keepdims=True)
    rmin = np.where(mask, raw_l, np.inf).min(axis=1, keepdims=True)
    ku = (h - hi) / np.where(rmax > hi, rmax - hi, 1.0)
    kd = (lo - l) / np.where(lo > rmin, lo - rmin, 1.0)

    def fit(x: np.ndarray) -> np.ndarray:
        # monotone piecewise-linear: identity on [lo, hi], stretched onto [l, lo] and [hi, h]
        y = np.where(x > hi, hi + (x - hi) * ku, np.where(x < lo, lo - (lo - x) * kd, x))
        return np.where(mask, np.rint(y), c)

    return fit(r_beg), fit(raw_h), fit(raw_l), fit(r_end), scale


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
    tau = np.where(mask, tau, 0.0)
    co, ch, cl, cc, scale = _bridge(parent, tau, mask, z)
    h, l, w = parent["h"][:, None], parent["l"][:, None], parent["w"]  # noqa: E741
    v, n = parent["v"], parent["n"]
    typical = (ch + cl + cc) / 3.0
    logw = np.where(
        mask & (profile > 0),
        np.log(np.maximum(profile, 1e-300)) + burst * z[3],
        -np.inf,
    )
    x = (typical - w[:, None]) / (h - l + 1.0)
    p = _tilt(logw, x)
    # trades first, then the volume beyond one contract per trade where trades happened
    trades = _split(n, p)
    cv = _feasible(trades + _split(v - n, p * (trades > 0)), ch, cl, mask, v, w)
    cn = _counts(n, cv)
    # Prices move only where trades happen: the path is drawn again with no variance time in the
    # children without trades, so they are flat at the last traded price, and the parent's open,
    # close, high and low all fall in children that trade. Volumes then rebalance for the waps,
    # keeping every child that trades trading.
    pending = np.flatnonzero((cn > 0).any(axis=1) & ~((cn > 0) | ~mask).all(axis=1))
    moving = cn[pending] > 0
    for attempt in range(_REDRAWS):
        if not pending.size:
            break
        sub = {key: val[pending] for key, val in parent.items()}
        m_, t_, z_ = mask[pending], np.where(moving, tau[pending], 0.0), z[:, pending]
        fo, fh, fl, fc, fscale = _bridge(sub, t_, m_, z_)
        # first keep every child that trades trading; then let volume move where the wap needs it
        floor = moving.astype(np.int64) if attempt == 0 else None
        fv = _feasible(cv[pending], fh, fl, m_, sub["v"], sub["w"], floor=floor)
        fn = _counts(sub["n"], fv)
        vf = fv.astype(np.float64)
        target = sub["v"] * sub["w"]
        tol = 1e-9 * np.maximum(np.abs(target), 1.0)
        reach = ((vf * fh).sum(axis=1) >= target - tol) & ((vf * fl).sum(axis=1) <= target + tol)
        flat = ((fn > 0) | ~m_ | ((fh == fl) & (fo == fc) & (fo == fh))).all(axis=1)
        ok = reach & flat
        done = pending[ok]
        co[done], ch[done], cl[done], cc[done] = fo[ok], fh[ok], fl[ok], fc[ok]
        scale[done], cv[done], cn[done] = fscale[ok], fv[ok], fn[ok]
        # rows not settled: draw again with the children that trade now (the rare thin rows that
        # never settle keep their first draw)
        moving = (fn > 0)[~ok]
        pending = pending[~ok]
        keep = moving.any(axis=1)
        pending, moving = pending[keep], moving[keep]
    typical = (ch + cl + cc) / 3.0
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
    l: np.ndarray  # noqa: E741 (OHLC)
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
        return cls(*(np.concatenate([getattr(p, k) for p in parts]) for k in cls.__dataclass_fields__))

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
        self.lock = threading.Lock()  # the server may call from several threads

    def lookup(self, key):
        with self.lock:
            value = super().get(key)
            if value is not None:
                self.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
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
    [start, end), in order, holidays removed, ending at the instrument's expiry. Sessions before the
    instrument's first_trade_date are ignored and segments are cut at expiry_utc here as well.
    cache_sessions bounds the per-session minute paths kept (about 180 kB each).
    """

    def __init__(self, sessions_fn: SessionsFn, seed: int = 0, cache_sessions: int = 256) -> None:
        self.sessions_fn = sessions_fn
        self.seed = seed
        self._minute_cache = _LRU(cache_sessions)
        self._second_cache = _LRU(4096)
        self._products: dict[tuple, tuple[_ProductParams, _OUSeries]] = {}
        self._contracts: dict[int, _OUSeries] = {}
        self._windows: dict[int, _Window] = {}
        self._zones: dict[str, ZoneInfo] = {}
        self._qkeys: dict[int, int] = {}
        self._closes = _LRU(65536)
        self._day_cache = _LRU(16384)  # aggregated daily rows of finished sessions (tiny)

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
        size = BAR_SIZES.get(_BAR_ALIASES.get(bar_size, bar_size))
        if size is None:
            raise ValueError(f"unsupported bar size {bar_size!r}")
        what = what_to_show.upper()
        if what not in WHAT_TO_SHOW:
            raise ValueError(f"unsupported whatToShow {what_to_show!r}")
        what = "TRADES" if what == "ADJUSTED_LAST" else what
        t0, t1 = _epoch(start_utc), _epoch(end_utc)
        if t1 <= t0:
            return Bars.empty()
        if size < DAY:
            sessions = self._sessions(instrument, t0, t1)
            base, bins = self._intraday(instrument, sessions, t0, t1, size, use_rth)
            rows, averaged = _quote_side(base, what)
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
            group = np.array([d.toordinal() - d.weekday() for d in dates], dtype=np.int64)
        else:
            group = np.array([d.year * 12 + d.month for d in dates], dtype=np.int64)
        # a period is reported when one of its sessions starts in the window, with all its sessions
        keep = np.isin(group, group[(starts >= t0) & (starts < t1)])
        daily, group, days = daily.take(keep), group[keep], days[keep]
        out = _aggregate(daily, group, averaged=(what == "BID_ASK"))
        first = days[np.flatnonzero(np.r_[True, group[1:] != group[:-1]])] if days.size else days
        out.time = first * DAY
        return self._to_bars(instrument, out, what, [_EPOCH + dt.timedelta(int(d)) for d in first])

    def quote(self, instrument: Instrument, at_utc: dt.datetime) -> Quote:
        """Top of book and session statistics at `at_utc` (derived from the one-second path)."""
        if is_combo(instrument):  # a BAG spread: derived from its legs' quotes
            return combo_quote(self.quote, instrument, at_utc)  # type: ignore[arg-type]
        t = _epoch(at_utc)
        loc = self._locate(instrument, t)
        nan = math.nan
        if loc is None:
            return Quote(at_utc, nan, nan, 0, 0, nan, 0, 0, nan, nan, nan, nan, False)
        _, prev, mins, j, k, live = loc
        c, cumv, cumh, cuml, v = self._second_row(instrument, mins, j).quick
        px = self._price
        last = c[k]
        vol = int(mins.cumv[j] - mins.v[j]) + cumv[k]
        high = max(int(mins.cumh[j - 1]), cumh[k]) if j else cumh[k]
        low = min(int(mins.cuml[j - 1]), cuml[k]) if j else cuml[k]
        second = int(mins.start[j]) + k
        qkey = self._qkey(instrument)
        bid_size = 5 + _ihash(qkey, second, 0) % 56
        ask_size = 5 + _ihash(qkey, second, 1) % 56
        last_size = v[k] or 1 + _ihash(qkey, second, 2) % 5
        close = px(instrument, self._close_ticks(instrument, prev.day)) if prev else nan
        return Quote(
            time=at_utc,
            bid=px(instrument, last - int(mins.db[j])),
            ask=px(instrument, last + int(mins.da[j])),
            bid_size=bid_size,
            ask_size=ask_size,
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
        return self._price(instrument, self._second_row(instrument, mins, j).quick[0][k])

    def path_between(self, instrument: Instrument, start_utc: dt.datetime, end_utc: dt.datetime) -> tuple[float, float]:
        """(low, high) of the traded path over [start, end); (nan, nan) if nothing traded."""
        if is_combo(instrument):  # a spread has no traded path of its own: it trades at its touch
            return math.nan, math.nan
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
        first = dt.datetime.combine(instrument.first_trade_date, dt.time(), UTC).timestamp()
        for span in (20, 400, 40000):
            for s in self._sessions(instrument, first - 2 * DAY, first + span * DAY):
                if use_rth and not s.rth:
                    continue
                return dt.datetime.fromtimestamp(s.rth[0][0] if use_rth else s.start, UTC)
        raise ValueError(f"{instrument.local_symbol}: no sessions after its first trade date")

    def session_close(self, instrument: Instrument, trade_date: dt.date) -> float | None:
        """Close of the session of `trade_date`, or None if the contract did not trade that day."""
        mid = dt.datetime.combine(trade_date, dt.time(), UTC).timestamp()
        for s in self._sessions(instrument, mid - 3 * DAY, mid + 3 * DAY):
            if s.trade_date == trade_date:
                return self._price(instrument, int(self._daily(instrument, np.array([s.day])).close[0]))
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
        """Per-product parameters and the common walk (in units of the product's daily vol)."""
        ident = (p.symbol, p.sec_type, p.exchange, p.currency, p.trading_class)
        got = self._products.get(ident)
        if got is None:
            # products on one underlying (ES and MES) share their walk and carry
            walk = ("under", p.under_con_id) if p.under_con_id > 0 else ident
            walk_key = _key(self.seed, "walk", walk)
            key = _key(self.seed, "product", ident)
            u = _uniforms(key, np.arange(2), 1)
            params = _ProductParams(
                key=key,
                carry=float(_MAX_CARRY * (2 * _uniforms(walk_key, np.arange(1), 1)[0] - 1)),
                volume=float(150_000 * math.exp(-1.5 + 2.5 * u[0])),
                trade_size=float(1.2 + 3 * u[1]),
            )
            got = params, _OUSeries(walk_key, 1.0 / math.sqrt(365.25), _PRODUCT_HALF_LIFE, 0)
            self._products[ident] = got
        return got

    def _contract(self, inst: Instrument) -> _OUSeries:
        """The contract's own small walk (unit daily vol), shared by same-month contracts of
        products on one underlying so that e.g. MESH5 tracks ESH5."""
        series = self._contracts.get(inst.con_id)
        if series is None:
            p = inst.product
            if inst.contract_month and p.under_con_id > 0:
                ident: tuple = ("under", p.under_con_id, inst.contract_month)
                origin = (dt.date(int(inst.contract_month[:4]) - 11, 1, 1) - _EPOCH).days
            else:
                ident = ("con", inst.con_id)
                origin = (inst.first_trade_date - _EPOCH).days - 90
            key = _key(self.seed, "contract", ident)
            series = _OUSeries(key, 1.0 / math.sqrt(365.25), _CONTRACT_HALF_LIFE, origin)
            self._contracts[inst.con_id] = series
        return series

    def _daily(self, inst: Instrument, days: np.ndarray) -> _Daily:
        """Session-level OHLCV of the given trade dates (days since 1970), prices in ticks."""
        prod = inst.product
        params, common = self._product(prod)
        both = np.concatenate([days, days - 1])
        vol = prod.annual_vol
        own = self._contract(inst).at(both)
        logp = math.log(prod.base_price) + vol * (common.at(both) + _CONTRACT_VOL_SHARE * own)
        if inst.last_trade_date is not None:
            expiry = (inst.last_trade_date - _EPOCH).days
            to_expiry = np.maximum(expiry - both, 0)
            logp = logp + params.carry * to_expiry / 365.25
        ticks = np.exp(logp) / prod.min_tick
        now, before = ticks[: days.size], ticks[days.size :]
        key = _key(self.seed, "session", inst.con_id)
        z = _normals(key, days, 5)
        sd = prod.annual_vol / math.sqrt(252.0)
        sigma = sd * now
        close = np.maximum(np.rint(now), 1)
        open_ = np.maximum(np.rint(before * np.exp(_GAP * sd * z[0])), 1)
        high = np.maximum(open_, close) + np.rint(np.abs(z[1]) * _EXCURSION * sigma)
        low = np.maximum(np.minimum(open_, close) - np.rint(np.abs(z[2]) * _EXCURSION * sigma), 1)
        if inst.last_trade_date is not None:
            left = ((inst.last_trade_date - _EPOCH).days - days).astype(np.float64)
            # front months trade most; activity fades approaching expiry after the roll
            life = np.exp(-np.maximum(left - 20.0, 0.0) / 40.0) * (0.05 + 0.95 * np.clip((left - 2.0) / 12.0, 0, 1))
        else:
            life = np.ones(days.size)
        volume = np.rint(params.volume * life * np.exp(0.35 * z[3])).astype(np.int64)
        size = params.trade_size * np.exp(0.2 * z[4])
        count = np.where(volume > 0, np.clip(np.rint(volume / size), 1, volume), 0).astype(np.int64)
        # a session without trades has no price range
        open_, high, low = (np.where(volume > 0, x, close) for x in (open_, high, low))
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
        # batches of sessions padded to one fixed width: row results never depend on the batch
        slots = {i: _slots(sessions[i]) for i in missing}
        groups: dict[int, list[int]] = {}
        for i in missing:
            width = max(_WIDTH, -(-slots[i][0].size // _WIDTH) * _WIDTH)
            groups.setdefault(width, []).append(i)
        for width, members in groups.items():
            for first in range(0, len(members), _BATCH):
                batch = members[first : first + _BATCH]
                made = self._make_minutes(inst, [sessions[i] for i in batch], [slots[i] for i in batch], width)
                for i, m in zip(batch, made, strict=True):
                    out[i] = m
                    self._minute_cache.put(keys[i], m)
        return out

    def _make_minutes(
        self, inst: Instrument, sessions: list[_Sess], slots: list[tuple[np.ndarray, ...]], width: int
    ) -> list[_Minutes]:
        """Minute slots of several sessions at once (rows padded to `width`)."""
        rows = len(sessions)
        daily = self._daily(inst, np.array([s.day for s in sessions], dtype=np.int64))
        start = np.zeros((rows, width), dtype=np.int64)
        tau = np.zeros((rows, width))
        profile = np.zeros((rows, width))
        sizes = [sl[0].size for sl in slots]
        mask = np.arange(width)[None, :] < np.array(sizes)[:, None]
        for r, (_, st, du, _, prof, ta) in enumerate(slots):
            start[r, : st.size] = st
            tau[r, : st.size] = ta
            profile[r, : st.size] = prof * du / 60.0
        parent = {
            "o": daily.open,
            "h": daily.high,
            "l": daily.low,
            "c": daily.close,
            "v": daily.volume,
            "n": daily.count,
            "w": daily.wap,
            "sigma": 0.8 * daily.sigma,
        }
        z = _normals(_key(self.seed, "minute", inst.con_id), start, 4)
        f = _fill(parent, tau, mask, z, profile, 0.6)
        u = _uniforms(_key(self.seed, "spread", inst.con_id), start[None, :, :], np.arange(2)[:, None, None])
        out = []
        for r, (label, st, du, rth, _, ta) in enumerate(slots):
            n = st.size
            o, h, l, c = (f[k][r, :n].astype(np.int64) for k in ("o", "h", "l", "c"))  # noqa: E741
            v = f["v"][r, :n]
            # spread: mostly one tick in RTH, wider and more variable outside
            u0, u1 = u[0, r, :n], u[1, r, :n]
            spread = np.where(rth, 1 + (u0 > 0.85), 1 + (u0 > 0.5) + (u0 > 0.85)).astype(np.int64)
            db = spread // 2 + ((spread % 2 == 1) & (u1 < 0.5))
            out.append(
                _Minutes(
                    label=label,
                    start=st,
                    dur=du,
                    rth=rth,
                    o=o,
                    h=h,
                    l=l,
                    c=c,
                    v=v,
                    n=f["n"][r, :n],
                    w=f["w"][r, :n],
                    sig=f["scale"][r, 0] * np.sqrt(ta),
                    db=db,
                    da=spread - db,
                    cumv=np.cumsum(v),
                    cumh=np.maximum.accumulate(h),
                    cuml=np.minimum.accumulate(l),
                    open=int(daily.open[r]),
                    day=sessions[r].day,
                )
            )
        return out

    # ------------------------------------------------------------ second level

    def _seconds(self, inst: Instrument, m: _Minutes, idx: np.ndarray) -> _Seconds:
        """Seconds of the slots idx of one session's minutes."""
        start, dur = m.start[idx], m.dur[idx]
        cols = np.arange(60)
        mask = cols[None, :] < dur[:, None]
        secs = start[:, None] + cols[None, :]
        z = _normals(_key(self.seed, "second", inst.con_id), secs, 4)
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
            d = int(m.dur[j])
            v, h, lo = sec.v[0, :d], sec.h[0, :d], sec.l[0, :d]
            sec.quick = (
                sec.c[0, :d].tolist(),
                np.cumsum(v).tolist(),
                np.maximum.accumulate(h).tolist(),
                np.minimum.accumulate(lo).tolist(),
                v.tolist(),
            )
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
    ) -> tuple[_Base, np.ndarray]:
        """Base rows (seconds if size < 60 else minute slots) overlapping [t0, t1), cut at t1,
        and the start of the bar of `size` each row belongs to.

        Bars never span two sessions: a session's first bar starts at its first base row even
        if the clock bin began earlier (e.g. the 16:00 4-hour bin of a 17:00 open -> 17:00).
        """
        parts: list[_Base] = []
        bins: list[np.ndarray] = []
        for m in self._minutes(inst, sessions):
            ends = m.start + m.dur
            sel = (m.start < t1) & (ends > t0)
            if use_rth:
                sel &= m.rth
            idx = np.flatnonzero(sel)
            if not idx.size:
                continue
            if size < 60:
                rows = self._second_base(inst, m, idx, t1)
            else:
                full = idx[ends[idx] <= t1]
                rows = self._minute_base(m, full)
                if full.size < idx.size:  # the minute in progress at t1, from its seconds
                    part = self._second_base(inst, m, idx[-1:], t1)
                    if len(part):
                        rows = _Base.concat([rows, _aggregate(part, np.full(len(part), m.label[idx[-1]]))])
            parts.append(rows)
            if size >= DAY:  # one bar per session
                bins.append(np.full(len(rows), m.day * DAY, dtype=np.int64))
                continue
            first = int(np.argmax(m.rth)) if use_rth else 0
            opening = m.start[first] if size < 60 else m.label[first]
            bins.append(np.maximum(self._bins(inst, rows.time, size), opening))
        if not parts:
            return _Base.concat([]), np.empty(0, dtype=np.int64)
        return _Base.concat(parts), np.concatenate(bins)

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

    def _second_base(self, inst: Instrument, m: _Minutes, idx: np.ndarray, t1: float) -> _Base:
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
        direct = np.array([what == "TRADES" and not use_rth and s.end <= t1 for s in sessions])
        parts: list[_Base] = []
        if direct.any():  # complete sessions: straight from the session level
            d = self._daily(inst, days[direct])
            f = np.float64
            i = np.zeros(d.close.size, dtype=np.int64)
            span = np.array([sum(b - a for a, b in s.segs) for s, ok in zip(sessions, direct, strict=True) if ok])
            parts.append(
                _Base(
                    days[direct] * DAY,
                    d.open.astype(f),
                    d.high.astype(f),
                    d.low.astype(f),
                    d.close.astype(f),
                    d.volume,
                    d.count,
                    d.wap,
                    span.astype(f),
                    i,
                    i,
                )
            )
        todo = []
        for s, ok in zip(sessions, direct, strict=True):
            if ok:
                continue
            done = self._day_cache.lookup((inst.con_id, s.day, s.segs, s.rth, what, use_rth))
            if done is not None and s.end <= t1:
                parts.append(done)
            else:
                todo.append(s)
        for first in range(0, len(todo), 256):  # bounded batches of minute paths
            chunk = todo[first : first + 256]
            base, bins = self._intraday(inst, chunk, chunk[0].start, t1, DAY, use_rth)
            side, averaged = _quote_side(base, what)
            made = _aggregate(side, bins, averaged)
            parts.append(made)
            for s in chunk:  # finished sessions never change: keep their rows
                if s.end <= t1:
                    row = made.take(made.time == s.day * DAY)
                    self._day_cache.put((inst.con_id, s.day, s.segs, s.rth, what, use_rth), row)
        rows = _Base.concat(parts)
        rows = rows.take(np.argsort(rows.time, kind="stable"))
        start_of = {s.day: s.start for s in sessions}
        kept = rows.time // DAY
        return rows, kept, np.array([start_of[int(d)] for d in kept], dtype=np.int64)

    def _bins(self, inst: Instrument, labels: np.ndarray, size: int) -> np.ndarray:
        """Bar start of each base label: clock-aligned in the exchange time zone."""
        if not labels.size or size <= 60:
            return labels - labels % size
        zone = self._zones.get(inst.product.iana_zone)
        if zone is None:
            zone = self._zones[inst.product.iana_zone] = ZoneInfo(inst.product.iana_zone)

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
        key = self._qkeys.get(inst.con_id)
        if key is None:
            key = self._qkeys[inst.con_id] = _key(self.seed, "quote", inst.con_id)
        return key

    def _close_ticks(self, inst: Instrument, day: int) -> int:
        close = self._closes.lookup((inst.con_id, day))
        if close is None:
            close = int(self._daily(inst, np.array([day], dtype=np.int64)).close[0])
            self._closes.put((inst.con_id, day), close)
        return close

    def _to_bars(self, inst: Instrument, b: _Base, what: str, dates: list[dt.date] | None) -> Bars:
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
