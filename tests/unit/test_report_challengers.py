"""The daily report shows each challenger beside the champion (or prior) on the same forward decisions."""

from __future__ import annotations

from huracan.observability.insight_aggregator import build_daily_summary
from huracan.observability.records import CHALLENGERS_SCHEMA, challenger_looks
from huracan.observability.report import render_report

LOOK = {
    "n": 812,
    "challenger_auc": {"value": 0.612, "lo": 0.571, "hi": 0.650, "n": 812},
    "incumbent_auc": {"value": 0.503, "lo": 0.462, "hi": 0.541, "n": 812},
    "auc_diff": {"value": 0.109, "lo": 0.061, "hi": 0.158, "n": 812},
    "z": 4.41,
    "z_crit": 3.81,
    "pnl_diff_bps": {"value": 1.75, "lo": 0.42, "hi": 3.1, "n": 812},
}
DOC = {
    "schema": CHALLENGERS_SCHEMA,
    "name": "meta_label",
    "live": [
        {
            "model_id": "sha256:" + "c" * 64,
            "trained_until": "2022-01-05T00:00:00Z",
            "nights": 3,
            "at": "2022-01-08T00:00:00Z",
            "look": LOOK,
            "reasons": ["on 812 forward decisions: …", "z 3.10 < 3.81"],
        }
    ],
    "retired": [
        {
            "model_id": "sha256:" + "d" * 64,
            "nights": 30,
            "at": "2022-01-07T00:00:00Z",
            "outcome": "retired",
            "look": LOOK,
            "reasons": ["expired: 30 nights without forward evidence enough to promote"],
        },
        {"model_id": "sha256:" + "e" * 64, "nights": 1, "at": "2022-01-09T00:00:00Z", "outcome": "promoted"},
    ],
}


def test_champion_vs_challenger_on_the_same_forward_decisions_with_intervals():
    # Given the registry's challengers document as the nightly left it, read on 2022-01-08 at 23:00
    looks = challenger_looks([DOC], "2022-01-08T23:00:00Z")
    # Then the live challenger and the retired one are shown (the look made after the report time is not)
    assert [(c.status, c.nights) for c in looks] == [("live", 3), ("retired", 30)]
    assert looks[0].auc_diff == (0.109, 0.061, 0.158) and looks[0].n == 812
    html = render_report(build_daily_summary("2022-01-08", "2022-01-08T23:00:00Z", challengers=looks))
    assert 'id="challengers-table"' in html
    assert "0.612 [0.571, 0.650]" in html and "0.503 [0.462, 0.541]" in html
    assert "+0.109 [+0.061, +0.158]" in html and "+1.75 [+0.42, +3.10]" in html
    assert "expired" in html


def test_no_challenger_is_said_plainly():
    html = render_report(build_daily_summary("2022-01-08", "2022-01-08T23:00:00Z"))
    assert "No challenger is served in shadow" in html


def test_a_promoted_challenger_reads_as_the_champion_it_became():
    from huracan.observability.daily import promoted_card

    card = {"model_id": "sha256:" + "e" * 64, "stage": "challenger", "created_at": "2022-01-05T00:00:00Z"}
    became = promoted_card(card, [DOC])
    assert became["stage"] == "champion" and became["created_at"] == "2022-01-09T00:00:00Z"
    other = {**card, "model_id": "sha256:" + "c" * 64}
    assert promoted_card(other, [DOC]) == other  # still live: not a champion
