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
OpenMP threads spin when another process holds the other core. Independent fits run on the session's
default worker count (two on this machine; ``HURACAN_BENCH_WORKERS`` to change, 1 = sequential).

**The nightly sequence** (``nightly_run_training_s``): the month's nights as the demo's training job sees
them (night ``d`` trains on the strategies' historical signals of the 30 days before it, on the demo profile,
and the regime detector on those days' bars; 31 nights from 117 to 4,084 rows), each night's
``run_training`` timed sequentially (``fit_workers=1``) and in parallel (the default) back to back, in
alternating order, the whole sequence repeated; the figure is each mode's median over repeats of the
summed nights (collection excluded). Every night's models must be identical in both modes or it fails.
The machine is shared: the CPU time of the process is printed too (the parallel run should not need more).

    .venv/bin/python benchmarks/training.py                 # all sizes, then the nightly sequence
    .venv/bin/python benchmarks/training.py --one 50000
    .venv/bin/python benchmarks/training.py --nightly 5     # only the nightly sequence, 5 repeats
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from huracan.core.bars import BarArrays, FloatArray
    from huracan.learning.dataset import Dataset
    from huracan.learning.pipeline import TrainingResult

SIZES = (5_000, 50_000, 500_000)
THREADS = int(os.environ.get("HURACAN_BENCH_THREADS", "1"))
WORKERS = int(os.environ["HURACAN_BENCH_WORKERS"]) if os.environ.get("HURACAN_BENCH_WORKERS") else None
NIGHTLY_REPEATS = 3


def _dataset(n: int) -> tuple[BarArrays, FloatArray, Dataset]:
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
    result = run_training(ds, TrainingConfig(num_threads=THREADS, fit_workers=WORKERS), bars=bars, bar_history=hist)
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
        "fit_workers": float(r.config["fit_workers"]),
        **{f"step_{k}_s": v for k, v in r.timings_s.items()},
    }


class _MonthBars:
    """The month as the nightly job's bar source (``bars_between`` by UTC time)."""

    def __init__(self, symbol: str, bars: BarArrays) -> None:
        self.symbol, self.bars = symbol, bars

    def bars_between(self, symbol: str, start_ts: str, end_ts: str) -> BarArrays:
        from huracan.core.timeutil import epoch_s

        if symbol != self.symbol:
            return self.bars.slice(0, 0)
        lo, hi = np.searchsorted(self.bars.ts, [epoch_s(start_ts), epoch_s(end_ts)], side="left")
        return self.bars.slice(int(lo), int(hi))


def _nights() -> list[tuple[str, Dataset, BarArrays]]:
    """(run time, dataset, regime bars) of every night of the month with enough rows to train."""
    from huracan.core.config import load_config
    from huracan.core.timeutil import from_epoch_s
    from huracan.data import find_data_file, load_bars
    from huracan.learning.collect import collect_dataset

    bars = load_bars(find_data_file())
    source = _MonthBars("BTC-PERP", bars)
    engine = load_config("demo")
    day0 = int(bars.ts[0]) // 86_400 * 86_400
    out = []
    for d in range(2, 33):
        at = from_epoch_s(day0 + d * 86_400)
        c = collect_dataset(at, symbols=["BTC-PERP"], bars=[source], engine=engine, days=30)
        if len(c.dataset) >= 50 and len(np.unique(c.dataset.y)) == 2:
            out.append((at, c.dataset, c.bars["BTC-PERP"]))
    return out


def _fingerprint(result: TrainingResult) -> tuple[str, str, bytes]:
    regime = result.report.regime
    detector = None if regime is None else regime.detector
    return result.model.model_id, "" if detector is None else detector.booster_text, result.test_proba.tobytes()


def run_nightly(repeats: int) -> dict[str, float]:
    """The month's nights, sequential vs parallel, ``repeats`` times; raises if any model differs."""
    from huracan.learning.pipeline import TrainingConfig, resolve_fit_workers, run_training

    nights = _nights()
    workers = resolve_fit_workers(WORKERS, THREADS)
    modes = {"sequential": 1, "parallel": workers}
    walls: dict[str, list[float]] = {m: [] for m in modes}
    cpus: dict[str, list[float]] = {m: [] for m in modes}
    for rep in range(repeats):
        wall = dict.fromkeys(modes, 0.0)
        cpu = dict.fromkeys(modes, 0.0)
        for i, (at, ds, bars) in enumerate(nights):
            seen: dict[str, tuple[str, str, bytes]] = {}
            order = list(modes) if (i + rep) % 2 == 0 else list(reversed(modes))
            for mode in order:
                cfg = TrainingConfig(num_threads=THREADS, fit_workers=modes[mode])
                c0, t0 = time.process_time(), time.perf_counter()
                result = run_training(ds, cfg, bars=bars)
                wall[mode] += time.perf_counter() - t0
                cpu[mode] += time.process_time() - c0
                seen[mode] = _fingerprint(result)
            if seen["sequential"] != seen["parallel"]:
                raise SystemExit(f"night {at}: the parallel run trained a different model than the sequential one")
        for m in modes:
            walls[m].append(wall[m])
            cpus[m].append(cpu[m])
        print(
            f"  repeat {rep + 1}: sequential {wall['sequential']:.2f} s (cpu {cpu['sequential']:.2f}), "
            f"parallel x{workers} {wall['parallel']:.2f} s (cpu {cpu['parallel']:.2f}), load {os.getloadavg()[0]:.2f}",
            file=sys.stderr,
        )
    seq, par = float(np.median(walls["sequential"])), float(np.median(walls["parallel"]))
    return {
        "nights": float(len(nights)),
        "workers": float(workers),
        "sequential_s": seq,
        "parallel_s": par,
        "sequential_min_s": min(walls["sequential"]),
        "parallel_min_s": min(walls["parallel"]),
        "sequential_cpu_s": float(np.median(cpus["sequential"])),
        "parallel_cpu_s": float(np.median(cpus["parallel"])),
    }


def _nightly_figures(res: dict[str, float]) -> dict[str, float]:
    print(
        f"nightly sequence ({int(res['nights'])} nights, median of repeats): sequential {res['sequential_s']:.2f} s "
        f"(min {res['sequential_min_s']:.2f}, cpu {res['sequential_cpu_s']:.2f}), parallel on "
        f"{int(res['workers'])} workers {res['parallel_s']:.2f} s (min {res['parallel_min_s']:.2f}, cpu "
        f"{res['parallel_cpu_s']:.2f}): x{res['sequential_s'] / res['parallel_s']:.2f}; identical models every night"
    )
    return {
        "nightly_run_training_s": round(res["parallel_s"], 3),
        "nightly_run_training_sequential_s": round(res["sequential_s"], 3),
        "nightly_run_training_speedup": round(res["sequential_s"] / res["parallel_s"], 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", type=int, help="measure one size in this process and print its JSON")
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    ap.add_argument(
        "--nightly",
        type=int,
        metavar="REPEATS",
        help="only the nightly sequence, sequential vs parallel, REPEATS times",
    )
    ap.add_argument("--nightly-repeats", type=int, default=NIGHTLY_REPEATS, help=argparse.SUPPRESS)
    ap.add_argument("--nightly-json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    if args.nightly_json:
        print(json.dumps(run_nightly(args.nightly_repeats)))
        return
    if args.nightly:
        print(json.dumps({"benchmark": "training", "figures": _nightly_figures(run_nightly(args.nightly))}))
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
            f"ECE {res['ece']:.4f}, ready={bool(res['ready'])}, {int(res['fit_workers'])} fit workers  [{steps}]"
        )
        figures[f"train_{label}_s"] = round(res["wall_s"], 3)
        figures[f"train_{label}_peak_mb"] = round(res["peak_mb"], 1)
    out = subprocess.run(
        [sys.executable, __file__, "--nightly-json", "--nightly-repeats", str(args.nightly_repeats)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    figures.update(_nightly_figures(json.loads(out.strip().splitlines()[-1])))
    print(json.dumps({"benchmark": "training", "figures": figures}))


if __name__ == "__main__":
    main()
