"""The nightly's side of shadow challengers: enlist a ready model, judge the live ones on forward decisions.

Pure parts (:func:`forward_rows`, :func:`review`) decide; :func:`review_challengers` and :func:`enlist`
read the decisions and write the registry's ``challengers.json`` / ``latest.json`` at the edge, so the
in-process backtest can call the same deciding functions without persisting anything.

A challenger's forward decisions are the decisions made at or after the night it was trained (its
``trained_until``: the run time of that night; every row it trained or was calibrated on had its outcome
known by then) that carry its probability (it was live when they were scored) and whose outcome is known.
Each is paired with what gated it: ``prob`` on the decision — the champion's, or the prior when none was
published — and judged at its mode's deployed ``meta_label_threshold`` (:mod:`.forward`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from huracan.core.timeutil import epoch_s
from huracan.learning.collect import DecisionSource, lookback_days
from huracan.learning.forward import ForwardRows, ForwardRule, ForwardVerdict, compare_forward, judge_forward
from huracan.registry.registry import ModelRegistry
from huracan.service.entities import DecisionOutcome, DecisionRecord

__all__ = ["enlist", "forward_rows", "review", "review_challengers"]

log = logging.getLogger(__name__)
_SCORED = ("WIN", "LOSS", "BREAKEVEN")


def _json_safe(x: Any) -> Any:
    """NaN / inf (a look without evidence) to None: the registry's documents are strict JSON."""
    if isinstance(x, Mapping):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    if isinstance(x, float | np.floating):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def forward_rows(
    decisions: Iterable[tuple[DecisionRecord, DecisionOutcome | None]],
    model_id: str,
    trained_until: str,
    thresholds: Mapping[str, float],
) -> ForwardRows:
    """The challenger's forward decisions with a known outcome, paired with what gated each one."""
    since = int(epoch_s(trained_until))
    y, pnl, thr, inc, chal, t, modes = [], [], [], [], [], [], []
    for rec, out in decisions:
        probs = rec.challenger_probs or {}
        if model_id not in probs or rec.prob is None or out is None or out.cf_outcome not in _SCORED:
            continue
        ts = int(epoch_s(rec.ts))
        if ts < since or out.cf_pnl_net_bps is None:
            continue
        y.append(1.0 if out.cf_outcome == "WIN" else 0.0)
        pnl.append(float(out.cf_pnl_net_bps))
        thr.append(float(thresholds.get(rec.mode, 0.5)))
        inc.append(float(rec.prob))
        chal.append(float(probs[model_id]))
        t.append(ts)
        modes.append(rec.mode)
    return ForwardRows.build(y, pnl, np.array(thr, dtype=np.float64), inc, chal, t, modes)


def review(rows: ForwardRows, *, nights: int, rule: ForwardRule, embargo_sec: int, seed: int = 0) -> ForwardVerdict:
    """One night's look at one challenger (pure)."""
    return judge_forward(compare_forward(rows, rule=rule, embargo_sec=embargo_sec, seed=seed), nights=nights, rule=rule)


def _decisions(
    source: DecisionSource, first_day: str, last_day: str
) -> list[tuple[DecisionRecord, DecisionOutcome | None]]:
    if last_day < first_day:
        return []
    n = (int(epoch_s(f"{last_day}T00:00:00Z")) - int(epoch_s(f"{first_day}T00:00:00Z"))) // 86_400 + 1
    out: list[tuple[DecisionRecord, DecisionOutcome | None]] = []
    for day in lookback_days(last_day, n):
        out.extend(source.decisions_with_outcomes_on_day(day))
    return out


def review_challengers(
    registry: ModelRegistry,
    source: DecisionSource | None,
    *,
    name: str,
    last_day: str,
    event_time: str,
    thresholds: Mapping[str, float],
    embargo_sec: int,
    rule: ForwardRule,
) -> list[dict[str, Any]]:
    """Judge every live challenger on its forward decisions up to ``last_day``; promote, keep or retire it.

    Returns one entry per challenger for the session report (its verdict, reasons and comparison). A
    promotion switches ``latest.json`` through :meth:`ModelRegistry.promote` (full verification first);
    the other live challengers keep being judged against whatever gated their decisions.
    """
    state = registry.challengers(name)
    if not state["live"]:
        return []
    first = min(str(e["trained_until"])[:10] for e in state["live"])
    decisions = _decisions(source, first, last_day) if source is not None else []
    live: list[dict[str, Any]] = []
    retired = list(state["retired"])
    report: list[dict[str, Any]] = []
    for k, entry in enumerate(state["live"]):
        cid = str(entry["model_id"])
        nights = int(entry.get("nights", 0)) + 1
        rows = forward_rows(decisions, cid, str(entry["trained_until"]), thresholds)
        verdict = review(rows, nights=nights, rule=rule, embargo_sec=embargo_sec, seed=k)
        c = verdict.comparison
        doc = {
            **entry,
            "nights": nights,
            "action": verdict.action,
            "reasons": list(verdict.reasons),
            "at": event_time,
            # the last look, for the daily report: both models on the same forward decisions, with intervals
            "look": {
                "n": c.n,
                "challenger_auc": c.challenger_auc.to_dict(),
                "incumbent_auc": c.incumbent_auc.to_dict(),
                "auc_diff": c.auc_diff.to_dict(),
                "z": c.z,
                "z_crit": verdict.z_crit,
                "pnl_diff_bps": c.pnl_diff_bps.to_dict(),
                "challenger_kept": c.challenger_kept,
                "incumbent_kept": c.incumbent_kept,
            },
        }
        doc = _json_safe(doc)
        report.append({**doc, "verdict": _json_safe(verdict.to_dict())})
        if verdict.action == "promote":
            registry.promote(cid)
            retired.append({**doc, "outcome": "promoted"})
            log.info("challenger %s promoted on forward evidence: %s", cid, verdict.reasons[-1])
        elif verdict.action == "retire":
            retired.append({**doc, "outcome": "retired"})
            log.info("challenger %s retired: %s", cid, verdict.reasons[-1])
        else:
            live.append({k2: v for k2, v in doc.items() if k2 not in ("action",)})
    registry.set_challengers(name, live, retired)
    return report


def enlist(
    registry: ModelRegistry, name: str, model_id: str, trained_until: str, rule: ForwardRule
) -> tuple[bool, str]:
    """Add a stored challenger version to the live list if a slot is free; (enlisted, why)."""
    state = registry.challengers(name)
    live: Sequence[dict[str, Any]] = state["live"]
    if any(e["model_id"] == model_id for e in live):
        return True, "already live"
    if len(live) >= rule.max_live:
        return False, f"{len(live)} challengers already served in shadow (at most {rule.max_live})"
    entry = {"model_id": model_id, "trained_until": trained_until, "nights": 0}
    registry.set_challengers(name, [*live, entry], state["retired"])
    return True, "served in shadow from the next signal; promoted only on forward evidence"
