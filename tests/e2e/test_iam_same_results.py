"""IAM enforcement changes who may call what, never what the engine computes: one day (with its daily summary
and nightly training) replayed with every principal as its own role and with the old single identity gives
the same tables, item for item (signals, decisions, trades, outcomes, prices)."""

from __future__ import annotations

import contextlib
import io
from typing import Any

from huracan.core.bars import BarArrays
from huracan.core.strategies import signals_history
from huracan.learning.nightly import container_task
from huracan.local.reconcile import dump_tables
from huracan.local.replay import build_records
from huracan.local.runtime import LocalRuntime


def _run(bars: BarArrays, enforce: bool) -> tuple[dict[str, list[dict[str, Any]]], list[Any], list[Any]]:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()  # one process, one set of moto backends: each run starts from nothing
    records = build_records(bars, "BTC-PERP", signals_history(bars))
    nights: list[Any] = []
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalRuntime(
            parameters={"HuracanProfile": "demo"},
            skip_schedules={"IngestMarketFunctionEveryMinute"},
            enforce_iam=enforce,
        ) as rt,
    ):
        rt.container_tasks["TrainingCluster"] = container_task(rt, on_result=nights.append)
        rt.replay(records)
        rt.finish(records[-1].publish_at)
        tables = dump_tables(rt)
        failed = list(rt.scheduler.failed)
    moto_api_backend.reset()
    return tables, [(n.event_time, n.status) for n in nights], failed


def _stable(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    # a price row's TTL is stamped per batch (tests/faults/conftest.py: comparable); everything else as stored
    return {k: [{a: v for a, v in row.items() if a != "expires_at"} for row in rows] for k, rows in tables.items()}


def test_enforced_iam_gives_the_same_tables_as_one_identity(ftx_month: BarArrays) -> None:
    bars = ftx_month.slice(0, 1440 + 60)  # a day, its 23:00 summary and the 00:00 training
    enforced, nights_enforced, failed_enforced = _run(bars, True)
    plain, nights_plain, failed_plain = _run(bars, False)
    assert failed_enforced == failed_plain == []
    assert nights_enforced == nights_plain and nights_enforced
    assert sum(len(v) for v in enforced.values()) > 1000
    assert _stable(enforced) == _stable(plain)
