"""Which features the model leans on, and how much that moved since the champion.

Two views, because each lies in its own way:

- **gain**: total split gain per feature in the booster, normalised to shares summing to 1. Cheap and
  stable, but it credits features the model used on training data, useful or not.
- **permutation**: drop in out-of-sample AUC when one column is shuffled (mean over ``repeats``), so it
  credits only what helps on unseen rows. Shares are the positive drops normalised to 1 (all zero when
  nothing helps, which is itself the finding "no edge"). Above ``max_rows`` test rows a seeded random
  subset is used: 20,000 rows pin an AUC drop to about ±0.005, and the cost grows with rows × features.

**Stability** (the seed's ``feature_importance_stability``, target < 30 % per update) is the share of
importance that moved between champion and challenger: ``½ Σ_f |share_new(f) − share_old(f)|`` over the
union of features (a feature missing on one side counts as 0 there). It is 0 for identical importances and
1 when the two models rely on disjoint features, so "< 0.30" reads "less than 30 % of the importance moved".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from huracan.core.bars import FloatArray
from huracan.learning.evaluate import auc_point

__all__ = ["ImportanceReport", "compute_importance", "importance_change", "normalise"]


def normalise(values: Mapping[str, float]) -> dict[str, float]:
    """Non-negative shares summing to 1 (all zero if nothing is positive)."""
    pos = {k: max(float(v), 0.0) for k, v in values.items()}
    total = sum(pos.values())
    return {k: (v / total if total > 0 else 0.0) for k, v in pos.items()}


def importance_change(new: Mapping[str, float], old: Mapping[str, float]) -> float:
    """Share of importance that moved: half the L1 distance between the two normalised importances."""
    a, b = normalise(new), normalise(old)
    keys = set(a) | set(b)
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in keys)


@dataclass(frozen=True, slots=True)
class ImportanceReport:
    """Normalised gain and permutation shares, raw AUC drops, and the change against the champion."""

    gain: dict[str, float]
    permutation: dict[str, float]
    permutation_auc_drop: dict[str, float]
    change_vs_champion_gain: float | None
    change_vs_champion_permutation: float | None

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        return sorted(self.gain.items(), key=lambda kv: -kv[1])[:k]


def compute_importance(
    booster: lgb.Booster,
    X_test: FloatArray,
    y_test: FloatArray,
    feature_names: Sequence[str],
    *,
    repeats: int = 2,
    seed: int = 0,
    max_rows: int = 20_000,
    champion_gain: Mapping[str, float] | None = None,
    champion_permutation: Mapping[str, float] | None = None,
    num_threads: int = 1,
) -> ImportanceReport:
    """Gain shares from the booster, permutation AUC drops on the test rows, and the change vs champion.

    ``num_threads`` is passed to every ``predict``: left out, LightGBM would reset its process-global thread
    count to every core while the regime detector may still be fitting on another thread (see .lgb_threads).
    """
    names = list(feature_names)
    gain_raw = np.asarray(booster.feature_importance(importance_type="gain"), dtype=np.float64)
    gain = normalise(dict(zip(names, gain_raw.tolist(), strict=True)))
    rng = np.random.default_rng(seed)
    X = np.ascontiguousarray(X_test, dtype=np.float64)
    if len(X) > max_rows:
        pick = np.sort(rng.choice(len(X), max_rows, replace=False))
        X, y_test = X[pick], y_test[pick]
    base = auc_point(np.asarray(booster.predict(X, num_threads=num_threads), dtype=np.float64), y_test)
    drops: dict[str, float] = {}
    work = X.copy()
    for j, name in enumerate(names):
        if gain_raw[j] <= 0:
            # A feature the booster never splits on cannot change a prediction: its drop is exactly 0.
            drops[name] = 0.0
            continue
        col = X[:, j].copy()
        total = 0.0
        for _ in range(repeats):
            work[:, j] = col[rng.permutation(len(col))]
            total += base - auc_point(
                np.asarray(booster.predict(work, num_threads=num_threads), dtype=np.float64), y_test
            )
        work[:, j] = col
        drops[name] = total / repeats if np.isfinite(base) else 0.0
    perm = normalise(drops)
    return ImportanceReport(
        gain=gain,
        permutation=perm,
        permutation_auc_drop=drops,
        change_vs_champion_gain=None if champion_gain is None else importance_change(gain, champion_gain),
        change_vs_champion_permutation=(
            None if champion_permutation is None else importance_change(perm, champion_permutation)
        ),
    )
