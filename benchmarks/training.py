"""Training benchmark: one full session (purged walk-forward CV, calibration, OOS metrics with bootstrap
intervals, gain + permutation importance, regime detector) at 5,000 / 50,000 / 500,000 samples.

Samples are real: the FTX BTC-PERP month's features (``features_history``) at signals on every bar, with a
planted edge of moderate strength (strength 0.3 on ``trend_eff_15``, an AUC near 0.58, so the learner works
on a weak edge as it would on real data). 5k takes every 9th signal; 500k tiles the month 11+ times, shifted
in time by a month per copy, with labels redrawn from the true probabilities for each copy. The regime
detector always trains on the month's 45k bars.

Each size runs in a fresh subprocess so its peak RSS (``resource.getrusage``, which includes the ~150 MB of
Python + numpy + LightGBM + the loaded month) is its own. Wall time is the training session only (data
loading and feature computation excluded). Goal: 50k in <= 30 s and <= 1.5 GB. LightGBM runs on 1 thread
(``HURACAN_BENCH_THREADS`` to change): on this shared 2-core machine 2 threads were up to 8x slower, because
OpenMP threads spin when another process holds the other core.

    .venv/bin/python benchmarks/training.py            # all sizes
    .venv/bin/python benchmarks/training.py --one 50000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

SIZES = (5_000, 50_000, 500_000)
THREADS = int(os.environ.get("HURACAN_BENCH_THREADS", "1"))


def _dataset(n: int):
    from huracan.core.features import features_history
    from huracan.data import find_data_file, load_bars
    from huracan.learning.dataset import Dataset
    from huracan.learning.planted import planted_edge_dataset

    bars = load_bars(find_data_file())
    hist = features_history(bars)
    base = planted_edge_dataset(bars, strength=0.3, feature="trend_eff_15", seed=0, history=hist)
    ds = base.dataset
    if n <= len(ds):
        rows = np.linspace(0, len(ds) - 1, n).round().astype(np.int64)
        return bars, hist, ds.subset(rows)
    copies = -(-n // len(ds))
    span = int(ds.t_exit.max() - ds.t_entry.min()) + 86_400
    rng = np.random.default_rng(1)
    parts = []
    for c in range(copies):
        y = (rng.random(len(ds)) < base.true_p).astype(np.float64)
        pnl = np.where(y == 1, 40.0, -40.0) - (ds.pnl_bps - np.where(ds.y == 1, 40.0, -40.0))
        parts.append((ds.X, y, ds.t_entry + c * span, ds.t_exit + c * span, pnl))
    X, y, te, tx, pnl = (np.concatenate([p[i] for p in parts])[:n] for i in range(5))
    return bars, hist, Dataset.build(X, y, te, tx, pnl, max_timeout_sec=ds.max_timeout_sec)


def run_one(n: int) -> dict[str, float]:
    from huracan.learning.pipeline import TrainingConfig, run_training

    bars, hist, ds = _dataset(n)
    t0 = time.perf_counter()
    result = run_training(ds, TrainingConfig(num_threads=THREADS), bars=bars, bar_history=hist)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    r = result.report
    return {
        "n": float(len(ds)),
        "wall_s": wall,
        "peak_mb": peak_mb,
        "auc": r.metrics.auc.value,
        "ece": r.metrics.ece.value,
        "ready": float(r.verdict.ready),
        **{f"step_{k}_s": v for k, v in r.timings_s.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", type=int, help="measure one size in this process and print its JSON")
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    figures: dict[str, float] = {}
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], check=True, capture_output=True, text=True
        ).stdout
        res = json.loads(out.strip().splitlines()[-1])
        label = f"{n // 1000}k"
        steps = ", ".join(f"{k[5:-2]} {v:.2f}s" for k, v in res.items() if k.startswith("step_"))
        print(
            f"{n:>7} samples: {res['wall_s']:6.2f} s, peak RSS {res['peak_mb']:7.1f} MB, OOS AUC {res['auc']:.3f}, "
            f"ECE {res['ece']:.4f}, ready={bool(res['ready'])}  [{steps}]"
        )
        figures[f"train_{label}_s"] = round(res["wall_s"], 3)
        figures[f"train_{label}_peak_mb"] = round(res["peak_mb"], 1)
    print(json.dumps({"benchmark": "training", "figures": figures}))


if __name__ == "__main__":
    main()
