"""The nightly training set from its three sources, one row per signal, each row saying where it came from.

- ``historical``: the run's signal source (:mod:`huracan.signals`: the built-in strategies, the planted edge,
  or the user's own signal history) over the archived bars of the lookback window, labelled with the triple barrier of each signal's mode (:func:`~huracan.learning.dataset.labelled_signals`).
- ``shadow``: every decision whose counterfactual outcome is known, passed *and* blocked, so the model does
  not learn only from what the old model let through. Label: ``cf_outcome == "WIN"``; P&L: ``cf_pnl_net_bps``.
- ``live``: Hamilton's closed trades. Label: ``outcome == "WIN"`` (else net P&L above the breakeven band);
  P&L: Hamilton's ``pnl_bps``; side, mode and confidence from the decision the trade links to (through
  ``engine_shadow_id``) when there is one.

Features are recomputed from the bars with the one feature definition (the row of the bar whose close
emitted the signal) whenever that bar is in the window; a decision whose bar is missing keeps the feature
row the Lambda stored with it (computed by the same code). A row without features is dropped and counted.
The config's ``extra_features`` are the columns after ``MODEL_FEATURES``
(:func:`~huracan.core.features.model_features`): a historical row takes them from its signal's own
``features``, a decision's row from the values stored with it (the ones the handler served with), and a value
never known (a decision stored before the column was declared, a source that carries none) is NaN.

De-duplication: rows are keyed by ``signal_id`` (historical rows get the id the live strategies would have
given them, :func:`~huracan.core.strategies.signal_id_for`), so a decision and its historical twin are one
signal; the row kept is the most direct evidence of its outcome: ``live`` over ``shadow`` over
``historical``. Outcome windows run from the signal to its exit (historical: the barrier's exit time;
decisions and live trades: the mode's timeout, an upper bound, so purging errs on the safe side).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

import numpy as np

from huracan.core.bars import BarArrays, FloatArray, entry_time
from huracan.core.config import EngineConfig
from huracan.core.features import BAR_SEC, MODEL_FEATURES, extra_values, features_history, model_matrix
from huracan.core.strategies import signal_id_for
from huracan.core.timeutil import epoch_s, from_epoch_s, parse_ts
from huracan.learning.dataset import PROVENANCES, Dataset, labelled_signals
from huracan.observability.records import LiveTrade
from huracan.service.counterfactuals import BarSource, layered_bars
from huracan.service.entities import DecisionOutcome, DecisionRecord
from huracan.signals.source import SignalSource, builtin, source_name

__all__ = [
    "Collected",
    "DecisionSource",
    "LiveTradeSource",
    "collect_dataset",
    "lookback_days",
]

_PRIORITY: dict[str, int] = {p: i for i, p in enumerate(PROVENANCES)}  # historical < shadow < live


class DecisionSource(Protocol):
    """The decisions table by day (``huracan.adapters.repository.Repository``)."""

    def decisions_with_outcomes_on_day(
        self, day: str, *, only_unresolved: bool = False
    ) -> Iterator[tuple[DecisionRecord, DecisionOutcome | None]]: ...


class LiveTradeSource(Protocol):
    """Hamilton's trades by the day they opened (``huracan.adapters.observability_sources.DayLoader``)."""

    def live_trades(self, days: Sequence[str]) -> list[LiveTrade]: ...


@dataclass(frozen=True)
class Collected:
    """The de-duplicated dataset, the bars it came from, and what to mark as used afterwards."""

    dataset: Dataset
    bars: dict[str, BarArrays]
    window: tuple[str, str]
    #: signal_id -> shadow_id of the passed decisions in the set (their shadow trades get marked too)
    shadow_ids: dict[str, str] = field(default_factory=dict)
    #: rows per source before de-duplication, duplicates dropped, rows dropped and why
    counts: dict[str, int] = field(default_factory=dict)

    def used_ids(self, used: np.ndarray) -> dict[str, list[str]]:
        """Row ids per provenance among the rows flagged in ``used`` (a mask over the dataset)."""
        ds = self.dataset
        return {p: sorted(ds.row_id[used & (ds.provenance == p)].tolist()) for p in PROVENANCES}


def lookback_days(day: str, n: int) -> list[str]:
    """``n`` UTC days ending with ``day`` (oldest first)."""
    d = parse_ts(f"{day}T00:00:00Z").date()
    return [(d - timedelta(days=k)).isoformat() for k in range(n - 1, -1, -1)]


def _empty(timeout: int, names: Sequence[str] = MODEL_FEATURES) -> Dataset:
    return Dataset.build(
        np.zeros((0, len(names))),
        [],
        [],
        [],
        [],
        feature_names=names,
        provenance=[],
        row_id=[],
        max_timeout_sec=timeout,
    )


def _historical(
    symbol: str, bars: BarArrays, history: FloatArray, source: SignalSource, engine: EngineConfig, until: int
) -> Dataset:
    """Signals of ``source`` on ``bars``, labelled per mode; only outcomes complete by ``until``.

    The config's extra features come from each signal's own ``features`` (a user's file or archived history
    carries them; a source that does not, such as the built-in strategies, leaves them NaN).
    """
    sig = source(bars, symbol)
    parts: list[Dataset] = []
    c = engine.costs
    extra = engine.extra_features
    extra_all = extra_values(sig.features or [None] * len(sig), extra) if extra else None
    for mode in sorted(set(sig.mode)):
        rows = np.array([m == mode for m in sig.mode], dtype=bool)
        if not rows.any():
            continue
        m = engine.mode(mode)
        idx = sig.bar_idx[rows]
        sides = [s for s, r in zip(sig.side, rows, strict=True) if r]
        strategies = [s for s, r in zip(sig.strategy, rows, strict=True) if r]
        entry_idx = None
        if sig.signal_id is not None:  # a user's signals keep their own ids (their decisions share them)
            ids = [i for i, r in zip(sig.signal_id, rows, strict=True) if r]
        else:
            ids = [
                signal_id_for(st, symbol, int(bars.ts[k]) + BAR_SEC)
                for st, k in zip(strategies, idx.tolist(), strict=True)
            ]
        if sig.ts is not None:  # stamped between bar closes: enter at the next boundary (core.bars.entry_time)
            entry_at = [entry_time(epoch_s(t), BAR_SEC) - BAR_SEC for t, r in zip(sig.ts, rows, strict=True) if r]
            e = np.minimum(np.searchsorted(bars.ts, entry_at, side="left"), len(bars) - 1)
            # no bar closing at the entry (a gap): the last bar, whose empty path labels it NO_DATA (dropped)
            entry_idx = np.where(bars.ts[e] == np.asarray(entry_at), e, len(bars) - 1)
        ds = labelled_signals(
            bars,
            idx,
            np.array([1 if s == "long" else -1 for s in sides]),
            sig.confidence[rows],
            np.full(len(idx), 1.0 if mode == "runner" else 0.0),
            tp_bps=m.tp_bps,
            sl_bps=m.sl_bps,
            timeout_sec=m.timeout_sec,
            fee_bps_per_side=c.fee_bps_per_side,
            breakeven_band_bps=c.breakeven_band_bps,
            default_spread_bps=c.default_spread_bps,
            provenance="historical",
            row_id=ids,
            history=history,
            entry_bar_idx=entry_idx,
            extra=None if extra_all is None else extra_all[rows],
            extra_names=extra,
        )
        parts.append(ds.subset(np.flatnonzero(ds.t_exit <= until)))
    return Dataset.concat(parts) if parts else _empty(0, engine.model_features)


def _features_at(
    bars: BarArrays | None,
    history: FloatArray | None,
    signal_ts: int,
    side: str,
    confidence: float,
    mode: str,
    extra: FloatArray | None = None,
) -> FloatArray | None:
    """The model row of the bar that closed at ``signal_ts`` (None when that bar is not in the window);
    ``extra``: the signal's extra feature values, appended after ``MODEL_FEATURES``."""
    if bars is None or history is None or len(bars) == 0:
        return None
    k = int(np.searchsorted(bars.ts, signal_ts - BAR_SEC, side="left"))
    if k >= len(bars) or int(bars.ts[k]) != signal_ts - BAR_SEC or not math.isfinite(float(history[k, 0])):
        return None
    row: FloatArray = model_matrix(
        history[k : k + 1],
        [1 if side == "long" else -1],
        [confidence],
        [1.0 if mode == "runner" else 0.0],
        None if extra is None else extra.reshape(1, -1),
    )[0]
    return row


def _features_of_decisions(
    bars_by: dict[str, BarArrays],
    history_by: dict[str, FloatArray],
    recs: Sequence[DecisionRecord],
    extra: Sequence[str] = (),
) -> list[FloatArray | None]:
    """:func:`_features_at` for many decisions at once (the same rows: ``model_matrix`` works element-wise);
    the extra features are the ones stored with each decision (the values the signal carried)."""
    out: list[FloatArray | None] = [None] * len(recs)
    by_symbol: dict[str, list[int]] = {}
    for j, rec in enumerate(recs):
        by_symbol.setdefault(rec.symbol, []).append(j)
    for symbol, idx in by_symbol.items():
        bars, history = bars_by.get(symbol), history_by.get(symbol)
        if bars is None or history is None or len(bars) == 0:
            continue
        t0 = np.array([int(epoch_s(recs[j].ts)) for j in idx], dtype=np.int64)
        k = np.searchsorted(bars.ts, t0 - BAR_SEC, side="left")
        inside = k < len(bars)
        kk = np.where(inside, k, 0)
        ok = inside & (bars.ts[kk] == t0 - BAR_SEC) & np.isfinite(history[kk, 0])
        if not ok.any():
            continue
        chosen = [j for j, good in zip(idx, ok.tolist(), strict=True) if good]
        rows = model_matrix(
            history[kk[ok]],
            [1 if recs[j].side == "long" else -1 for j in chosen],
            [recs[j].confidence for j in chosen],
            [1.0 if recs[j].mode == "runner" else 0.0 for j in chosen],
            extra_values([_stored_doc(recs[j].features_json) for j in chosen], extra) if extra else None,
        )
        for r, j in enumerate(chosen):
            out[j] = rows[r]
    return out


def _stored_doc(features_json: str | None) -> dict[str, float] | None:
    """A decision's stored feature document (None when it cannot be read)."""
    try:
        doc = json.loads(features_json or "")
    except (TypeError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _stored_features(features_json: str | None, extra: Sequence[str] = ()) -> FloatArray | None:
    """The model row a decision stored; an extra feature it lacks (stored before it was declared) is NaN."""
    doc = _stored_doc(features_json)
    if doc is None or not all(n in doc for n in MODEL_FEATURES):
        return None
    base = np.array([np.nan if doc[n] is None else float(doc[n]) for n in MODEL_FEATURES], dtype=np.float64)
    return np.concatenate([base, extra_values([doc], extra)[0]]) if extra else base


def collect_dataset(
    event_time: str,
    *,
    symbols: Sequence[str],
    bars: BarSource | Sequence[BarSource],
    engine: EngineConfig,
    decisions: DecisionSource | None = None,
    live: LiveTradeSource | None = None,
    signal_source: SignalSource | None = builtin,
    days: int = 30,
) -> Collected:
    """Every labelled signal of the ``days`` UTC days before ``event_time``'s day, one row per signal.

    ``bars`` are read per symbol for the window (plus one feature window before it) and merged, the first
    source winning on a duplicate bar (pass the archive, then the prices table).
    """
    until = int(epoch_s(event_time))
    last_day = from_epoch_s(until - 86_400)[:10]
    window_days = lookback_days(last_day, days)
    start = f"{window_days[0]}T00:00:00Z"
    sources: Sequence[BarSource] = [bars] if not isinstance(bars, Sequence) else bars
    timeout = max(engine.mode(m).timeout_sec for m in ("scalp", "runner"))
    extra = engine.extra_features  # columns after MODEL_FEATURES, from each signal's own features
    names = engine.model_features
    counts: Counter[str] = Counter()

    # -- bars and historical signals, per symbol
    bars_by: dict[str, BarArrays] = {}
    history_by: dict[str, FloatArray] = {}
    parts: list[Dataset] = []
    lead_in = from_epoch_s(int(epoch_s(start)) - 2 * 60 * BAR_SEC)  # one feature window before the first day
    for symbol in sorted(set(symbols)):
        b = layered_bars(sources, symbol, lead_in, event_time)
        if len(b) == 0:
            continue
        bars_by[symbol] = b
        history_by[symbol] = features_history(b)
        if signal_source is None:  # no source of historical signals: decisions and live trades only
            continue
        hist = _historical(symbol, b, history_by[symbol], signal_source, engine, until)
        hist = hist.subset(np.flatnonzero(hist.t_entry >= int(epoch_s(start))))
        counts["historical"] += len(hist)
        counts[f"historical_from_{source_name(signal_source)}"] += len(hist)
        parts.append(hist)

    # -- decisions with known outcomes (passed and blocked)
    X: list[FloatArray] = []
    y: list[float] = []
    te: list[int] = []
    tx: list[int] = []
    pnl: list[float] = []
    prov: list[str] = []
    rid: list[str] = []
    shadow_ids: dict[str, str] = {}
    by_shadow: dict[str, DecisionRecord] = {}
    if decisions is not None:
        labelled: list[tuple[DecisionRecord, DecisionOutcome, float]] = []
        for day in window_days:
            for rec, out in decisions.decisions_with_outcomes_on_day(day):
                if rec.shadow_id:
                    by_shadow[rec.shadow_id] = rec
                if out is None:
                    counts["shadow_unlabelled"] += 1
                    continue
                if out.cf_outcome == "NO_DATA" or out.cf_pnl_net_bps is None:
                    counts["shadow_no_data"] += 1
                    continue
                labelled.append((rec, out, float(out.cf_pnl_net_bps)))
        # features of every labelled decision in one pass per symbol (one row at a time cost a numpy round
        # trip per decision per night: ~4k decisions x 31 nights in a month's backtest)
        rows = _features_of_decisions(bars_by, history_by, [rec for rec, _, _ in labelled], extra)
        for (rec, out, net), row in zip(labelled, rows, strict=True):
            t0 = int(epoch_s(rec.ts))
            if row is None:
                row = _stored_features(rec.features_json, extra)
                counts["shadow_features_from_record"] += int(row is not None)
            if row is None:
                counts["shadow_no_features"] += 1
                continue
            X.append(row)
            y.append(1.0 if out.cf_outcome == "WIN" else 0.0)
            te.append(t0)
            tx.append(t0 + engine.mode(rec.mode).timeout_sec)
            pnl.append(net)
            prov.append("shadow")
            rid.append(rec.signal_id)
            counts[f"shadow_from_strategy:{rec.strategy}"] += 1
            if rec.passed and rec.shadow_id:
                shadow_ids[rec.signal_id] = rec.shadow_id
            counts["shadow"] += 1

    # -- Hamilton's live outcomes
    if live is not None:
        band = engine.costs.breakeven_band_bps
        for t in live.live_trades(window_days):
            if t.ts_open is None or t.pnl_bps is None or (t.status or "").lower() == "open":
                counts["live_incomplete"] += 1
                continue
            linked = by_shadow.get(t.engine_shadow_id or "")
            l_side = linked.side if linked else t.side
            l_mode = linked.mode if linked else (t.mode or "scalp")
            l_symbol = linked.symbol if linked else t.symbol
            if l_side not in ("long", "short") or l_mode not in ("scalp", "runner") or l_symbol is None:
                counts["live_unusable"] += 1
                continue
            t_open = int(epoch_s(linked.ts if linked else t.ts_open))
            lb = bars_by.get(l_symbol)
            row = None
            if lb is not None and len(lb):
                # the signal is the close of the last bar before the trade opened
                k = int(np.searchsorted(lb.ts, t_open - BAR_SEC, side="right")) - 1
                if k >= 0 and t_open - BAR_SEC - int(lb.ts[k]) < BAR_SEC:
                    row = _features_at(
                        lb,
                        history_by[l_symbol],
                        int(lb.ts[k]) + BAR_SEC,
                        l_side,
                        linked.confidence if linked else math.nan,
                        l_mode,
                        extra_values([_stored_doc(linked.features_json) if linked else None], extra)[0]
                        if extra
                        else None,
                    )
            if row is None and linked is not None:
                row = _stored_features(linked.features_json, extra)
            if row is None:
                counts["live_no_features"] += 1
                continue
            won = t.outcome == "WIN" if t.outcome else t.pnl_bps > band
            X.append(row)
            y.append(1.0 if won else 0.0)
            te.append(t_open)
            tx.append(t_open + engine.mode(l_mode).timeout_sec)
            pnl.append(float(t.pnl_bps))
            prov.append("live")
            rid.append(linked.signal_id if linked else f"live:{t.trade_id}")
            counts["live"] += 1

    if X:
        parts.append(
            Dataset.build(
                np.vstack(X), y, te, tx, pnl, feature_names=names, provenance=prov, row_id=rid, max_timeout_sec=timeout
            )
        )
    merged = Dataset.concat(parts) if parts else _empty(timeout, names)
    # -- one row per signal: the most direct evidence wins
    best: dict[str, int] = {}
    for i, (r, p) in enumerate(zip(merged.row_id.tolist(), merged.provenance.tolist(), strict=True)):
        j = best.get(r)
        if j is None or _PRIORITY[p] > _PRIORITY[str(merged.provenance[j])]:
            best[r] = i
    keep = np.array(sorted(best.values()), dtype=np.int64)
    counts["duplicates_dropped"] = len(merged) - len(keep)
    ds = merged.subset(keep)
    ds = Dataset(
        X=ds.X,
        y=ds.y,
        t_entry=ds.t_entry,
        t_exit=ds.t_exit,
        pnl_bps=ds.pnl_bps,
        provenance=ds.provenance,
        row_id=ds.row_id,
        feature_names=ds.feature_names,
        max_timeout_sec=max(ds.max_timeout_sec, timeout),
    )
    kept = set(ds.row_id.tolist())
    return Collected(
        dataset=ds,
        bars=bars_by,
        window=(start, event_time),
        shadow_ids={k: v for k, v in shadow_ids.items() if k in kept},
        counts=dict(counts),
    )
