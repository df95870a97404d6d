"""``MetricsLevel`` on the evaluate handler: which counters become CloudWatch custom metrics (EMF) per batch.

Every distinct metric is billed a month when it gets data every hour, so at ``essential`` (the template's
default) the per-minute handler publishes none and writes its counters as fields of one log line; ``full``
publishes all ten. Asserted on what the handler prints: the EMF documents CloudWatch would turn into metrics.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from huracan.core.strategies import signals_history
from huracan.observability.levels import METRICS_LEVEL_ENV
from huracan.service.evaluate import BatchCounters
from tests.integration._stack import aws_endpoint, create_resources
from tests.integration.test_evaluate_signals import APP, Ctx, Stream, bar_payload, event, signal_payload

COUNTERS = set(vars(BatchCounters()))


def _emf_metric_names(out: str) -> set[str]:
    names: set[str] = set()
    for line in out.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "_aws" in doc:
            for directive in doc["_aws"]["CloudWatchMetrics"]:
                names |= {m["Name"] for m in directive["Metrics"]}
    return names


def _log_fields(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    """The structured fields (Powertools ``extra``) of the handler's log records with this message."""
    return [{k: getattr(r, k) for k in COUNTERS if hasattr(r, k)} for r in caplog.records if r.getMessage() == message]


@pytest.fixture()
def app(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The evaluate handler, freshly imported, on its own tables, queue and timer."""
    with aws_endpoint(request) as endpoint:
        for k, v in create_resources(endpoint).items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("HURACAN_PROFILE", "demo")
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "HuracanTest")
        spec = importlib.util.spec_from_file_location(f"evaluate_signals_levels_{id(request)}", APP)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module


@pytest.fixture(scope="module")
def batch(ftx_month) -> list[dict[str, Any]]:
    """Sixty real bars and the strategies' signals among them, as one Kinesis batch."""
    bars, stream = ftx_month, Stream()
    sigs = signals_history(bars)
    records = []
    for i in range(300, 360):
        records.append(stream.record(bar_payload(bars, i)))
        records += [stream.record(signal_payload(bars, sigs, int(j))) for j in (sigs.bar_idx == i).nonzero()[0]]
    return records


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_essential_level_publishes_no_per_batch_metric_and_logs_the_counters(
    app, batch, monkeypatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    monkeypatch.setenv(METRICS_LEVEL_ENV, "essential")
    assert app.lambda_handler(event(batch), Ctx()) == {"batchItemFailures": []}
    out = capsys.readouterr().out
    assert _emf_metric_names(out) == set()
    (line,) = _log_fields(caplog, "batch")
    assert set(line) == COUNTERS
    assert line["records"] == len(batch)
    assert line["signals"] >= 1 and line["bars"] == 60


def test_full_level_publishes_every_counter(
    app, batch, monkeypatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    monkeypatch.setenv(METRICS_LEVEL_ENV, "full")
    assert app.lambda_handler(event(batch), Ctx()) == {"batchItemFailures": []}
    out = capsys.readouterr().out
    assert _emf_metric_names(out) == COUNTERS
    assert _log_fields(caplog, "batch") == []  # the EMF document carries the same fields


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_an_unknown_level_fails_the_invocation_naming_the_variable(app, batch, monkeypatch) -> None:
    monkeypatch.setenv(METRICS_LEVEL_ENV, "verbose")
    with pytest.raises(ValueError, match=METRICS_LEVEL_ENV):
        app.lambda_handler(event(batch[:1]), Ctx())
