"""The trained regime detector served without LightGBM: ONNX export, registry publication, provider, evaluate.

Everything runs on the real FTX month: the detector is trained by ``train_regime_detector`` as the nightly
job trains it, exported to ONNX, published under its own registry name (``regime_detector``) and served by
``RegistryRegimeProvider`` to ``SignalService``, which must then record ``regime_source="detector:<id>"``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.core.features import BAR_FEATURES, MODEL_FEATURES, features_history
from huracan.core.regime import REGIMES, RuleRegime
from huracan.learning.nightly import NightlyPorts, _FileBars, run_nightly
from huracan.learning.pipeline import TrainingConfig
from huracan.learning.regime_detector import (
    RegimeDetectorReport,
    TrainedRegimeDetector,
    publish_regime_detector,
    train_regime_detector,
)
from huracan.registry import ModelRegistry
from huracan.registry.detector import REGIME_DETECTOR_NAME, DetectorSpec
from huracan.serving import OnnxExportError, export_multiclass_onnx, export_onnx, regime_onnx_artifacts
from huracan.serving.onnx_export import MAX_ABS_DIFF
from huracan.serving.regime import OnnxRegimeDetector, RegistryRegimeProvider, regime_provider_from_env
from tests.unit.test_evaluate_logic import FakeStore, bar, make, rec, run, signal


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def history(ftx_month: BarArrays) -> np.ndarray:
    return features_history(ftx_month)


@pytest.fixture(scope="module")
def report(ftx_month: BarArrays, history: np.ndarray) -> RegimeDetectorReport:
    return train_regime_detector(ftx_month, history=history)


@pytest.fixture(scope="module")
def detector(report: RegimeDetectorReport) -> TrainedRegimeDetector:
    assert report.detector is not None
    return report.detector


@pytest.fixture(scope="module")
def onnx_bytes(detector: TrainedRegimeDetector, history: np.ndarray) -> bytes:
    X = history[:, : len(BAR_FEATURES)]
    art = regime_onnx_artifacts(detector.booster_text, detector.feature_names, check_rows=X)
    return art["model.onnx"]


def publish(registry: ModelRegistry, report: RegimeDetectorReport, *, ready: bool) -> str:
    return publish_regime_detector(
        registry,
        dataclasses.replace(report, replaces_rule=ready),
        code_git_sha="abc123",
        data_snapshot_id="bars:test",
        created_at="2022-02-01T00:00:00Z",
    )


def test_onnx_detector_equals_the_trained_detector_on_every_bar(detector, onnx_bytes, history):
    X = history[:, : len(BAR_FEATURES)]
    assert np.isnan(X).any(), "the warm-up rows exercise the missing-value branches"
    served = OnnxRegimeDetector.from_files({**detector.files(), "model.onnx": onnx_bytes})
    assert served.class_scale == detector.class_scale and served.classes == REGIMES
    booster = lgb.Booster(model_str=detector.booster_text)
    assert np.max(np.abs(served.proba(X) - booster.predict(X))) <= MAX_ABS_DIFF
    np.testing.assert_allclose(served.raw_score(X), booster.predict(X, raw_score=True), rtol=0, atol=1e-12)
    codes = served.codes(X)
    np.testing.assert_array_equal(codes, detector.codes(X))
    assert len(np.unique(codes)) == len(REGIMES), "all three regimes are exercised"
    np.testing.assert_array_equal(served.classify(X), detector.classify(X))
    assert served.codes(X[:0]).shape == (0,)


def test_class_scale_is_part_of_the_model_id(detector):
    other = dataclasses.replace(detector, class_scale=(1.0, 1.0, 1.0))
    assert other.model_id != detector.model_id
    assert TrainedRegimeDetector.from_files(detector.files()) == detector
    spec = DetectorSpec.from_bytes(detector.files()["features.json"])
    assert spec.class_scale == detector.class_scale and spec.feature_names == BAR_FEATURES


def test_multiclass_export_refuses_what_it_cannot_express(ftx_month, history):
    X, y = history[:3000, : len(BAR_FEATURES)], RuleRegime().codes(history[:3000]).astype(np.float64)
    binary = lgb.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(X, (y == 0).astype(float)), 3
    )
    with pytest.raises(OnnxExportError, match="multiclass"):
        export_multiclass_onnx(binary)
    ova = lgb.train(
        {"objective": "multiclassova", "num_class": 3, "verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 3
    )
    with pytest.raises(OnnxExportError, match="multiclass"):
        export_multiclass_onnx(ova)
    multi = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 3
    )
    with pytest.raises(OnnxExportError, match="binary"):
        export_onnx(multi)
    # trees that never split (a constant per class) still export exactly
    flat = lgb.train(
        {"objective": "multiclass", "num_class": 3, "min_data_in_leaf": 10**6, "verbose": -1, "num_threads": 1},
        lgb.Dataset(X, y),
        3,
    )
    got = OnnxRegimeDetector(export_multiclass_onnx(flat, feature_names=BAR_FEATURES)).proba(X[:50])
    assert got.shape == (50, 3) and np.max(np.abs(got - flat.predict(X[:50]))) <= MAX_ABS_DIFF


def test_only_a_detector_that_replaces_the_rule_is_served(tmp_path, report, detector, history):
    registry = ModelRegistry(tmp_path)
    clock = Clock()
    provider = RegistryRegimeProvider(lambda: ModelRegistry(tmp_path), refresh_seconds=60, clock=clock)
    assert provider() is None and provider.last_error is None

    # a detector that does not replace the rule: stored as a candidate with its reasons, never served
    cand_id = publish(registry, report, ready=False)
    assert registry.latest(REGIME_DETECTOR_NAME) is None
    card = registry.check_model(cand_id)
    assert card["stage"] == "candidate" and card["readiness"]["ready"] is False and card["readiness"]["reasons"]
    assert "model.onnx" in card["files"] and card["export_file"] is None
    clock.now += 60
    assert provider() is None

    # one that does: the champion of its own name, served from the next pointer check
    champ = dataclasses.replace(report, detector=dataclasses.replace(detector, class_scale=(1.0, 1.0, 1.0)))
    champ_id = publish(registry, champ, ready=True)
    assert champ_id != cand_id and registry.latest(REGIME_DETECTOR_NAME).model_id == champ_id  # type: ignore[union-attr]
    assert registry.latest("meta_label") is None, "the meta-label pointer is independent"
    clock.now += 60
    got = provider()
    assert got is not None and got[0] == champ_id and provider.loads == 1
    matrix = np.column_stack([history[:5000], np.ones((5000, len(MODEL_FEATURES) - len(BAR_FEATURES)))])
    np.testing.assert_array_equal(got[1](matrix), champ.detector.classify(history[:5000]))


def test_a_tampered_detector_is_refused_and_the_served_one_kept(tmp_path, report, detector, caplog):
    registry = ModelRegistry(tmp_path)
    first = dataclasses.replace(report, detector=dataclasses.replace(detector, class_scale=(1.0, 1.0, 1.0)))
    first_id = publish(registry, first, ready=True)
    provider = RegistryRegimeProvider(ModelRegistry(tmp_path), refresh_seconds=0, clock=Clock())
    assert provider()[0] == first_id  # type: ignore[index]

    second_id = publish(registry, report, ready=True)
    folder = tmp_path / REGIME_DETECTOR_NAME / second_id.removeprefix("sha256:")
    onnx_path = folder / "model.onnx"
    good = onnx_path.read_bytes()
    blob = bytearray(good)
    blob[len(blob) // 2] ^= 0x01
    onnx_path.write_bytes(bytes(blob))
    caplog.set_level(logging.ERROR)
    assert provider()[0] == first_id  # type: ignore[index]
    assert "sha256 mismatch" in str(provider.last_error) and "keeping" in caplog.text

    # a different decision rule written over the signed features.json: refused too
    onnx_path.write_bytes(good)
    features = folder / "features.json"
    doc = json.loads(features.read_bytes())
    doc["metadata"]["class_scale"] = [1.0, 1.0, 100.0]
    features.write_text(json.dumps(doc))
    assert provider()[0] == first_id  # type: ignore[index]
    assert "features.json" in str(provider.last_error)

    features.write_bytes(detector.files()["features.json"])
    assert provider()[0] == second_id and provider.last_error is None  # type: ignore[index]


def test_provider_from_env(tmp_path):
    assert regime_provider_from_env({}) is None
    assert regime_provider_from_env({"HURACAN_MODEL_PATH": str(tmp_path), "REGIME_MODEL_NAME": "none"}) is None
    p = regime_provider_from_env({"MODEL_BUCKET": "b", "MODEL_REFRESH_SECONDS": "5"})
    assert p is not None and p.name == REGIME_DETECTOR_NAME and p.refresh_seconds == 5.0


def _signal_rows(ftx_month: BarArrays, history: np.ndarray, detector: TrainedRegimeDetector) -> list[int]:
    """Bars where the detector and the rule disagree, and some where they agree (one batch)."""
    det, rule = detector.codes(history), RuleRegime().codes(history)
    idx = np.arange(20_000, 20_600)
    differ = idx[det[idx] != rule[idx]][:4]
    agree = idx[det[idx] == rule[idx]][:3]
    assert len(differ) == 4 and len(agree) == 3
    return sorted(int(k) for k in (*differ, *agree))


def test_evaluate_classifies_with_the_served_detector(ftx_month, history, report, detector, tmp_path):
    publish(ModelRegistry(tmp_path), report, ready=True)
    provider = RegistryRegimeProvider(ModelRegistry(tmp_path), clock=Clock())
    rows = _signal_rows(ftx_month, history, detector)
    # the batch carries the bars up to each signal, as the stream does (signal at T = close of bar k)
    records = [rec(i, bar(ftx_month, i)) for i in range(rows[0], rows[-1] + 1)]
    records += [rec(10**6 + j, signal(ftx_month, k, side="long" if j % 2 else "short")) for j, k in enumerate(rows)]

    served, rule_only = FakeStore(history=ftx_month), FakeStore(history=ftx_month)
    svc = make(served)
    svc.regime_provider = provider
    assert run(svc, records)[0] == []
    assert run(make(rule_only), records)[0] == []

    ids = sorted(served.decisions)
    got = [served.decisions[i] for i in ids]
    ruled = [rule_only.decisions[i] for i in ids]
    assert {d.regime_source for d in got} == {f"detector:{detector.model_id}"}
    assert {d.regime_source for d in ruled} == {"rule"}
    want = detector.classify(history[rows]).tolist()
    assert sorted(d.regime for d in got) == sorted(want)
    assert [d.regime for d in ruled] != [d.regime for d in got], "the detector changed some regimes"
    stored = np.array([[json.loads(d.features_json)[n] for n in BAR_FEATURES] for d in got], dtype=np.float64)
    assert [d.regime for d in got] == detector.classify(stored).tolist()

    # a detector that breaks on the batch: the rule classifies, and the lab goes on
    def broken() -> tuple[str, object]:
        return "sha256:bad", lambda m: np.array(["SIDEWAYS"] * len(m))

    fallback = FakeStore(history=ftx_month)
    svc = make(fallback)
    svc.regime_provider = broken  # type: ignore[assignment]
    assert run(svc, records)[0] == []
    assert [fallback.decisions[i].regime for i in ids] == [d.regime for d in ruled]
    assert {d.regime_source for d in fallback.decisions.values()} == {"rule"}


def test_nightly_publishes_the_detector_on_its_own_verdict(tmp_path: Path, ftx_month: BarArrays):
    """Even on nights the meta-label model is skipped, the detector is trained and judged on its own."""
    ports = NightlyPorts(
        registry=ModelRegistry(tmp_path), bars=[_FileBars("BTC-PERP", ftx_month)], symbols=["BTC-PERP"]
    )
    steps = []
    for day in ("2022-01-05", "2022-01-06", "2022-01-07"):
        result = run_nightly(
            f"{day}T00:00:00Z",
            ports=ports,
            engine=load_config("demo"),
            training=TrainingConfig(),
            lookback_days=4,
            min_rows=10**9,
        )
        assert result.status == "skipped" and ports.registry.latest("meta_label") is None
        step = result.session["steps"]["regime_detector"]
        card = ports.registry.show(step["model_id"])
        assert (
            step["status"]
            == ("published" if step["replaces_rule"] else "candidate")
            == ("published" if card["stage"] == "champion" else "candidate")
        )
        latest = ports.registry.latest(REGIME_DETECTOR_NAME)
        if step["replaces_rule"]:
            assert latest is not None and latest.model_id == step["model_id"]
        steps.append(step)
    assert any(s["replaces_rule"] for s in steps), "on the real month some nights' detector beats the rule"
