"""Counterfactual outcomes for every decision, in batch, and the per-gate "good block / bad block" summary.

A blocked signal is judged by the trade it would have been: the resolver's barriers (the mode's
``tp_bps``/``sl_bps``/``timeout_sec``) and costs (fees both sides plus the spread the shadow trade would
have recorded: the decision's ``spread_bps`` feature, or the configured default), resolved with the
vectorized :func:`~huracan.core.barriers.label_events` that is tested equal to the resolver's
:func:`~huracan.core.barriers.first_touch`.

Decided here:

- *Every* decision gets ``cf_*`` columns, passed ones too. Their "counterfactual" is the trade that was
  opened, recomputed with the same code and the same inputs, so it equals the shadow trade's outcome;
  writing it keeps the decisions table uniform (gate figures and the passed side come from one place)
  without a second writer on the resolver's path.
- A window whose data may still arrive is left *pending*, not written: NO_DATA of the kinds "no bars",
  "first bar not at entry" or "incomplete" while ``until_ts`` is less than ``settle_sec`` after the
  window's end and no later bar is stored. Gaps and bad prices are final and are written as NO_DATA.
- Barriers come from the current settings (decisions store the settings ``config_version`` only); a
  decision made under another version is still labelled and counted in ``other_config_version``.
- Each outcome is written once (conditional on no ``cf_outcome``), so a rerun changes nothing.

Bars come from the prices table and, for windows older than its TTL, the S3 bar archive: the sources are
read for the same range and merged, the first source winning on a duplicate bar.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Protocol

import numpy as np

from huracan.core.barriers import EXIT_REASONS, NO_DATA_KINDS, REASON_NO_DATA, label_events
from huracan.core.bars import BarArrays, entry_time
from huracan.core.config import EngineConfig
from huracan.core.costs import CostModel
from huracan.core.counterfactual import GatePerformance, SignalOutcome, gate_performance
from huracan.core.gates import GATE_NAMES
from huracan.core.outcomes import OUTCOMES, outcome_arrays
from huracan.core.timeutil import epoch_s, from_epoch_s, parse_ts
from huracan.service.entities import DecisionOutcome, DecisionRecord

__all__ = [
    "BarSource",
    "CounterfactualRun",
    "DecisionStore",
    "days_between",
    "gate_summary",
    "layered_bars",
    "merge_bars",
    "performance_dict",
    "resolve_counterfactuals",
]

BAR_SEC = 60
#: NO_DATA kinds that more data could still fix (the others, gaps and bad prices, are final).
_MAYBE_LATE = frozenset({"no bars", "first bar not at entry", "incomplete"})


class DecisionStore(Protocol):
    """The decisions table as the job needs it (``huracan.adapters.repository.Repository``)."""

    def decisions_with_outcomes_on_day(
        self, day: str, *, only_unresolved: bool = False
    ) -> Iterator[tuple[DecisionRecord, DecisionOutcome | None]]: ...
    def set_decision_outcome(self, outcome: DecisionOutcome) -> bool: ...


class BarSource(Protocol):
    """Bars of one symbol with ``start_ts <= ts < end_ts`` (prices table or the S3 bar archive)."""

    def bars_between(self, symbol: str, start_ts: str, end_ts: str) -> BarArrays: ...


@dataclass
class CounterfactualRun:
    """What one run did, and the per-gate figures of the decisions it labelled."""

    considered: int = 0
    written: int = 0
    already_labelled: int = 0
    pending: int = 0
    not_due: int = 0
    other_config_version: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    performance: GatePerformance | None = None


def days_between(since_ts: str, until_ts: str) -> list[str]:
    """UTC days (``YYYY-MM-DD``) from ``since_ts``'s day through ``until_ts``'s day."""
    a, b = parse_ts(since_ts).date(), parse_ts(until_ts).date()
    return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


def layered_bars(sources: Sequence[BarSource], symbol: str, start: str, end: str) -> BarArrays:
    """Ask each source only for what the earlier ones did not reach (from their last bar on).

    With the archive first, the prices table is read only for the bars not yet compacted (since the last
    midnight), instead of re-reading days that the archive already holds, one item at a time.
    """
    parts: list[BarArrays] = []
    cursor = start
    for src in sources:
        if cursor >= end:
            break
        part = src.bars_between(symbol, cursor, end)
        if len(part):
            parts.append(part)
            cursor = from_epoch_s(int(part.ts[-1]) + BAR_SEC)
    return merge_bars(parts)


def merge_bars(parts: Sequence[BarArrays]) -> BarArrays:
    """One sorted history from several sources; on a duplicate ``ts`` the earlier source wins."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return BarArrays.from_columns([], [], [], [], [], [])
    if len(parts) == 1:
        return parts[0]
    names = ("ts", "open", "high", "low", "close", "volume", "bid", "ask")
    cols = {n: np.concatenate([getattr(p, n) for p in parts]) for n in names}
    _, first = np.unique(cols["ts"], return_index=True)  # index of the first occurrence, sorted by ts
    return BarArrays(**{n: v[first] for n, v in cols.items()})


def _spread_of(rec: DecisionRecord, costs: CostModel) -> float:
    """The spread the shadow trade would record (``SignalService.trade_for``): the feature, else the default."""
    try:
        raw = json.loads(rec.features_json).get("spread_bps")
    except (ValueError, AttributeError):
        raw = None
    return float(costs.effective_spread_bps(float("nan") if raw is None else float(raw)))


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def resolve_counterfactuals(
    until_ts: str,
    *,
    store: DecisionStore,
    bars: BarSource | Sequence[BarSource],
    config: EngineConfig,
    since_ts: str | None = None,
    lookback_days: int = 3,
    settle_sec: int = 3600,
) -> CounterfactualRun:
    """Label every decision in ``[since_ts's day, until_ts's day]`` whose window ended by ``until_ts``.

    ``since_ts`` defaults to ``lookback_days`` before ``until_ts``. Returns counts and the gate figures of
    the decisions labelled in this run (use :func:`gate_summary` for whole days).
    """
    until = int(epoch_s(until_ts))
    since = since_ts or from_epoch_s(until - lookback_days * 86_400)
    sources: Sequence[BarSource] = [bars] if not isinstance(bars, Sequence) else bars
    costs = CostModel(config.costs)
    run = CounterfactualRun()

    due: list[DecisionRecord] = []
    for day in days_between(since, until_ts):
        for rec, out in store.decisions_with_outcomes_on_day(day, only_unresolved=True):
            run.considered += 1
            if out is not None:
                run.already_labelled += 1
                continue
            if entry_time(epoch_s(rec.ts), BAR_SEC) + config.mode(rec.mode).timeout_sec > until:
                run.not_due += 1
                continue
            due.append(rec)

    groups: dict[tuple[str, str], list[DecisionRecord]] = defaultdict(list)
    for rec in due:
        groups[(rec.symbol, rec.mode)].append(rec)
    labelled: list[SignalOutcome] = []
    for (symbol, mode_name), recs in sorted(groups.items()):
        mode = config.mode(mode_name)
        t0 = np.array([entry_time(epoch_s(r.ts), BAR_SEC) for r in recs], dtype=np.int64)
        t_end = t0 + mode.timeout_sec
        start, end = from_epoch_s(int(t0.min())), from_epoch_s(int(t_end.max()) + BAR_SEC)
        history = layered_bars(sources, symbol, start, end)
        idx = np.searchsorted(history.ts, t0, side="left")
        labels = label_events(
            history,
            idx,
            np.array([1 if r.side == "long" else -1 for r in recs], dtype=np.int64),
            np.array([r.price for r in recs], dtype=np.float64),
            mode.tp_bps,
            mode.sl_bps,
            mode.timeout_sec,
            bar_sec=BAR_SEC,
            entry_ts=t0,
        )
        outs = outcome_arrays(
            labels,
            fee_bps_per_side=costs.fee_bps_per_side,
            spread_bps=np.array([_spread_of(r, costs) for r in recs], dtype=np.float64),
            breakeven_band_bps=config.costs.breakeven_band_bps,
        )
        last_ts = int(history.ts[-1]) if len(history) else -1
        for k, rec in enumerate(recs):
            reason_code = int(labels.reason[k])
            kind = NO_DATA_KINDS[int(labels.no_data_kind[k])]
            if reason_code == REASON_NO_DATA and kind in _MAYBE_LATE:
                settled = until >= int(t_end[k]) + settle_sec or last_ts >= int(t_end[k])
                if not settled:
                    run.pending += 1
                    continue
            outcome_name = OUTCOMES[int(outs.outcome[k])]
            net = _finite(float(outs.shadow_pnl_net_bps[k]))
            written = store.set_decision_outcome(
                DecisionOutcome(
                    signal_id=rec.signal_id,
                    cf_exit_reason=EXIT_REASONS[reason_code],
                    cf_outcome=outcome_name,
                    cf_exit_price=_finite(float(labels.exit_price[k])),
                    cf_pnl_bps=_finite(float(outs.shadow_pnl_bps[k])),
                    cf_pnl_net_bps=net,
                    cf_reason=kind or None,
                )
            )
            if not written:  # labelled by a concurrent run in between: its value stands
                run.already_labelled += 1
                continue
            run.written += 1
            run.outcomes[outcome_name] += 1
            run.other_config_version += int(rec.config_version != config.version)
            labelled.append((rec.blocked_by, outcome_name, net))
    run.performance = gate_performance(labelled, GATE_NAMES)
    return run


def _signal_outcomes(store: DecisionStore, days: Iterable[str]) -> Iterator[SignalOutcome]:
    for day in days:
        for rec, out in store.decisions_with_outcomes_on_day(day):
            if out is not None:
                yield rec.blocked_by, out.cf_outcome, out.cf_pnl_net_bps


def gate_summary(store: DecisionStore, days: Iterable[str], gates: Sequence[str] = GATE_NAMES) -> GatePerformance:
    """Good blocks / bad blocks / precision per gate (any, sole and shared attribution) over whole days.

    Only labelled decisions count; run :func:`resolve_counterfactuals` first.
    """
    return gate_performance(_signal_outcomes(store, days), gates)


def performance_dict(perf: GatePerformance) -> Mapping[str, object]:
    """A JSON-ready view of :class:`GatePerformance` for reports and logs."""
    return asdict(perf)
