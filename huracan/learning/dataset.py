"""The training set as arrays: features, label, outcome window, net P&L and provenance on every row.

Features and labels are declared apart (the qlib way): features come only from
:func:`huracan.core.features.features_history` / :func:`~huracan.core.features.model_matrix` (the one
definition the Lambda serves with), the label only from the triple barrier
(:func:`huracan.core.barriers.label_events`) judged on net P&L (:func:`huracan.core.outcomes.outcome_arrays`).
``y = 1`` means WIN; LOSS and BREAKEVEN are both "not a win", because the gate's question is "take it?".

Each row also carries its outcome window ``[t_entry, t_exit]`` (for purging), its net P&L in bps (for the
trading figures) and where it came from (``historical`` / ``shadow`` / ``live``). Rows are kept sorted by
``t_entry``; :meth:`Dataset.snapshot_id` hashes every array, so a model card names exactly what went in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from huracan.core.barriers import label_events
from huracan.core.bars import BarArrays, FloatArray, IntArray
from huracan.core.features import (
    BAR_SEC,
    FEATURE_INDEX,
    MODEL_FEATURES,
    features_history,
    model_features,
    model_matrix,
)
from huracan.core.outcomes import OUTCOME_NO_DATA, OUTCOME_WIN, outcome_arrays

__all__ = ["PROVENANCES", "Dataset", "Provenance", "labelled_signals", "signal_features"]

Provenance = Literal["historical", "shadow", "live"]
PROVENANCES: Final[tuple[Provenance, ...]] = ("historical", "shadow", "live")
_I_SPREAD = FEATURE_INDEX["spread_bps"]


@dataclass(frozen=True, slots=True)
class Dataset:
    """Labelled signals sorted by entry time; build with :meth:`build` (validates and sorts)."""

    X: FloatArray
    y: FloatArray
    t_entry: IntArray
    t_exit: IntArray
    pnl_bps: FloatArray
    provenance: npt.NDArray[np.str_]
    row_id: npt.NDArray[np.str_]
    feature_names: tuple[str, ...]
    max_timeout_sec: int

    def __len__(self) -> int:
        return len(self.y)

    @staticmethod
    def build(
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        t_entry: npt.ArrayLike,
        t_exit: npt.ArrayLike,
        pnl_bps: npt.ArrayLike,
        *,
        feature_names: Sequence[str] = MODEL_FEATURES,
        provenance: Provenance | Sequence[str] = "historical",
        row_id: Sequence[str] | None = None,
        max_timeout_sec: int | None = None,
    ) -> Dataset:
        """Validate shapes, labels and windows, then sort rows by ``t_entry`` (stable)."""
        Xa = np.asarray(X, dtype=np.float64)
        ya = np.asarray(y, dtype=np.float64).reshape(-1)
        n = len(ya)
        if Xa.ndim != 2 or Xa.shape != (n, len(feature_names)):
            raise ValueError(f"X has shape {Xa.shape}, expected ({n}, {len(feature_names)})")
        if not bool(np.all((ya == 0) | (ya == 1))):
            raise ValueError("y must hold 1 (WIN) or 0 (not a win) on every row")
        te = np.asarray(t_entry, dtype=np.int64).reshape(-1)
        tx = np.asarray(t_exit, dtype=np.int64).reshape(-1)
        pnl = np.asarray(pnl_bps, dtype=np.float64).reshape(-1)
        if te.shape != (n,) or tx.shape != (n,) or pnl.shape != (n,):
            raise ValueError("t_entry, t_exit and pnl_bps need one value per row")
        if bool(np.any(tx < te)):
            raise ValueError("t_exit must not be before t_entry")
        if not bool(np.all(np.isfinite(pnl))):
            raise ValueError("pnl_bps must be finite: rows without an outcome do not belong in training")
        prov = np.full(n, provenance, dtype="<U10") if isinstance(provenance, str) else np.asarray(provenance, "<U10")
        if prov.shape != (n,) or not bool(np.isin(prov, PROVENANCES).all()):
            raise ValueError(f"provenance must be one of {PROVENANCES} per row")
        rid = np.array([f"row-{i}" for i in range(n)]) if row_id is None else np.asarray(row_id, dtype=np.str_)
        if rid.shape != (n,):
            raise ValueError("row_id needs one value per row")
        longest = int(np.max(tx - te)) if n else 0
        timeout = longest if max_timeout_sec is None else int(max_timeout_sec)
        if timeout < longest:
            raise ValueError(f"max_timeout_sec {timeout} is shorter than an outcome window in the data ({longest}s)")
        order = np.argsort(te, kind="stable")
        return Dataset(
            X=Xa[order],
            y=ya[order],
            t_entry=te[order],
            t_exit=tx[order],
            pnl_bps=pnl[order],
            provenance=prov[order],
            row_id=rid[order],
            feature_names=tuple(feature_names),
            max_timeout_sec=timeout,
        )

    def subset(self, rows: IntArray) -> Dataset:
        """Rows ``rows`` (indices into this dataset), kept in time order."""
        r = np.sort(np.asarray(rows, dtype=np.int64))
        return Dataset(
            X=self.X[r],
            y=self.y[r],
            t_entry=self.t_entry[r],
            t_exit=self.t_exit[r],
            pnl_bps=self.pnl_bps[r],
            provenance=self.provenance[r],
            row_id=self.row_id[r],
            feature_names=self.feature_names,
            max_timeout_sec=self.max_timeout_sec,
        )

    @staticmethod
    def concat(parts: Sequence[Dataset]) -> Dataset:
        """Rows of several sources in one time-sorted set (same features required)."""
        if not parts:
            raise ValueError("nothing to concatenate")
        names = parts[0].feature_names
        if any(p.feature_names != names for p in parts):
            raise ValueError("datasets with different feature lists cannot be joined")
        return Dataset.build(
            np.concatenate([p.X for p in parts]),
            np.concatenate([p.y for p in parts]),
            np.concatenate([p.t_entry for p in parts]),
            np.concatenate([p.t_exit for p in parts]),
            np.concatenate([p.pnl_bps for p in parts]),
            feature_names=names,
            provenance=list(np.concatenate([p.provenance for p in parts])),
            row_id=list(np.concatenate([p.row_id for p in parts])),
            max_timeout_sec=max(p.max_timeout_sec for p in parts),
        )

    def provenance_counts(self, rows: IntArray | None = None) -> dict[str, int]:
        """Rows per source (all rows, or the given subset)."""
        prov = self.provenance if rows is None else self.provenance[rows]
        return {p: int(np.sum(prov == p)) for p in PROVENANCES}

    def snapshot_id(self) -> str:
        """``snapshot_sha256:<hex>`` over every array and the feature list: the same rows, the same id."""
        h = hashlib.sha256()
        h.update("\x1f".join(self.feature_names).encode())
        for arr in (self.X, self.y, self.t_entry, self.t_exit, self.pnl_bps):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update("\x1f".join(self.provenance.tolist()).encode())
        h.update("\x1f".join(self.row_id.tolist()).encode())
        return "snapshot_sha256:" + h.hexdigest()


def signal_features(
    bars: BarArrays,
    bar_idx: npt.ArrayLike,
    side_sign: npt.ArrayLike,
    confidence: npt.ArrayLike,
    is_runner: npt.ArrayLike,
    *,
    history: FloatArray | None = None,
    extra: npt.ArrayLike | None = None,
) -> FloatArray:
    """Model rows for signals emitted when bars ``bar_idx`` closed (bars ``<= bar_idx`` only): ``MODEL_FEATURES``,
    then the signals' ``extra`` feature values (``(m, k)``, :func:`~huracan.core.features.extra_values`), if any.

    ``history`` may pass a precomputed ``features_history(bars)`` to share it between callers.
    """
    f = features_history(bars) if history is None else history
    idx = np.asarray(bar_idx, dtype=np.int64).reshape(-1)
    return model_matrix(f[idx], side_sign, confidence, is_runner, extra)


def labelled_signals(
    bars: BarArrays,
    bar_idx: npt.ArrayLike,
    side_sign: npt.ArrayLike,
    confidence: npt.ArrayLike,
    is_runner: npt.ArrayLike,
    *,
    tp_bps: float | npt.ArrayLike,
    sl_bps: float | npt.ArrayLike,
    timeout_sec: int,
    fee_bps_per_side: float,
    breakeven_band_bps: float,
    default_spread_bps: float,
    provenance: Provenance = "historical",
    row_id: Sequence[str] | None = None,
    history: FloatArray | None = None,
    entry_bar_idx: npt.ArrayLike | None = None,
    extra: npt.ArrayLike | None = None,
    extra_names: Sequence[str] = (),
) -> Dataset:
    """Historical signals labelled with the triple barrier on the same bars; NO_DATA rows are dropped.

    A signal at bar ``k`` enters at ``close[k]`` at ``ts[k] + BAR_SEC``; its path starts at the first bar at
    or after that time. Spread cost is the spread feature at entry (the configured default where unknown).
    ``entry_bar_idx`` (a user's signal stamped between bar closes) enters at the close of that later bar
    instead, while its features stay those of bar ``k``, the last one closed when it was known.
    ``extra`` holds the signals' values of the config's ``extra_names`` (NaN where unknown), the columns
    after ``MODEL_FEATURES`` (:func:`~huracan.core.features.model_features`).
    """
    idx = np.asarray(bar_idx, dtype=np.int64).reshape(-1)
    sign = np.asarray(side_sign, dtype=np.int64).reshape(-1)
    names = model_features(extra_names)
    if extra is None and extra_names:
        extra = np.full((len(idx), len(extra_names)), np.nan)
    X = signal_features(bars, idx, sign, confidence, is_runner, history=history, extra=extra)
    if X.shape[1] != len(names):
        raise ValueError(
            f"{X.shape[1] - len(MODEL_FEATURES)} extra feature values for extra features {list(extra_names)}"
        )
    at = idx if entry_bar_idx is None else np.asarray(entry_bar_idx, dtype=np.int64).reshape(-1)
    t_entry = bars.ts[at] + BAR_SEC
    entry_idx = np.searchsorted(bars.ts, t_entry, side="left")
    labels = label_events(
        bars, entry_idx, sign, bars.close[at], tp_bps, sl_bps, timeout_sec, bar_sec=BAR_SEC, entry_ts=t_entry
    )
    spread = X[:, _I_SPREAD]
    spread = np.where(np.isfinite(spread), spread, default_spread_bps)
    out = outcome_arrays(
        labels, fee_bps_per_side=fee_bps_per_side, spread_bps=spread, breakeven_band_bps=breakeven_band_bps
    )
    # Rows without a full feature window are all-NaN (features.py); neither they nor NO_DATA rows can train.
    keep = (out.outcome != OUTCOME_NO_DATA) & np.isfinite(X[:, 0])
    ids = None if row_id is None else [r for r, k in zip(row_id, keep, strict=True) if k]
    return Dataset.build(
        X[keep],
        (out.outcome[keep] == OUTCOME_WIN).astype(np.float64),
        t_entry[keep],
        labels.exit_ts[keep],
        out.shadow_pnl_net_bps[keep],
        feature_names=names,
        provenance=provenance,
        row_id=ids,
        max_timeout_sec=timeout_sec,
    )
