"""``huracan backtest``: the engine's learning loop in one process, on whole arrays, with no AWS and no HTTP.

The stack replay (``huracan replay``) moves every bar and signal through Kinesis, DynamoDB, Step Functions and
EventBridge on an emulator; that proves the deployed wiring and takes minutes a month. The figures themselves come
from functions that need none of it, and this driver calls exactly those:

- every signal: :meth:`SignalService.decide <huracan.service.evaluate.SignalService.decide>` (features of the last
  ``WINDOW`` bars, the served regime detector or the rule, the served champion's probability, the six gates, the
  paper trade of a pass), the method the evaluate-signals handler decides with;
- every shadow trade at its ``timeout_at``: :func:`~huracan.service.resolve.terms_of` and
  :func:`~huracan.service.resolve.resolve_path` on the bars published by then, as the resolver Lambda;
- every 23:00: the daily summary's counterfactual pass (and, unless ``reports=False``, its page);
- every 00:00: :func:`~huracan.learning.nightly.run_nightly`, the function the Fargate task runs, publishing to a
  folder registry in the workspace; the next day's signals are served by what it published, loaded and verified by
  the same :class:`~huracan.serving.provider.RegistryModelProvider` (ONNX) the Lambda uses.

What makes it fast is batching, not a second implementation: the model can change only at midnight, so each day's
signals are decided in one call (one feature matrix, one model call, one regime call), trades are resolved from
arrays already in memory, and the tables are dictionaries (:class:`~huracan.backtest.book.MemoryBook`).

Time is the records' own. A bar is published at its close (``ts + BAR_SEC``); a signal at its ``publish_at`` (the
stream record's). A schedule at time ``E`` runs after every record published at or before ``E`` and every timer due
by then, as the local runtime orders them; the signals of a day are decided before that day's midnight training.
Where the data stops for more than two days the schedules inside the gap are skipped as the replay skips them
(the runtime's ``IDLE_GAP_S`` rule).

Inherent differences from the stack, all bookkeeping: no Hamilton simulator (no live outcomes), no archive
compaction step, no idempotency or dead-letter paths (a malformed signal is counted and reported instead), wall-clock
fields (the session's timings) differ, and a trade whose price path is still incomplete when its timer fires (only
possible inside a gap in the data) is closed as NO_DATA at once, where the stack's state machine would retry.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from huracan.backtest.book import MemoryBook
from huracan.core.bars import BarArrays
from huracan.core.config import EngineConfig
from huracan.core.features import BAR_SEC, WINDOW, BarWindows
from huracan.core.records import InvalidRecord, Signal, parse_record
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.learning.nightly import NightlyPorts, NightlyResult, code_git_sha, run_nightly
from huracan.learning.pipeline import TrainingConfig
from huracan.local.replay import StreamRecord
from huracan.registry.registry import ModelRegistry
from huracan.service.evaluate import Evaluated, SignalService, _signal_ready, resolve_at
from huracan.service.resolve import CLOSED, close_columns, resolve_path, terms_of
from huracan.serving.challengers import RegistryChallengerProvider
from huracan.serving.onnx_export import onnx_artifacts
from huracan.serving.provider import RegistryModelProvider
from huracan.serving.regime import RegistryRegimeProvider
from huracan.signals.source import SignalSource, builtin

__all__ = ["DAY_S", "Backtest", "BacktestResult", "run_backtest", "schedule_times", "signal_windows"]

log = logging.getLogger(__name__)

DAY_S = 86_400
HOUR_S = 3_600
SUMMARY_AT_S = 23 * HOUR_S  # DailySummaryFunction's cron(0 23 * * ? *)
#: the replay's gap rule (huracan.local.runtime.IDLE_GAP_S); a constant here so the backtest does not import moto
IDLE_GAP_S = 2 * DAY_S


@dataclass
class BacktestResult:
    """What a backtest did: the book (every record), the nights, the counts and where the time went."""

    book: MemoryBook
    nights: list[NightlyResult]
    first_publish: int
    last_publish: int
    signals: int
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (signal_id or index, reason)
    schedules_fired: dict[str, int] = field(default_factory=dict)
    schedules_skipped: dict[str, int] = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)


class _Log:
    """The service's log sink on the standard logger (the handler's is Powertools')."""

    def info(self, msg: str, *, extra: Mapping[str, object]) -> None:
        log.info("%s %s", msg, dict(extra))

    def warning(self, msg: str, *, extra: Mapping[str, object]) -> None:
        log.warning("%s %s", msg, dict(extra))

    def error(self, msg: str, *, extra: Mapping[str, object]) -> None:
        log.error("%s %s", msg, dict(extra))


@dataclass(frozen=True)
class _NightSettings:
    """What ``run_nightly`` reads from its settings when its ports are given: the run's profile and code version.

    The git SHA is asked once per backtest; the job would otherwise ask ``git`` for it twice a night.
    """

    profile: str
    git_sha: str
    strategies_enabled: bool


class _NoDeadLetters:
    def park(self, records: Sequence[Any]) -> None:
        raise TypeError("the backtest reports malformed signals itself; nothing is parked")


class _NoTimers:
    def start(self, timer: Any) -> bool:
        raise TypeError("the backtest resolves trades at their timeout itself; no timer is started")


class _FolderTrainingStore:
    """The nightly's report port: ``training/<day>/report.json`` in the workspace (S3 in the stack)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put_report(self, day: str, doc: Mapping[str, Any], name: str = "report.json") -> str:
        path = self.root / day / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, sort_keys=True, indent=2, default=str), encoding="utf-8")
        return str(path)

    def announce(self, model_id: str, metrics: Mapping[str, Any]) -> str | None:
        return None  # no SNS topic: the night's result carries the model id

    def put_models_exported(self, count: int, at: str) -> None:
        return None  # no CloudWatch: the night's status says it

    def put_nightly_health(self, at: str, *, failed: bool, archive_backlog_days: int | None = None) -> None:
        return None  # no CloudWatch alarms in a backtest: the night's status says whether it failed


class _FolderReports:
    """The daily summary's page sink: ``reports/<day>/index.html`` and ``metrics.json``, as the S3 store lays them out."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put_day(self, day: str, page: str, metrics_doc: dict[str, Any]) -> str:
        folder = self.root / day
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text(page, encoding="utf-8")
        (folder / "metrics.json").write_text(json.dumps(metrics_doc, sort_keys=True, indent=2), encoding="utf-8")
        return str(folder / "index.html")


def schedule_times(publish_times: Sequence[int] | np.ndarray) -> tuple[list[tuple[int, str]], dict[str, int]]:
    """The 23:00 summaries and 00:00 trainings the replay fires for records published at ``publish_times``.

    From the first record (exclusive) to the last (inclusive); inside a gap of more than ``IDLE_GAP_S`` only those
    up to the first midnight at or after the gap's last record run, the rest are counted as skipped
    (:meth:`huracan.local.runtime.LocalRuntime.skip_gap`).
    """
    t = np.unique(np.asarray(publish_times, dtype=np.int64))
    if len(t) == 0:
        return [], {}
    start, end = int(t[0]) - 1, int(t[-1])
    events: list[tuple[int, str]] = []
    day = start - start % DAY_S
    while day <= end + DAY_S:
        for at, name in ((day, "nightly"), (day + SUMMARY_AT_S, "summary")):
            if start < at <= end:
                events.append((at, name))
        day += DAY_S
    events.sort()
    gaps = np.flatnonzero(np.diff(t) > IDLE_GAP_S)
    skipped: dict[str, int] = {}
    keep: list[tuple[int, str]] = []
    for at, name in events:
        inside = False
        for g in gaps.tolist():
            last, resume = int(t[g]), int(t[g + 1]) - 1
            if -(-last // DAY_S) * DAY_S < at <= resume:
                inside = True
                break
        if inside:
            skipped[name] = skipped.get(name, 0) + 1
        else:
            keep.append((at, name))
    return keep, skipped


def window_ends(bars: BarArrays, signal_ts: np.ndarray) -> np.ndarray:
    """Per signal, how many bars had closed by its time (``open + BAR_SEC <= ts``): the handler's rule."""
    t = np.asarray(signal_ts, dtype=np.float64) - BAR_SEC
    return np.searchsorted(bars.ts, t, side="right").astype(np.int64)


def signal_windows(bars: BarArrays, end: np.ndarray) -> BarWindows:
    """The last ``WINDOW`` bars before each window end (:func:`window_ends`), as the handler gathers them.

    Shorter histories are NaN-padded at the front exactly as :meth:`BarWindows.from_bars` pads them, so a signal in
    the first hour gets the same all-NaN feature row on both paths.
    """
    end = np.asarray(end, dtype=np.int64)
    idx = end[:, None] + np.arange(-WINDOW, 0, dtype=np.int64)
    missing = idx < 0
    safe = np.where(missing, 0, idx)

    def take(col: np.ndarray) -> np.ndarray:
        out = np.asarray(col, dtype=np.float64)[safe]
        out[missing] = np.nan
        return out

    has = end > 0
    last = np.where(has, end - 1, 0)
    return BarWindows(
        high=take(bars.high),
        low=take(bars.low),
        close=take(bars.close),
        volume=take(bars.volume),
        ts_last=np.where(has, bars.ts[last], 0).astype(np.int64),
        bid_last=np.where(has, bars.bid[last], np.nan),
        ask_last=np.where(has, bars.ask[last], np.nan),
    )


def _concat_windows(parts: Sequence[BarWindows]) -> BarWindows:
    if len(parts) == 1:
        return parts[0]
    names = ("high", "low", "close", "volume", "ts_last", "bid_last", "ask_last")
    return BarWindows(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})


class Backtest:
    """One backtest: the book, the served models, the service that decides, and the loop over virtual time."""

    def __init__(
        self,
        bars: Mapping[str, BarArrays],
        signals: Sequence[StreamRecord],
        *,
        config: EngineConfig,
        workspace: Path,
        reports: bool = True,
        training: TrainingConfig | None = None,
        signal_source: SignalSource | None = builtin,
        lookback_days: int = 30,
        on_night: Callable[[NightlyResult], None] | None = None,
    ) -> None:
        self.config = config
        self.workspace = Path(workspace)
        self.reports = reports
        self.training = training
        self.signal_source = signal_source
        self.lookback_days = lookback_days
        self.on_night = on_night
        self.book = MemoryBook(bars)
        self.registry = ModelRegistry(str(self.workspace / "models"), extra_artifacts=onnx_artifacts)
        # the evaluate Lambda's providers on the run's folder registry, re-checking latest.json on every call
        # (the local runtime's MODEL_REFRESH_SECONDS=0): a model published at midnight serves the next signal
        inputs = config.model_features  # the Lambda's columns under these settings (extra_features included)
        self.model_provider = RegistryModelProvider(self.registry, refresh_seconds=0, input_features=inputs)
        self.regime_provider = RegistryRegimeProvider(self.registry, refresh_seconds=0, input_features=inputs)
        # and the live challengers, scored in shadow as the Lambda scores them (their probabilities on the decision)
        self.challenger_provider = RegistryChallengerProvider(self.registry, refresh_seconds=0, input_features=inputs)
        self.service = SignalService(
            store=self.book,
            dead_letters=_NoDeadLetters(),
            timers=_NoTimers(),
            config=config,
            log=_Log(),
            model_provider=self.model_provider,
            regime_provider=self.regime_provider,
            challenger_provider=self.challenger_provider,
        )
        self.night_settings = _NightSettings(config.profile, code_git_sha(), signal_source is builtin)
        self.nights: list[NightlyResult] = []
        self.invalid: list[tuple[str, str]] = []
        self.timings: dict[str, float] = {}
        self._signals = self._parse(signals)
        self._open: list[tuple[int, str]] = []  # (timeout epoch, shadow_id), kept sorted
        self._report_days: list[tuple[str, str]] = []

    def _time(self, key: str, t0: float) -> None:
        self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - t0

    # ------------------------------------------------------------------ input
    def _parse(self, records: Sequence[StreamRecord]) -> list[tuple[int, Signal]]:
        """Each signal validated by the stream's own parser; a bad one is counted with its reason, not decided."""
        out: list[tuple[int, Signal]] = []
        for k, r in enumerate(records):
            try:
                rec = parse_record(json.dumps(r.payload))
            except InvalidRecord as exc:
                self.invalid.append((str(r.payload.get("signal_id") or f"#{k}"), exc.reason))
                continue
            if not isinstance(rec, Signal):
                continue
            if rec.symbol not in self.book.bars:
                self.invalid.append((rec.signal_id, f"symbol {rec.symbol} has no bars"))
                continue
            out.append((int(r.publish_at), rec))
        out.sort(key=lambda x: x[0])  # stable: records published together keep their order
        return out

    # ------------------------------------------------------------------ the loop
    def run(self) -> BacktestResult:
        t_start = time.perf_counter()
        all_publish = np.concatenate(
            [np.asarray(b.ts, dtype=np.int64) + BAR_SEC for b in self.book.bars.values()]
            + [np.array([p for p, _ in self._signals], dtype=np.int64)]
        )
        if len(all_publish) == 0:
            raise ValueError("nothing to backtest: no bars")
        first, last = int(all_publish.min()), int(all_publish.max())
        events, skipped = schedule_times(all_publish)
        fired: dict[str, int] = {}
        nxt = 0  # next undecided signal
        for at, name in events:
            nxt = self._decide_until(at, nxt)
            self._resolve_until(at, last)
            self.book.now = at
            t0 = time.perf_counter()
            if name == "summary":
                self._summary(at)
            else:
                self._nightly(at)
            self._time(name, t0)
            fired[name] = fired.get(name, 0) + 1
        nxt = self._decide_until(last, nxt)
        self._resolve_until(last, last)
        self.book.now = last
        if self.reports and self._report_days:
            self._write_index()
        self.timings["total"] = time.perf_counter() - t_start
        return BacktestResult(
            book=self.book,
            nights=self.nights,
            first_publish=first,
            last_publish=last,
            signals=len(self._signals),
            invalid=self.invalid,
            schedules_fired=fired,
            schedules_skipped=skipped,
            reports=[d for d, _ in self._report_days],
            timings_s=dict(self.timings),
        )

    def _decide_until(self, until: int, start: int) -> int:
        """Decide every signal published by ``until`` in one call: the served model cannot change before then."""
        stop = start
        while stop < len(self._signals) and self._signals[stop][0] <= until:
            stop += 1
        if stop == start:
            return stop
        t0 = time.perf_counter()
        batch = self._signals[start:stop]
        sigs = [s for _, s in batch]
        self.book.now = until
        by_symbol: dict[str, list[int]] = {}
        for j, s in enumerate(sigs):
            by_symbol.setdefault(s.symbol, []).append(j)
        order: list[int] = []
        ready: list[Signal] = []
        parts: list[BarWindows] = []
        results: list[Evaluated | Exception | str] = ["not evaluated"] * len(sigs)
        extra = self.config.extra_features
        for symbol, rows in by_symbol.items():
            bars = self.book.bars[symbol]
            ends = window_ends(bars, np.array([epoch_s(sigs[j].ts) for j in rows], dtype=np.float64))
            keep: list[int] = []
            for j, end in zip(rows, ends.tolist(), strict=True):
                checked = _signal_ready(sigs[j], bars, end, extra)  # the handler's check: price, declared features
                if isinstance(checked, str):
                    results[j] = checked
                    continue
                ready.append(checked)
                keep.append(j)
            if keep:
                parts.append(signal_windows(bars, ends[np.isin(rows, keep)]))
                order.extend(keep)
        if ready:
            # the same per-batch provider calls the handler makes (a pointer check each)
            evaluated = self.service.decide(ready, _concat_windows(parts), self.service.model_provider())
            for j, one in zip(order, evaluated, strict=True):
                results[j] = one
        for (_, sig), ev in zip(batch, results, strict=True):
            if isinstance(ev, str):  # the stack parks it on the dead-letter queue with this reason
                self.invalid.append((sig.signal_id, ev))
                continue
            if isinstance(ev, Exception):
                self.invalid.append((sig.signal_id, f"evaluation failed: {type(ev).__name__}: {ev}"))
                continue
            self.book.create_decision(ev.decision)
            if ev.trade is not None:
                self.book.create_shadow_trade(ev.trade)
                # the timer's own due time: the bar after timeout_at has closed (plus the ingest lag, 0 in a replay)
                due = resolve_at(ev.trade.timeout_at, self.service.ingest_lag_sec)
                self._open.append((int(epoch_s(due)), ev.trade.shadow_id))
        self._open.sort()
        self._time("decide", t0)
        return stop

    def _resolve_until(self, until: int, last: int) -> None:
        """Close every open trade whose timer is due by ``until``, on the bars published when its timer ran.

        The local runtime releases a timer after the hour window holding its ``resolve_at`` has been published,
        so the resolver sees the bars up to that window's end (or the data's end).
        """
        t0 = time.perf_counter()
        k = 0
        while k < len(self._open) and self._open[k][0] <= until:
            due, shadow_id = self._open[k]
            k += 1
            state = self.book.trade_states[shadow_id]
            self.book.now = min(-(-due // HOUR_S) * HOUR_S, last)
            terms = terms_of(state.record, self.config)
            bars = self.book.bars_from(state.record.symbol, state.record.ts, terms.window_bars + 1)
            outcome = resolve_path(terms, bars)
            self.book.close_shadow_trade(shadow_id, status=CLOSED, **close_columns(outcome))
        del self._open[:k]
        self._time("resolve", t0)

    # ------------------------------------------------------------------ schedules
    def _summary(self, at: int) -> None:
        """23:00: the daily summary's counterfactual pass over the day, then (with reports) its page."""
        from huracan.service.counterfactuals import resolve_counterfactuals

        as_of = from_epoch_s(at)
        resolve_counterfactuals(as_of, store=self.book, bars=[self.book], config=self.config, lookback_days=1)
        if not self.reports:
            return
        from huracan.observability.daily import collect_summary, day_of, publish_summary

        day = day_of(as_of)
        summary = collect_summary(
            day, as_of, self.book, _model_cards(self.workspace / "models"), modes=sorted(self.config.modes)
        )
        published = publish_summary(summary, _FolderReports(self.workspace / "reports"))
        self._report_days.append((day, published.headline))

    def _nightly(self, at: int) -> None:
        """00:00: the nightly job itself, on the book and the workspace's folder registry."""
        ports = NightlyPorts(
            registry=self.registry,
            bars=[self.book],
            symbols=sorted(self.book.bars),
            prices=self.book,
            live=None,
            store=_FolderTrainingStore(self.workspace / "training"),
            marker=self.book,
        )
        result = run_nightly(
            from_epoch_s(at),
            self.night_settings,
            ports=ports,
            training=self.training,
            engine=self.config,
            signal_source=self.signal_source,
            lookback_days=self.lookback_days,
        )
        self.nights.append(result)
        if self.on_night is not None:
            self.on_night(result)

    def _write_index(self) -> None:
        from huracan.observability.report import render_index

        (self.workspace / "reports" / "index.html").write_text(render_index(self._report_days), encoding="utf-8")


def _model_cards(models: Path) -> list[dict[str, Any]]:
    """Every model card in the folder registry (unverified: for the report only, as ``read_model_cards`` on S3)."""
    cards: list[dict[str, Any]] = []
    for path in sorted(models.glob("*/*/manifest.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            cards.append(doc)
    return cards


def run_backtest(
    bars: Mapping[str, BarArrays],
    signals: Sequence[StreamRecord],
    *,
    config: EngineConfig,
    workspace: Path,
    reports: bool = True,
    training: TrainingConfig | None = None,
    signal_source: SignalSource | None = builtin,
    on_night: Callable[[NightlyResult], None] | None = None,
) -> BacktestResult:
    """Backtest ``signals`` (stream signal records) on ``bars`` (per symbol); see the module docstring."""
    return Backtest(
        bars,
        signals,
        config=config,
        workspace=workspace,
        reports=reports,
        training=training,
        signal_source=signal_source,
        on_night=on_night,
    ).run()
