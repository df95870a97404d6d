"""The fallback regime rule: every regime occurs on real data, and the scalar and vector forms agree."""

from __future__ import annotations

import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.core.features import BAR_FEATURES, FEATURE_INDEX, WINDOW, features_history, features_latest
from huracan.core.regime import REGIMES, RegimeClassifier, RuleRegime, regime_codes, regime_names


@pytest.fixture(scope="module")
def month_features(ftx_month: BarArrays) -> np.ndarray:
    return features_history(ftx_month)[WINDOW - 1 :]


def test_each_regime_occurs_on_the_real_month(month_features: np.ndarray) -> None:
    names = RuleRegime().classify(month_features)
    share = {r: float(np.mean(names == r)) for r in REGIMES}
    # PANIC is rare but present (the 21-24 Jan 2022 sell-off), RANGE is the common case
    assert 0.002 < share["PANIC"] < 0.10, share
    assert 0.02 < share["TREND"] < 0.40, share
    assert share["RANGE"] > 0.5, share
    assert sum(share.values()) == pytest.approx(1.0)


def test_scalar_and_vector_forms_agree(month_features: np.ndarray) -> None:
    rule = RuleRegime()
    rows = month_features[::37]
    vector = rule.classify(rows)
    assert list(vector) == [rule.classify_one(r) for r in rows]
    assert set(vector) == set(REGIMES)


def test_rule_matches_its_documented_thresholds() -> None:
    rule = RuleRegime()
    base = np.zeros(len(BAR_FEATURES))
    base[FEATURE_INDEX["rv_15_bps"]] = 5.0
    base[FEATURE_INDEX["rv_60_bps"]] = 5.0

    def row(**kv: float) -> np.ndarray:
        r = base.copy()
        for k, v in kv.items():
            r[FEATURE_INDEX[k]] = v
        return r

    cases = {
        "RANGE": [row(), row(trend_eff_15=0.49), row(rv_15_bps=14.0, rv_60_bps=5.0), row(ret_15_bps=149.0)],
        "TREND": [row(trend_eff_15=0.5), row(trend_eff_15=0.9, ret_15_bps=80.0)],
        "PANIC": [row(rv_15_bps=16.0, rv_60_bps=10.0), row(ret_15_bps=-151.0), row(ret_15_bps=200, trend_eff_15=1)],
    }
    for expected, rows in cases.items():
        matrix = np.array(rows)
        assert list(rule.classify(matrix)) == [expected] * len(rows)
        assert [rule.classify_one(r) for r in rows] == [expected] * len(rows)


def test_nan_features_are_range(ftx_month: BarArrays) -> None:
    row = features_latest(ftx_month.slice(0, 5))
    assert np.isnan(row).all()
    assert RuleRegime().classify_one(row) == "RANGE"
    assert list(RuleRegime().classify(row[None, :])) == ["RANGE"]


def test_protocol_and_codes() -> None:
    assert isinstance(RuleRegime(), RegimeClassifier)
    codes = regime_codes(["PANIC", "TREND", "RANGE"])
    assert list(regime_names(codes)) == ["PANIC", "TREND", "RANGE"]
    with pytest.raises(ValueError, match="unknown regime 'CALM'"):
        regime_codes(["TREND", "CALM"])
    with pytest.raises(ValueError, match="shape"):
        RuleRegime().classify(np.zeros((3, 2)))
