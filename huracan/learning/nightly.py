"""The nightly learning job: archive, label, collect, train, judge, publish (or keep), mark, report.

Runs at 00:00 UTC as the Fargate task of ``NightlyTrainingRule`` (``python -m huracan.learning.nightly``),
locally as the ``TrainingCluster`` container task of :class:`~huracan.local.runtime.LocalRuntime`
(:func:`container_task`) and as ``huracan train`` (:func:`train_main`); all three call :func:`run_nightly`.

Steps, for the UTC day before the run time ``T``:

1. compact that day of the prices table into the S3 bar archive (:func:`~huracan.learning.archive_jobs.compact_yesterday`);
2. label every decision whose outcome window has ended by ``T`` (:func:`~huracan.service.counterfactuals.resolve_counterfactuals`);
3. collect the training set from its three sources with provenance (:func:`~huracan.learning.collect.collect_dataset`);
3b. judge every live challenger on the decisions made after it was trained, paired with what gated them
   (:mod:`~huracan.learning.challengers`, :mod:`~huracan.learning.forward`): promote it (``latest.json``
   switches after full verification), keep it, or retire it with its reasons;
4. train and judge a new model against the published champion on the same rows (:func:`~huracan.learning.pipeline.run_training`);
5. register it: a ready model as a *challenger* served in shadow from the next signal (at most two live;
   ``forward=None`` publishes it as the champion at once instead), any other as a candidate carrying its
   verdict and reasons; the regime
   detector trained on the same bars is registered under its own name (``regime_detector``) on its own
   verdict: the champion, which the evaluate-signals Lambda then serves instead of the rule, only when it
   ``replaces_rule``, else a candidate. It is trained even on a night the meta-label model is skipped;
6. mark the rows it trained on (``used_in_training`` on decisions and shadow trades, with the snapshot id);
7. write the session report to ``s3://<bucket>/training/<T's day>/report.json``, put the ``ModelsExported``
   datapoint (1 or 0) and, on a publish, announce ``ModelPublished`` on SNS.

Failure behaviour: an exception anywhere stops the run before anything later happens, so rows are never
marked for a model that was not stored, and ``latest.json`` is untouched unless step 5 completed (the
registry's publishing order). The run writes ``training/<day>/failure.json`` when it still can (never over a
successful night's report), then re-raises:
the task exits non-zero and the alarm on ``ModelsExported`` sees a night without a model.

Time: the run time comes from the schedule (``HURACAN_RUN_TIME``, set by the EventBridge target's
container override, or the scheduled event's ``time`` locally). Only when neither is given does
:func:`main` fall back to the container's clock — the one documented exception to "no wall clock".
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from huracan.adapters.decision_days import DECISIONS_PREFIX, SettledDecisionDays
from huracan.core.bars import BarArrays
from huracan.core.config import EngineConfig, engine_config, load_config
from huracan.core.features import MODEL_FEATURES
from huracan.core.timeutil import epoch_s, format_ts, from_epoch_s, parse_ts
from huracan.learning.archive_jobs import yesterday
from huracan.learning.baseline import terms_from_engine
from huracan.learning.challengers import enlist, review_challengers
from huracan.learning.collect import Collected, DecisionSource, LiveTradeSource, collect_dataset
from huracan.learning.forward import ForwardRule
from huracan.learning.pipeline import Champion, TrainingConfig, TrainingReport, TrainingResult, run_training
from huracan.learning.regime_detector import (
    DEFAULT_REGIME_PARAMS,
    RegimeDetectorReport,
    bars_snapshot_id,
    publish_regime_detector,
    train_regime_detector,
)
from huracan.registry.errors import ModelNotFoundError, RegistryError
from huracan.registry.registry import ModelRegistry
from huracan.service.counterfactuals import BarSource
from huracan.signals.source import SignalSource, builtin, source_name

__all__ = [
    "NightlyPorts",
    "NightlyResult",
    "card_metrics",
    "code_git_sha",
    "container_task",
    "main",
    "ports_from_settings",
    "run_nightly",
    "task_environment",
    "train_main",
]

log = logging.getLogger("huracan.learning.nightly")

Status = Literal["published", "challenger", "candidate", "skipped", "failed"]
REPORT_SCHEMA = "huracan.training_session/1"
#: The forward-evidence rule every night uses unless told otherwise (see :mod:`huracan.learning.forward`).
DEFAULT_FORWARD = ForwardRule()


class _PricesPort(BarSource, DecisionSource, Protocol):
    """The repository as the job uses it: bars, decisions by day, counterfactual writes."""

    def symbols_on_day(self, day: str) -> set[str]: ...
    def set_decision_outcome(self, outcome: Any) -> bool: ...


class _ArchivePort(BarSource, Protocol):
    @property
    def bucket(self) -> str: ...
    def put_days(self, symbol: str, bars_by_day: Mapping[str, BarArrays], *, merge: bool = True) -> dict[str, int]: ...
    def compacted_days(self) -> set[str]: ...
    def mark_compacted(self, day: str, rows: int, at: str) -> None: ...


class _StorePort(Protocol):
    def put_report(self, day: str, doc: Mapping[str, Any], name: str = "report.json") -> str: ...
    def announce(self, model_id: str, metrics: Mapping[str, Any]) -> str | None: ...
    def put_models_exported(self, count: int, at: str) -> None: ...
    def put_nightly_health(self, at: str, *, failed: bool, archive_backlog_days: int | None = None) -> None: ...


class _MarkerPort(Protocol):
    def mark_decisions(self, signal_ids: Sequence[str], snapshot_id: str) -> int: ...
    def mark_shadow_trades(self, shadow_ids: Sequence[str], snapshot_id: str) -> int: ...


@dataclass
class NightlyPorts:
    """Everything the job reads and writes; :func:`ports_from_settings` wires the deployed stack.

    A port left ``None`` skips its steps (``huracan train --data`` has only bars and a registry).
    """

    registry: ModelRegistry
    bars: Sequence[BarSource]
    symbols: Sequence[str] = ()
    prices: _PricesPort | None = None
    archive: _ArchivePort | None = None
    live: LiveTradeSource | None = None
    store: _StorePort | None = None
    marker: _MarkerPort | None = None
    #: where the dataset reads decisions from (settled days from their S3 copy); None: ``prices``
    decisions: DecisionSource | None = None


@dataclass(frozen=True)
class NightlyResult:
    """What one night did; ``session`` is the document written to ``training/<day>/report.json``."""

    event_time: str
    day: str
    status: Status
    model_id: str | None
    candidate_id: str | None
    snapshot_id: str | None
    n_samples: int
    provenance: dict[str, int]
    summary: str
    reasons: tuple[str, ...]
    session: dict[str, Any]
    report: TrainingReport | None = None
    report_url: str | None = None
    marked: dict[str, int] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    #: challengers promoted to champion tonight on forward evidence (model ids)
    promoted: tuple[str, ...] = ()

    @property
    def published(self) -> bool:
        """A new champion tonight: a challenger promoted on forward evidence (or, with ``forward=None``, a
        ready model published directly)."""
        return self.status == "published" or bool(self.promoted)

    def line(self) -> dict[str, Any]:
        """One night for the console and the workspace's ``sessions.json`` (the stack replay and the backtest
        write the same line): n, AUC / ECE / Brier as ``[value, lo, hi]``, lift per mode, the verdict."""
        r = self.report
        m = r.metrics if r is not None else None
        steps = self.session.get("steps") or {}

        def est(e: Any) -> list[float | None] | None:
            return None if e is None else [e.value, e.lo, e.hi]

        return {
            "day": self.day,
            # the training runs at 00:00 UTC after its data day; reports date sessions by this (when it ran)
            "ran_on": (datetime.fromisoformat(self.day) + timedelta(days=1)).date().isoformat(),
            "status": self.status,
            "n_samples": self.n_samples,
            "provenance": self.provenance,
            "auc": est(m.auc) if m is not None else None,
            "ece": est(m.ece) if m is not None else None,
            "brier": est(m.brier) if m is not None else None,
            "model_id": self.model_id,
            "candidate_id": self.candidate_id,
            "lift": {k: [v.lift.value, v.lift.lo, v.lift.hi, v.baseline_auc.value] for k, v in r.lift.items()}
            if r is not None
            else None,
            "promoted": list(self.promoted),
            "challengers": [
                {k: c.get(k) for k in ("model_id", "nights", "action", "reasons")}
                for c in steps.get("challengers") or []
            ],
            "summary": self.summary,
            "reasons": list(self.reasons),
            "job_timings_s": self.session.get("job_timings_s"),
            # the training set's make-up: rows per source and where the historical signals came from
            "collect": steps.get("collect"),
            "training_timings_s": r.timings_s if r is not None else None,
        }


# ------------------------------------------------------------------------------------------------ helpers
def code_git_sha(explicit: str | None = None) -> str:
    """``explicit`` (the settings' ``GIT_SHA``), else ``$GIT_SHA`` (set at image build), else
    ``git rev-parse HEAD`` beside the package, else ``unknown``."""
    env = explicit or os.environ.get("GIT_SHA")
    if env:
        return env
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = out.stdout.strip()
    return sha if len(sha) == 40 else "unknown"


def _plain(x: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN / inf to None (model cards refuse NaN), tuples to lists."""
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_plain(v) for v in x.tolist()]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def card_metrics(report: TrainingReport) -> dict[str, Any]:
    """The model card's ``metrics``: each figure as ``{value, lo, hi, n}``, plus sample counts and importance.

    Shaped for :func:`huracan.observability.records.session_from_document` (the daily report's AUC / ECE /
    Brier paths and importance stability plots) and for the next night's champion (its gain and
    permutation shares).
    """
    m = report.metrics
    out: dict[str, Any] = {
        "n_samples": report.n_samples,
        "n_train": report.n_train,
        "n_test": report.n_test,
        "provenance": report.provenance,
        "auc": m.auc.to_dict(),
        "ece": m.ece.to_dict(),
        "brier": m.brier.to_dict(),
        "log_loss": m.log_loss.to_dict(),
        "base_rate": m.base_rate.to_dict(),
        "ece_binning": m.ece_binning,
        "ece_floor": m.ece_floor,
        "ece_plugin": m.ece_plugin,
        "threshold": m.threshold,
        "thresholds": m.thresholds,
        "precision": m.precision.to_dict(),
        "trades_kept": m.trades_kept,
        "kept_share": m.kept_share,
        "pnl_kept_bps": m.pnl_kept_bps.to_dict(),
        "pnl_all_bps": m.pnl_all_bps.to_dict(),
        "pnl_kept_minus_all_bps": m.pnl_kept_minus_all_bps.to_dict(),
        "oof_auc": report.oof_auc.to_dict(),
        "raw_ece": report.raw_ece.to_dict(),
        "calibration_kind": report.calibration_kind,
        "calibration_choice": asdict(report.calibration_choice),
        "lift": {k: v.to_dict() for k, v in report.lift.items()},
        "importance": report.importance.gain,
        "importance_gain": report.importance.gain,
        "importance_permutation": report.importance.permutation,
        "importance_change_vs_champion": report.importance.change_vs_champion_gain,
        "champion_model_id": report.champion_model_id,
        "auc_minus_champion": None if m.auc_minus_champion is None else m.auc_minus_champion.to_dict(),
        "regime_detector": None
        if report.regime is None
        else {
            "replaces_rule": report.regime.replaces_rule,
            "accuracy": report.regime.accuracy,
            "rule_accuracy": report.regime.rule_accuracy,
            "detail": report.regime.detail,
        },
    }
    plain: dict[str, Any] = _plain(out)
    return plain


def _readiness(report: TrainingReport) -> dict[str, Any]:
    v = report.verdict
    doc: dict[str, Any] = _plain(
        {"ready": v.ready, "summary": v.summary, "reasons": v.reasons, "checks": [asdict(c) for c in v.checks]}
    )
    return doc


def _load_champion(
    registry: ModelRegistry, name: str, feature_names: tuple[str, ...] = MODEL_FEATURES
) -> Champion | None:
    """The published model with its recorded importances; None before the first publish or if refused.

    ``feature_names`` are tonight's columns (the config's ``model_features``); the champion's own are picked
    from them by name. A champion needing a column the settings no longer declare cannot be scored on
    tonight's rows: the challenger is then judged on its own merits, as before a first publish.
    """
    try:
        model_id, model = registry.load_latest_model(name, strict=True)
        card = registry.show(model_id)
    except ModelNotFoundError:
        return None
    except RegistryError as err:  # a refused latest.json: judge the challenger on its own merits
        log.error("the published %s was refused (%s); training without a champion", name, err)
        return None
    metrics = card.get("metrics") if isinstance(card.get("metrics"), Mapping) else {}
    try:
        base = Champion.from_model(model, feature_names)
    except ValueError as err:
        log.error(
            "the published %s cannot be scored on tonight's features (%s); training without a champion", name, err
        )
        return None
    gain = (metrics or {}).get("importance_gain")
    perm = (metrics or {}).get("importance_permutation")
    return Champion(
        predict_proba=base.predict_proba,
        model_id=model_id,
        gain_importance=gain if isinstance(gain, Mapping) else None,
        permutation_importance=perm if isinstance(perm, Mapping) else None,
    )


def _regime_bars(collected: Collected) -> BarArrays | None:
    """The symbol with the most bars in the window (the detector learns one market's regimes)."""
    if not collected.bars:
        return None
    return max(collected.bars.values(), key=len)


def _symbols(ports: NightlyPorts, day: str) -> list[str]:
    out = set(ports.symbols)
    if ports.prices is not None:
        out.update(ports.prices.symbols_on_day(day))
    return sorted(out)


def _default_signal_source(ports: NightlyPorts, settings: Any | None) -> SignalSource | None:
    """Built-in strategies when the stack runs them; otherwise the user's archived signal history (or none).

    A stack fed by the user's own signals must never learn from signals it was not sent (issue 15).
    """
    if getattr(settings, "strategies_enabled", True):
        return builtin
    if ports.archive is None:
        return None
    from huracan.adapters.signal_archive import ArchivedSignals

    return ArchivedSignals(ports.archive.bucket)


# ------------------------------------------------------------------------------------------------ the job
def run_nightly(
    event_time: str,
    settings: Any | None = None,
    *,
    ports: NightlyPorts | None = None,
    training: TrainingConfig | None = None,
    engine: EngineConfig | None = None,
    signal_source: SignalSource | None = None,
    lookback_days: int | None = None,
    min_rows: int = 50,
    name: str = "meta_label",
    forward: ForwardRule | None = DEFAULT_FORWARD,
) -> NightlyResult:
    """One night for the UTC day before ``event_time`` (see the module docstring).

    ``settings`` is a :class:`~huracan.adapters.training_store.NightlySettings` (ports are built from it
    unless ``ports`` is given). ``signal_source`` makes the historical signals (the demo's planted
    source, a replay's user signals); None: the settings say — the built-in strategies when they are
    enabled, else the user's signal history in the archive bucket (``huracan backfill --signals``). Fewer than ``min_rows`` labelled rows, or a single class, skips training and says so.

    ``forward`` is the forward-evidence rule (:mod:`~huracan.learning.forward`): a model that passes the
    offline checks becomes a *challenger* served in shadow, and live challengers are judged every night on
    the decisions made after they were trained (step 3b), promoted or retired. ``None`` publishes a ready
    model at once on the offline checks alone (the behaviour before forward evidence; it fools itself at
    the rate the issue measured, so only explicit callers use it).
    """
    t_start = time.perf_counter()
    event_time = format_ts(parse_ts(event_time))
    day = yesterday(event_time)
    session_day = event_time[:10]
    if ports is None:
        if settings is None:
            raise ValueError("run_nightly needs settings or ports")
        ports = ports_from_settings(settings, today=session_day)
    eng = engine or engine_config(getattr(settings, "profile", None) or "seed", getattr(settings, "config_file", None))
    cfg = training or TrainingConfig(name=name)
    if cfg.modes is None:  # judge the P&L at each mode's deployed threshold, the baseline on its barriers
        cfg = replace(cfg, modes=terms_from_engine(eng))
    days = lookback_days or int(getattr(settings, "lookback_days", 30) or 30)
    if signal_source is None:
        signal_source = _default_signal_source(ports, settings)
    timings: dict[str, float] = {}
    steps: dict[str, Any] = {}
    try:
        # (1) archive every finished day not archived yet (yesterday, plus any a missed night left behind)
        t = time.perf_counter()
        symbols = _symbols(ports, day)
        if ports.prices is not None and ports.archive is not None:
            from huracan.learning.archive_jobs import backlog_age_days, compact_pending, first_run, pending_days

            retention = int(getattr(settings, "prices_ttl_days", 35) or 35)
            pending = pending_days(event_time, ports.archive, retention_days=retention)  # type: ignore[arg-type]
            # a first run archives the whole retention but has no backlog to report (nothing was ever missed)
            backlog = None if first_run(ports.archive) else backlog_age_days(event_time, pending)  # type: ignore[arg-type]
            if ports.store is not None:  # before compacting: a night that then fails still reports the backlog
                ports.store.put_nightly_health(event_time, failed=False, archive_backlog_days=backlog)
            caught_up = compact_pending(
                event_time,
                symbols,
                ports.archive.bucket,
                prices=ports.prices,
                archive=ports.archive,  # type: ignore[arg-type]
                days=pending,
            )
            written_days: dict[str, dict[str, int]] = {}
            for w in caught_up.writes:
                for sym, per_day in w.days.items():
                    written_days.setdefault(sym, {}).update(per_day)
            steps["archive"] = {
                "rows_read": caught_up.rows_read,
                "days": written_days,
                "days_compacted": sorted(caught_up.compacted),
                "backlog_age_days": backlog,
            }
        timings["archive"] = time.perf_counter() - t

        # (2) counterfactual outcomes up to now
        t = time.perf_counter()
        if ports.prices is not None:
            from huracan.service.counterfactuals import resolve_counterfactuals

            # archive first: compaction (step 1) put every finished day there; the table holds only today's bars
            bar_sources: list[BarSource] = ([ports.archive] if ports.archive is not None else []) + [ports.prices]
            cf = resolve_counterfactuals(event_time, store=ports.prices, bars=bar_sources, config=eng)
            steps["counterfactuals"] = {
                "considered": cf.considered,
                "written": cf.written,
                "pending": cf.pending,
                "not_due": cf.not_due,
                "outcomes": dict(cf.outcomes),
            }
        timings["counterfactuals"] = time.perf_counter() - t

        # (3) the training set
        t = time.perf_counter()
        collected = collect_dataset(
            event_time,
            symbols=symbols,
            bars=ports.bars,
            engine=eng,
            decisions=ports.decisions if ports.decisions is not None else ports.prices,
            live=ports.live,
            signal_source=signal_source,
            days=days,
        )
        ds = collected.dataset
        steps["collect"] = {
            "window": list(collected.window),
            "counts": collected.counts,
            "symbols": symbols,
            # where the historical rows came from: the built-in strategies, a planted edge, the user's signals
            "historical_source": source_name(signal_source) if signal_source is not None else None,
        }
        if isinstance(ports.decisions, SettledDecisionDays):
            steps["collect"]["settled_days"] = ports.decisions.counters()
        timings["collect"] = time.perf_counter() - t

        # (3b) judge the live challengers on the decisions made after they were trained
        promoted: tuple[str, ...] = ()
        if forward is not None:
            t = time.perf_counter()
            reviewed = review_challengers(
                ports.registry,
                ports.decisions if ports.decisions is not None else ports.prices,
                name=cfg.name,
                last_day=day,
                event_time=event_time,
                thresholds={m: mt.threshold for m, mt in (cfg.modes or {}).items()},
                embargo_sec=max(eng.mode(m).timeout_sec for m in eng.modes),
                rule=forward,
            )
            steps["challengers"] = reviewed
            promoted = tuple(str(r["model_id"]) for r in reviewed if r["action"] == "promote")
            timings["challengers"] = time.perf_counter() - t

        def skipped(reason: str) -> NightlyResult:
            """No meta-label model tonight; the regime detector is still judged on its own."""
            steps["regime_detector"] = _regime_step(ports.registry, None, collected, cfg, event_time, settings)
            return _finish(
                ports,
                event_time,
                session_day,
                "skipped",
                None,
                None,
                collected,
                None,
                [reason],
                steps,
                timings,
                t_start,
                {},
                promoted,
            )

        if len(ds) < min_rows or len(np.unique(ds.y)) < 2:
            return skipped(
                f"{len(ds)} labelled rows with {len(np.unique(ds.y))} class(es) in {days} days up to {day}: "
                f"too few to train (minimum {min_rows}, both classes)"
            )

        # (4) train and judge against the champion
        t = time.perf_counter()
        champion = _load_champion(ports.registry, cfg.name, ds.feature_names)
        try:
            result = run_training(ds, cfg, champion=champion, bars=_regime_bars(collected))
        except ValueError as exc:  # e.g. no out-of-fold rows with both classes: too little data
            return skipped(f"training refused the data: {exc}")
        timings["train"] = time.perf_counter() - t

        # (5) register: champion when ready, else a candidate with its reasons
        t = time.perf_counter()
        sha = code_git_sha(getattr(settings, "git_sha", None))
        ready = result.report.verdict.ready
        reasons = list(result.report.verdict.reasons)
        stage: Literal["champion", "challenger", "candidate"] = "candidate"
        if ready and forward is None:
            stage = "champion"
        elif ready and forward is not None:
            free = len(ports.registry.challengers(cfg.name)["live"]) < forward.max_live
            stage = "challenger" if free else "candidate"
            if not free:
                reasons.append(f"ready, but {forward.max_live} challengers are already served in shadow")
        model_id = _register(ports.registry, result, collected, event_time, cfg.name, sha, stage)
        if stage == "challenger" and forward is not None:
            _, why = enlist(ports.registry, cfg.name, model_id, event_time, forward)
            steps["enlisted"] = {"model_id": model_id, "trained_until": event_time, "detail": why}
        steps["regime_detector"] = _regime_step(
            ports.registry, result.report.regime, collected, cfg, event_time, settings
        )
        timings["register"] = time.perf_counter() - t

        # (6) mark what trained it
        t = time.perf_counter()
        marked = _mark(ports, collected, result, event_time)
        timings["mark"] = time.perf_counter() - t

        status: Status = {"champion": "published", "challenger": "challenger"}.get(stage, "candidate")  # type: ignore[assignment]
        return _finish(
            ports,
            event_time,
            session_day,
            status,
            model_id if stage == "champion" else (promoted[-1] if promoted else None),
            model_id,
            collected,
            result,
            reasons,
            steps,
            timings,
            t_start,
            marked,
            promoted,
        )
    except Exception as exc:
        log.exception("nightly training for %s failed", day)
        _report_failure(ports, event_time, session_day, exc, steps, timings)
        raise


def _register(
    registry: ModelRegistry,
    result: TrainingResult,
    collected: Collected,
    event_time: str,
    name: str,
    git_sha: str,
    stage: Literal["champion", "challenger", "candidate"],
) -> str:
    report = result.report
    return registry.register_model(
        result.model,
        code_git_sha=git_sha,
        data_snapshot_id=report.snapshot_id,
        metrics=card_metrics(report),
        notes=report.verdict.summary,
        name=name,
        stage=stage,
        readiness=_readiness(report),
        windows={
            "data": list(collected.window),
            "train": list(report.train_window),
            "test": list(report.test_window),
            "embargo_sec": report.embargo_sec,
        },
        created_at=event_time,
    )


def _regime_step(
    registry: ModelRegistry,
    regime: RegimeDetectorReport | None,
    collected: Collected,
    cfg: TrainingConfig,
    event_time: str,
    settings: Any,
) -> dict[str, Any]:
    """(5b) register the regime detector on its own verdict; returns the session report's step entry.

    ``regime`` is what :func:`run_training` trained; on a night without meta-label training (too few
    labelled rows) the detector is trained here, since it needs only bars. Too few bars, or a booster
    that cannot be exported exactly, is recorded and skipped: neither must cost the night's meta-label
    model. A failed upload raises, like any other registry failure.
    """
    from huracan.serving.onnx_export import OnnxExportError

    bars = _regime_bars(collected)
    if bars is None:
        return {"status": "not_trained", "reason": "no bars"}
    if regime is None:
        try:
            regime = train_regime_detector(
                bars, horizon=cfg.regime_horizon, params={**DEFAULT_REGIME_PARAMS, "num_threads": cfg.num_threads}
            )
        except ValueError as exc:
            return {"status": "not_trained", "reason": str(exc)}
    if regime.detector is None:
        return {"status": "not_trained", "reason": "no detector in the report"}
    try:
        model_id = publish_regime_detector(
            registry,
            regime,
            code_git_sha=code_git_sha(getattr(settings, "git_sha", None)),
            data_snapshot_id=bars_snapshot_id(bars),
            created_at=event_time,
            windows={"data": list(collected.window)},
        )
    except OnnxExportError as exc:
        log.error("the regime detector cannot be served exactly (%s); the rule stays", exc)
        return {"status": "refused", "reason": str(exc), "detail": regime.detail}
    return {
        "status": "published" if regime.replaces_rule else "candidate",
        "model_id": model_id,
        "replaces_rule": regime.replaces_rule,
        "accuracy": regime.accuracy,
        "rule_accuracy": regime.rule_accuracy,
        "detail": regime.detail,
    }


#: A row's outcome is known by the night after its day (timers resolve within hours; counterfactuals are
#: labelled by that night's job), so it is first trained on within two days; older rows were marked before.
FIRST_USE_DAYS = 2


def _mark(ports: NightlyPorts, collected: Collected, result: TrainingResult, event_time: str) -> dict[str, int]:
    """Mark the rows this session was the first to train on, with its snapshot id.

    ``used_in_snapshot`` is the *first* snapshot that used a row: re-marking every row of the lookback each
    night would cost one write per row per night (thousands by the month's end) to say the same thing.
    """
    if ports.marker is None:
        return {}
    recent = collected.dataset.t_entry >= int(epoch_s(event_time)) - FIRST_USE_DAYS * 86400
    ids = collected.used_ids(result.used_in_training & recent)
    signals = sorted({s for p in ("shadow", "live") for s in ids[p] if not s.startswith("live:")})
    shadows = sorted({collected.shadow_ids[s] for s in signals if s in collected.shadow_ids})
    snap = result.report.snapshot_id
    return {
        "decisions": ports.marker.mark_decisions(signals, snap),
        "shadow_trades": ports.marker.mark_shadow_trades(shadows, snap),
    }


def _finish(
    ports: NightlyPorts,
    event_time: str,
    session_day: str,
    status: Status,
    model_id: str | None,
    candidate_id: str | None,
    collected: Collected,
    result: TrainingResult | None,
    reasons: list[str],
    steps: dict[str, Any],
    timings: dict[str, float],
    t_start: float,
    marked: dict[str, int],
    promoted: tuple[str, ...] = (),
) -> NightlyResult:
    """(7) session report, metric, announcement; returns the result."""
    report = result.report if result is not None else None
    ds = collected.dataset
    snapshot = ds.snapshot_id() if len(ds) else None
    summary = report.verdict.summary if report is not None else f"SKIPPED: {reasons[0]}"
    timings["total"] = time.perf_counter() - t_start
    doc: dict[str, Any] = dict(report.to_dict()) if report is not None else {}
    doc.update(
        {
            "schema": REPORT_SCHEMA,
            "date": session_day,
            "data_day": yesterday(event_time),
            "created_at": event_time,
            "event_time": event_time,
            "status": status,
            "stage": {"published": "champion", "challenger": "challenger", "candidate": "candidate"}.get(status),
            "published": status == "published" or bool(promoted),
            "promoted": list(promoted),
            "model_id": candidate_id,
            "candidate_id": candidate_id,
            "snapshot_id": snapshot,
            "n_samples": len(ds),
            "provenance": ds.provenance_counts(),
            "summary": report.summary() if report is not None else summary,
            "steps": steps,
            "marked": marked,
            "job_timings_s": timings,
        }
    )
    if report is None:
        doc["verdict"] = {"ready": False, "summary": summary, "reasons": reasons, "checks": []}
        doc["metrics"] = {"n_samples": len(ds)}
    session: dict[str, Any] = _plain(doc)
    url = None
    if ports.store is not None:
        url = ports.store.put_report(session_day, session)
        ports.store.put_models_exported(1 if status == "published" or promoted else 0, event_time)
        for cid in promoted:
            ports.store.announce(cid, {"promoted_on": "forward evidence", "at": event_time})
        if status == "published" and model_id is not None and report is not None:
            m = report.metrics
            ports.store.announce(
                model_id,
                _plain(
                    {
                        "auc": m.auc.value,
                        "auc_ci": [m.auc.lo, m.auc.hi],
                        "ece": m.ece.value,
                        "brier": m.brier.value,
                        "n_samples": report.n_samples,
                        "n_test": report.n_test,
                        "snapshot_id": report.snapshot_id,
                    }
                ),
            )
    log.info("nightly %s: %s", session_day, summary)
    return NightlyResult(
        event_time=event_time,
        day=yesterday(event_time),
        status=status,
        model_id=model_id,
        candidate_id=candidate_id,
        snapshot_id=snapshot,
        n_samples=len(ds),
        provenance=ds.provenance_counts(),
        summary=summary,
        reasons=tuple(reasons),
        session=session,
        report=report,
        report_url=url,
        marked=marked,
        timings_s=dict(timings),
        promoted=promoted,
    )


def _report_failure(
    ports: NightlyPorts,
    event_time: str,
    session_day: str,
    exc: BaseException,
    steps: dict[str, Any],
    timings: dict[str, float],
) -> None:
    """Best effort: a ``failed`` session report and a 0 datapoint; never masks the original error."""
    if ports.store is None:
        return
    doc = {
        "schema": REPORT_SCHEMA,
        "date": session_day,
        "data_day": yesterday(event_time),
        "created_at": event_time,
        "event_time": event_time,
        "status": "failed",
        "published": False,
        "error": f"{type(exc).__name__}: {exc}",
        "verdict": {"ready": False, "summary": "FAILED", "reasons": [f"{type(exc).__name__}: {exc}"], "checks": []},
        "steps": steps,
        "job_timings_s": timings,
    }
    try:
        ports.store.put_report(session_day, _plain(doc), name="failure.json")
        ports.store.put_models_exported(0, event_time)
        ports.store.put_nightly_health(event_time, failed=True)  # a failed night, told apart from "no model"
    except Exception as err:  # the store may be what failed
        log.error("could not record the failure of %s: %s", session_day, err)


# ------------------------------------------------------------------------------------------------ wiring
def ports_from_settings(
    settings: Any, *, registry: ModelRegistry | None = None, today: str | None = None
) -> NightlyPorts:
    """The deployed stack's ports: tables, archive, registry (KMS-signed, ONNX for serving), store, marks.

    ``today`` (the run's UTC day) turns on the S3 copies of settled decision days
    (:mod:`huracan.adapters.decision_days`).
    """
    from huracan.adapters.archive import BarArchive
    from huracan.adapters.clients import client
    from huracan.adapters.observability_sources import DayLoader
    from huracan.adapters.repository import get_repository
    from huracan.adapters.s3_store import S3Store
    from huracan.adapters.training_store import TrainingStore, UsageMarker, archived_symbols
    from huracan.serving.onnx_export import onnx_artifacts

    if registry is None:
        signer = None
        if settings.registry_path.startswith("s3://") and settings.model_signing_key_id:
            from huracan.adapters.kms_signer import KmsSigner

            signer = KmsSigner(settings.model_signing_key_id, client=client("kms", settings))
        registry = ModelRegistry(settings.registry_path, signer, extra_artifacts=onnx_artifacts)
    repo = get_repository(settings)
    archive = BarArchive(settings.model_bucket, settings)
    symbols = sorted({*settings.symbols, *archived_symbols(settings.model_bucket, settings)})
    return NightlyPorts(
        registry=registry,
        bars=[archive, repo],
        symbols=symbols,
        prices=repo,
        archive=archive,
        live=DayLoader.from_settings(settings),
        store=TrainingStore(settings.model_bucket, settings, settings.notifications_topic_arn),
        marker=UsageMarker(settings),
        decisions=None
        if today is None
        else SettledDecisionDays(
            repo,
            S3Store(settings.model_bucket, DECISIONS_PREFIX, client=client("s3", settings)),
            today=today,
        ),
    )


def task_environment(stack: Any, logical_id: str = "TrainingTaskDefinition") -> dict[str, str]:
    """The training container's environment as the template declares it, resolved against a local stack."""
    res = stack.cfn["Resources"][logical_id]
    env = res["Properties"]["ContainerDefinitions"][0].get("Environment", [])
    params: Mapping[str, str] = getattr(stack, "parameter_values", {}) or {}

    def value(node: Any) -> str:
        if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in params:
            return str(params[node["Ref"]])  # a template parameter, not a resource
        return str(stack.resolve(node))

    return {str(e["Name"]): value(e["Value"]) for e in env}


def container_task(
    runtime: Any | None = None,
    *,
    training: TrainingConfig | None = None,
    signal_source: SignalSource | None = None,
    on_result: Callable[[NightlyResult], None] | None = None,
) -> Callable[[dict[str, Any]], NightlyResult]:
    """``LocalRuntime(container_tasks={"TrainingCluster": container_task(...)})``: fn(event) runs one night.

    The environment is the process's (the local stack sets the functions' variables) overlaid with the
    task definition's own when ``runtime`` (a started :class:`~huracan.local.runtime.LocalRuntime`) is
    given; the run time is the scheduled event's ``time``, as ``HURACAN_RUN_TIME`` would carry it.
    """
    from huracan.adapters.training_store import NightlySettings

    def task(event: dict[str, Any]) -> NightlyResult:
        env = dict(os.environ)
        stack = getattr(runtime, "stack", None)
        if stack is not None:
            env.update(task_environment(stack))
        env["HURACAN_RUN_TIME"] = str(event["time"])
        settings = NightlySettings.from_env(env)
        result = run_nightly(str(event["time"]), settings, training=training, signal_source=signal_source)
        if on_result is not None:
            on_result(result)
        return result

    return task


def _run_time(explicit: str | None, env_time: str | None) -> str:
    if explicit:
        return format_ts(parse_ts(explicit))
    if env_time:
        return format_ts(parse_ts(env_time))
    # The documented exception: a task started by hand without a schedule time runs "now".
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    log.warning("no HURACAN_RUN_TIME: using the container clock %s", format_ts(now))
    return format_ts(now)


def main(argv: Sequence[str] | None = None) -> int:
    """The container's entrypoint: settings from the environment, time from ``HURACAN_RUN_TIME``."""
    from huracan.adapters.training_store import NightlySettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m huracan.learning.nightly")
    parser.add_argument("--time", help="run time (UTC ISO-8601); default $HURACAN_RUN_TIME")
    args = parser.parse_args(argv)
    settings = NightlySettings.from_env()
    at = _run_time(args.time, settings.run_time)
    result = run_nightly(at, settings)
    print(json.dumps(_result_line(result), sort_keys=True))
    return 0


def _result_line(r: NightlyResult) -> dict[str, Any]:
    line: dict[str, Any] = _plain(
        {
            "event": "huracan.nightly",
            "event_time": r.event_time,
            "day": r.day,
            "status": r.status,
            "model_id": r.model_id,
            "candidate_id": r.candidate_id,
            "snapshot_id": r.snapshot_id,
            "n_samples": r.n_samples,
            "provenance": r.provenance,
            "summary": r.summary,
            "reasons": list(r.reasons),
            "report_url": r.report_url,
            "marked": r.marked,
        }
    )
    return line


class _FileBars:
    """One symbol's bars from a file, as a bar source (``huracan train --data``)."""

    def __init__(self, symbol: str, bars: BarArrays) -> None:
        self.symbol, self._bars = symbol, bars

    def bars_between(self, symbol: str, start_ts: str, end_ts: str) -> BarArrays:
        if symbol != self.symbol:
            return self._bars.slice(0, 0)
        lo, hi = np.searchsorted(self._bars.ts, [epoch_s(start_ts), epoch_s(end_ts)], side="left")
        return self._bars.slice(int(lo), int(hi))


def train_main(argv: Sequence[str] | None = None) -> int:
    """``huracan train``: one night, on the stack (environment) or on a bars file with a local registry.

    ``--date D`` trains as the run at 00:00 UTC after day ``D`` would (``--time`` gives the run time
    itself). ``--base-path`` is the registry (a folder or ``s3://``; default ``$HURACAN_MODEL_PATH`` or the
    stack's bucket). ``--data FILE --symbol S`` needs no AWS at all: historical signals from the file only.
    """
    parser = argparse.ArgumentParser(prog="huracan train", description=train_main.__doc__)
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--date", help="the data day YYYY-MM-DD (the run is at 00:00 UTC the day after)")
    when.add_argument("--time", help="the run time, UTC ISO-8601")
    parser.add_argument("--base-path", help="model registry: folder or s3://bucket/prefix")
    parser.add_argument("--data", help="bars file (CSV / gzip CSV / Parquet) instead of the stack's tables")
    parser.add_argument("--symbol", default="BTC-PERP", help="symbol of --data (default BTC-PERP)")
    parser.add_argument("--profile", help="engine settings profile (default $HURACAN_PROFILE or seed)")
    parser.add_argument("--lookback-days", type=int, help="days of data (default 30)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    at = format_ts(parse_ts(args.time)) if args.time else from_epoch_s(epoch_s(f"{args.date}T00:00:00Z") + 86_400)
    if args.data:
        from huracan.data import load_minute_bars

        base = args.base_path or os.environ.get("HURACAN_MODEL_PATH") or "models"
        from huracan.serving.onnx_export import onnx_artifacts

        source = _FileBars(args.symbol, load_minute_bars(args.data))
        ports = NightlyPorts(
            registry=ModelRegistry(base, extra_artifacts=onnx_artifacts), bars=[source], symbols=[args.symbol]
        )
        eng = load_config(args.profile or os.environ.get("HURACAN_PROFILE") or "seed")
        result = run_nightly(at, ports=ports, engine=eng, lookback_days=args.lookback_days)
    else:
        from huracan.adapters.training_store import NightlySettings

        env = dict(os.environ)
        if args.base_path:
            env["HURACAN_MODEL_PATH"] = args.base_path
        if args.profile:
            env["HURACAN_PROFILE"] = args.profile
        settings = NightlySettings.from_env(env)
        result = run_nightly(at, settings, lookback_days=args.lookback_days)
    if args.json:
        print(json.dumps(_result_line(result), sort_keys=True))
    else:
        print(result.report.summary() if result.report is not None else result.summary)
        print(f"status: {result.status}; model: {result.model_id or result.candidate_id or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
