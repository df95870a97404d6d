"""The one feature definition, shared by training (whole histories) and serving (the last few bars).

Timing follows :mod:`huracan.core.bars`: row ``i`` describes the market for a signal emitted when bar ``i``
closes (``ts[i] + BAR_SEC``), so it may use bars ``0..i`` and nothing later. Lookbacks count *bars*, not
minutes: a gap in the data (a day break) is stepped over, exactly as the serving path would see it.

Bar features (``BAR_FEATURES``), all from bars ``i - WINDOW + 1 .. i``:

- ``ret_{h}_bps``: log return over the last ``h`` bars, in bps (h = 1, 5, 15, 60).
- ``rv_{w}_bps``: sample standard deviation (ddof=1) of the last ``w`` one-bar log returns, in bps.
- ``atr_14_bps``: the *simple* mean of the last 14 true ranges, in bps of the last close. Simple rather
  than Wilder's EMA because an EMA never forgets: it could not be computed from a finite window and
  training would see a different number from serving.
- ``volume_ratio_60``: last bar's volume / mean volume of the 60 bars before it, capped at
  ``VOLUME_RATIO_CAP`` (0 when both are 0), so a dead market never yields inf or NaN.
- ``spread_bps``: quoted ``(ask - bid) / mid`` of the last bar when it has quotes. Otherwise the
  Abdi & Ranaldo (2017) close/high/low estimator over the last ``SPREAD_WINDOW`` bar pairs:
  ``s² = 4·mean[(c_t − η_t)(c_t − η_{t+1})]`` with log prices and ``η = (log h + log l) / 2``; the
  mean is floored at 0 before the square root (the estimator can go negative in quiet markets).
  ``spread_estimated`` is 1.0 when the estimator was used, so a model can tell the two apart.
- ``trend_eff_15``: ``|net log move| / Σ|one-bar log moves|`` over 15 bars (0 when nothing moved):
  1 is a straight line, near 0 is chop.
- ``tod_sin``/``tod_cos``: minute of day of the signal (``ts[i] + BAR_SEC``) on the unit circle, so
  23:59 and 00:00 are neighbours.

Rows without a full ``WINDOW`` of history are entirely NaN: a partial row would be a different feature.

Three entry points compute the same numbers by independent routes and are tested equal on real data:
:func:`features_history` (rolling windows over a whole history, for training), :func:`features_windows`
(a batch of stacked windows, the Lambda's hot path) and :func:`features_latest` (one window written out
directly, for one signal). :func:`model_vector` / :func:`model_matrix` add the signal's own features (``MODEL_FEATURES``).

The model's inputs are :func:`model_features`: ``MODEL_FEATURES`` followed by the config's ``extra_features`` (the
user's own signal columns, carried in the stream record's ``features`` object) in declared order. Training
(:mod:`huracan.learning.collect`), serving (:mod:`huracan.service.evaluate`) and the Hamilton simulator build
their rows with the same two functions from the same list, so the columns cannot drift apart. The extras come
*after* the fixed features, so column ``i < len(MODEL_FEATURES)`` means the same thing with or without them
(gates, regime rule and a model trained before the extras were declared keep reading the right columns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from huracan.core.bars import BarArrays, FloatArray, IntArray

__all__ = [
    "BAR_FEATURES",
    "BAR_SEC",
    "FEATURE_INDEX",
    "MODEL_FEATURES",
    "RETURN_HORIZONS",
    "SPREAD_WINDOW",
    "VOLUME_RATIO_CAP",
    "WINDOW",
    "BarWindows",
    "extra_values",
    "features_history",
    "features_latest",
    "features_windows",
    "model_features",
    "model_matrix",
    "model_vector",
]

BAR_SEC = 60
RETURN_HORIZONS = (1, 5, 15, 60)
RV_WINDOWS = (15, 60)
ATR_WINDOW = 14
VOLUME_WINDOW = 60
SPREAD_WINDOW = 60
TREND_WINDOW = 15
VOLUME_RATIO_CAP = 1000.0
BPS = 1e4
MINUTES_PER_DAY = 1440

#: Bars needed for one row: the longest lookback (60 returns / 60 prior volumes / 60 bar pairs) + 1.
WINDOW = max(*RETURN_HORIZONS, *RV_WINDOWS, ATR_WINDOW, VOLUME_WINDOW, SPREAD_WINDOW, TREND_WINDOW) + 1

BAR_FEATURES: tuple[str, ...] = (
    *(f"ret_{h}_bps" for h in RETURN_HORIZONS),
    *(f"rv_{w}_bps" for w in RV_WINDOWS),
    f"atr_{ATR_WINDOW}_bps",
    f"volume_ratio_{VOLUME_WINDOW}",
    "spread_bps",
    "spread_estimated",
    f"trend_eff_{TREND_WINDOW}",
    "tod_sin",
    "tod_cos",
)
SIGNAL_FEATURES: tuple[str, ...] = ("side", "side_ret_15_bps", "confidence", "is_runner")
MODEL_FEATURES: tuple[str, ...] = BAR_FEATURES + SIGNAL_FEATURES
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(MODEL_FEATURES)}

_K = len(BAR_FEATURES)
_I_RET15 = FEATURE_INDEX["ret_15_bps"]


@dataclass(frozen=True, slots=True)
class BarWindows:
    """``m`` stacked windows of the last ``WINDOW`` bars, one per signal, as ``(m, WINDOW)`` arrays.

    Only the columns the features read are kept; quotes and time matter only at the last bar. A row whose
    history was shorter than ``WINDOW`` is NaN-padded at the front and yields an all-NaN feature row.
    """

    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    ts_last: IntArray
    bid_last: FloatArray
    ask_last: FloatArray

    def __len__(self) -> int:
        return int(self.close.shape[0])

    @staticmethod
    def from_history(bars: BarArrays, ends: npt.ArrayLike) -> BarWindows:
        """Windows ending at bar indices ``ends`` (inclusive) of one history; each needs ``WINDOW`` bars."""
        end = np.asarray(ends, dtype=np.int64).reshape(-1)
        if end.size and (int(end.min()) < WINDOW - 1 or int(end.max()) >= len(bars)):
            raise ValueError(f"window ends must lie in [{WINDOW - 1}, {len(bars) - 1}]")
        idx = end[:, None] + np.arange(1 - WINDOW, 1, dtype=np.int64)
        return BarWindows(
            high=bars.high[idx],
            low=bars.low[idx],
            close=bars.close[idx],
            volume=bars.volume[idx],
            ts_last=bars.ts[end],
            bid_last=bars.bid[end],
            ask_last=bars.ask[end],
        )

    @staticmethod
    def from_bars(histories: Sequence[BarArrays]) -> BarWindows:
        """The last ``WINDOW`` bars of each history (one per signal, possibly different symbols)."""
        m = len(histories)
        cols = {name: np.full((m, WINDOW), np.nan) for name in ("high", "low", "close", "volume")}
        ts_last = np.zeros(m, dtype=np.int64)
        bid_last = np.full(m, np.nan)
        ask_last = np.full(m, np.nan)
        for j, bars in enumerate(histories):
            n = min(len(bars), WINDOW)
            if n == 0:
                continue
            for name, out in cols.items():
                out[j, WINDOW - n :] = getattr(bars, name)[-n:]
            ts_last[j] = bars.ts[-1]
            bid_last[j] = bars.bid[-1]
            ask_last[j] = bars.ask[-1]
        return BarWindows(ts_last=ts_last, bid_last=bid_last, ask_last=ask_last, **cols)


def _quoted_spread_bps(bid: FloatArray, ask: FloatArray) -> FloatArray:
    """Quoted spread where both quotes are usable, NaN elsewhere; a crossed book counts as 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = np.isfinite(bid) & np.isfinite(ask) & (bid > 0) & (ask > 0)
        mid = (ask + bid) * 0.5
        return np.where(ok, np.maximum((ask - bid) / mid * BPS, 0.0), np.nan)


def _time_of_day(ts_last: IntArray) -> tuple[FloatArray, FloatArray]:
    minute = ((ts_last + BAR_SEC) // 60) % MINUTES_PER_DAY
    angle = minute.astype(np.float64) * (2.0 * np.pi / MINUTES_PER_DAY)
    return np.sin(angle), np.cos(angle)


def _ratio_or_zero(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def _volume_ratio(last: FloatArray, prior_mean: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(
            prior_mean > 0,
            last / np.where(prior_mean > 0, prior_mean, 1.0),
            np.where(last > 0, VOLUME_RATIO_CAP, 0.0),
        )
    return np.minimum(ratio, VOLUME_RATIO_CAP)


def features_windows(windows: BarWindows) -> FloatArray:
    """Bar features for ``m`` stacked windows at once: shape ``(m, len(BAR_FEATURES))``.

    Every operation is along axis 1 of a ``(m, WINDOW)`` array, so a batch of 100 signals costs about
    what one does; this is the Lambda's hot path.
    """
    c = windows.close
    m = c.shape[0]
    out = np.empty((m, _K))
    logc = np.log(c)
    r = logc[:, 1:] - logc[:, :-1]  # r[:, j] = log return into window bar j+1
    last = logc[:, -1]
    col = 0
    for h in RETURN_HORIZONS:
        out[:, col] = (last - logc[:, -1 - h]) * BPS
        col += 1
    for w in RV_WINDOWS:
        out[:, col] = np.std(r[:, -w:], axis=1, ddof=1) * BPS
        col += 1
    prev_c = c[:, -ATR_WINDOW - 1 : -1]
    tr = np.maximum(windows.high[:, -ATR_WINDOW:], prev_c) - np.minimum(windows.low[:, -ATR_WINDOW:], prev_c)
    out[:, col] = np.mean(tr, axis=1) / c[:, -1] * BPS
    col += 1
    vol = windows.volume
    out[:, col] = _volume_ratio(vol[:, -1], np.mean(vol[:, -VOLUME_WINDOW - 1 : -1], axis=1))
    col += 1
    quoted = _quoted_spread_bps(windows.bid_last, windows.ask_last)
    eta = (np.log(windows.high[:, -SPREAD_WINDOW - 1 :]) + np.log(windows.low[:, -SPREAD_WINDOW - 1 :])) * 0.5
    cl = logc[:, -SPREAD_WINDOW - 1 : -1]
    s2 = 4.0 * np.mean((cl - eta[:, :-1]) * (cl - eta[:, 1:]), axis=1)
    estimated = np.sqrt(np.maximum(s2, 0.0)) * BPS
    has_quote = np.isfinite(quoted)
    out[:, col] = np.where(has_quote, quoted, estimated)
    out[:, col + 1] = np.where(has_quote, 0.0, 1.0)
    col += 2
    net = np.abs(last - logc[:, -1 - TREND_WINDOW])
    out[:, col] = _ratio_or_zero(net, np.sum(np.abs(r[:, -TREND_WINDOW:]), axis=1))
    col += 1
    out[:, col], out[:, col + 1] = _time_of_day(windows.ts_last)
    short = np.isnan(c[:, 0])
    if short.any():
        out[short] = np.nan
    return out


def features_latest(bars: BarArrays) -> FloatArray:
    """Bar features for one signal from only the last ``WINDOW`` bars of ``bars`` (NaN if fewer).

    Written directly on 1-D slices, independently of the two vectorized routes, so the equality tests
    compare three readings of the definition rather than one code path with itself.
    """
    out = np.full(_K, np.nan)
    if len(bars) < WINDOW:
        return out
    c = bars.close[-WINDOW:]
    h = bars.high[-WINDOW:]
    lo = bars.low[-WINDOW:]
    v = bars.volume[-WINDOW:]
    logc = np.log(c)
    r = np.diff(logc)
    col = 0
    for hz in RETURN_HORIZONS:
        out[col] = (logc[-1] - logc[-1 - hz]) * BPS
        col += 1
    for w in RV_WINDOWS:
        out[col] = np.std(r[-w:], ddof=1) * BPS
        col += 1
    prev_c = c[-ATR_WINDOW - 1 : -1]
    tr = np.maximum(h[-ATR_WINDOW:], prev_c) - np.minimum(lo[-ATR_WINDOW:], prev_c)
    out[col] = np.mean(tr) / c[-1] * BPS
    col += 1
    prior = float(np.mean(v[-VOLUME_WINDOW - 1 : -1]))
    last_v = float(v[-1])
    if prior > 0:
        out[col] = min(last_v / prior, VOLUME_RATIO_CAP)
    else:
        out[col] = VOLUME_RATIO_CAP if last_v > 0 else 0.0
    col += 1
    bid, ask = float(bars.bid[-1]), float(bars.ask[-1])
    if np.isfinite(bid) and np.isfinite(ask) and bid > 0 and ask > 0:
        out[col] = max((ask - bid) / ((ask + bid) * 0.5) * BPS, 0.0)
        out[col + 1] = 0.0
    else:
        eta = (np.log(h[-SPREAD_WINDOW - 1 :]) + np.log(lo[-SPREAD_WINDOW - 1 :])) * 0.5
        cl = logc[-SPREAD_WINDOW - 1 : -1]
        s2 = 4.0 * float(np.mean((cl - eta[:-1]) * (cl - eta[1:])))
        out[col] = np.sqrt(max(s2, 0.0)) * BPS
        out[col + 1] = 1.0
    col += 2
    moves = float(np.sum(np.abs(r[-TREND_WINDOW:])))
    out[col] = abs(logc[-1] - logc[-1 - TREND_WINDOW]) / moves if moves > 0 else 0.0
    col += 1
    angle = (((int(bars.ts[-1]) + BAR_SEC) // 60) % MINUTES_PER_DAY) * (2.0 * np.pi / MINUTES_PER_DAY)
    out[col], out[col + 1] = np.sin(angle), np.cos(angle)
    return out


def _rolling(x: FloatArray, w: int) -> FloatArray:
    """``(len(x) - w + 1, w)`` view: row ``k`` is ``x[k : k + w]``."""
    view: FloatArray = sliding_window_view(x, w)
    return view


def features_history(bars: BarArrays) -> FloatArray:
    """Bar features for every bar of a history: shape ``(n, len(BAR_FEATURES))``, NaN rows before ``WINDOW``.

    Rolling views over the whole history (no Python loop over bars); training uses this and must agree
    with :func:`features_windows` to 1e-9, which the unit tests check on real data.
    """
    n = len(bars)
    out = np.full((n, _K), np.nan)
    if n < WINDOW:
        return out
    first = WINDOW - 1
    rows = slice(first, n)
    c = bars.close
    logc = np.log(c)
    r = np.diff(logc)  # r[j] = log return into bar j+1
    col = 0
    for h in RETURN_HORIZONS:
        out[rows, col] = (logc[first:] - logc[first - h : n - h]) * BPS
        col += 1
    for w in RV_WINDOWS:
        # window k covers returns into bars k+1..k+w, so row i uses window i-w
        out[rows, col] = np.std(_rolling(r, w), axis=1, ddof=1)[first - w :] * BPS
        col += 1
    tr = np.maximum(bars.high[1:], c[:-1]) - np.minimum(bars.low[1:], c[:-1])  # tr[j] for bar j+1
    out[rows, col] = np.mean(_rolling(tr, ATR_WINDOW), axis=1)[first - ATR_WINDOW :] / c[first:] * BPS
    col += 1
    prior_mean = np.mean(_rolling(bars.volume, VOLUME_WINDOW), axis=1)[first - VOLUME_WINDOW : n - VOLUME_WINDOW]
    out[rows, col] = _volume_ratio(bars.volume[first:], prior_mean)
    col += 1
    quoted = _quoted_spread_bps(bars.bid[first:], bars.ask[first:])
    eta = (np.log(bars.high) + np.log(bars.low)) * 0.5
    pair = (logc[:-1] - eta[:-1]) * (logc[:-1] - eta[1:])  # pair[t] uses bars t and t+1
    s2 = 4.0 * np.mean(_rolling(pair, SPREAD_WINDOW), axis=1)[first - SPREAD_WINDOW :]
    estimated = np.sqrt(np.maximum(s2, 0.0)) * BPS
    has_quote = np.isfinite(quoted)
    out[rows, col] = np.where(has_quote, quoted, estimated)
    out[rows, col + 1] = np.where(has_quote, 0.0, 1.0)
    col += 2
    net = np.abs(logc[first:] - logc[first - TREND_WINDOW : n - TREND_WINDOW])
    moves = np.sum(_rolling(np.abs(r), TREND_WINDOW), axis=1)[first - TREND_WINDOW :]
    out[rows, col] = _ratio_or_zero(net, moves)
    col += 1
    out[rows, col], out[rows, col + 1] = _time_of_day(bars.ts[first:])
    return out


def _side_sign(side: str) -> float:
    if side == "long":
        return 1.0
    if side == "short":
        return -1.0
    raise ValueError(f"side must be 'long' or 'short', got {side!r}")


def model_features(extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The meta-label model's input columns: ``MODEL_FEATURES``, then ``extra`` (the config's
    ``extra_features``) in declared order. The one list training records and serving computes."""
    names = tuple(extra)
    clash = [n for n in names if n in FEATURE_INDEX]
    if clash:
        raise ValueError(f"extra features {clash} are already model features (choose other names)")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"extra features {repeated} are declared more than once")
    return MODEL_FEATURES + names


def extra_values(features: Sequence[Mapping[str, float] | None], names: Sequence[str]) -> FloatArray:
    """``(m, len(names))``: each signal's declared extra features by name, NaN where one is unknown.

    NaN rather than a refusal because training meets rows whose value is genuinely unknown (a decision
    stored before the feature was declared, a live trade without its decision) and LightGBM routes NaN
    down a learned branch; serving never meets one, because a signal missing a declared feature is parked.
    """
    out = np.full((len(features), len(names)), np.nan)
    for j, doc in enumerate(features):
        if not doc:
            continue
        for c, name in enumerate(names):
            v = doc.get(name)
            if v is not None:
                out[j, c] = float(v)
    return out


def model_vector(
    bar_feats: FloatArray, side: str, confidence: float, mode: str, extra: Sequence[float] = ()
) -> FloatArray:
    """One :func:`model_features` row: the bar features, what the signal itself says, then its ``extra``
    feature values (in the config's declared order)."""
    if bar_feats.shape != (_K,):
        raise ValueError(f"bar features must have shape ({_K},), got {bar_feats.shape}")
    if mode not in ("scalp", "runner"):
        raise ValueError(f"mode must be 'scalp' or 'runner', got {mode!r}")
    sign = _side_sign(side)
    tail = np.array([sign, sign * bar_feats[_I_RET15], float(confidence), 1.0 if mode == "runner" else 0.0])
    return np.concatenate([bar_feats, tail, np.asarray(extra, dtype=np.float64).reshape(-1)])


def model_matrix(
    bar_feats: FloatArray,
    side_sign: npt.ArrayLike,
    confidence: npt.ArrayLike,
    is_runner: npt.ArrayLike,
    extra: npt.ArrayLike | None = None,
) -> FloatArray:
    """:func:`model_features` rows for ``m`` signals; ``side_sign`` is +1 (long) / -1 (short) per signal and
    ``extra`` the ``(m, k)`` values of the config's extra features (:func:`extra_values`), if any."""
    m = bar_feats.shape[0]
    if bar_feats.shape != (m, _K):
        raise ValueError(f"bar features must have shape (m, {_K}), got {bar_feats.shape}")
    sign = np.asarray(side_sign, dtype=np.float64).reshape(-1)
    if sign.shape != (m,) or not bool(np.all(np.abs(sign) == 1.0)):
        raise ValueError("side_sign must hold +1 or -1 for every signal")
    ex = np.zeros((m, 0)) if extra is None else np.asarray(extra, dtype=np.float64)
    if ex.ndim != 2 or ex.shape[0] != m:
        raise ValueError(f"extra feature values must have shape ({m}, k), got {ex.shape}")
    n = len(MODEL_FEATURES)
    out = np.empty((m, n + ex.shape[1]))
    out[:, :_K] = bar_feats
    out[:, _K] = sign
    out[:, _K + 1] = sign * bar_feats[:, _I_RET15]
    out[:, _K + 2] = np.asarray(confidence, dtype=np.float64).reshape(-1)
    out[:, _K + 3] = np.asarray(is_runner, dtype=np.float64).reshape(-1)
    out[:, n:] = ex
    return out
