"""MetricsLevel: which figures become CloudWatch custom metrics, asserted on the EMF documents printed.

A custom metric is a distinct (namespace, name, dimensions); at ``essential`` the daily summary publishes four
undimensioned ones and carries every other figure as fields of the same document, at ``full`` all of them
with the per-gate and per-mode dimensions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from huracan.observability.emf import DAILY_SUMMARY, emit_daily_summary
from huracan.observability.levels import (
    ESSENTIAL_METRICS,
    METRICS_LEVEL_ENV,
    emit_counters,
    metrics_level,
    publishes,
)
from huracan.observability.sample import sample_summary


@pytest.fixture()
def metrics() -> Iterator[Metrics]:
    m = Metrics(namespace="HuracanTest", service=DAILY_SUMMARY)
    m.clear_metrics()
    yield m
    m.clear_metrics()


def _documents(out: str) -> list[dict[str, Any]]:
    docs = []
    for line in out.splitlines():
        doc = json.loads(line)
        assert "_aws" in doc
        docs.append(doc)
    return docs


def _metric_keys(docs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(name, dimensions as k=v) of every metric in the documents: what CloudWatch would bill."""
    keys = set()
    for doc in docs:
        for d in doc["_aws"]["CloudWatchMetrics"]:
            for dims in d["Dimensions"]:
                dim = ",".join(f"{k}={doc[k]}" for k in dims)
                keys |= {(m["Name"], dim) for m in d["Metrics"]}
    return keys


def test_level_comes_from_the_environment_and_defaults_to_essential() -> None:
    assert metrics_level({}) == "essential"
    assert metrics_level({METRICS_LEVEL_ENV: ""}) == "essential"
    assert metrics_level({METRICS_LEVEL_ENV: " Full "}) == "full"
    with pytest.raises(ValueError, match=METRICS_LEVEL_ENV):
        metrics_level({METRICS_LEVEL_ENV: "verbose"})


def test_per_invocation_emitters_publish_nothing_at_essential() -> None:
    for function in ("evaluate-signals", "resolve-outcome", "ingest-market"):
        assert ESSENTIAL_METRICS[function] == frozenset()
        assert not publishes(function, "signals", "essential")
        assert publishes(function, "signals", "full")
    assert publishes("some-new-function", "x", "full") and not publishes("some-new-function", "x", "essential")


def test_emit_counters_returns_what_it_did_not_publish(metrics: Metrics, capsys: pytest.CaptureFixture[str]) -> None:
    counts = {"signals": 3, "passed": 1}
    assert emit_counters(metrics, counts, function="evaluate-signals", level="essential") == counts
    assert emit_counters(metrics, counts, function="daily-summary", level="essential") == counts
    assert emit_counters(metrics, {"signals_passed": 2}, function="daily-summary", level="essential") == {}
    assert emit_counters(metrics, counts, function="evaluate-signals", level="full") == {}
    metrics.flush_metrics()
    (doc,) = _documents(capsys.readouterr().out)
    assert {(n, d) for n, d in _metric_keys([doc])} == {
        ("signals_passed", f"service={DAILY_SUMMARY}"),
        ("signals", f"service={DAILY_SUMMARY}"),
        ("passed", f"service={DAILY_SUMMARY}"),
    }


def test_daily_summary_essential_publishes_four_metrics_and_keeps_the_rest_as_fields(
    metrics: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = sample_summary()
    n = emit_daily_summary(metrics, summary, "essential")
    metrics.flush_metrics()
    docs = _documents(capsys.readouterr().out)
    assert len(docs) == 1  # no per-gate / per-mode single_metric documents
    keys = _metric_keys(docs)
    assert {name for name, _ in keys} == ESSENTIAL_METRICS[DAILY_SUMMARY] and n == len(keys) == 4
    assert {dim for _, dim in keys} == {f"service={DAILY_SUMMARY}"}
    doc = docs[0]
    funnel = dict(summary.funnel)
    assert doc["signals_received"] == [summary.signals] == [funnel["signals"]]  # Powertools writes lists
    assert doc["signals_passed"] == [summary.funnel[-1][1]] and 0 < summary.funnel[-1][1] < summary.signals
    # every other figure is still in the document, as a field rather than a metric
    values = {m.name: m.value for m in summary.metrics if not m.key}
    assert doc["figures"]["shadow_trades_daily"] == values["shadow_trades_daily"] is not None
    assert {k for k in doc["figures"] if k.startswith("shadow_win_rate.")} == {
        f"shadow_win_rate.{m.key}" for m in summary.metrics if m.name == "shadow_win_rate" and m.value is not None
    }
    assert "integrity_checks_failed" in doc["figures"] and "open_trades_past_timeout" in doc["figures"]
    assert doc["gates"] == {
        g.gate: {"received": g.received, "passed": g.passed, "blocked": g.blocked} for g in summary.gates
    }


def test_daily_summary_full_publishes_every_figure_per_gate_and_mode(
    metrics: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = sample_summary()
    n = emit_daily_summary(metrics, summary, "full")
    metrics.flush_metrics()
    keys = _metric_keys(_documents(capsys.readouterr().out))
    assert n == len(keys)
    measured = {m.name for m in summary.metrics if m.value is not None}
    assert measured | ESSENTIAL_METRICS[DAILY_SUMMARY] | {"integrity_checks_failed", "signals_blocked"} <= {
        name for name, _ in keys
    }
    gates = {g.gate for g in summary.gates}
    for name in ("signals_received", "signals_passed", "signals_blocked"):
        per_gate = {dim.split(",")[0] for key, dim in keys if key == name and dim.startswith("gate=")}
        assert per_gate == {f"gate={g}" for g in gates}
    assert len(keys) > 3 * len(gates) + 4  # the fan-out the essential level avoids


def test_daily_summary_level_defaults_to_the_environment(
    metrics: Metrics, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(METRICS_LEVEL_ENV, "full")
    full = emit_daily_summary(metrics, sample_summary())
    metrics.flush_metrics()
    monkeypatch.delenv(METRICS_LEVEL_ENV)
    essential = emit_daily_summary(metrics, sample_summary())
    metrics.flush_metrics()
    capsys.readouterr()
    assert essential == 4 < full
