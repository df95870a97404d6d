"""``huracan backtest``: the arguments of ``huracan replay``, the loop of :mod:`huracan.backtest.run`, a workspace."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

__all__ = ["add_backtest_parser", "backtest_main"]


def add_backtest_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "backtest",
        help="the same learning loop in-process (no AWS, no HTTP): a month in seconds, identical to the stack",
    )
    from huracan.signals.inputs import add_input_arguments

    add_input_arguments(p, data_required=False)  # the same inputs as huracan replay, parsed by the same function
    p.add_argument("--workspace", type=Path, help="where the run is kept (default runs/<UTC time>-backtest/)")
    p.add_argument("--no-reports", action="store_true", help="skip the daily HTML pages (the figures stay)")
    p.set_defaults(func=backtest_main)
    return p


def backtest_main(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up per call: a default bound at import keeps a stream that may be closed
    from huracan.backtest.outputs import write_outputs
    from huracan.backtest.run import run_backtest
    from huracan.data import DataFileError
    from huracan.local.replay import build_records, merge_records
    from huracan.signals.inputs import resolve_inputs
    from huracan.signals.source import builtin
    from huracan.workspace import RunWorkspace, WorkspaceError

    t0 = time.perf_counter()
    if not args.data:
        from huracan.local.demo import resolve_data_path

        args.data = [resolve_data_path(None)]  # the FTX month, as huracan demo finds it
    inputs = resolve_inputs(args)
    source = inputs.signals if inputs.signals is not None else builtin
    records = merge_records([build_records(b, sym, source(b, sym)) for sym, b in sorted(inputs.bars.items())])
    signals = [r for r in records if r.payload["type"] == "signal"]
    config = inputs.config
    try:
        ws = RunWorkspace.prepare(args.workspace, "backtest")
    except WorkspaceError as exc:
        raise DataFileError(str(exc)) from exc
    workspace = ws.root
    t_load = time.perf_counter() - t0
    n_bars = sum(len(b) for b in inputs.bars.values())
    label = ", ".join(f"{sym}={p}" for sym, p in sorted(inputs.paths.items()))
    if inputs.signals_file is not None:
        label += f" with signals {inputs.signals_file.path}"

    def night(n: Any) -> None:
        mark = n.model_id or n.candidate_id or "-"
        print(f"  {n.day}  n={n.n_samples:>6,}  {n.status:<9} {mark[:19]}  {n.summary[:70]}", file=out)

    print(f"huracan backtest — {label}: {n_bars:,} bars, {len(signals):,} signals -> {workspace}", file=out)
    for note in inputs.notes:
        print(f"  note: {note}", file=out)
    result = run_backtest(
        inputs.bars,
        signals,
        config=config,
        workspace=workspace,
        reports=not args.no_reports,
        signal_source=source,
        on_night=night,
    )
    summary = write_outputs(ws, result, config, inputs.bars)
    from huracan.local.keep import finish_workspace

    run_page = finish_workspace(ws)  # reports/run.html, the whole-run report a replay's workspace has
    wall = time.perf_counter() - t0
    t = result.timings_s
    print(
        f"  {summary['decisions']:,} decisions, {summary['passed']:,} passed; {summary['shadow_trades']:,} shadow "
        f"trades ({summary['closed']:,} closed: {summary['wins']:,} wins, {summary['losses']:,} losses, net "
        f"{summary['net_pnl_bps']:+.0f} bps); {summary['counterfactuals']:,} counterfactual outcomes",
        file=out,
    )
    print(
        f"  nights {result.schedules_fired.get('nightly', 0)}: {summary['models_published']} published, "
        f"{summary['models_candidates']} candidates; champion {summary['champion_model_id'] or 'none'}",
        file=out,
    )
    print(
        f"  {wall:.1f} s in all: load {t_load:.1f}, decide {t.get('decide', 0):.1f}, resolve {t.get('resolve', 0):.1f}, "
        f"nightly training {t.get('nightly', 0):.1f}, daily summaries {t.get('summary', 0):.1f}",
        file=out,
    )
    if result.invalid:
        print(f"  {len(result.invalid):,} signals not decided (see summary.json): {result.invalid[0][1]}", file=out)
    print(f"  workspace {workspace}: summary.json, trades.csv, decisions.parquet, models/, reports/", file=out)
    print(f"  run report {run_page}", file=out)
    print(f"  models: huracan models --base-path {workspace / 'models'} list", file=out)
    return 0
