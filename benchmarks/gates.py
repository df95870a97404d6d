"""Signal evaluation throughput on one core: features (stacked windows) + regime + six gates.

Batches of 100 real signal points from the FTX BTC-PERP month (the Lambda's batch size), with random
side / mode / confidence from a fixed seed. Each timed batch gathers its windows from the history (the
Lambda's equivalent is reading them from the prices table, not timed here), then computes features,
regimes and gates exactly as the hot path does. Prints signals/s and ends with the JSON figures line.
"""

from __future__ import annotations

import json
import time

import numpy as np

from huracan.core.config import load_config
from huracan.core.features import WINDOW, BarWindows, features_latest, features_windows, model_matrix
from huracan.core.gates import evaluate_batch, evaluate_gates
from huracan.core.regime import RuleRegime
from huracan.data import find_data_file, load_bars

BATCH = 100
N_BATCHES = 2000
N_SCALAR = 3000
SEED = 20220101


def main() -> None:
    bars = load_bars(find_data_file())
    config = load_config("demo")
    rng = np.random.default_rng(SEED)
    n_sig = BATCH * N_BATCHES
    ends = rng.integers(WINDOW - 1, len(bars), size=n_sig)
    side = rng.choice(np.array([1.0, -1.0]), size=n_sig)
    modes = rng.choice(np.array(["scalp", "runner"]), size=n_sig)
    conf = rng.uniform(0.3, 0.95, size=n_sig)
    rule = RuleRegime()

    def run_batch(k: int) -> int:
        sl = slice(k * BATCH, (k + 1) * BATCH)
        feats = features_windows(BarWindows.from_history(bars, ends[sl]))
        model_matrix(feats, side[sl], conf[sl], modes[sl] == "runner")
        regimes = rule.classify(feats)
        decision = evaluate_batch(feats, modes=modes[sl], confidence=conf[sl], config=config, regimes=regimes)
        return int(decision.passed.sum())

    for k in range(20):  # warm-up
        run_batch(k)
    passed = 0
    best = float("inf")
    total = 0.0
    for k in range(N_BATCHES):
        t0 = time.perf_counter()
        passed += run_batch(k)
        dt = time.perf_counter() - t0
        total += dt
        best = min(best, dt)
    rate = n_sig / total
    print(f"{N_BATCHES} batches x {BATCH} signals, {passed} passed all gates ({passed / n_sig:.1%})")
    print(f"mean batch {total / N_BATCHES * 1e6:.0f} us, best {best * 1e6:.0f} us")
    print(f"signals/s (one core): {rate:,.0f}")

    # The reference path, one signal at a time with the stored texts (what a handler does per decision).
    t0 = time.perf_counter()
    for j in range(N_SCALAR):
        end = int(ends[j])
        feats1 = features_latest(bars.slice(end - WINDOW + 1, end + 1))
        evaluate_gates(feats1, mode=str(modes[j]), confidence=float(conf[j]), config=config).to_item()
    scalar_rate = N_SCALAR / (time.perf_counter() - t0)
    print(f"one-at-a-time signals/s with Decision texts (reference path): {scalar_rate:,.0f}")
    figures = {
        "signals_per_s": round(rate),
        "batch_us": round(total / N_BATCHES * 1e6),
        "scalar_signals_per_s": round(scalar_rate),
    }
    print(json.dumps({"benchmark": "gates", "figures": figures}))


if __name__ == "__main__":
    main()
