"""The meta-label learner: LightGBM binary, WIN (1) against everything else (LOSS, BREAKEVEN = 0).

Small on purpose (the qlib model interface): :meth:`MetaLabelLearner.fit` and :meth:`score`, with every
parameter in one mapping that the training report and the model card record verbatim.

- **Class imbalance**: ``is_unbalance`` reweights the classes so a rare WIN class still shapes the splits.
  It distorts raw probabilities, which is harmless here because the calibrator, fitted on out-of-fold
  scores of models trained the same way, maps scores to probabilities.
- **Small trees, few rounds, strong leaves**: real meta-label edges are weak; a model that can memorise
  noise will, and then the walk-forward folds disagree. ``min_data_in_leaf`` grows with the sample.
- **Determinism**: a fixed seed, ``deterministic`` and row-wise histograms, so a rerun on the same data
  snapshot gives the same model text and therefore the same model id, whichever thread runs the fit and
  whatever else runs beside it (the training session runs independent fits at the same time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np

from huracan.core.bars import FloatArray

__all__ = ["DEFAULT_PARAMS", "MetaLabelLearner"]

DEFAULT_PARAMS: Mapping[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "max_depth": 4,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "is_unbalance": True,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
    "seed": 0,
}


@dataclass(frozen=True, slots=True)
class MetaLabelLearner:
    """LightGBM parameters and round count; ``min_leaf_share`` scales ``min_data_in_leaf`` with n."""

    params: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    num_boost_round: int = 120
    min_leaf_share: float = 0.005

    def effective_params(self, n_rows: int, seed: int | None = None) -> dict[str, Any]:
        """The exact parameters a fit on ``n_rows`` uses (recorded in the report)."""
        p = dict(self.params)
        p["min_data_in_leaf"] = max(int(p.get("min_data_in_leaf", 20)), int(self.min_leaf_share * n_rows))
        if seed is not None:
            p["seed"] = seed
        return p

    def fit(
        self, X: FloatArray, y: FloatArray, feature_names: Sequence[str], *, seed: int | None = None
    ) -> lgb.Booster:
        """Train on rows ``X`` with binary labels ``y``; NaN features are LightGBM's missing values."""
        if X.shape[0] != len(y) or X.shape[1] != len(feature_names):
            raise ValueError(f"X {X.shape} does not match y ({len(y)}) and {len(feature_names)} feature names")
        if len(np.unique(y)) < 2:
            raise ValueError("training labels hold a single class: nothing to learn")
        params = self.effective_params(X.shape[0], seed)
        data = lgb.Dataset(
            np.ascontiguousarray(X, dtype=np.float64),
            label=np.asarray(y, dtype=np.float64),
            feature_name=list(feature_names),
            free_raw_data=True,
            params={"verbosity": -1},
        )
        return lgb.train(params, data, num_boost_round=self.num_boost_round)

    def score(self, booster: lgb.Booster, X: FloatArray) -> FloatArray:
        """The booster's uncalibrated probability of WIN per row, on the fits' ``num_threads``.

        LightGBM's ``predict`` ignores the training parameters and uses every core unless told; scoring a
        fold while other fits run would then put two OpenMP threads on one core (rows are scored
        independently, so the thread count never changes a score).
        """
        threads = int(self.params.get("num_threads", 0))
        data = np.ascontiguousarray(X, dtype=np.float64)
        return np.asarray(booster.predict(data, num_threads=threads), dtype=np.float64)
