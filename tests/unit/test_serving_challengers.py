"""Challengers on a folder registry: listed live, verified by id, scored in shadow; never the champion."""

from __future__ import annotations

import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.registry import Calibration, MetaLabelModel, ModelRegistry
from huracan.registry.errors import ModelNotFoundError
from huracan.serving import onnx_artifacts
from huracan.serving.challengers import RegistryChallengerProvider
from tests.unit.test_serving_onnx import serving_dataset, train_serving_model


@pytest.fixture(scope="module")
def data(ftx_month: BarArrays):
    return serving_dataset(ftx_month)


def _model(data, seed: int) -> MetaLabelModel:
    X, y = data
    booster = train_serving_model(X[:8000], y[:8000], rounds=20, seed=seed)
    return MetaLabelModel.from_lightgbm(booster, calibration=Calibration.sigmoid(-2.0, 1.0))


def _store(registry: ModelRegistry, model: MetaLabelModel, stage: str) -> str:
    return registry.register_model(model, code_git_sha="abc", data_snapshot_id="s", metrics={}, stage=stage)  # type: ignore[arg-type]


def test_live_challengers_are_scored_and_only_the_champion_loads(tmp_path, data):
    registry = ModelRegistry(tmp_path, extra_artifacts=onnx_artifacts)
    champ = _store(registry, _model(data, 0), "champion")
    c1, c2 = _store(registry, _model(data, 1), "challenger"), _store(registry, _model(data, 2), "challenger")
    # a candidate cannot be listed as a live challenger
    cand = _store(registry, _model(data, 3), "candidate")
    with pytest.raises(ValueError, match="not as a challenger"):
        registry.set_challengers("meta_label", [{"model_id": cand, "trained_until": "2022-01-05T00:00:00Z"}], [])
    registry.set_challengers(
        "meta_label",
        [{"model_id": c, "trained_until": "2022-01-05T00:00:00Z", "nights": 0} for c in (c1, c2)],
        [],
    )
    # Then the provider serves both challengers (verified, ONNX) and their probabilities match the models'
    provider = RegistryChallengerProvider(registry, refresh_seconds=0)
    served = provider()
    assert [cid for cid, _ in served] == [c1, c2]
    X = data[0][9000:9100]
    for (_, predict), seed in zip(served, (1, 2), strict=True):
        np.testing.assert_allclose(predict(X), _model(data, seed).predict_proba(X), atol=1e-6)
    # and Hamilton's load_latest_model returns only the champion
    assert registry.load_latest_model()[0] == champ
    # When a challenger leaves the live list, it is no longer scored
    registry.set_challengers("meta_label", [{"model_id": c2, "trained_until": "2022-01-05T00:00:00Z"}], [])
    assert [cid for cid, _ in provider()] == [c2]


def test_a_challenger_before_any_champion_never_becomes_latest(tmp_path, data):
    registry = ModelRegistry(tmp_path, extra_artifacts=onnx_artifacts)
    cid = _store(registry, _model(data, 1), "challenger")
    registry.set_challengers("meta_label", [{"model_id": cid, "trained_until": "2022-01-05T00:00:00Z"}], [])
    with pytest.raises(ModelNotFoundError):
        registry.load_latest_model()
    # until it is promoted, which is the same verified pointer switch as any publish
    registry.promote(cid)
    assert registry.load_latest_model()[0] == cid
