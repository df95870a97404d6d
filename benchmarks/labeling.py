"""Triple-barrier labeling speed on the real FTX BTC-PERP month: vectorized vs a plain pandas loop.

Every bar is an event (a signal at the bar's open, priced at the previous close), long and short, with
the demo profile's scalp and runner barriers. The vectorized labeler (:func:`label_events`) runs on all
of them; the pandas loop (iterate events, slice the frame by time, find the first touch) runs on a
subsample in the same process, and its answers are checked against the vectorized ones.

Run: ``.venv/bin/python benchmarks/labeling.py``; the last line is the JSON figure record.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

from huracan.core.barriers import EXIT_REASONS, Barriers, LabelArrays, label_events
from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.data import find_data_file, load_bars

REPEATS = 7
LOOP_EVENTS_PER_RUN = 300  # per (mode, side): 1,200 loop events in all


def events(bars: BarArrays) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(1, len(bars), dtype=np.int64)
    return idx, bars.close[idx - 1]


def vectorized(bars: BarArrays, runs: list[tuple[Barriers, int]]) -> tuple[float, int, list[LabelArrays]]:
    idx, entry = events(bars)
    best = float("inf")
    out: list[LabelArrays] = []
    for _ in range(REPEATS):
        out = []
        t = time.perf_counter()
        for b, s in runs:
            out.append(label_events(bars, idx, np.full(len(idx), s), entry, b.tp_bps, b.sl_bps, b.timeout_sec))
        best = min(best, time.perf_counter() - t)
    return best, len(idx) * len(runs), out


def pandas_first_touch(df: pd.DataFrame, t0: pd.Timestamp, entry: float, side: int, b: Barriers) -> tuple[str, float]:
    """What a hand-written pandas labeler does per event: slice the window by time, look for the touch."""
    w = df.loc[t0 : t0 + pd.Timedelta(seconds=b.timeout_sec - 1)]
    n_h = b.timeout_sec // 60
    if len(w) != n_h or w.index[0] != t0 or (w.index.to_series().diff().dropna() != pd.Timedelta(minutes=1)).any():
        return "NO_DATA", float("nan")
    tp = entry * (1.0 + side * b.tp_bps / 1e4)
    sl = entry * (1.0 - side * b.sl_bps / 1e4)
    if side == 1:
        tp_hit, sl_hit = w["high"] >= tp, w["low"] <= sl
        gap_tp, gap_sl = w["open"] >= tp, w["open"] <= sl
    else:
        tp_hit, sl_hit = w["low"] <= tp, w["high"] >= sl
        gap_tp, gap_sl = w["open"] <= tp, w["open"] >= sl
    any_hit = tp_hit | sl_hit
    if not any_hit.any():
        return "timeout", float(w["close"].iloc[-1])
    j = int(any_hit.to_numpy().argmax())
    o = float(w["open"].iloc[j])
    if tp_hit.iloc[j] and gap_tp.iloc[j]:
        return "TP", o
    if sl_hit.iloc[j]:
        return "SL", o if gap_sl.iloc[j] else sl
    return "TP", tp


def pandas_loop(bars: BarArrays, runs: list[tuple[Barriers, int]], labels: list[LabelArrays]) -> tuple[float, int]:
    df = pd.DataFrame(
        {"open": bars.open, "high": bars.high, "low": bars.low, "close": bars.close},
        index=pd.to_datetime(bars.ts, unit="s", utc=True),
    )
    idx, entry = events(bars)
    rng = np.random.default_rng(7)
    pick = np.sort(rng.choice(len(idx), LOOP_EVENTS_PER_RUN, replace=False))
    pick[-1] = len(idx) - 1  # include the end of the data (NO_DATA)
    elapsed, count = 0.0, 0
    for (b, s), lab in zip(runs, labels, strict=True):
        t = time.perf_counter()
        got = [pandas_first_touch(df, df.index[idx[k]], float(entry[k]), s, b) for k in pick]
        elapsed += time.perf_counter() - t
        count += len(pick)
        for k, (reason, price) in zip(pick, got, strict=True):
            want = EXIT_REASONS[int(lab.reason[k])]
            same_price = (np.isnan(price) and np.isnan(lab.exit_price[k])) or price == lab.exit_price[k]
            if reason != want or not same_price:
                raise SystemExit(f"loop and vectorized disagree at event {k}: {reason} {price} vs {want}")
    return elapsed, count


def main() -> None:
    bars = load_bars(find_data_file())
    cfg = load_config("demo")
    runs = [(Barriers.from_mode(cfg.mode(m)), s) for m in ("scalp", "runner") for s in (1, -1)]
    secs, n_events, labels = vectorized(bars, runs)
    loop_secs, loop_events = pandas_loop(bars, runs, labels)
    eps = n_events / secs
    loop_eps = loop_events / loop_secs
    print(f"bars: {len(bars):,}; runs: demo scalp/runner x long/short; events: {n_events:,}")
    for (b, s), lab in zip(runs, labels, strict=True):
        counts = np.bincount(lab.reason, minlength=4)
        mix = ", ".join(f"{EXIT_REASONS[c]} {counts[c]:,}" for c in range(4))
        print(f"  tp {b.tp_bps:g} / sl {b.sl_bps:g} / {b.timeout_sec}s {'long ' if s == 1 else 'short'}: {mix}")
    print(f"vectorized: {eps:,.0f} events/s (best of {REPEATS}: {secs * 1e3:.1f} ms for {n_events:,} events)")
    print(f"pandas loop: {loop_eps:,.0f} events/s ({loop_events:,} events in {loop_secs:.2f} s, same answers)")
    print(f"speedup: {eps / loop_eps:,.0f}x")
    figures = {
        "events_per_s": round(eps),
        "loop_events_per_s": round(loop_eps, 1),
        "speedup_vs_loop": round(eps / loop_eps, 1),
    }
    print(json.dumps({"benchmark": "labeling", "figures": figures}))


if __name__ == "__main__":
    main()
