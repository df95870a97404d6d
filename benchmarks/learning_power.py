"""Power curve of the learner: what edge it detects (and promotes) with how much data.

For planted edges of several strengths (strength 0 = no edge) and sample sizes, on the FTX month's real
features (signals spread over the whole month: every k-th bar), several seeds each: the share of runs the
readiness verdict promotes, the mean recovered out-of-sample AUC and the mean attainable AUC (the AUC of the
true probabilities on the same test rows). The pipeline is the production one (default TrainingConfig,
1 thread) with 300 bootstrap replicates and one permutation repeat to fit in the time budget (< 3 min).

Then the honest figure: the same pipeline on the month's REAL strategy signals (``signals_history``, both
modes, labelled with each profile's barriers and costs) — ``real_<profile>_auc`` / ``_ece`` / ``_ready``.

    .venv/bin/python benchmarks/learning_power.py
"""

from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np

from huracan.core.bars import BarArrays, FloatArray
from huracan.core.config import load_config
from huracan.core.features import features_history
from huracan.core.strategies import signals_history
from huracan.data import find_data_file, load_bars
from huracan.learning.dataset import Dataset, labelled_signals
from huracan.learning.pipeline import TrainingConfig, run_training
from huracan.learning.planted import planted_edge_dataset

STRENGTHS = (0.0, 0.1, 0.2, 0.35, 0.6)
SIZES = (2_000, 5_000, 20_000)
SEEDS = 4
FEATURE = "trend_eff_15"


def main() -> None:
    t_start = time.perf_counter()
    bars = load_bars(find_data_file())
    hist = features_history(bars)
    n_all = len(bars)
    config = TrainingConfig(n_boot=300, permutation_repeats=1)
    figures: dict[str, float] = {}
    print(f"{'strength':>8} {'n':>6} {'promoted':>9} {'AUC':>7} {'attain':>7} {'gap':>7}")
    for size in SIZES:
        stride = max(1, round(n_all / size))
        for s in STRENGTHS:
            promoted, aucs, atts = 0, [], []
            for seed in range(SEEDS):
                pe = planted_edge_dataset(
                    bars, strength=s, feature=FEATURE, stride=stride, seed=1000 + seed, history=hist
                )
                res = run_training(pe.dataset, replace(config, seed=seed))
                promoted += res.report.verdict.ready
                aucs.append(res.report.metrics.auc.value)
                atts.append(pe.attainable_auc(res.test_rows))
            share = promoted / SEEDS
            auc, att = float(np.mean(aucs)), float(np.mean(atts))
            print(f"{s:>8.2f} {len(pe.dataset):>6} {share:>9.2f} {auc:>7.3f} {att:>7.3f} {auc - att:>+7.3f}")
            key = f"s{s:g}_n{size // 1000}k"
            figures[f"promoted_share_{key}"] = share
            figures[f"auc_{key}"] = round(auc, 4)
            figures[f"attainable_auc_{key}"] = round(att, 4)
    for profile in ("demo", "seed"):
        report = run_training(_real_signals(bars, hist, profile), config).report
        m = report.metrics
        print(f"real signals, profile {profile}: {report.verdict.summary}")
        figures[f"real_{profile}_n"] = report.n_samples
        figures[f"real_{profile}_auc"] = round(m.auc.value, 4)
        figures[f"real_{profile}_auc_lo"] = round(m.auc.lo, 4)
        figures[f"real_{profile}_auc_hi"] = round(m.auc.hi, 4)
        figures[f"real_{profile}_ece"] = round(m.ece.value, 4)
        figures[f"real_{profile}_kept_minus_all_bps"] = round(m.pnl_kept_minus_all_bps.value, 2)
        figures[f"real_{profile}_ready"] = float(report.verdict.ready)
    figures["runtime_s"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps({"benchmark": "learning_power", "figures": figures}))


def _real_signals(bars: BarArrays, hist: FloatArray, profile: str) -> Dataset:
    """The strategies' signals over the month, each labelled with its mode's barriers (triple barrier)."""
    cfg = load_config(profile)
    sig = signals_history(bars)
    modes = np.array(sig.mode)
    parts = []
    for mode in ("scalp", "runner"):
        sel = modes == mode
        if not sel.any():
            continue
        mc = cfg.mode(mode)
        side = np.where(np.array(sig.side)[sel] == "long", 1, -1)
        parts.append(
            labelled_signals(
                bars,
                sig.bar_idx[sel],
                side,
                sig.confidence[sel],
                np.full(int(sel.sum()), 1.0 if mode == "runner" else 0.0),
                tp_bps=mc.tp_bps,
                sl_bps=mc.sl_bps,
                timeout_sec=mc.timeout_sec,
                fee_bps_per_side=cfg.costs.fee_bps_per_side,
                breakeven_band_bps=cfg.costs.breakeven_band_bps,
                default_spread_bps=cfg.costs.default_spread_bps,
                history=hist,
            )
        )
    return Dataset.concat(parts)


if __name__ == "__main__":
    main()
