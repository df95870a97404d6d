"""One training session, end to end, on an in-memory dataset: the nightly job's learning core.

The workflow is data (:class:`TrainingConfig`), each step a function of its own module:

1. split rows by time: purged walk-forward folds and a final out-of-sample window (:mod:`.cv`);
2. per walk-forward fold, train on the purged past and score the next block: the fold AUCs, what the
   model would have scored in real time (:mod:`.train`);
3. per purged k-fold block of the same rows, train on the other blocks and score it; fit the calibrator on
   those out-of-fold scores only, never on the test (:mod:`.calibrate`; why not the walk-forward scores:
   see :mod:`.cv`);
4. train the final booster on every row before the test window (purged against it);
5. score the test window once: metrics with intervals, trading figures at the gate threshold, the
   champion's predictions on the same rows when there is one (:mod:`.evaluate`);
6. gain and permutation importance, and the change against the champion (:mod:`.importance`);
7. the regime detector on the bars, when bars are given (:mod:`.regime_detector`);
8. the readiness verdict (:mod:`.readiness`).

**Independent fits run at the same time** (:attr:`TrainingConfig.fit_workers`, two by default on a 2-core
machine or Fargate task): the regime detector, every fold of steps 2 and 3 and the final booster depend only
on the split, so they are handed to a thread pool up front (LightGBM releases the GIL while it trains) and
their results are read back in the sequential order. Each fit still runs on its own ``num_threads`` with a
fixed seed, so every model is bit-for-bit the one the sequential run trains; and since results are read in
that order, the exception a run raises is the one the sequential run would have raised first (a later
step's failure, e.g. too few bars for the regime detector, still surfaces only once everything before it
succeeded). With ``fit_workers=1`` nothing runs ahead: each fit runs on the calling thread when its result
is read, which is exactly the order of the steps above. For the whole session LightGBM's process-wide
thread ceiling is held at ``num_threads`` (:mod:`.lgb_threads`): its thread count is one global, and a
default ``predict`` anywhere in the process would otherwise hand a running fit more threads than buffers.

It returns a :class:`TrainingResult`: the report (JSON-ready), the registry's
:class:`~huracan.registry.model.MetaLabelModel` (booster text + calibration + feature list), and which rows
were used for what. Publishing is the caller's decision, taken from ``report.verdict.ready``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from huracan.core.bars import BarArrays, FloatArray, IntArray
from huracan.core.timeutil import from_epoch_s
from huracan.learning.baseline import ModeLift, ModeTerms, fit_baseline, lift_by_mode, mode_of
from huracan.learning.calibrate import CalibrationChoice, fit_calibration
from huracan.learning.cv import Fold, WalkForwardSplit, assert_no_overlap, purged_walk_forward
from huracan.learning.dataset import Dataset
from huracan.learning.evaluate import (
    BootstrapPlan,
    Estimate,
    OOSMetrics,
    block_length,
    bootstrap_auc,
    debiased_ece,
    evaluate_oos,
)
from huracan.learning.importance import ImportanceReport, compute_importance
from huracan.learning.lgb_threads import lightgbm_thread_ceiling
from huracan.learning.readiness import ReadinessPolicy, Verdict, readiness_verdict
from huracan.learning.regime_detector import DEFAULT_REGIME_PARAMS, RegimeDetectorReport, train_regime_detector
from huracan.learning.train import MetaLabelLearner
from huracan.registry.model import MetaLabelModel

if TYPE_CHECKING:
    import lightgbm as lgb

__all__ = [
    "DEFAULT_MAX_FIT_WORKERS",
    "Champion",
    "FoldReport",
    "TrainingConfig",
    "TrainingReport",
    "TrainingResult",
    "resolve_fit_workers",
    "run_training",
]

#: Default ceiling on concurrent fits: the Fargate task and this machine have 2 cores, and beyond two the
#: session's serial tail (evaluation, permutation importance) dominates the wall time anyway.
DEFAULT_MAX_FIT_WORKERS = 2

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)
_P = ParamSpec("_P")


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    """Everything a session depends on besides the data; recorded in the report."""

    name: str = "meta_label"
    n_folds: int = 4
    test_fraction: float = 0.2
    embargo_sec: int | None = None
    #: the gate threshold for rows of a mode not in ``modes`` (and every row when ``modes`` is None)
    threshold: float = 0.45
    learner: MetaLabelLearner = field(default_factory=MetaLabelLearner)
    #: each mode's deployed gate threshold and label arithmetic (:func:`~.baseline.terms_from_engine`): the
    #: P&L check keeps a row at its own mode's ``meta_label_threshold``, and the cost baseline uses the barriers
    modes: Mapping[str, ModeTerms] | None = None
    n_boot: int = 500
    ci_level: float = 0.95
    permutation_repeats: int = 2
    policy: ReadinessPolicy = field(default_factory=ReadinessPolicy)
    regime_horizon: int = 15
    seed: int = 0
    #: LightGBM threads for every fit. One by default: measured on this 2-core machine while other jobs ran,
    #: 50k samples took 8.6 s on 1 thread and 67 s on 2 (OpenMP threads spin when the cores are shared); on
    #: dedicated cores 2 threads gain little at these sizes. Raise it for a dedicated Fargate task.
    num_threads: int = 1
    #: Fits run at the same time (each on ``num_threads``): None picks one per usable core divided by
    #: ``num_threads``, at most :data:`DEFAULT_MAX_FIT_WORKERS`; 1 forces the sequential run. The models are
    #: the same either way (see the module docstring), so this is not part of what a report compares.
    fit_workers: int | None = None


@dataclass(frozen=True, slots=True)
class Champion:
    """The published model to beat: its probabilities on our rows and, if known, its importances."""

    predict_proba: Callable[[FloatArray], FloatArray]
    model_id: str | None = None
    gain_importance: Mapping[str, float] | None = None
    permutation_importance: Mapping[str, float] | None = None

    @staticmethod
    def from_model(model: MetaLabelModel, feature_names: tuple[str, ...]) -> Champion:
        """Wrap a registry model; its columns are picked from ours by name (a missing one is an error)."""
        missing = [n for n in model.feature_names if n not in feature_names]
        if missing:
            raise ValueError(f"the champion needs features the dataset lacks: {missing}")
        cols = [feature_names.index(n) for n in model.feature_names]
        meta = model.metadata
        gain = meta.get("importance_gain")
        perm = meta.get("importance_permutation")
        return Champion(
            predict_proba=lambda X: model.predict_proba(X[:, cols]),
            model_id=model.model_id,
            gain_importance=gain if isinstance(gain, Mapping) else None,
            permutation_importance=perm if isinstance(perm, Mapping) else None,
        )


@dataclass(frozen=True, slots=True)
class FoldReport:
    """One walk-forward fold: sizes, what purging removed, windows and the fold's raw AUC."""

    fold: int
    n_train: int
    n_valid: int
    purged: int
    embargoed: int
    train_end: str
    valid_start: str
    valid_end: str
    valid_auc: Estimate


@dataclass(frozen=True, slots=True)
class TrainingReport:
    """What was trained on what, how well it did out of sample, and whether it is ready."""

    name: str
    snapshot_id: str
    n_samples: int
    provenance: dict[str, int]
    n_train: int
    n_test: int
    train_window: tuple[str, str]
    test_window: tuple[str, str]
    embargo_sec: int
    block_len: int
    folds: tuple[FoldReport, ...]
    oof_auc: Estimate
    n_calibration: int
    calibration_kind: str
    calibration_choice: CalibrationChoice
    raw_ece: Estimate
    features: tuple[str, ...]
    params: dict[str, Any]
    num_boost_round: int
    metrics: OOSMetrics
    importance: ImportanceReport
    regime: RegimeDetectorReport | None
    verdict: Verdict
    champion_model_id: str | None
    timings_s: dict[str, float]
    config: dict[str, Any]
    #: per mode (and ``all``): AUC beside the cost baseline's on the same test rows, and the lift
    lift: dict[str, ModeLift] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the regime detector's booster text is left out; it travels as its own artifact)."""
        out = asdict(self)
        if out.get("regime") is not None:
            out["regime"].pop("detector", None)
        out["verdict"]["reasons"] = self.verdict.reasons
        return out

    def summary(self) -> str:
        """A few lines a person reads first."""
        m = self.metrics
        lines = [
            f"{self.name}: {self.verdict.summary}",
            f"  data {self.snapshot_id[:31]}… n={self.n_samples} {self.provenance}; train {self.n_train} rows "
            f"{self.train_window[0]}→{self.train_window[1]}, test {self.n_test} rows "
            f"{self.test_window[0]}→{self.test_window[1]}",
            f"  AUC {m.auc.value:.3f} [{m.auc.lo:.3f}, {m.auc.hi:.3f}]  Brier {m.brier.value:.4f} "
            f"[{m.brier.lo:.4f}, {m.brier.hi:.4f}]  log loss {m.log_loss.value:.4f}  ECE {m.ece.value:.4f} "
            f"[{m.ece.lo:.4f}, {m.ece.hi:.4f}] (bias-corrected; raw {self.raw_ece.value:.4f}, "
            f"{self.calibration_kind} by held-out log loss)",
            *(f"  {k}: {v.text()}" for k, v in self.lift.items()),
            f"  at {m.threshold_text}: kept {m.trades_kept} ({m.kept_share:.0%}), precision "
            f"{m.precision.value:.3f}, net {m.pnl_kept_bps.value:+.2f} bps kept vs {m.pnl_all_bps.value:+.2f} all",
            f"  top features (gain): {', '.join(f'{k} {v:.0%}' for k, v in self.importance.top(4))}",
        ]
        if self.regime is not None:
            lines.append(f"  regime detector: {self.regime.detail}")
        lines += [f"  - {c.name}: {'ok' if c.passed else 'FAIL'} — {c.detail}" for c in self.verdict.checks]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TrainingResult:
    """The report, the model artifact, and per-row roles (for ``used_in_training`` marks)."""

    report: TrainingReport
    model: MetaLabelModel
    used_in_training: npt.NDArray[np.bool_]
    test_rows: IntArray
    test_proba: FloatArray
    split: WalkForwardSplit


def _iso(t: int) -> str:
    return from_epoch_s(int(t))


def _plan(ds: Dataset, rows: IntArray, embargo: int, cfg: TrainingConfig) -> BootstrapPlan:
    """The block bootstrap for a subset of rows (a fold's, the out-of-fold ones): blocks of one embargo."""
    return BootstrapPlan(
        n_boot=cfg.n_boot, block_len=block_length(ds.t_entry[rows], embargo), level=cfg.ci_level, seed=cfg.seed
    )


def _row_thresholds(modes: npt.NDArray[np.str_], cfg: TrainingConfig) -> FloatArray:
    """Each row's gate threshold: its mode's deployed ``meta_label_threshold`` (``cfg.threshold`` if unknown)."""
    out = np.full(len(modes), cfg.threshold, dtype=np.float64)
    for m, t in (cfg.modes or {}).items():
        out[modes == m] = t.threshold
    return out


def _usable_cpus() -> int:
    """Cores this process may run on: a container's CPU set, not the host's count, where the OS says so."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_fit_workers(requested: int | None, num_threads: int = 1) -> int:
    """How many fits run at once: ``requested`` as given, or by default one per ``num_threads`` usable cores.

    Dividing by ``num_threads`` keeps workers x LightGBM threads within the cores: OpenMP threads that
    share a core spin and were measured up to 8x slower here.
    """
    if requested is not None:
        if requested < 1:
            raise ValueError(f"fit_workers must be at least 1, got {requested}")
        return requested
    return max(1, min(DEFAULT_MAX_FIT_WORKERS, _usable_cpus() // max(1, num_threads)))


class _Job(Protocol[_T_co]):
    """A fit handed out ahead of time; ``result`` returns its value or raises its exception."""

    def result(self) -> _T_co: ...


class _Deferred(Generic[_T]):
    """A fit that runs on the calling thread when its result is read (the sequential mode)."""

    __slots__ = ("_call",)

    def __init__(self, call: Callable[[], _T]) -> None:
        self._call = call

    def result(self) -> _T:
        return self._call()


class _Fits:
    """Where the session's independent fits run: a thread pool, or with one worker, deferred.

    Deferring rather than running at submission keeps ``fit_workers=1`` identical to the job before fits
    ran in parallel, down to which step's exception is raised and what each step's timing covers. On an
    exception the pool drops the fits that have not started and waits for the running ones, so no fit
    outlives :func:`run_training`.
    """

    def __init__(self, workers: int, num_threads: int) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="huracan-fit") if workers > 1 else None
        # Fits share LightGBM's one process-global thread count with each other and with any other thread
        # that calls LightGBM meanwhile (see .lgb_threads): held at the fits' own for the whole session.
        self._ceiling = lightgbm_thread_ceiling(max(1, num_threads))

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _Job[_T]:
        if self._pool is None:
            return _Deferred(partial(fn, *args, **kwargs))
        return self._pool.submit(fn, *args, **kwargs)

    def __enter__(self) -> _Fits:
        self._ceiling.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
        finally:
            # Only once no fit is left running may other LightGBM calls use every core again.
            self._ceiling.__exit__(None, None, None)


def _fold_scores(
    learner: MetaLabelLearner, ds: Dataset, fold: Fold, names: tuple[str, ...], seed: int
) -> FloatArray | None:
    """One CV fold as the sequential loop ran it: overlap guard, skip rule, fit, score (None: skipped).

    An early fold can be empty after purging on tiny sets; it just yields no out-of-fold rows. Only the
    scores leave the worker, so at most ``fit_workers`` fold boosters exist at a time.
    """
    assert_no_overlap(fold.train, fold.valid, ds.t_entry, ds.t_exit)
    if len(fold.train) == 0 or len(np.unique(ds.y[fold.train])) < 2:
        return None
    booster = learner.fit(ds.X[fold.train], ds.y[fold.train], names, seed=seed)
    return learner.score(booster, ds.X[fold.valid])


def _final_fit(
    learner: MetaLabelLearner, ds: Dataset, train_rows: IntArray, test: IntArray, names: tuple[str, ...], seed: int
) -> lgb.Booster:
    assert_no_overlap(train_rows, test, ds.t_entry, ds.t_exit)
    return learner.fit(ds.X[train_rows], ds.y[train_rows], names, seed=seed)


def _regime_fit(
    bars: BarArrays, cfg: TrainingConfig, bar_history: FloatArray | None
) -> tuple[RegimeDetectorReport, float]:
    """The regime detector and how long it took on its own (it overlaps the other steps when in parallel)."""
    t = time.perf_counter()
    report = train_regime_detector(
        bars,
        horizon=cfg.regime_horizon,
        history=bar_history,
        params={**DEFAULT_REGIME_PARAMS, "num_threads": cfg.num_threads},
    )
    return report, time.perf_counter() - t


def run_training(
    dataset: Dataset,
    config: TrainingConfig | None = None,
    *,
    champion: Champion | None = None,
    bars: BarArrays | None = None,
    bar_history: FloatArray | None = None,
) -> TrainingResult:
    """Train, calibrate, evaluate and judge one challenger on ``dataset`` (see the module docstring)."""
    cfg = config or TrainingConfig()
    workers = resolve_fit_workers(cfg.fit_workers, cfg.num_threads)
    with _Fits(workers, cfg.num_threads) as fits:
        return _run_training(fits, dataset, cfg, champion, bars, bar_history)


def _run_training(
    fits: _Fits,
    ds: Dataset,
    cfg: TrainingConfig,
    champion: Champion | None,
    bars: BarArrays | None,
    bar_history: FloatArray | None,
) -> TrainingResult:
    """:func:`run_training`'s steps; every fit is submitted first, then results are read in step order."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    embargo = max(ds.max_timeout_sec, cfg.embargo_sec or 0)
    split = purged_walk_forward(
        ds.t_entry, ds.t_exit, n_folds=cfg.n_folds, test_fraction=cfg.test_fraction, embargo_sec=embargo
    )
    names = ds.feature_names
    learner = replace(cfg.learner, params={**cfg.learner.params, "num_threads": cfg.num_threads})
    train_rows, test = split.final_train, split.test
    # The longest job first, so it is never the one left running alone at the end.
    regime_job = None if bars is None else fits.submit(_regime_fit, bars, cfg, bar_history)
    wf_jobs = [fits.submit(_fold_scores, learner, ds, fold, names, cfg.seed) for fold in split.folds]
    cal_jobs = [fits.submit(_fold_scores, learner, ds, fold, names, cfg.seed) for fold in split.calibration_folds]
    final_job = fits.submit(_final_fit, learner, ds, train_rows, test, names, cfg.seed)

    raw_oof = np.full(len(ds), np.nan)
    folds: list[FoldReport] = []
    for k, (fold, job) in enumerate(zip(split.folds, wf_jobs, strict=True)):
        scores = job.result()
        if scores is None:
            continue
        raw_oof[fold.valid] = scores
        folds.append(
            FoldReport(
                fold=k,
                n_train=len(fold.train),
                n_valid=len(fold.valid),
                purged=fold.purged,
                embargoed=fold.embargoed,
                train_end=_iso(ds.t_entry[fold.train[-1]]),
                valid_start=_iso(ds.t_entry[fold.valid[0]]),
                valid_end=_iso(ds.t_entry[fold.valid[-1]]),
                valid_auc=bootstrap_auc(raw_oof[fold.valid], ds.y[fold.valid], _plan(ds, fold.valid, embargo, cfg)),
            )
        )
    wf_rows = np.flatnonzero(np.isfinite(raw_oof))
    timings["cv"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    raw_cal = np.full(len(ds), np.nan)
    for fold, job in zip(split.calibration_folds, cal_jobs, strict=True):
        scores = job.result()
        if scores is not None:
            raw_cal[fold.valid] = scores
    cal_rows = np.flatnonzero(np.isfinite(raw_cal))
    if len(cal_rows) == 0 or len(np.unique(ds.y[cal_rows])) < 2:
        raise ValueError("no out-of-fold predictions with both classes: too few rows to calibrate honestly")
    calibration, cal_choice = fit_calibration(raw_cal[cal_rows], ds.y[cal_rows])
    timings["calibration"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    final = final_job.result()
    timings["final_fit"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    X_test, y_test = ds.X[test], ds.y[test]
    raw_test = learner.score(final, X_test)
    p_test = calibration.apply(raw_test)
    champion_p = None if champion is None else np.asarray(champion.predict_proba(X_test), dtype=np.float64)
    block = block_length(ds.t_entry[test], embargo)
    plan = BootstrapPlan(n_boot=cfg.n_boot, block_len=block, level=cfg.ci_level, seed=cfg.seed)
    test_modes = mode_of(X_test, names)
    metrics = evaluate_oos(
        p_test,
        y_test,
        ds.pnl_bps[test],
        threshold=_row_thresholds(test_modes, cfg),
        thresholds=None if cfg.modes is None else {m: t.threshold for m, t in cfg.modes.items()},
        plan=plan,
        champion_p=champion_p,
    )
    raw_ece = debiased_ece(raw_test, y_test, plan)
    baseline = fit_baseline(ds.X[train_rows], ds.y[train_rows], names, cfg.modes)
    lifts = lift_by_mode(p_test, baseline.predict(X_test), y_test, test_modes, plan)
    timings["evaluate"] = time.perf_counter() - t3

    t4 = time.perf_counter()
    importance = compute_importance(
        final,
        X_test,
        y_test,
        names,
        repeats=cfg.permutation_repeats,
        seed=cfg.seed,
        num_threads=cfg.num_threads,
        champion_gain=None if champion is None else champion.gain_importance,
        champion_permutation=None if champion is None else champion.permutation_importance,
    )
    timings["importance"] = time.perf_counter() - t4

    regime: RegimeDetectorReport | None = None
    if regime_job is not None:
        t5 = time.perf_counter()
        regime, timings["regime"] = regime_job.result()
        if fits.workers > 1:
            timings["regime_wait"] = time.perf_counter() - t5

    verdict = readiness_verdict(
        metrics,
        n_samples=len(ds),
        policy=cfg.policy,
        importance_change=importance.change_vs_champion_gain,
        lift=lifts["all"],
        lift_by_mode=lifts,
    )
    timings["total"] = time.perf_counter() - t0

    params = learner.effective_params(len(train_rows), cfg.seed)
    used = np.zeros(len(ds), dtype=bool)
    used[train_rows] = True
    used[cal_rows] = True
    report = TrainingReport(
        name=cfg.name,
        snapshot_id=ds.snapshot_id(),
        n_samples=len(ds),
        provenance=ds.provenance_counts(),
        n_train=len(train_rows),
        n_test=len(test),
        train_window=(_iso(ds.t_entry[train_rows[0]]), _iso(ds.t_exit[train_rows].max())),
        test_window=(_iso(ds.t_entry[test[0]]), _iso(ds.t_exit[test].max())),
        embargo_sec=embargo,
        block_len=block,
        folds=tuple(folds),
        oof_auc=bootstrap_auc(raw_oof[wf_rows], ds.y[wf_rows], _plan(ds, wf_rows, embargo, cfg))
        if len(wf_rows)
        else Estimate(float("nan"), float("nan"), float("nan"), 0),
        n_calibration=len(cal_rows),
        calibration_kind=calibration.kind,
        calibration_choice=cal_choice,
        raw_ece=raw_ece,
        features=names,
        params=params,
        num_boost_round=learner.num_boost_round,
        metrics=metrics,
        importance=importance,
        regime=regime,
        verdict=verdict,
        champion_model_id=None if champion is None else champion.model_id,
        timings_s=timings,
        lift=lifts,
        config={
            "n_folds": cfg.n_folds,
            "test_fraction": cfg.test_fraction,
            "threshold": cfg.threshold,
            "mode_terms": None if cfg.modes is None else {m: asdict(t) for m, t in cfg.modes.items()},
            "calibration": "chosen by held-out log loss (sigmoid vs isotonic)",
            "n_boot": cfg.n_boot,
            "ci_level": cfg.ci_level,
            "permutation_repeats": cfg.permutation_repeats,
            "policy": asdict(cfg.policy),
            "regime_horizon": cfg.regime_horizon,
            "seed": cfg.seed,
            "num_threads": cfg.num_threads,
            "fit_workers": fits.workers,
        },
    )
    model = MetaLabelModel.from_lightgbm(
        final,
        calibration=calibration,
        feature_names=names,
        metadata={
            "name": cfg.name,
            "snapshot_id": report.snapshot_id,
            "train_window": list(report.train_window),
            "test_window": list(report.test_window),
            "metrics": {
                "auc": metrics.auc.value,
                "auc_ci": [metrics.auc.lo, metrics.auc.hi],
                "brier": metrics.brier.value,
                "log_loss": metrics.log_loss.value,
                "ece": metrics.ece.value,
                "n_test": len(test),
            },
            "ready": verdict.ready,
            "verdict": verdict.summary,
            "reasons": verdict.reasons,
            "importance_gain": importance.gain,
            "importance_permutation": importance.permutation,
            "params": params,
        },
    )
    return TrainingResult(
        report=report, model=model, used_in_training=used, test_rows=test, test_proba=p_test, split=split
    )
