"""What a new user tripped on in the daily report and the console (issue 15, item 8), each pinned by a test."""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any

import numpy as np

from huracan.learning.evaluate import BootstrapPlan, evaluate_oos
from huracan.observability.daily import collect_summary
from huracan.observability.metrics_computer import threshold_recommendations
from huracan.observability.narrative import FiguresNarrator, headline, interval_text
from huracan.observability.records import DecisionRow, GateValue, LiveTrade, ShadowTrade
from huracan.observability.report import _status_class, render_report
from huracan.observability.sample import sample_records, sample_summary
from huracan.observability.targets import evaluate

DAY = "2024-01-03"


class _Source:
    def __init__(self) -> None:
        self.r = sample_records(DAY)

    def decisions(self, days: Any) -> list[DecisionRow]:
        return self.r.decisions

    def shadow_trades(self, days: Any) -> list[ShadowTrade]:
        return self.r.shadow

    def live_trades(self, days: Any) -> list[LiveTrade]:
        return []

    def shadow_by_ids(self, ids: Any) -> list[ShadowTrade]:
        return []


def _meta_card(version: int, stage: str, created: str, n: int, ready: bool) -> dict[str, Any]:
    return {
        "name": "meta_label",
        "model_id": "sha256:" + f"{version:x}" * 64,
        "version": version,
        "stage": stage,
        "created_at": created,
        "metrics": {"auc": {"value": 0.61, "lo": 0.55, "hi": 0.66, "n": n}, "n_samples": n},
        "readiness": {"ready": ready, "reasons": [] if ready else ["too few samples"]},
    }


def _detector_card(created: str) -> dict[str, Any]:
    return {
        "name": "regime_detector",
        "model_id": "sha256:" + "e" * 64,
        "version": 3,
        "stage": "candidate",
        "created_at": created,
        "metrics": {"accuracy": 0.84},
        "readiness": {"ready": False, "reasons": ["the rule stays"]},
    }


def test_the_narrative_reads_the_meta_label_session_not_the_detector_card() -> None:
    # Given a meta-label session with n=120 and a regime-detector card made after it the same night
    cards = [
        _meta_card(1, "candidate", f"{DAY}T00:00:00Z", 120, False),
        _detector_card(f"{DAY}T00:00:01Z"),
    ]
    s = collect_summary(DAY, f"{DAY}T23:00:00Z", _Source(), cards)
    text = " ".join(FiguresNarrator().narrate(s))
    # Then the narrative names the 120 samples and the AUC, never "0 samples: AUC n/a"
    assert "trained on 120 samples: AUC 0.610 [0.550, 0.660]" in text
    assert "on 0 samples" not in text and "AUC n/a" not in text


def test_headline_names_the_champion_served_after_a_not_ready_night() -> None:
    cards = [
        _meta_card(1, "champion", "2024-01-02T00:00:00Z", 1500, True),
        _meta_card(2, "candidate", f"{DAY}T00:00:00Z", 1700, False),
        _detector_card(f"{DAY}T00:00:01Z"),
    ]
    s = collect_summary(DAY, f"{DAY}T23:00:00Z", _Source(), cards)
    head = headline(s)
    assert "model not ready" not in head and "champion 11111111 served" in head
    assert "stays in service" in " ".join(FiguresNarrator().narrate(s))


def test_a_zero_width_interval_is_named_not_shown_as_certainty() -> None:
    assert interval_text(0.5, (0.5, 0.5), ".3f") == " (no spread: every prediction was the same)"
    assert interval_text(0.61, (0.55, 0.66), ".3f") == " [0.550, 0.660]"


def test_every_bootstrap_interval_contains_its_point() -> None:
    # Given well-calibrated but noisy probabilities, where ECE's replicates sit above the point estimate
    rng = np.random.default_rng(6)  # without the widening: ECE 0.0452 [0.0454, 0.1098]
    p = rng.uniform(0.3, 0.7, 400)
    y = (rng.random(400) < p).astype(float)
    m = evaluate_oos(p, y, rng.normal(0, 10, 400), threshold=0.5, plan=BootstrapPlan(n_boot=200, block_len=5))
    for f in dataclasses.fields(m):
        e = getattr(m, f.name)
        if hasattr(e, "lo") and np.isfinite(e.value):
            assert e.lo <= e.value <= e.hi, f"{f.name}: {e.value} outside [{e.lo}, {e.hi}]"


def test_a_win_rate_above_its_band_is_not_shaded_as_a_failure() -> None:
    high = evaluate("shadow_win_rate", 0.9, key="scalp")
    assert high.status == "above target" and _status_class(high) == "s-high"
    drift = evaluate("feature_importance_stability", 0.9)  # a ceiling-only band: above is a miss
    assert drift.status == "above target" and _status_class(drift) == "s-above"


def test_no_threshold_recommendation_rests_on_nothing() -> None:
    r = sample_records(DAY)
    # Given decisions only one gate blocked, all of whose outcomes lost: the best setting passes nothing
    rows = [
        dataclasses.replace(d, passed=True, blocked_by=(), cf_outcome="LOSS", cf_pnl_net_bps=-10.0)
        for d in r.decisions[:50]
    ]
    rows = [
        dataclasses.replace(d, gates={**d.gates, "volume_gate": GateValue(True, 1.0 + i / 10, 0.5)})
        for i, d in enumerate(rows)
    ]
    recs = threshold_recommendations(rows, [])
    assert recs == [] or all(x.recommended_n > 0 for x in recs)


def test_reports_never_say_the_seed() -> None:
    page = render_report(sample_summary(DAY))
    visible = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|svg)\b.*?</\1>", " ", page, flags=re.S)))
    assert "seed" not in visible.lower()
