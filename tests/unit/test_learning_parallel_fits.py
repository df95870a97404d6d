"""A training session's independent fits run at the same time and give exactly the sequential run's models."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from huracan.core.bars import BarArrays, FloatArray
from huracan.core.features import features_history
from huracan.learning import pipeline
from huracan.learning.cv import purged_walk_forward
from huracan.learning.dataset import Dataset
from huracan.learning.lgb_threads import current_ceiling
from huracan.learning.pipeline import Champion, TrainingConfig, TrainingResult, resolve_fit_workers, run_training
from huracan.learning.planted import planted_edge_dataset
from huracan.learning.train import MetaLabelLearner

CFG = TrainingConfig(num_threads=1, n_boot=200)


@dataclass(frozen=True, slots=True)
class _Probe(MetaLabelLearner):
    """A learner that records the thread of every fit and can fail, stall or meet another fit.

    ``fail`` maps a training-set size to the message of the RuntimeError that fit raises (after
    ``stall_s`` seconds for the sizes in ``stall``); ``meet`` makes the first two fits wait for each other.
    """

    fail: Mapping[int, str] = field(default_factory=dict)
    stall: frozenset[int] = frozenset()
    stall_s: float = 0.0
    meet: threading.Barrier | None = None
    threads: list[str] = field(default_factory=list)
    ceilings: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fit(
        self, X: FloatArray, y: FloatArray, feature_names: Sequence[str], *, seed: int | None = None
    ) -> lgb.Booster:
        with self._lock:
            self.threads.append(threading.current_thread().name)
            self.ceilings.append(current_ceiling())
            nth = len(self.threads)
        if self.meet is not None and nth <= 2:
            self.meet.wait()  # BrokenBarrierError after its timeout unless a second fit runs meanwhile
        if X.shape[0] in self.fail:
            if X.shape[0] in self.stall:
                time.sleep(self.stall_s)
            raise RuntimeError(self.fail[X.shape[0]])
        return MetaLabelLearner.fit(self, X, y, feature_names, seed=seed)


def _comparable(result: TrainingResult) -> str:
    """The report minus what may differ between two runs of the same session (timings, worker count)."""
    doc: dict[str, Any] = result.report.to_dict()
    doc.pop("timings_s")
    doc["config"].pop("fit_workers")
    return json.dumps(doc, sort_keys=True, default=str)


def _fit_threads_alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("huracan-fit")]


@pytest.fixture(scope="module")
def history(ftx_month: BarArrays) -> FloatArray:
    return features_history(ftx_month)


@pytest.fixture(scope="module")
def planted(ftx_month: BarArrays, history: FloatArray) -> Dataset:
    # the real month's features and price-path timing, a weak edge as real data has (AUC near 0.58)
    return planted_edge_dataset(ftx_month, strength=0.3, stride=3, seed=31, history=history).dataset


@pytest.fixture(scope="module")
def small(ftx_month: BarArrays, history: FloatArray) -> Dataset:
    return planted_edge_dataset(ftx_month, strength=0.8, stride=10, seed=32, history=history).dataset


def test_parallel_fits_give_the_sequential_models_metrics_and_report(ftx_month, history, planted, small):
    # Given a champion to beat (so its predictions run beside the fits too) and the month's bars
    champ_model = run_training(small, replace(CFG, fit_workers=1)).model
    champion = Champion.from_model(champ_model, planted.feature_names)
    runs: dict[int, tuple[TrainingResult, _Probe]] = {}
    # When the same session runs sequentially and on two workers
    for workers in (1, 2):
        probe = _Probe()
        cfg = replace(CFG, learner=probe, fit_workers=workers)
        runs[workers] = (run_training(planted, cfg, champion=champion, bars=ftx_month, bar_history=history), probe)
    (seq, seq_probe), (par, par_probe) = runs[1], runs[2]
    # Then the sequential run fitted everything on the calling thread, the parallel one on the pool
    assert seq_probe.threads and set(seq_probe.threads) == {threading.current_thread().name}
    assert len(par_probe.threads) == len(seq_probe.threads) == 10  # 4 walk-forward + 5 k-fold + final
    assert all(name.startswith("huracan-fit") for name in par_probe.threads)
    assert seq.report.config["fit_workers"] == 1 and par.report.config["fit_workers"] == 2
    # and every artifact is byte-for-byte the same: booster text, calibration, features, hence the id
    assert par.model.files() == seq.model.files()
    assert par.model.model_id == seq.model.model_id
    assert seq.report.regime is not None and par.report.regime is not None
    assert seq.report.regime.detector is not None and par.report.regime.detector is not None
    assert par.report.regime.detector.booster_text == seq.report.regime.detector.booster_text
    assert par.report.regime.detector.class_scale == seq.report.regime.detector.class_scale
    # as are the predictions, the metrics with their intervals, the folds and the verdict
    np.testing.assert_array_equal(par.test_proba, seq.test_proba)
    np.testing.assert_array_equal(par.used_in_training, seq.used_in_training)
    assert par.report.metrics == seq.report.metrics
    assert par.report.metrics.auc_minus_champion is not None
    assert par.report.folds == seq.report.folds
    assert _comparable(par) == _comparable(seq)
    assert not _fit_threads_alive()
    # and every fit ran under LightGBM's process-wide ceiling of the fits' threads, lifted after
    assert set(par_probe.ceilings) == set(seq_probe.ceilings) == {CFG.num_threads}
    assert current_ceiling() == -1


def test_two_fits_really_run_at_the_same_time(small):
    # Given a learner whose first two fits wait for each other (a sequential run would time out there)
    probe = _Probe(meet=threading.Barrier(2, timeout=20))
    result = run_training(small, replace(CFG, learner=probe, fit_workers=2))
    assert result.report.n_train > 0
    assert len(set(probe.threads)) == 2
    with pytest.raises(threading.BrokenBarrierError):
        run_training(small, replace(CFG, learner=_Probe(meet=threading.Barrier(2, timeout=0.5)), fit_workers=1))


def _fold_sizes(ds: Dataset) -> tuple[list[int], list[int], int]:
    # the session's own split: embargo = the longest outcome window, as run_training computes it by default
    embargo = ds.max_timeout_sec
    split = purged_walk_forward(
        ds.t_entry, ds.t_exit, n_folds=CFG.n_folds, test_fraction=CFG.test_fraction, embargo_sec=embargo
    )
    return [len(f.train) for f in split.folds], [len(f.train) for f in split.calibration_folds], len(split.final_train)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_first_failure_in_step_order_propagates(small, ftx_month, workers):
    # Given walk-forward folds 1 and 2 and the final fit failing, fold 1 slowly, so that in parallel the later
    # ones fail first in time, and bars too few for the regime detector (a failure after every meta-label step)
    wf, cal, final = _fold_sizes(small)
    sizes = [*wf, *cal, final]
    assert all(sizes.count(n) == 1 for n in (wf[1], wf[2], final))  # those fits are known by their size
    fail = {wf[1]: "fold 1 failed", wf[2]: "fold 2 failed", final: "final failed"}
    probe = _Probe(fail=fail, stall=frozenset({wf[1]}), stall_s=0.5)
    cfg = replace(CFG, learner=probe, fit_workers=workers)
    # When the session runs, Then it raises what the sequential run raised first, and leaves no fit running
    with pytest.raises(RuntimeError, match=r"^fold 1 failed$"):
        run_training(small, cfg, bars=ftx_month.slice(0, 100))
    assert not _fit_threads_alive()
    assert current_ceiling() == -1  # a failed session lifts LightGBM's thread ceiling too


@pytest.mark.parametrize("workers", [1, 2])
def test_a_regime_failure_surfaces_only_after_the_meta_label_steps(small, ftx_month, workers):
    probe = _Probe()
    cfg = replace(CFG, learner=probe, fit_workers=workers)
    with pytest.raises(ValueError, match="too few to train and test a regime detector"):
        run_training(small, cfg, bars=ftx_month.slice(0, 100))
    # every meta-label fit ran, as in the sequential order, before the regime detector's error was raised
    assert len(probe.threads) == 10
    assert not _fit_threads_alive()


def test_worker_count_defaults_to_the_cores_and_one_forces_sequential(monkeypatch, small):
    monkeypatch.setattr(pipeline, "_usable_cpus", lambda: 8)
    assert resolve_fit_workers(None) == 2
    assert resolve_fit_workers(None, num_threads=4) == 2
    assert resolve_fit_workers(None, num_threads=8) == 1
    assert resolve_fit_workers(3) == 3
    monkeypatch.setattr(pipeline, "_usable_cpus", lambda: 1)
    assert resolve_fit_workers(None) == 1
    with pytest.raises(ValueError, match="fit_workers must be at least 1"):
        resolve_fit_workers(0)
    with pytest.raises(ValueError, match="fit_workers must be at least 1"):
        run_training(small, replace(CFG, fit_workers=0))
    monkeypatch.setattr(pipeline, "_usable_cpus", lambda: 2)
    probe = _Probe()
    result = run_training(small, replace(CFG, learner=probe))
    assert result.report.config["fit_workers"] == 2
    assert all(name.startswith("huracan-fit") for name in probe.threads)
