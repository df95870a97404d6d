"""The six gates: the seed's lines, the seed's arithmetic, and batch == one-at-a-time on real data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.core.config import EngineConfig, load_config
from huracan.core.features import BAR_FEATURES, FEATURE_INDEX, WINDOW, features_history, model_matrix
from huracan.core.gates import (
    GATE_NAMES,
    confidence_gate,
    cost_gate,
    evaluate_batch,
    evaluate_gates,
    meta_label_gate,
    regime_gate,
    spread_gate,
    volume_gate,
)
from huracan.core.regime import REGIMES, RuleRegime

SEED = load_config("seed")
DEMO = load_config("demo")


@pytest.fixture(scope="module")
def month_features(ftx_month: BarArrays) -> np.ndarray:
    return features_history(ftx_month)


def _row(spread: float = 4.2, volume: float = 1.2, trend: float = 0.8) -> np.ndarray:
    row = np.zeros(len(BAR_FEATURES))
    row[FEATURE_INDEX["rv_15_bps"]] = row[FEATURE_INDEX["rv_60_bps"]] = 5.0
    row[FEATURE_INDEX["spread_bps"]] = spread
    row[FEATURE_INDEX["volume_ratio_60"]] = volume
    row[FEATURE_INDEX["trend_eff_15"]] = trend
    return row


def test_the_seed_lines() -> None:
    assert meta_label_gate(0.78, 0.45).text == "✓ meta_label_gate: PASS (prob 0.78 > threshold 0.45)"
    assert cost_gate(15.0, 8.0, 3.0).text == (
        "✓ cost_gate: PASS (expected return 15.0 bps > costs 8.0 bps + buffer 3.0 bps)"
    )
    assert cost_gate(2.4, 12.1, 3.0).text == (
        "✗ cost_gate: BLOCK (expected return 2.4 bps <= costs 12.1 bps + buffer 3.0 bps)"
    )
    assert confidence_gate(0.82, 0.55).text == "✓ confidence_gate: PASS (confidence 0.82 > min 0.55)"
    assert regime_gate("TREND", ("TREND", "RANGE")).text == "✓ regime_gate: PASS (TREND is allowed)"
    assert spread_gate(4.2, 5.0).text == "✓ spread_gate: PASS (spread 4.2 bps < max 5.0 bps)"
    assert volume_gate(1.2, 0.5).text == "✓ volume_gate: PASS (volume 1.2x > min 0.5x)"


def test_blocking_lines_and_values() -> None:
    r = regime_gate("PANIC", ("TREND",))
    assert (r.passed, r.value, r.threshold) == (False, "PANIC", "TREND")
    assert r.text == "✗ regime_gate: BLOCK (PANIC is not allowed; allowed: TREND)"
    assert spread_gate(5.0, 5.0).text == "✗ spread_gate: BLOCK (spread 5.0 bps >= max 5.0 bps)"
    assert volume_gate(0.3, 0.5).text == "✗ volume_gate: BLOCK (volume 0.3x <= min 0.5x)"
    nan_volume = volume_gate(math.nan, 0.5)
    assert not nan_volume.passed and "not enough bars" in nan_volume.text
    c = cost_gate(2.4, 12.1, 3.0)
    assert not c.passed and c.value == 2.4
    assert c.threshold == pytest.approx(15.1)


def test_strict_comparisons_stay_readable() -> None:
    # 0.4512 > 0.45 must not print as "0.45 > 0.45"; an exact tie blocks
    assert meta_label_gate(0.4512, 0.45).text == "✓ meta_label_gate: PASS (prob 0.451 > threshold 0.450)"
    assert meta_label_gate(0.45, 0.45).text == "✗ meta_label_gate: BLOCK (prob 0.45 <= threshold 0.45)"
    assert not confidence_gate(0.55, 0.55).passed


def test_seed_example_signal_passes_with_demo_scalp_thresholds() -> None:
    # the seed's example: LONG, confidence 0.78 (prior prob 0.78), TREND, spread 4.2 bps, volume 1.2x
    d = evaluate_gates(_row(), mode="scalp", confidence=0.78, config=DEMO, regime="TREND")
    assert d.prob == 0.78 and d.prob_source == "prior"
    assert d.expected_return_bps == pytest.approx(0.78 * 40 - 0.22 * 40)
    assert d.cost_bps == pytest.approx(14.2)
    assert d.passed and d.blocked_by == ()
    assert [line.split(":")[0][2:] for line in d.lines()] == list(GATE_NAMES)
    assert d.config_version == DEMO.version and d.mode == "scalp" and d.regime == "TREND"


def test_seed_scalp_barriers_can_never_cover_costs() -> None:
    # 13 bps TP at p=1 is below 10 bps of fees + spread + 3 bps buffer: the seed's own arithmetic
    d = evaluate_gates(_row(spread=0.0), mode="scalp", confidence=1.0, config=SEED, regime="TREND")
    assert d.blocked_by == ("cost_gate",)
    assert d.expected_return_bps == 13.0 and d.cost_bps == 10.0


def test_model_probability_replaces_the_prior() -> None:
    d = evaluate_gates(_row(), mode="scalp", confidence=0.9, config=DEMO, prob=0.40, model_id="sha256:ab")
    assert d.prob_source == "model" and d.prob == 0.40 and d.model_id == "sha256:ab"
    assert set(d.blocked_by) == {"meta_label_gate", "cost_gate"}
    assert d.regime == RuleRegime().classify_one(_row())


def test_unknown_spread_uses_the_default_and_unknown_volume_blocks() -> None:
    d = evaluate_gates(np.full(len(BAR_FEATURES), np.nan), mode="scalp", confidence=0.9, config=DEMO)
    assert d.regime == "RANGE"
    assert d.cost_bps == 2 * 5.0 + DEMO.costs.default_spread_bps
    assert d.blocked_by == ("volume_gate",)
    item = d.to_item()
    json.dumps(item, allow_nan=False)  # storable: NaN became None
    assert item["gates"]["volume_gate"]["value"] is None
    assert item["blocked_by"] == ["volume_gate"] and item["config_version"] == DEMO.version


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "swing"}, "mode 'swing'"),
        ({"confidence": 1.2}, "confidence"),
        ({"confidence": math.nan}, "confidence"),
        ({"prob": -0.1}, "prob"),
        ({"regime": "CALM"}, "regime 'CALM'"),
    ],
)
def test_broken_input_raises(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"mode": "scalp", "confidence": 0.7, "config": DEMO, **kwargs}
    with pytest.raises(ValueError, match=match):
        evaluate_gates(_row(), **args)  # type: ignore[arg-type]


def test_broken_batch_input_raises() -> None:
    f = np.array([_row(), _row()])
    with pytest.raises(ValueError, match="mode 'swing'"):
        evaluate_batch(f, modes=["scalp", "swing"], confidence=[0.5, 0.5], config=DEMO)
    with pytest.raises(ValueError, match="confidence"):
        evaluate_batch(f, modes="scalp", confidence=[0.5, 1.5], config=DEMO)
    with pytest.raises(ValueError, match="one value per signal"):
        evaluate_batch(f, modes="scalp", confidence=[0.5], config=DEMO)
    with pytest.raises(ValueError, match="shape"):
        evaluate_batch(f[:, :3], modes="scalp", confidence=[0.5, 0.5], config=DEMO)
    with pytest.raises(ValueError, match="features"):
        evaluate_gates(f, mode="scalp", confidence=0.5, config=DEMO)


@pytest.mark.parametrize("config", [SEED, DEMO], ids=["seed", "demo"])
@pytest.mark.parametrize("with_model", [False, True], ids=["prior", "model"])
def test_batch_agrees_with_one_at_a_time(
    ftx_month: BarArrays, month_features: np.ndarray, config: EngineConfig, with_model: bool
) -> None:
    rng = np.random.default_rng(42)
    m = 1500
    ends = rng.integers(WINDOW - 1, len(ftx_month), size=m)
    feats = month_features[ends]
    sides = rng.choice([1.0, -1.0], size=m)
    modes = rng.choice(["scalp", "runner"], size=m)
    conf = rng.uniform(0.3, 0.95, size=m)
    prob = rng.uniform(0.2, 0.95, size=m) if with_model else None
    given_regimes = rng.choice(np.array(REGIMES), size=m) if with_model else None
    model_x = model_matrix(feats, sides, conf, modes == "runner")  # a MODEL_FEATURES matrix works too
    batch = evaluate_batch(model_x, modes=modes, confidence=conf, config=config, regimes=given_regimes, prob=prob)
    assert batch.gates.shape == (m, len(GATE_NAMES)) and len(batch) == m
    for j in range(m):
        d = evaluate_gates(
            feats[j],
            mode=str(modes[j]),
            confidence=float(conf[j]),
            config=config,
            regime=None if given_regimes is None else str(given_regimes[j]),
            prob=None if prob is None else float(prob[j]),
        )
        assert tuple(batch.gates[j]) == tuple(r.passed for r in d.results), j
        assert batch.passed[j] == d.passed and batch.blocked_by(j) == d.blocked_by
        assert batch.prob[j] == d.prob and batch.prob_source == d.prob_source
        assert batch.expected_return_bps[j] == d.expected_return_bps and batch.cost_bps[j] == d.cost_bps
        assert batch.regimes[j] == d.regime
        for g, r in enumerate(d.results):
            if r.name != "regime_gate":
                assert batch.values[j, g] == r.value or (math.isnan(batch.values[j, g]) and math.isnan(float(r.value)))
                assert batch.thresholds[j, g] == r.threshold
    if config is DEMO:
        # the demo profile is tuned so that every gate both passes and blocks on real data
        assert batch.gates.any(axis=0).all() and (~batch.gates).any(axis=0).all()
        assert 0 < batch.passed.sum() < m
