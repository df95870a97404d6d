"""The regime detector: forward-realized labels by the rule, purged split, replaces the rule only on evidence."""

from __future__ import annotations

import numpy as np
import pytest

from huracan.core.features import features_history
from huracan.core.regime import REGIMES, RegimeClassifier, RuleRegime
from huracan.learning.regime_detector import forward_regime_labels, train_regime_detector


@pytest.fixture(scope="module")
def history(ftx_month):
    return features_history(ftx_month)


def test_forward_label_is_the_rule_applied_h_bars_later(ftx_month, history):
    data = forward_regime_labels(ftx_month, horizon=15, history=history)
    rule = RuleRegime()
    rng = np.random.default_rng(0)
    for k in rng.choice(len(data.rows), 200, replace=False):
        i = int(data.rows[k])
        assert data.y[k] == rule.codes(history[i + 15][None, :])[0]
        assert data.rule_now[k] == rule.codes(history[i][None, :])[0]
        np.testing.assert_array_equal(data.X[k], history[i])
    assert np.all(data.t_exit - data.t_entry == 15 * 60)


def test_detector_on_the_real_month(ftx_month, history):
    rep = train_regime_detector(ftx_month, history=history)
    # the decision follows its documented rule
    assert rep.replaces_rule == (rep.accuracy_gain.lo > 0 and rep.balanced_accuracy >= rep.rule_balanced_accuracy)
    assert rep.accuracy - rep.rule_accuracy == pytest.approx(rep.accuracy_gain.value)
    assert rep.n_test > 8000 and rep.n_train > 30_000
    assert sum(rep.class_share_test.values()) == pytest.approx(1.0)
    # it is not the trivial "always RANGE" answer (balanced accuracy above one third)
    assert rep.balanced_accuracy > 1 / 3
    det = rep.detector
    assert det is not None and isinstance(det, RegimeClassifier)
    names = det.classify(history[1000:1100])
    assert set(names.tolist()) <= set(REGIMES)
    assert det.to_dict()["classes"] == list(REGIMES)


def test_too_few_bars_are_refused(ftx_month):
    with pytest.raises(ValueError):
        train_regime_detector(ftx_month.slice(0, 90))
