"""``extra_features``: the user's declared signal columns as meta-label model inputs, one definition end to end.

:func:`~huracan.core.features.model_features` is the list; :func:`~huracan.core.features.model_vector` /
:func:`~huracan.core.features.model_matrix` build rows of it. The handler (serving) and the nightly's collector
(training: historical rows from the user's signals, shadow rows from stored decisions) must produce the same row
for the same signal, extras included, on real bars.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.core.config import EngineConfig, load_config, load_user_config
from huracan.core.features import (
    BAR_FEATURES,
    MODEL_FEATURES,
    extra_values,
    features_history,
    model_features,
    model_matrix,
    model_vector,
)
from huracan.core.records import Signal
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.learning.collect import collect_dataset
from huracan.local.hamilton_sim import HamiltonSimulator
from huracan.local.replay import StreamRecord
from huracan.service.entities import DecisionOutcome, DecisionRecord
from huracan.signals.files import FileSignals
from tests.unit.test_evaluate_logic import SYMBOL, FakeStore, make, rec, run

EXTRA = ("my_edge", "funding_bps")
EVENT = "2022-01-05T00:00:00Z"


def _config() -> EngineConfig:
    return load_config("demo").model_copy(update={"extra_features": EXTRA})


# ------------------------------------------------------------------------------------------ the definition
def test_model_features_are_the_fixed_columns_then_the_declared_extras_in_order() -> None:
    assert model_features() == MODEL_FEATURES
    assert model_features(("zeta", "alpha")) == (*MODEL_FEATURES, "zeta", "alpha")  # declared order, not sorted
    assert _config().model_features == (*MODEL_FEATURES, *EXTRA)
    with pytest.raises(ValueError, match=r"\['confidence'\] are already model features"):
        model_features(("confidence",))
    with pytest.raises(ValueError, match=r"\['x'\] are declared more than once"):
        model_features(("x", "y", "x"))


def test_a_settings_file_declaring_an_extra_twice_or_shadowing_a_model_feature_is_refused(tmp_path) -> None:
    for body, needle in (
        ("extra_features = ['spread_bps']\n", "already model features"),
        ("extra_features = ['imb', 'imb']\n", "more than once"),
    ):
        path = tmp_path / "mine.toml"
        path.write_text(body, "utf-8")
        with pytest.raises(ValueError, match="extra_features") as err:
            load_user_config(path, "demo")
        assert needle in str(err.value) and str(path) in str(err.value)


def test_vector_and_matrix_carry_the_extras_after_the_fixed_columns(ftx_month: BarArrays) -> None:
    rows = features_history(ftx_month)[[500, 900]]
    extra = extra_values([{"my_edge": 0.25, "funding_bps": -3.0}, {"funding_bps": 1.5}], EXTRA)
    assert np.array_equal(extra, [[0.25, -3.0], [np.nan, 1.5]], equal_nan=True)  # unknown: NaN
    mat = model_matrix(rows, [1, -1], [0.7, 0.4], [0.0, 1.0], extra)
    assert mat.shape == (2, len(MODEL_FEATURES) + 2)
    # the fixed columns are exactly the matrix without extras: gates, the regime rule and older models read them
    np.testing.assert_array_equal(mat[:, : len(MODEL_FEATURES)], model_matrix(rows, [1, -1], [0.7, 0.4], [0, 1]))
    np.testing.assert_array_equal(mat[0], model_vector(rows[0], "long", 0.7, "scalp", [0.25, -3.0]))
    np.testing.assert_array_equal(mat[1], model_vector(rows[1], "short", 0.4, "runner", [math.nan, 1.5]))
    with pytest.raises(ValueError, match="extra feature values must have shape"):
        model_matrix(rows, [1, -1], [0.7, 0.4], [0.0, 1.0], extra[:1])


# ------------------------------------------------------------------------------------------ train = serve
@dataclass
class _Bars:
    bars: BarArrays

    def bars_between(self, symbol: str, start_ts: str, end_ts: str) -> BarArrays:
        lo, hi = np.searchsorted(self.bars.ts, [epoch_s(start_ts), epoch_s(end_ts)])
        return self.bars.slice(int(lo), int(hi)) if symbol == SYMBOL else self.bars.slice(0, 0)


@dataclass
class _Decisions:
    rows: list[tuple[DecisionRecord, DecisionOutcome | None]]

    def decisions_with_outcomes_on_day(
        self, day: str, *, only_unresolved: bool = False
    ) -> Iterator[tuple[DecisionRecord, DecisionOutcome | None]]:
        return iter([r for r in self.rows if r[0].day == day])


def _user_signals(bars: BarArrays) -> list[Signal]:
    """Signals on 2022-01-04 with both extras, sides and modes mixed; one stamped between two bar closes."""
    rng = np.random.default_rng(3)
    first = int(np.searchsorted(bars.ts, epoch_s("2022-01-04T02:00:00Z")))
    out = []
    for n, k in enumerate(range(first, first + 12 * 37, 37)):
        ts = int(bars.ts[k]) + 60 + (25 if n == 5 else 0)
        out.append(
            Signal(
                signal_id=f"mine-{n}",
                symbol=SYMBOL,
                ts=from_epoch_s(ts),
                side="long" if n % 2 else "short",
                mode="runner" if n % 3 == 0 else "scalp",
                confidence=float(rng.uniform(0.1, 0.9)),
                strategy="mine",
                features={"my_edge": float(rng.normal()), "funding_bps": float(rng.normal(0, 5))},
            )
        )
    return out


@pytest.fixture(scope="module")
def served(ftx_month: BarArrays) -> tuple[BarArrays, list[Signal], dict[str, DecisionRecord]]:
    """The handler's decisions for the user's signals (bars read from the store, as for ``huracan publish``)."""
    bars = ftx_month.slice(0, int(np.searchsorted(ftx_month.ts, epoch_s(EVENT))))
    sigs = _user_signals(bars)
    store = FakeStore(history=bars)
    seen: list[np.ndarray] = []

    def predict(X: np.ndarray) -> np.ndarray:
        seen.append(np.array(X))
        return np.full(len(X), 0.5)

    svc = make(store, model_provider=lambda: ("sha256:model", predict))
    svc.config = _config()
    payloads = [{"type": "signal", **s.model_dump(exclude={"type", "price"})} for s in sigs]
    failed, _ = run(svc, [rec(i + 1, p) for i, p in enumerate(payloads)])
    assert failed == [] and len(store.decisions) == len(sigs)
    (matrix,) = seen  # one batch call: the rows the served model was given, in the batch's order
    assert matrix.shape == (len(sigs), len(MODEL_FEATURES) + len(EXTRA))
    for s, row in zip(sigs, matrix, strict=True):
        np.testing.assert_array_equal(row, _stored_row(store.decisions[s.signal_id], _config().model_features))
    return bars, sigs, store.decisions


def _stored_row(d: DecisionRecord, names: Sequence[str]) -> np.ndarray:
    doc = json.loads(d.features_json)
    return np.array([np.nan if doc[n] is None else doc[n] for n in names], dtype=np.float64)


def _outcome(signal_id: str) -> DecisionOutcome:
    return DecisionOutcome(signal_id, "TP", "WIN", 1.0, 10.0, 7.0, None)


def test_the_stored_decision_is_the_model_row_with_the_signals_extras(served: Any) -> None:
    bars, sigs, decisions = served
    names = _config().model_features
    hist = features_history(bars)
    for s in sigs:
        d = decisions[s.signal_id]
        row = _stored_row(d, names)
        k = int(np.searchsorted(bars.ts, epoch_s(s.ts) - 60, side="right")) - 1  # the last bar closed by ts
        want = model_vector(hist[k], s.side, s.confidence, s.mode, [s.features[n] for n in EXTRA])  # type: ignore[index]
        np.testing.assert_allclose(row, want, rtol=1e-9, atol=1e-9)


def test_training_rows_equal_the_handlers_stored_features_extras_included(served: Any) -> None:
    bars, sigs, decisions = served
    engine = _config()
    names = engine.model_features
    by_id = {s.signal_id: decisions[s.signal_id] for s in sigs}
    labelled = [(d, _outcome(d.signal_id)) for d in by_id.values()]

    historical = collect_dataset(
        EVENT, symbols=[SYMBOL], bars=_Bars(bars), engine=engine, signal_source=FileSignals({SYMBOL: sigs}), days=2
    ).dataset
    shadow = collect_dataset(
        EVENT, symbols=[SYMBOL], bars=_Bars(bars), engine=engine, decisions=_Decisions(labelled), signal_source=None
    ).dataset
    # the bars gone (archive and table both empty): the nightly reads the row the decision stored
    stored = collect_dataset(
        EVENT,
        symbols=[SYMBOL],
        bars=_Bars(bars.slice(0, 0)),
        engine=engine,
        decisions=_Decisions(labelled),
        signal_source=None,
    )
    assert stored.counts["shadow_features_from_record"] == len(sigs)
    for ds, source in ((historical, "historical"), (shadow, "shadow"), (stored.dataset, "shadow")):
        assert ds.feature_names == names
        assert sorted(ds.row_id.tolist()) == sorted(by_id) and set(ds.provenance.tolist()) == {source}
        for i, sid in enumerate(ds.row_id.tolist()):
            np.testing.assert_allclose(ds.X[i], _stored_row(by_id[sid], names), rtol=1e-9, atol=1e-9)
    # the extras really are in the rows (not NaN, not the same number everywhere)
    extras = historical.X[:, len(MODEL_FEATURES) :]
    assert np.isfinite(extras).all() and len(np.unique(extras[:, 0])) == len(sigs)


def test_rows_whose_extras_are_unknown_get_nan(served: Any) -> None:
    bars, sigs, decisions = served
    engine = _config()
    # a decision stored before the settings declared the extras (its document lacks them), bars gone
    old = replace(
        decisions[sigs[0].signal_id],
        features_json=json.dumps(
            {k: v for k, v in json.loads(decisions[sigs[0].signal_id].features_json).items() if k not in EXTRA}
        ),
    )
    ds = collect_dataset(
        EVENT,
        symbols=[SYMBOL],
        bars=_Bars(bars.slice(0, 0)),
        engine=engine,
        decisions=_Decisions([(old, _outcome(old.signal_id))]),
        signal_source=None,
    ).dataset
    assert len(ds) == 1 and np.isnan(ds.X[0, len(MODEL_FEATURES) :]).all()
    assert np.isfinite(ds.X[0, : len(BAR_FEATURES)]).all()
    # and a source whose signals carry none (the built-in strategies) gives NaN extras on every historical row
    builtin = collect_dataset(EVENT, symbols=[SYMBOL], bars=_Bars(bars), engine=engine, days=1).dataset
    assert len(builtin) > 0 and np.isnan(builtin.X[:, len(MODEL_FEATURES) :]).all()


# ------------------------------------------------------------------------------------------ Hamilton
class _Gate:
    def __init__(self, names: tuple[str, ...]) -> None:
        self.feature_names = names


class _Client:
    """What the simulator asks of Hamilton's client: the adopted model's features and the gate's answer."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.model_id = "sha256:m"
        self.gate = _Gate(names)
        self.sent: list[dict[str, Any]] = []

    def refresh(self) -> bool:
        return False  # nothing new published: keep the adopted model

    def evaluate(self, features: dict[str, Any]) -> Any:
        self.sent.append(features)

        @dataclass
        class _No:
            passed: bool = False

        return _No()


def test_the_hamilton_simulator_sends_the_features_the_adopted_model_lists(served: Any) -> None:
    bars, sigs, decisions = served
    s = sigs[0]
    payload = {"type": "signal", **s.model_dump(exclude={"type", "price"})}
    record = StreamRecord(int(epoch_s(s.ts)), SYMBOL, payload)
    for names in (MODEL_FEATURES, _config().model_features):
        client = _Client(names)
        sim = HamiltonSimulator(client, bars, [record], _config())  # type: ignore[arg-type]
        sim.on_window(epoch_s(s.ts))
        (sent,) = client.sent
        assert tuple(sent) == names
        want = _stored_row(decisions[s.signal_id], names)
        np.testing.assert_allclose([np.nan if v is None else v for v in sent.values()], want, rtol=1e-9, atol=1e-9)
