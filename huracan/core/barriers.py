"""Triple-barrier resolution: the one definition of how a (shadow) trade ends.

The resolver Lambda (one trade, :func:`first_touch`) and the nightly labeler (every signal and every
counterfactual, :func:`label_events`) must give identical answers, or the model would learn from labels
that the live system never produces. Both implement the rules below; a property test runs them against
each other on random paths and on the real FTX month.

Timing (see :mod:`huracan.core.bars`): an entry at time ``T`` uses the path of bars with
``T <= ts < T + timeout_sec``; bar ``i`` covers ``[ts[i], ts[i] + bar_sec)``. ``timeout_sec`` must be a
whole number of bars, so the window is exactly ``timeout_sec // bar_sec`` bars.

Barrier prices: long ``tp = entry * (1 + tp_bps/1e4)``, ``sl = entry * (1 - sl_bps/1e4)``; short mirrored
(``tp`` below, ``sl`` above the entry).

Rules, applied bar by bar in time order; the first bar that touches a barrier ends the trade:

1. A touch is ``high >= tp`` / ``low <= sl`` for a long, ``low <= tp`` / ``high >= sl`` for a short
   (equality counts: a resting order at that price fills).
2. Gap: a bar that *opens* at or beyond a barrier exits at that bar's open, not at the barrier. The open
   is the first price of the bar, so the order of events is known and the fill is the open, better for
   TP and worse for SL than the barrier itself.
3. Otherwise, a bar that touches *both* barriers exits at SL: one-minute bars cannot tell which came
   first, and the conservative answer keeps the learned win rate from being flattered.
4. No touch within the window: exit ``"timeout"`` at the close of the window's last bar.

Exit time is the touching bar's end (``ts + bar_sec``) or ``T + timeout_sec`` on timeout; the duration is
the exit time minus ``T``. Gross P&L is ``side * (exit - entry) / entry * 1e4`` bps.

Missing data is never guessed: the result is ``exit_reason == "NO_DATA"`` with a reason when the window
has no bars, its first bar is not at ``T``, two consecutive bars inside it are not exactly ``bar_sec``
apart (a gap, or misaligned bars), a price in it is not finite, or it is not complete yet (the data ends
before ``T + timeout_sec``). This holds even when a barrier was touched before the defect: dropping every
defective window, whatever its outcome, keeps the labelled set unbiased, whereas keeping only the windows
that happened to touch early would over-represent fast exits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Final, Literal, Protocol

import numpy as np
import numpy.typing as npt

from huracan.core.bars import BarArrays, FloatArray, IntArray

__all__ = [
    "EXIT_REASONS",
    "NO_DATA_KINDS",
    "REASON_NO_DATA",
    "REASON_SL",
    "REASON_TIMEOUT",
    "REASON_TP",
    "BarrierConfig",
    "Barriers",
    "ExitReason",
    "LabelArrays",
    "Touch",
    "barrier_prices",
    "first_touch",
    "label_events",
    "side_sign",
]

ExitReason = Literal["TP", "SL", "timeout", "NO_DATA"]

#: Codes used in :class:`LabelArrays` ``reason``; ``EXIT_REASONS[code]`` is the name.
REASON_TP: Final = 0
REASON_SL: Final = 1
REASON_TIMEOUT: Final = 2
REASON_NO_DATA: Final = 3
EXIT_REASONS: Final[tuple[ExitReason, ...]] = ("TP", "SL", "timeout", "NO_DATA")

#: Why a window is NO_DATA, indexed by :class:`LabelArrays` ``no_data_kind`` (0 = the window is usable).
NO_DATA_KINDS: Final[tuple[str, ...]] = ("", "no bars", "first bar not at entry", "gap", "bad price", "incomplete")
_OK, _NO_BARS, _NOT_AT_T, _GAP, _BAD_PRICE, _INCOMPLETE = range(6)

_BPS: Final = 10_000.0


class BarrierConfig(Protocol):
    """Structural type of the settings that define barriers (``ModeConfig`` satisfies it)."""

    @property
    def tp_bps(self) -> float: ...
    @property
    def sl_bps(self) -> float: ...
    @property
    def timeout_sec(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Barriers:
    """Take-profit and stop-loss distances in bps of the entry price, and the time limit."""

    tp_bps: float
    sl_bps: float
    timeout_sec: int

    def __post_init__(self) -> None:
        if not (self.tp_bps > 0 and self.sl_bps > 0):
            raise ValueError(f"barriers must be positive bps, got tp={self.tp_bps} sl={self.sl_bps}")
        if self.sl_bps >= _BPS:
            raise ValueError(f"sl_bps {self.sl_bps} would put a long's stop at or below zero")
        if self.timeout_sec <= 0:
            raise ValueError(f"timeout_sec must be positive, got {self.timeout_sec}")

    @staticmethod
    def from_mode(mode: BarrierConfig) -> Barriers:
        """From a :class:`~huracan.core.config.ModeConfig` (or anything with the same three fields)."""
        return Barriers(tp_bps=float(mode.tp_bps), sl_bps=float(mode.sl_bps), timeout_sec=int(mode.timeout_sec))


@dataclass(frozen=True, slots=True)
class Touch:
    """How one trade ended. For ``NO_DATA`` every price/time field is None and ``reason`` says why."""

    exit_reason: ExitReason
    exit_price: float | None
    exit_ts: int | None
    gross_pnl_bps: float | None
    duration_sec: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class LabelArrays:
    """Column form of many :class:`Touch` results. NO_DATA rows hold NaN prices and ``-1`` times."""

    reason: npt.NDArray[np.int8]
    exit_price: FloatArray
    exit_ts: IntArray
    gross_pnl_bps: FloatArray
    duration_sec: IntArray
    no_data_kind: npt.NDArray[np.int8]
    tp_price: FloatArray
    sl_price: FloatArray

    def __len__(self) -> int:
        return len(self.reason)

    def touch(self, k: int) -> Touch:
        """Row ``k`` as a :class:`Touch` (the reason text is the NO_DATA kind, without details)."""
        code = int(self.reason[k])
        if code == REASON_NO_DATA:
            return Touch("NO_DATA", None, None, None, None, NO_DATA_KINDS[int(self.no_data_kind[k])])
        return Touch(
            EXIT_REASONS[code],
            float(self.exit_price[k]),
            int(self.exit_ts[k]),
            float(self.gross_pnl_bps[k]),
            int(self.duration_sec[k]),
            "",
        )


def side_sign(side: int | str) -> int:
    """``+1`` for a long, ``-1`` for a short; accepts the record's ``"long"``/``"short"`` too."""
    if side in (1, "long"):
        return 1
    if side in (-1, "short"):
        return -1
    raise ValueError(f"side must be 'long'/'short' or +1/-1, got {side!r}")


def barrier_prices(entry: float, side: int | str, barriers: Barriers) -> tuple[float, float]:
    """``(tp_price, sl_price)``; the same arithmetic as :func:`label_events` so results match bit for bit."""
    s = side_sign(side)
    tp = entry * (1.0 + s * barriers.tp_bps / _BPS)
    sl = entry * (1.0 - s * barriers.sl_bps / _BPS)
    return tp, sl


def _horizon(timeout_sec: int, bar_sec: int) -> int:
    if bar_sec <= 0:
        raise ValueError(f"bar_sec must be positive, got {bar_sec}")
    if timeout_sec <= 0 or timeout_sec % bar_sec:
        raise ValueError(f"timeout_sec {timeout_sec} must be a positive whole number of bars of {bar_sec}s")
    return timeout_sec // bar_sec


def _no_data(kind: int, detail: str) -> Touch:
    return Touch("NO_DATA", None, None, None, None, f"{NO_DATA_KINDS[kind]}: {detail}")


def first_touch(
    ts: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    open: npt.ArrayLike,
    entry_ts: int,
    entry_price: float,
    side: int | str,
    barriers: Barriers,
    bar_sec: int = 60,
) -> Touch:
    """Resolve one trade entered at ``entry_ts`` from a bar path (which may extend before and after).

    A plain loop over the window, written to be read: it is the reference the vectorized labeler is
    tested against.
    """
    s = side_sign(side)
    n_h = _horizon(barriers.timeout_sec, bar_sec)
    if not entry_price > 0:
        raise ValueError(f"entry_price must be positive, got {entry_price}")
    ts_a = np.asarray(ts, dtype=np.int64)
    t0 = int(entry_ts)
    t_end = t0 + barriers.timeout_sec
    lo = int(np.searchsorted(ts_a, t0, side="left"))
    hi = int(np.searchsorted(ts_a, t_end, side="left"))
    window = [int(t) for t in ts_a[lo:hi]]
    if not window:
        return _no_data(_NO_BARS, f"no bar in [{t0}, {t_end})")
    if window[0] != t0:
        return _no_data(_NOT_AT_T, f"first bar at {window[0]}, entry at {t0}")
    for a, b in pairwise(window):
        if b - a != bar_sec:
            return _no_data(_GAP, f"bars at {a} and {b} are {b - a}s apart, expected {bar_sec}s")
    o: list[float] = np.asarray(open, dtype=np.float64)[lo:hi].tolist()
    h: list[float] = np.asarray(high, dtype=np.float64)[lo:hi].tolist()
    lw: list[float] = np.asarray(low, dtype=np.float64)[lo:hi].tolist()
    c: list[float] = np.asarray(close, dtype=np.float64)[lo:hi].tolist()
    for j in range(len(window)):
        if not all(math.isfinite(x) for x in (o[j], h[j], lw[j], c[j])):
            return _no_data(_BAD_PRICE, f"bar at {window[j]} has a non-finite price")
    if len(window) < n_h:
        return _no_data(_INCOMPLETE, f"path ends at {window[-1] + bar_sec}, window needs bars until {t_end}")

    tp, sl = barrier_prices(entry_price, s, barriers)
    for j in range(n_h):
        if s == 1:
            tp_hit, sl_hit = h[j] >= tp, lw[j] <= sl
            open_past_tp, open_past_sl = o[j] >= tp, o[j] <= sl
        else:
            tp_hit, sl_hit = lw[j] <= tp, h[j] >= sl
            open_past_tp, open_past_sl = o[j] <= tp, o[j] >= sl
        if not (tp_hit or sl_hit):
            continue
        reason: ExitReason
        if tp_hit and open_past_tp:
            reason, price = "TP", o[j]
        elif sl_hit and open_past_sl:
            reason, price = "SL", o[j]
        elif sl_hit:
            reason, price = "SL", sl
        else:
            reason, price = "TP", tp
        exit_ts = window[j] + bar_sec
        return Touch(reason, price, exit_ts, s * (price - entry_price) / entry_price * _BPS, exit_ts - t0, "")
    price = c[n_h - 1]
    return Touch("timeout", price, t_end, s * (price - entry_price) / entry_price * _BPS, t_end - t0, "")


# --------------------------------------------------------------------------------------------------
# Vectorized labeler
# --------------------------------------------------------------------------------------------------
#
# For each event the question is "first bar j in [i, i + H) with high[j] >= x" (and the mirror with low).
# Comparing every event with every bar of its horizon costs O(m * H). Instead a sparse table of running
# maxima over power-of-two blocks answers it by binary lifting: skip the largest block whose max is still
# below x, then the next smaller one... so each event costs O(log H) gathers. Bars are processed in
# chunks (events sorted by entry bar) so the tables stay in cache.

_CHUNK_BARS: Final = 8192


def _as_event_array(value: float | npt.ArrayLike, m: int, name: str) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(m, float(arr))
    if arr.shape != (m,):
        raise ValueError(f"{name} has shape {arr.shape}, expected ({m},) or a scalar")
    return arr


def _tables(values: FloatArray, levels: int, op: np.ufunc) -> list[FloatArray]:
    """``t[k][i] = op-reduce(values[i : i + 2**k])`` (truncated at the end), one spare slot at the end."""
    first = np.empty(len(values) + 1)
    first[:-1] = values
    first[-1] = values[-1] if len(values) else 0.0
    out = [first]
    for k in range(1, levels):
        prev = out[-1]
        step = 1 << (k - 1)
        cur = prev.copy()
        if step < len(prev):
            op(prev[:-step], prev[step:], out=cur[:-step])
        out.append(cur)
    return out


def _first_reach(tables: list[FloatArray], pos: IntArray, limit: IntArray, x: FloatArray, *, upward: bool) -> IntArray:
    """First index in ``[pos, limit)`` whose value reaches ``x`` (``>=`` upward, ``<=`` downward), else limit."""
    pos = pos.copy()
    for k in range(len(tables) - 1, -1, -1):
        step = 1 << k
        block = tables[k][pos]
        below = (block < x) if upward else (block > x)
        below &= pos + step <= limit
        pos += below * step
    return pos


def _window_kinds(
    bars: BarArrays, idx: IntArray, t0: IntArray, t_end: IntArray, n_h: int, bar_sec: int
) -> npt.NDArray[np.int8]:
    """The NO_DATA kind of each event's window (0 = usable), in the order :func:`first_touch` checks them.

    O(m) thanks to prefix sums over defects: ``steps[k]`` counts the bad steps among steps ``0..k-1``
    (step s joins bars s and s+1: bad unless exactly ``bar_sec``), ``bad[k]`` the bars with a non-finite
    price among bars ``0..k-1``. A window is usable exactly when bars ``i..i+n_h-1`` exist, start at the
    entry, have neither, and no further bar starts inside the window; only the others need the slower
    search for which defect comes first.
    """
    ts = bars.ts
    n = len(ts)
    steps = np.zeros(n + 1, dtype=np.int64)
    if n > 1:
        np.cumsum(np.diff(ts) != bar_sec, out=steps[1:n])
        steps[n] = steps[n - 1]
    finite = np.isfinite(bars.open) & np.isfinite(bars.high) & np.isfinite(bars.low) & np.isfinite(bars.close)
    bad = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(~finite, out=bad[1:])

    kind = np.full(len(idx), _INCOMPLETE, dtype=np.int8)
    fits = np.flatnonzero(idx + n_h <= n)
    i = idx[fits]
    after = np.minimum(i + n_h, n - 1)  # the bar after the window must not start inside it (misaligned bars)
    usable = (ts[i] == t0[fits]) & (steps[i + n_h - 1] == steps[i]) & (bad[i + n_h] == bad[i])
    usable &= (i + n_h == n) | (ts[after] >= t_end[fits])
    kind[fits[usable]] = _OK

    rest = np.flatnonzero(kind != _OK)
    if len(rest) == 0:
        return kind
    i = idx[rest]
    hi = np.maximum(np.where(i >= n, i, np.searchsorted(ts, t_end[rest], side="left")), i)
    count = hi - i
    last = np.maximum(hi - 1, i)
    sub = np.full(len(rest), _OK, dtype=np.int8)
    for code, defect in (
        (_NO_BARS, count == 0),
        (_NOT_AT_T, ts[np.minimum(i, n - 1)] != t0[rest] if n else count == 0),
        (_GAP, steps[last] - steps[i] > 0),
        (_BAD_PRICE, bad[hi] - bad[i] > 0),
        (_INCOMPLETE, count < n_h),
    ):
        sub[(sub == _OK) & defect] = code
    if bool(np.any(sub == _OK)):  # pragma: no cover - the fast test above is exact; this guards edits
        raise AssertionError("window check disagreement")
    kind[rest] = sub
    return kind


def label_events(
    bars: BarArrays,
    entry_idx: npt.ArrayLike,
    side: npt.ArrayLike,
    entry_price: npt.ArrayLike,
    tp_bps: float | npt.ArrayLike,
    sl_bps: float | npt.ArrayLike,
    timeout_sec: int,
    bar_sec: int = 60,
    entry_ts: npt.ArrayLike | None = None,
) -> LabelArrays:
    """Resolve many events at once with exactly the rules (and results) of :func:`first_touch`.

    ``entry_idx[k]`` is the index of event k's first path bar (``len(bars)`` when the data ends before
    it); ``entry_ts`` defaults to that bar's ``ts``. When given, ``entry_idx`` must be
    ``searchsorted(bars.ts, entry_ts)``, i.e. the first bar at or after the entry, as for a signal whose
    next bar is missing.
    """
    n_h = _horizon(int(timeout_sec), bar_sec)
    ts = bars.ts
    n = len(ts)
    idx = np.asarray(entry_idx, dtype=np.int64).reshape(-1)
    m = len(idx)
    sgn = np.asarray(side, dtype=np.int64).reshape(-1)
    if sgn.shape != (m,) or not bool(np.all((sgn == 1) | (sgn == -1))):
        raise ValueError("side must be an array of +1/-1, one per event")
    entry = _as_event_array(entry_price, m, "entry_price")
    if not bool(np.all(entry > 0)):
        raise ValueError("entry_price must be positive")
    tp_b = _as_event_array(tp_bps, m, "tp_bps")
    sl_b = _as_event_array(sl_bps, m, "sl_bps")
    if not bool(np.all((tp_b > 0) & (sl_b > 0) & (sl_b < _BPS))):
        raise ValueError("tp_bps and sl_bps must be positive (and sl_bps < 10000)")
    if m and (idx.min() < 0 or idx.max() > n):
        raise ValueError(f"entry_idx must be in [0, {n}]")

    tp = entry * (1.0 + sgn * tp_b / _BPS)
    sl = entry * (1.0 - sgn * sl_b / _BPS)

    if entry_ts is None:
        t0 = ts[np.minimum(idx, n - 1)] if n else np.zeros(m, dtype=np.int64)
    else:
        t0 = np.asarray(entry_ts, dtype=np.int64).reshape(-1)
        if t0.shape != (m,):
            raise ValueError(f"entry_ts has shape {t0.shape}, expected ({m},)")
        if not np.array_equal(np.searchsorted(ts, t0, side="left"), idx):
            raise ValueError("entry_idx must be the index of the first bar at or after entry_ts")
    t_end = t0 + int(timeout_sec)
    kind = _window_kinds(bars, idx, t0, t_end, n_h, bar_sec)
    ok = kind == _OK

    reason = np.full(m, REASON_NO_DATA, dtype=np.int8)
    exit_price = np.full(m, np.nan)
    exit_ts = np.full(m, -1, dtype=np.int64)

    ev = np.flatnonzero(ok)
    if len(ev):
        ev = ev[np.argsort(idx[ev], kind="stable")]
        levels = n_h.bit_length()
        starts = idx[ev]
        for c0 in range(0, n, _CHUNK_BARS):
            a, b = np.searchsorted(starts, [c0, c0 + _CHUNK_BARS])
            if a == b:
                continue
            sel = ev[a:b]
            c1 = min(n, c0 + _CHUNK_BARS + n_h)
            _resolve_chunk(bars, c0, c1, sel, idx, sgn, tp, sl, n_h, levels, reason, exit_price, exit_ts, bar_sec)
        to = ok & (reason == REASON_NO_DATA)
        reason[to] = REASON_TIMEOUT
        exit_price[to] = bars.close[idx[to] + n_h - 1]
        exit_ts[to] = t_end[to]

    duration = np.where(ok, exit_ts - t0, -1).astype(np.int64)
    gross = sgn * (exit_price - entry) / entry * _BPS
    return LabelArrays(
        reason=reason,
        exit_price=exit_price,
        exit_ts=exit_ts,
        gross_pnl_bps=gross,
        duration_sec=duration,
        no_data_kind=kind,
        tp_price=tp,
        sl_price=sl,
    )


def _resolve_chunk(
    bars: BarArrays,
    c0: int,
    c1: int,
    sel: IntArray,
    idx: IntArray,
    sgn: IntArray,
    tp: FloatArray,
    sl: FloatArray,
    n_h: int,
    levels: int,
    reason: npt.NDArray[np.int8],
    exit_price: FloatArray,
    exit_ts: IntArray,
    bar_sec: int,
) -> None:
    """Resolve the usable events whose window starts in bars ``[c0, c1 - n_h)``; writes into the outputs."""
    high = bars.high[c0:c1]
    low = bars.low[c0:c1]
    opn = bars.open[c0:c1]
    hmax = _tables(high, levels, np.maximum)
    lmin = _tables(low, levels, np.minimum)
    start = idx[sel] - c0
    limit = start + n_h
    long = sgn[sel] == 1
    tp_s, sl_s = tp[sel], sl[sel]
    up_x = np.where(long, tp_s, sl_s)  # the barrier touched by the high
    dn_x = np.where(long, sl_s, tp_s)  # the barrier touched by the low
    j_up = _first_reach(hmax, start, limit, up_x, upward=True)
    j_dn = _first_reach(lmin, start, limit, dn_x, upward=False)
    j_tp = np.where(long, j_up, j_dn)
    j_sl = np.where(long, j_dn, j_up)
    j = np.minimum(j_tp, j_sl)
    hit = j < limit
    if not bool(hit.any()):
        return
    j, long, tp_s, sl_s = j[hit], long[hit], tp_s[hit], sl_s[hit]
    tp_at = j_tp[hit] == j
    sl_at = j_sl[hit] == j
    o = opn[j]
    open_past_tp = np.where(long, o >= tp_s, o <= tp_s)
    open_past_sl = np.where(long, o <= sl_s, o >= sl_s)
    gap_tp = tp_at & open_past_tp
    gap_sl = ~gap_tp & sl_at & open_past_sl
    is_sl = ~gap_tp & sl_at
    price = np.where(gap_tp | gap_sl, o, np.where(is_sl, sl_s, tp_s))
    out = sel[hit]
    reason[out] = np.where(is_sl, REASON_SL, REASON_TP).astype(np.int8)
    exit_price[out] = price
    exit_ts[out] = bars.ts[j + c0] + bar_sec
