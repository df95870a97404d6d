"""Evaluate a batch of market-stream records: bars to the prices table, every signal to a decision, every
pass to a shadow trade and its timer (DESIGN §1).

Why the batch is handled in two steps. Bars must be written together (``BatchWriteItem``) and a signal's
features need the bars that arrived *in the same batch* just before it, so :meth:`SignalService.prepare`
first looks at the whole batch: it parses every record, parks the malformed ones on the dead-letter queue
in one go, writes the bars, and computes features, regime, probability and gates for all signals at once.
Then Powertools' ``BatchProcessor`` walks the records one by one through :meth:`PreparedBatch.handle`,
which persists one signal's decision / trade / timer, or re-raises a failure recorded for a bar, so the
per-record ``batchItemFailures`` semantics stay exactly Powertools'.

Failure policy: only a :class:`~huracan.adapters.errors.TransientError` (throttling, timeouts) propagates,
which makes the record a batch item failure and Lambda retries from it. Anything else about a record is
permanent and the record is parked with its reason. The one exception is a dead-letter queue that
cannot take the record: then the record is reported as failed rather than dropped.

Idempotency (decided here rather than with Powertools' idempotency utility): every effect is keyed on the
signal: the decision is a conditional put on ``signal_id``, the trade a conditional put on ``shadow_id``
(derived from ``signal_id``) and the timer an execution *named* ``shadow_id``. A redelivered signal finds
its decision (``AlreadyExists``), reads it back, and completes whatever the first attempt left undone, using
the *stored* decision, so the first decision wins even if a new model was published in between. This costs
nothing on the normal path, whereas the idempotency utility would add two writes per record.

Regime: when a trained detector is served (``regime_provider``, issue 6: published only when it beats the
rule), the batch's signal rows are classified by it in one call and decisions record
``regime_source="detector:<model_id>"``; otherwise, or if the detector fails on the batch, the rule
classifies them (``regime_source="rule"``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from huracan.adapters.errors import AlreadyExists, TransientError
from huracan.core.barriers import Barriers, barrier_prices
from huracan.core.bars import BarArrays, FloatArray, entry_time
from huracan.core.config import EngineConfig
from huracan.core.costs import CostModel
from huracan.core.features import (
    BAR_SEC,
    WINDOW,
    BarWindows,
    extra_values,
    features_windows,
    model_matrix,
)
from huracan.core.gates import Decision, evaluate_gates
from huracan.core.records import Bar, InvalidRecord, Signal, parse_record
from huracan.core.regime import REGIMES, RuleRegime
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.service.entities import DecisionRecord, ParkedRecord, ShadowTradeRecord, TimerStart
from huracan.service.intake import (
    DEFAULT_MAX_FUTURE_SKEW_S,
    arrival_epoch,
    signal_conflict,
    time_refusal,
    write_bars_isolating,
)

__all__ = [
    "DAY_SEC",
    "BatchCounters",
    "ChallengerProvider",
    "DeadLetters",
    "Evaluated",
    "LogSink",
    "ModelProvider",
    "Predict",
    "PreparedBatch",
    "RegimeProvider",
    "SignalConflict",
    "SignalService",
    "Store",
    "Timers",
    "no_challengers",
    "no_detector",
    "no_model",
    "shadow_id_for",
]

DAY_SEC = 86_400

#: Predicts calibrated P(win) for an ``(m, len(config.model_features))`` matrix (``MODEL_FEATURES``, then the
#: config's ``extra_features``); a provider picks its model's columns by name (``input_features``).
Predict = Callable[[FloatArray], FloatArray]
#: Returns the published model as ``(model_id, predict)``, or None before any model exists.
ModelProvider = Callable[[], "tuple[str, Predict] | None"]


def no_model() -> tuple[str, Predict] | None:
    """The provider until the registry is plugged in: no model, so the gates use the documented prior."""
    return None


#: Returns the live challengers served in shadow as ``[(model_id, predict), ...]`` (at most two).
ChallengerProvider = Callable[[], "Sequence[tuple[str, Predict]]"]
#: Challengers scored per batch at most (issue 18: each one batch call, beside the champion's).
MAX_CHALLENGERS = 2


def no_challengers() -> Sequence[tuple[str, Predict]]:
    """No challenger served in shadow: decisions carry only the champion's (or the prior's) probability."""
    return ()


#: Names a regime per row of the same ``(m, len(config.model_features))`` matrix.
Classify = Callable[[FloatArray], "npt.NDArray[np.str_]"]
#: Returns the served regime detector as ``(model_id, classify)``, or None: the rule classifies.
RegimeProvider = Callable[[], "tuple[str, Classify] | None"]


def no_detector() -> tuple[str, Classify] | None:
    """No trained detector served: the rule classifies every signal."""
    return None


class Store(Protocol):
    """What the logic needs from the tables (implemented by ``huracan.adapters.repository.Repository``)."""

    def put_bars(self, bars: Sequence[Bar], expires_at_epoch: int | None) -> None: ...
    def bars_before(self, symbol: str, before_ts: str, limit: int) -> BarArrays: ...
    def create_decision(self, rec: DecisionRecord) -> None: ...
    def get_decision(self, signal_id: str) -> DecisionRecord | None: ...
    def create_shadow_trade(self, rec: ShadowTradeRecord) -> None: ...


class DeadLetters(Protocol):
    def park(self, records: Sequence[ParkedRecord]) -> None: ...


class Timers(Protocol):
    def start(self, timer: TimerStart) -> bool: ...


class LogSink(Protocol):
    """The part of a (Powertools) logger the logic uses; every call passes ``extra``."""

    def info(self, msg: str, *, extra: Mapping[str, object]) -> None: ...
    def warning(self, msg: str, *, extra: Mapping[str, object]) -> None: ...
    def error(self, msg: str, *, extra: Mapping[str, object]) -> None: ...


def shadow_id_for(signal_id: str) -> str:
    """A deterministic id that is also a valid Step Functions execution name (``[A-Za-z0-9_-]``, <= 80)."""
    return "shadow_" + hashlib.sha256(signal_id.encode("utf-8")).hexdigest()[:32]


def _ids(signal_id: str | None = None, shadow_id: str | None = None, model_id: str | None = None) -> dict[str, object]:
    return {"signal_id": signal_id, "shadow_id": shadow_id, "model_id": model_id}


def _clean(x: float) -> float | None:
    return float(x) if math.isfinite(float(x)) else None


def _features_json(row: FloatArray, names: Sequence[str], extra: Mapping[str, float] | None = None) -> str:
    """The model row by name (``names``: the config's :func:`~huracan.core.features.model_features`, extras
    included), plus any other feature the signal carried: the stored row is the one the model saw, and the
    nightly reads it back when the bars are gone."""
    doc = {name: _clean(v) for name, v in zip(names, row.tolist(), strict=True)}
    for name, v in (extra or {}).items():
        doc.setdefault(name, _clean(v))
    return json.dumps(doc, sort_keys=True)


@dataclass
class BatchCounters:
    """What one batch did, for the handler's metrics."""

    records: int = 0
    bars: int = 0
    signals: int = 0
    parked: int = 0
    decisions: int = 0
    passed: int = 0
    trades_opened: int = 0
    timers_started: int = 0
    redelivered: int = 0
    transient_failures: int = 0


@dataclass
class _Evaluated:
    """A signal with everything computed that does not need AWS."""

    signal: Signal
    decision: DecisionRecord
    trade: ShadowTradeRecord | None


#: What :meth:`SignalService.decide` returns per signal (the backtest reads it; the handler persists it).
Evaluated = _Evaluated


@dataclass
class _Slot:
    """Per stream record: what it is and what happened to it in the whole-batch step."""

    kind: str  # bar | signal | parked
    shard_id: str
    sequence_number: str
    data_b64: str
    event_source_arn: str | None
    record: Bar | Signal | None = None
    error: Exception | None = None
    evaluated: _Evaluated | None = None


def _shard_of(raw: Mapping[str, Any]) -> str:
    event_id = str(raw.get("eventID") or "")
    return event_id.split(":", 1)[0] if ":" in event_id else event_id


def _signal_ready(sig: Signal, history: BarArrays, end: int, extra_features: Sequence[str]) -> Signal | str:
    """The signal with its price (a user's may omit it), or why it cannot be evaluated (a permanent reason).

    Without a price the signal enters at the last close known at its ts: the close of the bar that ended
    by then. A declared extra feature the signal does not carry parks it: the model needs every input.
    """
    missing = [f for f in extra_features if f not in (sig.features or {})]
    if missing:
        return f"features: declared extra feature(s) {missing} missing from signal {sig.signal_id}"
    if sig.price is not None:
        return sig
    if end == 0:
        return f"price: signal {sig.signal_id} has no price and no bar of {sig.symbol} closed by {sig.ts}"
    return sig.model_copy(update={"price": float(history.close[end - 1])})


def _concat(parts: Sequence[BarArrays]) -> BarArrays:
    parts = [p for p in parts if len(p)]
    if not parts:
        return BarArrays.from_columns([], [], [], [], [], [])
    cols = {
        name: np.concatenate([getattr(p, name) for p in parts])
        for name in ("ts", "open", "high", "low", "close", "volume", "bid", "ask")
    }
    ts = cols["ts"]
    # later rows win on a duplicate ts (a batch bar replaces a stored one), then sort
    _, keep_rev = np.unique(ts[::-1], return_index=True)
    keep = np.sort(len(ts) - 1 - keep_rev)
    order = keep[np.argsort(ts[keep], kind="stable")]
    return BarArrays(**{k: v[order] for k, v in cols.items()})


def _bars_to_arrays(bars: Sequence[Bar]) -> BarArrays:
    return BarArrays.from_records(bars)


def resolve_at(timeout_at: str, ingest_lag_sec: int) -> str:
    """When the timer's Wait ends: the resolver proves a window complete by the first bar at or after its end,
    which closes one bar after ``timeout_at`` and is stored ``ingest_lag_sec`` later. Waiting for it, rather
    than retrying until it comes, makes the first attempt the only one (each retry is a billed transition and
    invocation); the local timer gate holds executions until the same instant."""
    return from_epoch_s(epoch_s(timeout_at) + BAR_SEC + ingest_lag_sec)


class SignalService:
    """The evaluate-signals logic, with its ports injected (the handler wires the AWS adapters)."""

    def __init__(
        self,
        *,
        store: Store,
        dead_letters: DeadLetters,
        timers: Timers,
        config: EngineConfig,
        log: LogSink,
        model_provider: ModelProvider = no_model,
        regime_rule: RuleRegime | None = None,
        regime_provider: RegimeProvider = no_detector,
        challenger_provider: ChallengerProvider = no_challengers,
        prices_ttl_days: int = 35,
        decisions_ttl_days: int = 400,
        ingest_lag_sec: int = 0,
        max_future_skew_s: float = DEFAULT_MAX_FUTURE_SKEW_S,
        max_record_age_days: float | None = None,
    ) -> None:
        self.store = store
        self.dead_letters = dead_letters
        self.timers = timers
        self.config = config
        self.log = log
        self.model_provider = model_provider
        self.regime_rule = regime_rule or RuleRegime()
        self.regime_provider = regime_provider
        self.challenger_provider = challenger_provider
        self.costs = CostModel(config.costs)
        self.prices_ttl_sec = prices_ttl_days * DAY_SEC
        self.decisions_ttl_sec = decisions_ttl_days * DAY_SEC
        self.ingest_lag_sec = ingest_lag_sec
        self.max_future_skew_s = float(max_future_skew_s)
        #: Older than this when it reached the stream: refused (default: the prices retention).
        self.max_record_age_s = float(max_record_age_days * DAY_SEC if max_record_age_days else self.prices_ttl_sec)

    # ------------------------------------------------------------------ whole-batch step
    def prepare(self, records: Sequence[Mapping[str, Any]]) -> PreparedBatch:
        """Parse, park, write bars and evaluate every signal of the batch; nothing here raises per record."""
        batch = PreparedBatch(self)
        batch.counters.records = len(records)
        for raw in records:
            kin = raw.get("kinesis") or {}
            slot = _Slot(
                kind="parked",
                shard_id=_shard_of(raw),
                sequence_number=str(kin.get("sequenceNumber") or ""),
                data_b64=str(kin.get("data") or ""),
                event_source_arn=raw.get("eventSourceARN"),
            )
            batch.slots[slot.sequence_number] = slot
            try:
                data = base64.b64decode(slot.data_b64, validate=True)
                rec = parse_record(data)
            except (binascii.Error, ValueError) as exc:
                reason = exc.reason if isinstance(exc, InvalidRecord) else f"data is not valid base64: {exc}"
                field_name = exc.field if isinstance(exc, InvalidRecord) else None
                batch.to_park.append((slot, reason, field_name))
                continue
            arrival = arrival_epoch(raw)
            refused = time_refusal(
                epoch_s(rec.ts), arrival, max_future_skew_s=self.max_future_skew_s, max_age_s=self.max_record_age_s
            )
            if refused is not None:
                batch.to_park.append((slot, refused, "ts"))
                continue
            if arrival is not None:  # TTLs count from when the rows are written, not from the record's own time
                batch.written_at = max(batch.written_at or 0, int(arrival))
            slot.record = rec
            slot.kind = "bar" if isinstance(rec, Bar) else "signal"
        self._park_invalid(batch)
        self._write_bars(batch)
        self._evaluate_signals(batch)
        return batch

    def _park_invalid(self, batch: PreparedBatch) -> None:
        if not batch.to_park:
            return
        parked = [
            ParkedRecord(
                reason=reason,
                shard_id=slot.shard_id,
                sequence_number=slot.sequence_number,
                data_b64=slot.data_b64,
                event_source_arn=slot.event_source_arn,
                field=field_name,
            )
            for slot, reason, field_name in batch.to_park
        ]
        try:
            self.dead_letters.park(parked)
        except Exception as exc:  # a DLQ that refuses: the records must not be lost, so they fail
            for slot, _, _ in batch.to_park:
                slot.error = exc
            self.log.error(f"could not park {len(parked)} malformed records: {exc}", extra=_ids())
            return
        batch.counters.parked += len(parked)
        for p in parked:
            self.log.warning(
                f"parked malformed record: {p.reason}",
                extra={**_ids(), "sequence_number": p.sequence_number, "shard_id": p.shard_id},
            )

    def _write_bars(self, batch: PreparedBatch) -> None:
        slots = [s for s in batch.slots.values() if s.kind == "bar"]
        if not slots:
            return
        bars = [s.record for s in slots if isinstance(s.record, Bar)]
        batch.counters.bars = len(bars)
        # one TTL per batch, from when it reached the stream (else the newest bar): never from the wall clock
        written = batch.written_at or max(int(epoch_s(b.ts)) for b in bars)
        refused, retry = write_bars_isolating(self.store.put_bars, bars, written + self.prices_ttl_sec)
        if retry:
            exc = next(iter(retry.values()))
            for i in retry:
                slots[i].error = exc
            self.log.warning(f"bar write throttled; {len(retry)} bars will be retried: {exc}", extra=_ids())
        for i, err in refused.items():  # only the bars that cannot be stored are parked, each with its error
            self.log.error(f"bar write refused: {err}", extra=_ids())
            batch.park_later([slots[i]], f"bar write refused: {type(err).__name__}: {err}")
        for i, s in enumerate(slots):
            if isinstance(s.record, Bar) and i not in refused:
                batch.bars_by_symbol[s.record.symbol].append(s.record)

    def _history(self, batch: PreparedBatch, symbol: str, signals: Sequence[Signal]) -> BarArrays:
        """Batch bars of ``symbol`` plus, only if they are too few, one Query for the stored ones before them."""
        own = _bars_to_arrays(sorted(batch.bars_by_symbol.get(symbol, []), key=lambda b: b.ts))
        own = _concat([own])
        first_t = min(int(epoch_s(s.ts)) for s in signals)
        last_t = max(epoch_s(s.ts) for s in signals)
        have = int(np.searchsorted(own.ts, first_t, side="left"))
        # signals sent on their own (``huracan publish``) may span more than the batch's bars: their bars are
        # stored already, so read them up to the last signal, or later signals would see stale bars
        covered = len(own) > 0 and int(own.ts[-1]) + BAR_SEC >= last_t
        if have >= WINDOW and covered:
            return own
        if not covered:
            span = int((last_t - first_t) // BAR_SEC) + 2
            stored = self.store.bars_before(symbol, from_epoch_s(math.floor(last_t) + 1), WINDOW + span)
            return _concat([stored, own])
        cutoff = first_t if len(own) == 0 else min(first_t, int(own.ts[0]))
        stored = self.store.bars_before(symbol, from_epoch_s(cutoff), WINDOW)
        return _concat([stored, own])

    def _evaluate_signals(self, batch: PreparedBatch) -> None:
        by_symbol: dict[str, list[_Slot]] = defaultdict(list)
        for s in batch.slots.values():
            if s.kind == "signal" and isinstance(s.record, Signal) and s.error is None:
                by_symbol[s.record.symbol].append(s)
        batch.counters.signals = sum(len(v) for v in by_symbol.values())
        if not by_symbol:
            return
        model = self.model_provider()
        model_id = model[0] if model else None
        ready: list[tuple[_Slot, Signal, BarArrays]] = []
        for symbol, slots in by_symbol.items():
            sigs = [s.record for s in slots if isinstance(s.record, Signal)]
            try:
                history = self._history(batch, symbol, sigs)
            except TransientError as exc:
                for s in slots:
                    s.error = exc
                self.log.warning(f"price history for {symbol} throttled: {exc}", extra=_ids(model_id=model_id))
                continue
            except Exception as exc:
                batch.park_later(slots, f"price history unavailable: {type(exc).__name__}: {exc}")
                continue
            for s, sig in zip(slots, sigs, strict=True):
                # bars that CLOSED at or before the signal's ts (open + bar <= ts): never a bar still forming
                end = int(np.searchsorted(history.ts, epoch_s(sig.ts) - BAR_SEC, side="right"))
                checked = _signal_ready(sig, history, end, self.config.extra_features)
                if isinstance(checked, str):
                    batch.park_later([s], checked)
                    continue
                ready.append((s, checked, history.slice(max(0, end - WINDOW), end)))
        if not ready:
            return
        evaluated = self.decide([sig for _, sig, _ in ready], BarWindows.from_bars([h for _, _, h in ready]), model)
        for (slot, _, _), ev in zip(ready, evaluated, strict=True):
            if isinstance(ev, Exception):  # broken input for the gates: permanent
                batch.park_later([slot], f"evaluation failed: {type(ev).__name__}: {ev}")
            else:
                if batch.written_at is not None:  # the decision's TTL counts from when it is written
                    ev.decision = dataclasses.replace(
                        ev.decision, expires_at_epoch=batch.written_at + self.decisions_ttl_sec
                    )
                slot.evaluated = ev

    def decide(
        self, signals: Sequence[Signal], windows: BarWindows, model: tuple[str, Predict] | None
    ) -> list[_Evaluated | Exception]:
        """Features, regime, the served model's probability, the six gates and the paper trade of a pass, for
        signals whose bar windows are given: the deciding part of the batch, nothing persisted.

        Why a method of its own: the stack's batch step and the in-process backtest (``huracan backtest``)
        both decide through it, so they cannot drift apart; they differ only in where the windows come from
        and where the records go. One answer per signal, in order: the evaluation, or the exception that
        made this signal's input unusable (the caller parks it).
        """
        model_id = model[0] if model else None
        bar_feats = features_windows(windows)
        extra = self.config.extra_features
        matrix = model_matrix(
            bar_feats,
            side_sign=[1.0 if s.side == "long" else -1.0 for s in signals],
            confidence=[s.confidence for s in signals],
            is_runner=[1.0 if s.mode == "runner" else 0.0 for s in signals],
            extra=extra_values([s.features for s in signals], extra) if extra else None,
        )
        names = self.config.model_features
        probs: npt.NDArray[np.float64] | None = None
        if model is not None:
            try:
                probs = np.asarray(model[1](matrix), dtype=np.float64).reshape(-1)
            except Exception as exc:  # a broken model must not stop the lab: fall back to the prior
                self.log.error(
                    f"model {model_id} failed to predict, using the prior: {exc}", extra=_ids(model_id=model_id)
                )
                probs, model_id = None, None
        regimes, regime_source = self._regimes(matrix)
        shadow = self._challenger_probs(matrix)
        out: list[_Evaluated | Exception] = []
        for j, sig in enumerate(signals):
            try:
                ev = self._evaluate_one(
                    sig,
                    matrix[j],
                    None if probs is None else float(probs[j]),
                    model_id,
                    str(regimes[j]),
                    regime_source,
                    names=names,
                )
                if shadow:  # stored beside the decision; the gates above never saw it
                    row = {cid: float(p[j]) for cid, p in shadow.items() if 0.0 <= p[j] <= 1.0}
                    ev.decision = replace(ev.decision, challenger_probs=row or None)
                out.append(ev)
            except Exception as exc:
                out.append(exc)
        return out

    def _challenger_probs(self, matrix: FloatArray) -> dict[str, FloatArray]:
        """Each live challenger's P(win) for every row, one batch call each; a failing one is left out."""
        out: dict[str, FloatArray] = {}
        for cid, predict in list(self.challenger_provider())[:MAX_CHALLENGERS]:
            try:
                p = np.asarray(predict(matrix), dtype=np.float64).reshape(-1)
                if p.shape != (len(matrix),):
                    raise ValueError(f"expected {len(matrix)} probabilities, got {p.shape}")
                out[cid] = p
            except Exception as exc:  # a broken challenger must not stop the lab, nor touch a decision
                self.log.error(f"challenger {cid} failed to predict, not scored: {exc}", extra=_ids(model_id=cid))
        return out

    def _regimes(self, matrix: FloatArray) -> tuple[npt.NDArray[np.str_], str]:
        """One regime per signal row, all in one call: the served detector's, else (or if it fails) the rule's."""
        detector = self.regime_provider()
        if detector is not None:
            det_id, classify = detector
            try:
                names = np.asarray(classify(matrix))
                if names.shape != (len(matrix),) or not np.isin(names, REGIMES).all():
                    raise ValueError(f"expected {len(matrix)} regime names, got {names.shape} {names[:3].tolist()}")
                return names, f"detector:{det_id}"
            except Exception as exc:  # a broken detector must not stop the lab: the rule classifies
                self.log.error(f"regime detector {det_id} failed, using the rule: {exc}", extra=_ids())
        return self.regime_rule.classify(matrix), "rule"

    def _evaluate_one(
        self,
        sig: Signal,
        row: FloatArray,
        prob: float | None,
        model_id: str | None,
        regime: str,
        regime_source: str = "rule",
        *,
        names: Sequence[str],
    ) -> _Evaluated:
        if prob is not None and not (0.0 <= prob <= 1.0):
            prob = None  # a model answer outside [0, 1] is not a probability: use the prior, say so
        decision: Decision = evaluate_gates(
            row,
            mode=sig.mode,
            confidence=sig.confidence,
            config=self.config,
            regime=regime,
            prob=prob,
            model_id=model_id if prob is not None else None,
        )
        plain = decision.to_item()
        t = int(epoch_s(sig.ts))
        if sig.price is None:  # _signal_ready prices every signal first; this only guards the type
            raise ValueError(f"signal {sig.signal_id} has no price")
        shadow_id = shadow_id_for(sig.signal_id) if decision.passed else None
        rec = DecisionRecord(
            signal_id=sig.signal_id,
            day=sig.ts[:10],
            ts=sig.ts,
            symbol=sig.symbol,
            side=sig.side,
            mode=sig.mode,
            strategy=sig.strategy,
            confidence=sig.confidence,
            price=sig.price,
            features_json=_features_json(row, names, sig.features),
            gates=plain["gates"],
            passed=decision.passed,
            blocked_by=decision.blocked_by,
            prob=_clean(decision.prob),
            prob_source=decision.prob_source,
            regime=decision.regime,
            regime_source=regime_source,
            model_id=decision.model_id,
            config_version=decision.config_version,
            expected_return_bps=_clean(decision.expected_return_bps),
            cost_bps=_clean(decision.cost_bps),
            shadow_id=shadow_id,
            expires_at_epoch=t + self.decisions_ttl_sec,
        )
        return _Evaluated(signal=sig, decision=rec, trade=self.trade_for(sig, rec) if decision.passed else None)

    def trade_for(self, sig: Signal, rec: DecisionRecord) -> ShadowTradeRecord:
        """The paper trade for a passed decision, from the decision's own stored numbers.

        ``entry_price`` is the signal's price (the seed: "Market @ $2,045.50 ... Entry: $2,045.50") and the
        barriers are measured from it, exactly as the nightly labeller measures them for blocked signals;
        slippage and fees are recorded in ``fill_assumptions`` / ``simulated_fee_gbp`` and charged once, in
        ``shadow_pnl_net_bps`` (huracan.core.outcomes), instead of being baked into the entry.
        """
        mode = self.config.mode(sig.mode)
        feats = json.loads(rec.features_json)
        raw_spread = feats.get("spread_bps")
        spread = self.costs.effective_spread_bps(float("nan") if raw_spread is None else float(raw_spread))
        tp, sl = barrier_prices(rec.price, sig.side, Barriers.from_mode(mode))
        t = entry_time(epoch_s(sig.ts), BAR_SEC)  # the first bar boundary at or after ts (= ts for a bar close)
        fill = {
            "signal_price": rec.price,
            "spread_bps": spread,
            "spread_source": "default"
            if raw_spread is None
            else ("estimated" if feats.get("spread_estimated") == 1.0 else "quoted"),
            "slippage_bps_per_side": self.costs.slippage_bps(spread),
            "fee_bps_per_side": self.costs.fee_bps_per_side,
            "round_trip_cost_bps": self.costs.round_trip_cost_bps(spread),
            "entry_fill_price": self.costs.entry_fill_price(rec.price, sig.side, spread),
            "entry_price_is": "signal_price",
            "tp_bps": mode.tp_bps,
            "sl_bps": mode.sl_bps,
            "timeout_sec": mode.timeout_sec,
            "bar_sec": BAR_SEC,
            "size_gbp": self.costs.simulated_size_gbp,
        }
        return ShadowTradeRecord(
            shadow_id=rec.shadow_id or shadow_id_for(sig.signal_id),
            signal_id=sig.signal_id,
            ts=sig.ts,
            day=sig.ts[:10],
            symbol=sig.symbol,
            mode=sig.mode,
            side=sig.side,
            strategy=sig.strategy,
            entry_price=rec.price,
            tp_price=tp,
            sl_price=sl,
            timeout_at=from_epoch_s(t + mode.timeout_sec),
            simulated_size_gbp=self.costs.simulated_size_gbp,
            simulated_fee_gbp=self.costs.simulated_fee_gbp,
            predicted_win_prob=rec.prob,
            prob_source=rec.prob_source,
            features_json=rec.features_json,
            fill_assumptions=fill,
            model_id=rec.model_id,
            regime=rec.regime,
            config_version=rec.config_version,
        )

    # ------------------------------------------------------------------ per-record step
    def persist(self, ev: _Evaluated, counters: BatchCounters) -> None:
        """Decision, then (for a pass) trade and timer; each step is idempotent on the signal."""
        sig, rec = ev.signal, ev.decision
        ids = _ids(sig.signal_id, rec.shadow_id, rec.model_id)
        try:
            self.store.create_decision(rec)
            counters.decisions += 1
            trade = ev.trade
        except AlreadyExists:
            stored = self.store.get_decision(sig.signal_id)
            if stored is None:  # deleted between the two calls (TTL): nothing sensible to complete
                raise TransientError("decision vanished after a conditional failure", operation="GetItem") from None
            conflict = signal_conflict(sig, stored)
            if conflict is not None:
                raise SignalConflict(conflict) from None
            counters.redelivered += 1
            rec = stored
            ids = _ids(sig.signal_id, rec.shadow_id, rec.model_id)
            self.log.info("signal already decided; completing its effects", extra=ids)
            trade = self.trade_for(sig, rec) if rec.passed else None
        if trade is None:
            self.log.info(f"signal blocked by {', '.join(rec.blocked_by)}", extra=ids)
            return
        counters.passed += 1
        try:
            self.store.create_shadow_trade(trade)
            counters.trades_opened += 1
        except AlreadyExists:
            pass
        started = self.timers.start(
            TimerStart(
                name=trade.shadow_id,
                input={
                    "shadow_id": trade.shadow_id,
                    "signal_id": trade.signal_id,
                    "symbol": trade.symbol,
                    "mode": trade.mode,
                    "side": trade.side,
                    "timeout_at": trade.timeout_at,
                    "resolve_at": resolve_at(trade.timeout_at, self.ingest_lag_sec),
                },
            )
        )
        counters.timers_started += int(started)
        self.log.info(f"shadow trade open until {trade.timeout_at}", extra=ids)


@dataclass
class PreparedBatch:
    """The result of the whole-batch step, and the per-record handler Powertools calls."""

    service: SignalService
    slots: dict[str, _Slot] = field(default_factory=dict)
    to_park: list[tuple[_Slot, str, str | None]] = field(default_factory=list)
    bars_by_symbol: defaultdict[str, list[Bar]] = field(default_factory=lambda: defaultdict(list))
    counters: BatchCounters = field(default_factory=BatchCounters)
    #: When the batch reached the stream (newest approximateArrivalTimestamp), if the event says.
    written_at: int | None = None

    def park_later(self, slots: Sequence[_Slot], reason: str) -> None:
        """Parsed records that failed permanently; parked one by one when Powertools reaches them."""
        for s in slots:
            s.kind = "park_later"
            s.error = _ParkReason(reason)

    def handle(self, sequence_number: str) -> None:
        """Process one record (by sequence number); raises only for a failure worth retrying."""
        slot = self.slots.get(sequence_number)
        if slot is None:
            raise KeyError(f"record {sequence_number} was not part of the prepared batch")
        if isinstance(slot.error, _ParkReason):
            self._park_one(slot, str(slot.error))
            return
        if slot.error is not None:
            self.counters.transient_failures += 1
            raise slot.error
        if slot.kind != "signal" or slot.evaluated is None:
            return
        ev = slot.evaluated
        try:
            self.service.persist(ev, self.counters)
        except SignalConflict as exc:
            self._park_one(slot, str(exc))
        except TransientError as exc:
            self.counters.transient_failures += 1
            self.service.log.warning(
                f"transient failure, record will be retried: {exc}",
                extra=_ids(ev.signal.signal_id, ev.decision.shadow_id, ev.decision.model_id),
            )
            raise
        except Exception as exc:
            self.service.log.error(
                f"signal failed permanently: {type(exc).__name__}: {exc}",
                extra=_ids(ev.signal.signal_id, ev.decision.shadow_id, ev.decision.model_id),
            )
            self._park_one(slot, f"processing failed: {type(exc).__name__}: {exc}")

    def _park_one(self, slot: _Slot, reason: str) -> None:
        sig = slot.record if isinstance(slot.record, Signal) else None
        self.service.dead_letters.park(
            [
                ParkedRecord(
                    reason=reason,
                    shard_id=slot.shard_id,
                    sequence_number=slot.sequence_number,
                    data_b64=slot.data_b64,
                    event_source_arn=slot.event_source_arn,
                )
            ]
        )
        self.counters.parked += 1
        self.service.log.warning(f"parked record: {reason}", extra=_ids(sig.signal_id if sig else None))


class SignalConflict(Exception):
    """A ``signal_id`` already decided with different content: parked as a conflict, the stored decision kept."""


class _ParkReason(Exception):
    """Marks a parsed record that failed permanently in the whole-batch step; carries the reason."""
