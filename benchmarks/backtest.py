"""Research speed: the FTX month through ``huracan backtest`` (31 nightly trainings), with and without the daily
reports, beside the stack replay of the same data in the same run, plus a year-scale throughput figure.

Each run is its own ``huracan`` process (so peak RSS is that run's, from ``getrusage(RUSAGE_CHILDREN)`` after it):

1. ``huracan backtest`` on the month, no daily reports  -> ``month_no_reports_s``;
2. ``huracan backtest`` on the month with the reports   -> ``month_s``, ``peak_mb`` (the larger of the two peaks);
3. ``huracan replay --data <month>`` (the whole local stack, as ``huracan demo`` replays it) -> ``stack_month_s``,
   ``speedup_vs_stack = stack_month_s / month_s`` (``--stack-seconds S`` supplies a figure measured earlier instead;
   the JSON line then says ``stack_same_run: false``);
4. year scale: the month's bars repeated back to back (``--year-months``, default 12; timestamps shifted so the
   copies follow each other, the price jumps once at each seam) through the in-process loop with every nightly
   training and no reports -> ``bars_per_s``, ``signals_per_s``, ``year_nights``.

The machine is shared: the script prints the load average before and after. Figures are wall seconds of whole
commands (data loading and imports included). ``--skip-year`` / ``--skip-stack`` shorten a run.

    nice -n 10 .venv/bin/python benchmarks/backtest.py [--stack-seconds S] [--year-months 12]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HURACAN = [sys.executable, "-m", "huracan.cli"]


def _run(argv: list[str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, done.stdout


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _year(months: int, tmp: Path) -> dict[str, float]:
    """The month repeated ``months`` times, in this process (timed from the loop's start, data prepared before)."""
    import numpy as np

    from huracan.backtest.outputs import write_outputs
    from huracan.backtest.run import run_backtest
    from huracan.core.bars import BarArrays
    from huracan.core.config import load_config
    from huracan.data import find_data_file, load_minute_bars
    from huracan.local.replay import build_records
    from huracan.signals.source import builtin
    from huracan.workspace import RunWorkspace

    month = load_minute_bars(find_data_file())
    span = int(month.ts[-1]) - int(month.ts[0]) + 60
    cols = {
        name: np.concatenate([getattr(month, name)] * months)
        for name in ("open", "high", "low", "close", "volume", "bid", "ask")
    }
    ts = np.concatenate([month.ts + k * span for k in range(months)])
    bars = BarArrays(ts=ts, **cols)
    t0 = time.perf_counter()
    signals = [r for r in build_records(bars, "BTC-PERP", builtin(bars)) if r.payload["type"] == "signal"]
    ws = RunWorkspace.prepare(tmp / "year", "year")
    config = load_config("demo")
    result = run_backtest({"BTC-PERP": bars}, signals, config=config, workspace=ws.root, reports=False)
    write_outputs(ws, result, config, {"BTC-PERP": bars})
    wall = time.perf_counter() - t0
    return {
        "year_bars": float(len(bars)),
        "year_signals": float(len(signals)),
        "year_nights": float(len(result.nights)),
        "year_s": wall,
        "year_nightly_s": result.timings_s.get("nightly", 0.0),
        "bars_per_s": len(bars) / wall,
        "signals_per_s": len(signals) / wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stack-seconds", type=float, help="the stack month measured earlier (skips running it)")
    ap.add_argument("--skip-stack", action="store_true")
    ap.add_argument("--skip-year", action="store_true")
    ap.add_argument("--year-months", type=int, default=12)
    args = ap.parse_args()
    from huracan.data import find_data_file

    data = str(find_data_file())
    load_before = os.getloadavg()
    figures: dict[str, float | bool | str | None] = {}
    with tempfile.TemporaryDirectory(prefix="huracan-bench-backtest-") as name:
        tmp = Path(name)
        wall, out = _run([*HURACAN, "backtest", "--data", data, "--no-reports", "--workspace", str(tmp / "a")], tmp)
        figures["month_no_reports_s"] = wall
        peak_a = _peak_mb()
        print(out.strip().splitlines()[-4] if out.strip() else "")
        wall, out = _run([*HURACAN, "backtest", "--data", data, "--workspace", str(tmp / "b")], tmp)
        figures["month_s"] = wall
        figures["peak_mb"] = max(peak_a, _peak_mb())
        lines = out.strip().splitlines()
        print("\n".join(lines[-5:]))
        summary = json.loads((tmp / "b" / "summary.json").read_text(encoding="utf-8"))
        figures["nights"] = float(summary["nights"])
        figures["signals"] = float(summary["signals"])
        figures["decisions"] = float(summary["decisions"])
        figures["shadow_trades"] = float(summary["shadow_trades"])
        timings = summary.get("timings_s") or {}
        figures["month_nightly_s"] = float(timings.get("nightly", 0.0))
        figures["month_reports_s"] = float(timings.get("summary", 0.0))
        figures["month_decide_resolve_s"] = float(timings.get("decide", 0.0) + timings.get("resolve", 0.0))
        # inside the nights: the job's own step timings (collect, train, register, ...), summed over the month
        steps: dict[str, float] = {}
        for night in json.loads((tmp / "b" / "sessions.json").read_text(encoding="utf-8")):
            for step, sec in (night.get("job_timings_s") or {}).items():
                if step != "total" and isinstance(sec, int | float):
                    steps[step] = steps.get(step, 0.0) + float(sec)
        for step, sec in steps.items():
            figures[f"nightly_{step}_s"] = sec
        if args.stack_seconds is not None:
            figures["stack_month_s"] = args.stack_seconds
            figures["stack_same_run"] = False
        elif not args.skip_stack:
            wall, _ = _run(
                [*HURACAN, "replay", "--data", data, "--no-progress", "--report-dir", str(tmp / "stack")], tmp
            )
            figures["stack_month_s"] = wall
            figures["stack_same_run"] = True
        if figures.get("stack_month_s"):
            figures["speedup_vs_stack"] = float(figures["stack_month_s"] or 0) / float(figures["month_s"] or 1)
        if not args.skip_year:
            figures.update(_year(args.year_months, tmp))
    figures["load_avg_before"] = load_before[0]
    figures["load_avg_after"] = os.getloadavg()[0]
    print(
        f"month: {figures['month_s']:.1f} s with daily reports, {figures['month_no_reports_s']:.1f} s without "
        f"({figures['nights']:.0f} nightly trainings: {figures['month_nightly_s']:.1f} s of the run; reports "
        f"{figures['month_reports_s']:.1f} s; deciding + resolving {figures['month_decide_resolve_s']:.1f} s); "
        f"peak {figures['peak_mb']:.0f} MB"
    )
    steps = {
        k[len("nightly_") : -2]: float(v)
        for k, v in figures.items()
        if k.startswith("nightly_") and k.endswith("_s") and isinstance(v, float)
    }
    if steps:
        print(
            "  inside the nights: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(steps.items(), key=lambda x: -float(x[1] or 0)))
        )
    if figures.get("stack_month_s"):
        print(
            f"stack replay of the same month: {figures['stack_month_s']:.0f} s -> backtest x"
            f"{figures['speedup_vs_stack']:.1f}"
            + ("" if figures.get("stack_same_run", True) else " (stack figure given)")
        )
    if "bars_per_s" in figures:
        print(
            f"year scale ({figures['year_bars']:,.0f} bars, {figures['year_signals']:,.0f} signals, "
            f"{figures['year_nights']:.0f} nights): {figures['year_s']:.0f} s, {figures['bars_per_s']:,.0f} bars/s, "
            f"{figures['signals_per_s']:,.0f} signals/s"
        )
    print(f"load average {figures['load_avg_before']:.1f} before, {figures['load_avg_after']:.1f} after")
    print(json.dumps({"benchmark": "backtest", "figures": figures}))


if __name__ == "__main__":
    main()
