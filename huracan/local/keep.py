"""Keeping a local run: its tables, models and reports copied into the run's workspace before the emulator stops.

Called once at the end of ``huracan replay`` / ``huracan demo`` (:func:`keep_run`, inside the running stack:
the tables and the bucket are read through their APIs, like any client would), then :func:`finish_workspace`
after it has stopped (the whole-run report and the links to it need only the files).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from huracan.core.bars import BarArrays
from huracan.local.replay import BAR_SEC
from huracan.workspace import RunWorkspace, summarize_run

__all__ = ["bar_days", "finish_workspace", "keep_run"]


def bar_days(bars: BarArrays) -> tuple[float, float]:
    """(days of data: bars x bar length, calendar days from the first bar to the end of the last).

    Both are reported: a file of 8 separate days spread over two years is 8 days of data, not 547.
    """
    if len(bars.ts) == 0:
        return 0.0, 0.0
    ts = np.asarray(bars.ts, dtype=np.int64)
    return len(ts) * BAR_SEC / 86400, float(ts[-1] - ts[0] + BAR_SEC) / 86400


def keep_run(
    ws: RunWorkspace,
    *,
    bars: Mapping[str, BarArrays],
    sessions: Sequence[Mapping[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Copy what the run wrote into ``ws`` (summary, decisions, trades, models, sessions, bars); returns the summary.

    Reads the stack named by this process's environment (the embedded one during a replay).
    """
    from huracan.adapters.run_records import read_run_records
    from huracan.adapters.settings import TableSettings
    from huracan.registry import ModelRegistry
    from huracan.registry.mirror import mirror_registry

    records = read_run_records(TableSettings.from_env())
    mirror_registry(ModelRegistry(base_path=f"s3://{os.environ['MODEL_BUCKET']}/models"), ws.models)
    champion = None
    latest = ws.models / "meta_label" / "latest.json"
    if latest.is_file():
        champion = str(json.loads(latest.read_text("utf-8")).get("model_id") or "") or None
    ws.write_decisions(records.decisions, records.decision_outcomes)
    ws.write_trades(records.trades, records.trade_outcomes)
    ws.write_bars(bars)
    ws.write_sessions(sessions)
    days = max((bar_days(b)[0] for b in bars.values()), default=0.0)
    summary = summarize_run(
        records.decisions,
        records.trades,
        ws.model_cards(),
        decision_outcomes=records.decision_outcomes,
        trade_outcomes=records.trade_outcomes,
        champion_model_id=champion,
        days=days,
        extra={
            "bars": {s: len(b.ts) for s, b in bars.items()},
            "days_by_symbol": {s: bar_days(b)[0] for s, b in bars.items()},
            "span_days": max((bar_days(b)[1] for b in bars.values()), default=0.0),
            **(extra or {}),
        },
    )
    ws.write_summary(summary)
    return summary


def _skip(path: Path) -> Callable[[str, list[str]], set[str]]:
    """A ``copytree`` filter leaving out one folder (by its resolved path) wherever it appears in the walk."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if (Path(folder) / n).resolve() == path}

    return ignore


def finish_workspace(ws: RunWorkspace, report_dir: Path | None = None) -> Path:
    """Render ``reports/run.html``, link it from the daily index; with a separate ``report_dir`` (``--report-dir``)
    the daily reports are copied into the workspace and the run report into ``report_dir``. Returns run.html."""
    from huracan.observability.report import link_run_report
    from huracan.observability.run_report import render_run_report

    if report_dir is not None and report_dir.resolve() != ws.reports.resolve() and report_dir.is_dir():
        # a workspace inside the report folder (--report-dir R --workspace R/run) is not copied into itself
        shutil.copytree(report_dir, ws.reports, dirs_exist_ok=True, ignore=_skip(ws.root.resolve()))
    page = render_run_report(ws)
    link_run_report(ws.reports)
    if report_dir is not None and report_dir.resolve() != ws.reports.resolve():
        report_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(page, report_dir / page.name)
        link_run_report(report_dir)
    return page
