"""Daily report rendering time per day (render_report: 7 SVG plots + the HTML), before vs after.

"After" is the current :func:`huracan.observability.report.render_report`; "before" is the same function
as it was at commit ``a8900f7`` (pyplot figures, ``savefig(bbox_inches="tight")`` drawing every plot
twice, ``tight_layout`` on the sessions plot), loaded from git into this process. Both render the same
summaries, interleaved round by round so a noisy shared machine hurts both alike; figures are medians.

The summaries are month-end days shaped like the demo's 2022-01-31 page: ~120 signals a day, a
seven-day pass-rate trend, 60 training sessions (two a night, one with AUC/ECE and one skipped), a
day of shadow and live trades. They are built from the seeded synthetic records of
:mod:`huracan.observability.sample` (the render tests' helper), so no market data is needed.

Run: ``.venv/bin/python benchmarks/report_render.py [--rounds 5]``; the last line is the JSON figure record.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import time
import types
from collections.abc import Callable
from pathlib import Path

from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.observability import report
from huracan.observability.health import HealthInputs
from huracan.observability.insight_aggregator import DailySummary, build_daily_summary
from huracan.observability.records import DecisionRow, ShadowTrade, TrainingSessionRecord
from huracan.observability.sample import sample_records

BASELINE_COMMIT = "a8900f7"  # last commit with the two-draw renderer
DAYS = ("2022-01-27", "2022-01-28", "2022-01-29", "2022-01-30", "2022-01-31")
REPO = Path(__file__).resolve().parent.parent


def month_summaries(days: tuple[str, ...] = DAYS) -> list[DailySummary]:
    """One summary per day from a pooled month of synthetic records (sample_records covers 3 days each)."""
    t_last = epoch_s(f"{days[-1]}T00:00:00Z")
    decisions: dict[str, DecisionRow] = {}
    shadow: dict[str, ShadowTrade] = {}
    nightly: dict[str, TrainingSessionRecord] = {}
    recs = {}
    for back in range(0, 38, 3):
        day = from_epoch_s(t_last - back * 86400)[:10]
        r = recs[day] = sample_records(day, seed=7 + back)
        for d in r.decisions:
            decisions.setdefault(d.signal_id, d)
        for t in r.shadow:
            shadow.setdefault(t.shadow_id, t)
        for s in r.sessions:
            nightly.setdefault(s.date, s)
    out = []
    for day in days:
        t_day = epoch_s(f"{day}T00:00:00Z")
        week = {from_epoch_s(t_day - k * 86400)[:10] for k in range(7)}
        sessions: list[TrainingSessionRecord] = []
        for date in sorted(d for d in nightly if d <= day)[-30:]:
            s = nightly[date]
            skipped = dataclasses.replace(
                s, auc=None, ece=None, brier=None, auc_ci=None, ece_ci=None, brier_ci=None, verdict="not ready",
                model_id=None, created_at=f"{date}T00:05:00Z",
            )  # fmt: skip
            sessions += [skipped, s]
        latest = recs[max(d for d in recs if d <= days[-1])]
        out.append(
            build_daily_summary(
                day,
                f"{day}T23:00:00Z",
                decisions=[d for d in decisions.values() if d.day in week],
                shadow=list(shadow.values()),
                live=latest.live,
                sessions=sessions,
                exports=latest.exports,
                health_inputs=HealthInputs(iterator_age_ms=850.0, records_behind=0, queue_depths={}),
            )
        )
    return out


def baseline_renderer() -> Callable[[DailySummary], str] | None:
    """render_report as it was at BASELINE_COMMIT, or None when git or the commit is not there."""
    try:
        src = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{BASELINE_COMMIT}:huracan/observability/report.py"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    mod = types.ModuleType("report_before")
    exec(compile(src, f"{BASELINE_COMMIT}:report.py", "exec"), mod.__dict__)
    fn: Callable[[DailySummary], str] = mod.render_report
    return fn


def timed(fn: Callable[[DailySummary], str], s: DailySummary) -> tuple[float, float, str]:
    w0, c0 = time.perf_counter(), time.process_time()
    page = fn(s)
    return time.perf_counter() - w0, time.process_time() - c0, page


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    summaries = month_summaries()
    before = baseline_renderer()
    renderers: dict[str, Callable[[DailySummary], str]] = {"after": report.render_report}
    if before is not None:
        renderers["before"] = before
    else:
        print(f"baseline {BASELINE_COMMIT} not available (no git history): timing 'after' only")
    for fn in renderers.values():  # warm-up: imports, font cache, first-figure costs
        fn(summaries[0])
    wall: dict[str, list[float]] = {k: [] for k in renderers}
    cpu: dict[str, list[float]] = {k: [] for k in renderers}
    for r in range(args.rounds):
        order = list(renderers) if r % 2 == 0 else list(reversed(renderers))
        for s in summaries:
            for name in order:
                w, c, page = timed(renderers[name], s)
                wall[name].append(w)
                cpu[name].append(c)
                assert all(f'<figure id="{pid}" class="plot"><svg' in page for pid in report.PLOT_IDS), name
    n = len(summaries) * args.rounds
    print(f"{len(summaries)} days x {args.rounds} rounds = {n} renders each; median per day (wall / CPU):")
    med = {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in renderers}
    for k, (w, c) in med.items():
        print(f"  {k:6s} {w * 1e3:7.1f} ms / {c * 1e3:7.1f} ms   (min wall {min(wall[k]) * 1e3:.1f} ms)")
    figures: dict[str, float] = {
        "after_ms_per_day": round(med["after"][0] * 1e3, 1),
        "after_cpu_ms_per_day": round(med["after"][1] * 1e3, 1),
    }
    if "before" in med:
        speedup, cpu_speedup = med["before"][0] / med["after"][0], med["before"][1] / med["after"][1]
        saved = 31 * (med["before"][0] - med["after"][0])
        print(f"speed-up {speedup:.2f}x wall, {cpu_speedup:.2f}x CPU; a 31-day demo saves ~{saved:.1f} s")
        figures |= {
            "before_ms_per_day": round(med["before"][0] * 1e3, 1),
            "before_cpu_ms_per_day": round(med["before"][1] * 1e3, 1),
            "speedup": round(speedup, 2),
            "cpu_speedup": round(cpu_speedup, 2),
            "month_s_saved": round(saved, 1),
        }
    print(json.dumps({"benchmark": "report_render", "figures": figures}))


if __name__ == "__main__":
    main()
