"""``huracan demo``: a real month replayed end to end through the whole local stack.

The data comes from ``--data``, else ``$HURACAN_DATA``, else ``../shared/data`` beside the checkout, else
Binance's public data archive (cached); if none can be had the error says how to pass a file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from huracan.core.bars import BarArrays
from huracan.data import DEFAULT_MONTH, DataFileError, find_data_file, load_minute_bars
from huracan.local.keep import bar_days, finish_workspace, keep_run
from huracan.local.replay import BAR_SEC, build_records, merge_records
from huracan.local.runtime import DAY_S, IDLE_GAP_S, LocalRuntime, ReplayProgress
from huracan.observability.narrative import interval_text
from huracan.signals.inputs import RunInputs
from huracan.signals.inputs import symbol_from_path as symbol_from_path
from huracan.signals.source import builtin
from huracan.workspace import RunWorkspace

__all__ = ["DemoOptions", "DemoSummary", "resolve_data_path", "run_demo", "symbol_from_path"]

log = logging.getLogger(__name__)


@dataclass
class DemoOptions:
    data: Path | None = None
    #: a quote-bar file joined on ts (huracan.data.load_bars): bars carry real bid/ask, the spread gate uses them
    quotes: Path | None = None
    days: int | None = None
    profile: str = "demo"
    symbol: str | None = None
    #: daily reports and logs; None: the workspace's reports/
    report_dir: Path | None = None
    progress: bool = True
    planted_edge: bool = False
    #: where the run is kept (huracan.workspace); None: runs/<UTC timestamp>-<run_name>/
    workspace: Path | None = None
    run_name: str | None = None
    #: several symbols, the user's signals and settings (``huracan replay --data … --signals … --config …``);
    #: when given, ``data``/``quotes``/``days``/``symbol`` are already in it
    inputs: RunInputs | None = None


@dataclass
class DemoSummary:
    """The figures the demo prints at the end, computed from the tables."""

    data: str
    profile: str
    days: float
    records_sent: int
    bars: int
    signals: int
    decisions: int
    passed: int
    blocked: int
    blocked_by_gate: dict[str, int]
    gates_seen_passing: set[str]
    gates_seen_blocking: set[str]
    shadow_trades: int
    closed: int
    open_: int
    errors: int
    by_mode: dict[str, dict[str, float]]
    exit_reasons: dict[str, int]
    pnl_bps_gross: float
    pnl_bps_net: float
    good_blocks: int
    bad_blocks: int
    schedules_fired: dict[str, int]
    wall_s: float
    records_per_s: float
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_data_path(data: Path | None) -> Path:
    """``--data``, else ``$HURACAN_DATA``/``../shared/data`` (the FTX month), else a clear error."""
    if data is not None:
        if not data.is_file():
            raise DataFileError(
                f"{data}: no such file (pass --data FILE with OHLCV columns ts,open,high,low,close,volume)"
            )
        return data
    try:
        return find_data_file(DEFAULT_MONTH)
    except DataFileError as local_error:
        from huracan.local.download import download_default_month

        try:
            return download_default_month()
        except DataFileError as download_error:
            raise DataFileError(f"{local_error}\n{download_error}") from download_error


def _summarize(rt: LocalRuntime, data: str, profile: str, days: float, progress: ReplayProgress) -> DemoSummary:
    from huracan.adapters.observability_sources import decision_row, shadow_trade
    from huracan.adapters.settings import TableSettings
    from huracan.adapters.tables import bind_tables

    tables = bind_tables(TableSettings.from_env())
    items = list(tables.decisions.scan())
    decisions = [decision_row(i) for i in items]
    sources = Counter(str(i.regime_source or "rule") for i in items)
    trades = [shadow_trade(i) for i in tables.shadow_trades.scan()]
    blocked_by: Counter[str] = Counter()
    gates_pass: set[str] = set()
    gates_block: set[str] = set()
    good = bad = 0
    for d in decisions:
        for g in d.blocked_by or []:
            blocked_by[str(g)] += 1
        for name, res in d.gates.items():
            (gates_pass if res.passed else gates_block).add(name)
        cf = d.cf_outcome
        if not d.passed and cf in ("WIN", "LOSS"):
            good += cf == "LOSS"
            bad += cf == "WIN"
    by_mode: dict[str, dict[str, float]] = {}
    exits: Counter[str] = Counter()
    exits_by_mode: dict[str, set[str]] = {}
    gross = net = 0.0
    for t in trades:
        m = by_mode.setdefault(
            t.mode, {"trades": 0, "closed": 0, "wins": 0, "losses": 0, "breakeven": 0, "pnl_bps": 0.0}
        )
        m["trades"] += 1
        if t.status == "CLOSED" and t.actual_outcome not in (None, "NO_DATA"):
            m["closed"] += 1
            m["wins"] += t.actual_outcome == "WIN"
            m["losses"] += t.actual_outcome == "LOSS"
            m["breakeven"] += t.actual_outcome == "BREAKEVEN"
            m["pnl_bps"] += float(t.shadow_pnl_bps or 0.0)
            gross += float(t.shadow_pnl_bps or 0.0)
            net += float(t.shadow_pnl_net_bps or 0.0)
        if t.exit_reason:
            exits[str(t.exit_reason)] += 1
            exits_by_mode.setdefault(t.mode, set()).add(str(t.exit_reason))
    for m in by_mode.values():
        m["win_rate"] = m["wins"] / m["closed"] if m["closed"] else float("nan")
    by_symbol: dict[str, dict[str, float]] = {}
    for d in decisions:
        row = by_symbol.setdefault(d.symbol, dict.fromkeys(_SYMBOL_FIGURES, 0.0))
        row["decisions"] += 1
        row["passed"] += bool(d.passed)
    for t in trades:
        row = by_symbol.setdefault(t.symbol, dict.fromkeys(_SYMBOL_FIGURES, 0.0))
        row["shadow_trades"] += 1
        row["closed"] += t.status == "CLOSED"
        row["open"] += t.status == "OPEN"
        row["error"] += t.status == "ERROR"
        if t.status == "CLOSED" and t.actual_outcome not in (None, "NO_DATA"):
            row["wins"] += t.actual_outcome == "WIN"
            row["losses"] += t.actual_outcome == "LOSS"
            row["net_pnl_bps"] += float(t.shadow_pnl_net_bps or 0.0)
    fired = Counter(name for name, _ in rt.scheduler.fired)
    return DemoSummary(
        data=data,
        profile=profile,
        days=days,
        records_sent=progress.records_sent,
        bars=0,
        signals=len(decisions),
        decisions=len(decisions),
        passed=sum(1 for d in decisions if d.passed),
        blocked=sum(1 for d in decisions if not d.passed),
        blocked_by_gate=dict(blocked_by),
        gates_seen_passing=gates_pass,
        gates_seen_blocking=gates_block,
        shadow_trades=len(trades),
        closed=sum(1 for t in trades if t.status == "CLOSED"),
        open_=sum(1 for t in trades if t.status == "OPEN"),
        errors=sum(1 for t in trades if t.status == "ERROR"),
        by_mode=by_mode,
        exit_reasons=dict(exits),
        pnl_bps_gross=gross,
        pnl_bps_net=net,
        good_blocks=good,
        bad_blocks=bad,
        schedules_fired=dict(fired),
        wall_s=progress.wall_s,
        records_per_s=progress.records_per_s,
        extra={
            "exits_by_mode": exits_by_mode,
            "regime_by_detector": sum(n for k, n in sources.items() if k.startswith("detector")),
            "regime_detectors": sorted(k for k in sources if k.startswith("detector")),
            "by_symbol": by_symbol,
            "strategies": dict(Counter(str(i.strategy) for i in items)),
        },
    )


_SYMBOL_FIGURES = ("decisions", "passed", "shadow_trades", "closed", "open", "error", "wins", "losses", "net_pnl_bps")


def _hamilton(rt: LocalRuntime, bars: BarArrays, records: list[Any], config: Any) -> Any:
    """The Hamilton simulator, configured like a Hamilton deployment: API URL, HMAC key, model bucket."""
    import os

    from huracan.adapters.secrets import SecretCache
    from huracan.adapters.settings import AwsSettings
    from huracan.hamilton import HamiltonClient
    from huracan.local.hamilton_sim import HamiltonSimulator
    from huracan.registry import ModelRegistry

    key = SecretCache(AwsSettings.from_env()).hmac_key(os.environ["HAMILTON_HMAC_SECRET_ARN"])
    registry = ModelRegistry(base_path=f"s3://{os.environ['MODEL_BUCKET']}/models")
    sigv4 = None
    if rt.hamilton is not None:  # IAM enforced: Hamilton signs as its own role (the stack's HamiltonPolicy)
        from huracan.hamilton.sigv4 import SigV4Signer

        sigv4 = SigV4Signer(rt.hamilton.credentials, rt.aws.region)
    client = HamiltonClient(rt.api.url, key, registry, clock=rt.clock.now, sleep=lambda s: None, sigv4=sigv4)
    return HamiltonSimulator(client, bars, records, config)


def _as_hamilton(rt: LocalRuntime, hook: Callable[[float], None]) -> Callable[[float], None]:
    """Hamilton's reads (the published model, its signature) and posts run as Hamilton's role."""
    if rt.layer is None or rt.hamilton is None:
        return hook
    layer, identity = rt.layer, rt.hamilton

    def run(t: float) -> None:
        with layer.scope(identity, None):
            hook(t)

    return run


def _download_reports(report_dir: Path) -> list[str]:
    """The daily summaries the 23:00 function wrote to S3, copied beside the logs, with an index."""
    import os

    import boto3

    from huracan.observability.report import render_index

    s3 = boto3.client("s3")
    bucket = os.environ["MODEL_BUCKET"]
    days: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="reports/"):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            parts = key.split("/")
            if len(parts) != 3 or parts[2] not in ("index.html", "metrics.json"):
                continue
            target = report_dir / parts[1] / parts[2]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            if parts[2] == "index.html":
                days.append(parts[1])
    days.sort()

    def headline(day: str) -> str:
        try:
            doc = json.loads((report_dir / day / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "daily summary"
        return str(doc.get("headline") or "daily summary")

    (report_dir / "index.html").write_text(render_index((d, headline(d)) for d in days), encoding="utf-8")
    return days


def _progress_postfix(p: ReplayProgress, nights: Sequence[Any]) -> str:
    """Virtual time, throughput, shadow trades still waiting on their timer, models the nights published."""
    from huracan.core.timeutil import from_epoch_s

    published = sum(1 for n in nights if n.status == "published" or getattr(n, "promoted", ()))
    return (
        f"virtual {from_epoch_s(p.virtual_time)[:16]}Z | {p.records_per_s:,.0f} rec/s | "
        f"open trades {p.timers_held} | models published {published}"
    )


def _progress_printer(total: int, out: TextIO, nights: Sequence[Any] = ()) -> Callable[[ReplayProgress], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="rec", file=out, dynamic_ncols=True, mininterval=0.5)

    def update(p: ReplayProgress) -> None:
        bar.n = p.records_sent
        bar.set_postfix_str(_progress_postfix(p, nights))
        bar.refresh()
        if p.records_sent >= p.records_total:
            bar.close()

    return update


def run_demo(opts: DemoOptions, out: TextIO = sys.stdout) -> DemoSummary:
    """Replay the data through the local stack and return the figures (also printed by the CLI)."""
    t_start = time.perf_counter()
    from huracan.core.config import load_config

    planted = None
    config = opts.inputs.config if opts.inputs is not None else load_config(opts.profile)
    if opts.inputs is not None:
        inp = opts.inputs
        bars_by = inp.bars
        source = inp.signals if inp.signals is not None else builtin
        records = merge_records([build_records(b, sym, source(b, sym)) for sym, b in sorted(bars_by.items())])
        label = (
            ", ".join(f"{sym}={p}" for sym, p in sorted(inp.paths.items()))
            if len(bars_by) > 1
            else str(next(iter(inp.paths.values())))
        )
        if inp.signals is not None:
            label += f" with signals {inp.signals_file.path if inp.signals_file else ''}"
    else:
        path = resolve_data_path(opts.data)
        one = load_minute_bars(path, opts.days, quotes=opts.quotes)
        symbol = opts.symbol or symbol_from_path(path)
        bars_by = {symbol: one}
        label = str(path)
        if opts.planted_edge:
            from huracan.local.planted_signals import PlantedSignals

            planted = PlantedSignals(config=load_config(opts.profile)).fit(one)
            records = planted.records(one, symbol)
        else:
            records = build_records(one, symbol, builtin(one, symbol))
    # The Hamilton simulator trades one symbol (the first): its harsher fills need that symbol's bars
    first_symbol = sorted(bars_by)[0]
    bars = bars_by[first_symbol]
    user_signals = opts.inputs is not None and opts.inputs.signals is not None
    ws = _prepare_workspace(opts, "+".join(sorted(bars_by)))
    report_dir = opts.report_dir or ws.reports
    nights: list[Any] = []
    params = {"HuracanProfile": config.profile, "SchedulesEnabled": "true"}
    if opts.inputs is not None and opts.inputs.config_path is not None:
        # the functions read the same file, as a deployed stack's do (HuracanConfig → HURACAN_CONFIG)
        params["HuracanConfig"] = str(Path(opts.inputs.config_path).resolve())
    if user_signals:
        # the user's signals are what the engine learns from: no built-in signals anywhere in the stack
        params["StrategiesEnabled"] = "false"
    report_dir.mkdir(parents=True, exist_ok=True)
    log_path = report_dir / "lambda-logs.jsonl"
    # The functions log (Powertools JSON) and emit EMF metrics on stdout, as in Lambda; locally that stream
    # goes to a file, the way CloudWatch Logs would hold it, and the console keeps the demo's own output.
    with (
        open(log_path, "w", encoding="utf-8") as lambda_log,
        contextlib.redirect_stdout(lambda_log),
        LocalRuntime(parameters=params, skip_schedules={"IngestMarketFunctionEveryMinute"}, serve_api=True) as rt,
    ):
        print(f"Local stack from template.yaml on {rt.aws.endpoint}; stand-ins:", file=out)
        for line in rt.stack.describe() if rt.stack else []:
            print(f"  - {line}", file=out)
        print(_watch_line(rt), file=out)
        if user_signals:
            _load_signal_history(opts.inputs, out)
        hamilton = _hamilton(rt, bars, [r for r in records if r.partition_key == first_symbol], config)
        rt.window_hooks.append(_as_hamilton(rt, hamilton.on_window))
        from huracan.learning.nightly import container_task

        # The nightly Fargate task, run in-process at each virtual midnight with the task definition's env.
        # Its historical signals: the planted source, the built-in strategies, or (StrategiesEnabled=false)
        # the user's signal history it reads from the bucket, as on a deployed stack.
        rt.container_tasks["TrainingCluster"] = container_task(
            rt, signal_source=planted if planted is not None else None, on_result=nights.append
        )
        on_progress = _progress_printer(len(records), sys.stderr, nights) if opts.progress else None
        progress = rt.replay(records, on_progress=on_progress)
        # Timers whose window ends after the data stay OPEN (reported), rather than resolving on a guess.
        rt.finish(records[-1].publish_at)
        days, span_days = _days_of(bars_by)
        summary = _summarize(rt, label, config.profile, days, progress)
        summary.extra["span_days"] = span_days
        summary.extra["config_version"] = config.version
        if opts.inputs is not None:
            summary.notes += opts.inputs.notes
            summary.extra["signals_outside_span"] = opts.inputs.outside_span
        summary.extra["handler_path_records_per_s"] = rt.drained / rt.drain_s if rt.drain_s else 0.0
        summary.extra["wall_breakdown_s"] = {
            "stream -> evaluate_signals": rt.drain_s,
            "shadow-trade timers": rt.timers_s,
            **{f"schedule {k}": v for k, v in rt.scheduler.wall_s.items()},
        }
        summary.extra["gc_s"] = rt.gc.seconds
        summary.extra["hamilton"] = hamilton.stats
        summary.extra["schedules_failed"] = list(rt.scheduler.failed)
        summary.extra["schedules_skipped"] = dict(rt.scheduler.skipped)
        summary.extra["nights"] = [n.line() for n in nights]
        if planted is not None:
            summary.extra["planted"] = planted.truth(bars).describe()
        summary.extra["reports"] = _download_reports(report_dir)
        t_keep = time.perf_counter()
        summary.extra["run"] = keep_run(
            ws,
            bars=bars_by,
            sessions=summary.extra["nights"],
            extra={"data": label, "profile": config.profile, "hamilton": asdict(hamilton.stats)},
        )
    summary.bars = sum(len(b) for b in bars_by.values())
    summary.extra["lambda_log"] = str(log_path)
    summary.extra["report_dir"] = str(report_dir)
    (report_dir / "training_sessions.json").write_text(
        json.dumps(summary.extra.get("nights", []), indent=2, default=str), encoding="utf-8"
    )
    summary.extra["workspace"] = str(ws.root)
    summary.extra["run_report"] = str(finish_workspace(ws, report_dir))
    summary.extra["wall_breakdown_s"]["keeping the run (workspace, run report)"] = time.perf_counter() - t_keep
    summary.wall_s = time.perf_counter() - t_start
    return summary


def _days_of(bars_by: dict[str, BarArrays]) -> tuple[float, float]:
    """(days of data of the longest symbol, calendar days from the first bar of any to the end of the last)."""
    per = [bar_days(b) for b in bars_by.values()]
    first = min(int(b.ts[0]) for b in bars_by.values() if len(b))
    last = max(int(b.ts[-1]) for b in bars_by.values() if len(b))
    return max(d for d, _ in per), (last - first + BAR_SEC) / 86400


def _watch_line(rt: LocalRuntime) -> str:
    """How to watch this run from another shell. With IAM enforced the emulator accepts only its own users'
    keys, so the line carries the local platform user's: keys of this in-memory emulator, gone when it stops."""
    stack = rt.stack.stack_name if rt.stack else "huracan-local"
    command = f"huracan feed --stack {stack} --endpoint {rt.aws.endpoint}"
    if rt.layer is None:
        return f"Watch it from another shell: {command}"
    c = rt.layer.platform.credentials
    return (
        "Watch it from another shell (the keys are this emulator's, valid until it stops): "
        f"AWS_ACCESS_KEY_ID={c.access_key} AWS_SECRET_ACCESS_KEY={c.secret_key} {command}"
    )


def _prepare_workspace(opts: DemoOptions, symbol: str) -> RunWorkspace:
    """The run's workspace, made before the stack starts so a folder that already holds a run is refused first."""
    name = opts.run_name or ("planted-edge" if opts.planted_edge else symbol)
    return RunWorkspace.prepare(opts.workspace, name)


def _load_signal_history(inputs: RunInputs | None, out: TextIO) -> None:
    """The user's signals into the stack's signal archive, as ``huracan backfill --signals`` does.

    The nightly job then reads them as its historical rows (``StrategiesEnabled=false``): only signals
    whose outcome window has ended by the run time are labelled, so nothing from the future trains it.
    """
    import os

    from huracan.adapters.signal_archive import SignalArchive

    assert inputs is not None and inputs.signals is not None
    rows = [s for sigs in inputs.signals.by_symbol.values() for s in sigs]
    written = SignalArchive(os.environ["MODEL_BUCKET"]).put(rows)
    print(f"  signal history: {len(rows):,} signals in {len(written)} day partition(s) of the bucket", file=out)


def print_summary(s: DemoSummary, out: TextIO = sys.stdout) -> None:
    """The figures a trader reads at the end of the demo, with what they mean."""
    p = print
    p("", file=out)
    p(f"Huracan demo — {s.data}", file=out)
    if s.extra.get("config_version"):
        p(f"  settings version {s.extra['config_version']} (stored on every decision and shadow trade)", file=out)
    p(
        f"  profile {s.profile}: {_days_text(s)}, {s.bars:,} bars, {s.records_sent:,} records in {s.wall_s:.0f} s "
        f"({s.records_per_s:,.0f} records/s through the whole stack, "
        f"{s.extra.get('handler_path_records_per_s', 0):,.0f} records/s through the stream -> handler path)",
        file=out,
    )
    breakdown = s.extra.get("wall_breakdown_s") or {}
    if breakdown:
        parts = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(breakdown.items(), key=lambda kv: -kv[1]))
        gc_s = s.extra.get("gc_s")
        within = f" (garbage collection {gc_s:.0f} s of it)" if isinstance(gc_s, float) else ""
        p(f"  where the time went: {parts}{within}", file=out)
    p(f"  signals {s.signals:,}: passed {s.passed:,}, blocked {s.blocked:,}", file=out)
    detectors = s.extra.get("regime_detectors") or []
    p(
        f"  regime: the trained detector classified {s.extra.get('regime_by_detector', 0):,} signals "
        f"({len(detectors)} published version(s) served), the rule the rest",
        file=out,
    )
    for g, n in sorted(s.blocked_by_gate.items(), key=lambda x: -x[1]):
        p(f"    blocked by {g:<16} {n:>6,}", file=out)
    p(
        f"  shadow trades {s.shadow_trades:,}: closed {s.closed:,}, open {s.open_:,}, error {s.errors:,}; exits {s.exit_reasons}",
        file=out,
    )
    for mode, m in sorted(s.by_mode.items()):
        p(
            f"    {mode:<7} trades {int(m['trades']):>5}  win rate {m['win_rate']:.1%}  "
            f"(W {int(m['wins'])} / L {int(m['losses'])} / BE {int(m['breakeven'])})  gross P&L {m['pnl_bps']:+.0f} bps",
            file=out,
        )
    by_symbol = s.extra.get("by_symbol") or {}
    if len(by_symbol) > 1:
        for sym, f in sorted(by_symbol.items()):
            p(
                f"    {sym:<12} decisions {int(f['decisions']):>5}  passed {int(f['passed']):>5}  "
                f"shadow trades {int(f['shadow_trades']):>5} (closed {int(f['closed'])}, open {int(f['open'])}, "
                f"error {int(f['error'])})  W {int(f['wins'])} / L {int(f['losses'])}  net {f['net_pnl_bps']:+.0f} bps",
                file=out,
            )
    gates = sorted(s.gates_seen_passing | s.gates_seen_blocking)
    never = [g for g in gates if g not in s.gates_seen_passing or g not in s.gates_seen_blocking]
    p(
        f"  paths: {len(gates) - len(never)}/{len(gates)} gates both passed and blocked"
        + (f" (not: {', '.join(never)})" if never else "")
        + "; exits by mode "
        + ", ".join(f"{m}: {sorted(x)}" for m, x in sorted(s.extra.get("exits_by_mode", {}).items())),
        file=out,
    )
    p(f"  shadow P&L: gross {s.pnl_bps_gross:+.0f} bps, net of simulated costs {s.pnl_bps_net:+.0f} bps", file=out)
    p(
        f"  counterfactual blocks: good (blocked a loser) {s.good_blocks:,}, bad (blocked a winner) {s.bad_blocks:,}",
        file=out,
    )
    p(f"  schedules fired: {s.schedules_fired}", file=out)
    if s.extra.get("schedules_skipped"):
        p(
            f"  schedules skipped in gaps of the data (more than {IDLE_GAP_S // DAY_S} days without a record; "
            f"they run until the first midnight after the last record): {s.extra['schedules_skipped']}",
            file=out,
        )
    if s.extra.get("schedules_failed"):
        p(f"  scheduled runs that failed (see lambda-logs.jsonl): {s.extra['schedules_failed']}", file=out)
    nights = s.extra.get("nights") or []
    if nights:
        p(
            "  nightly training, dated as in the reports by the day it ran at 00:00 UTC (on the data up to the day "
            "before): out-of-sample AUC / ECE with 95% intervals, verdict:",
            file=out,
        )
        for n in nights:

            def fmt(e: Any) -> str:
                if not e or e[0] is None:
                    return "—"
                return f"{e[0]:.3f}{interval_text(e[0], (e[1], e[2]) if e[1] is not None else None, '.3f')}"

            lift = (n.get("lift") or {}).get("all")
            beside = "" if not lift else f"  lift over cost baseline {lift[0]:+.3f} [{lift[1]:+.3f}, {lift[2]:+.3f}]"
            p(
                f"    {n.get('ran_on', n['day'])}  n={n['n_samples']:>6,}  AUC {fmt(n['auc'])}{beside}  "
                f"ECE {fmt(n['ece'])}  {n['status']}: {n['summary'][:90]}",
                file=out,
            )
            for c in n.get("challengers") or []:
                p(
                    f"      challenger {str(c['model_id'])[:19]}… night {c['nights']}: {c['action']} — "
                    f"{(c.get('reasons') or [''])[0][:150]}",
                    file=out,
                )
        published = [n for n in nights if n["status"] == "published" or n.get("promoted")]
        if not published:
            p(
                "  no model was promoted: no challenger beat the cost baseline offline and then what gates today on "
                "the decisions after it was trained (see reasons in training_sessions.json); that is the honest "
                "result on these signals",
                file=out,
            )
    if s.extra.get("planted"):
        p(f"  planted edge: {s.extra['planted']}", file=out)
    h = s.extra.get("hamilton")
    if h is not None:
        if h.adoptions:
            p(
                f"  Hamilton adopted {len(h.adoptions)} model(s); live trades {h.traded}, outcomes posted {h.posted} "
                f"(wins {h.wins}, net {h.pnl_bps:+.0f} bps), rejected {h.rejected}",
                file=out,
            )
        else:
            p(f"  Hamilton: no model was published, so it traded nothing ({h.signals_seen:,} signals seen)", file=out)
    reports = s.extra.get("reports") or []
    if reports:
        p(
            f"  daily reports: {len(reports)} days, index at {Path(s.extra.get('report_dir', '.')) / 'index.html'}",
            file=out,
        )
    if s.extra.get("workspace"):
        ws = Path(s.extra["workspace"])
        run = s.extra.get("run") or {}
        p(
            f"  run kept in {ws}: summary.json, trades.csv, decisions.parquet, models/ "
            f"({run.get('models_published', 0)} published, {run.get('models_candidates', 0)} candidates; "
            f"huracan models --base-path {ws / 'models'} list)",
            file=out,
        )
    if s.extra.get("run_report"):
        p(f"  whole-run report: {s.extra['run_report']}", file=out)
    for note in s.notes:
        p(f"  note: {note}", file=out)


def _days_text(s: DemoSummary) -> str:
    """Days that hold data, and the calendar span when the data has gaps (8 days spread over 547 are 8 days)."""
    span = float(s.extra.get("span_days") or 0.0)
    text = f"{s.days:.1f} days of data"
    return text + (f" (spread over {span:.0f} calendar days)" if span > s.days + 1 else "")
