"""The plain-language "what we learned today", computed from the day's figures.

:class:`Narrator` is the interface; :class:`FiguresNarrator` (the default and, today, the only
implementation) writes sentences from :class:`~huracan.observability.insight_aggregator.DailySummary`
fields only, so every number in the text is one shown in the report's tables. An AI-written version
(Amazon Bedrock) could sit behind the same protocol; it is deliberately not included: it would need a
bedrock-runtime adapter, a model choice and IAM that the stack does not have yet.
"""

from __future__ import annotations

from typing import Protocol

from huracan.observability.insight_aggregator import DailySummary
from huracan.observability.targets import MetricValue

__all__ = ["FiguresNarrator", "Narrator", "headline", "interval_text", "serving_model"]


class Narrator(Protocol):
    def narrate(self, summary: DailySummary) -> list[str]:
        """Short paragraphs, most important first."""
        ...


def interval_text(value: float | None, ci: tuple[float, float] | None, fmt: str) -> str:
    """`` [lo, hi]`` after a figure; a zero-width interval is named for what it is (every prediction the same
    gives AUC 0.500 [0.500, 0.500], which looks like certainty and is the absence of any ranking)."""
    if ci is None or value is None:
        return ""
    if ci[0] == ci[1] == value:
        return " (no spread: every prediction was the same)"
    return f" [{ci[0]:{fmt}}, {ci[1]:{fmt}}]"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def _band(m: MetricValue) -> str:
    return f"target {m.band.text()}: {m.status}"


def headline(s: DailySummary) -> str:
    """One line (≤ 100 characters, the SNS subject limit) a person reads first."""
    ready = _model_state(s)
    pnl = f"{s.shadow.pnl_net_bps:+.1f} bps net" if s.shadow.pnl_n else "no resolved P&L"
    health = "healthy" if s.health.ok else "health issues"
    return f"Huracan {s.day}: {s.shadow.trades} shadow trades, {pnl}, {ready}, {health}"[:100]


def serving_model(s: DailySummary) -> str | None:
    """The champion in service as of the report: the last published session's model, if any."""
    return next((x.model_id for x in reversed(s.sessions) if x.model_id), None)


def _model_state(s: DailySummary) -> str:
    """Ready / a champion still served after a not-ready night / not ready / none, for the headline."""
    if s.readiness.ready:
        return "model ready"
    served = serving_model(s)
    if served:
        return f"champion {served.removeprefix('sha256:')[:8]} served"
    return {False: "model not ready", None: "no model yet"}[s.readiness.ready]


class FiguresNarrator:
    """Sentences from the figures; no model, no network."""

    def narrate(self, summary: DailySummary) -> list[str]:
        s = summary
        out = [self._activity(s)]
        out.append(self._gates(s))
        out.append(self._learning(s))
        out.append(self._hamilton(s))
        out.append(self._health(s))
        return [p for p in out if p]

    def _activity(self, s: DailySummary) -> str:
        passed = s.funnel[-1][1] if s.funnel else 0
        text = (
            f"On {s.day} the engine evaluated {s.signals} signals: {passed} passed all six gates and became "
            f"shadow trades ({s.shadow.trades} opened, {s.shadow.closed} closed, {s.shadow.open} still open"
            f"{f', {s.shadow.errors} failed to resolve' if s.shadow.errors else ''})."
        )
        for mode, wr in s.shadow.win_rate.items():
            m = s.metric("shadow_win_rate", mode) if any(x.key == mode for x in s.metrics) else None
            band = f" ({_band(m)})" if m else ""
            text += f" {mode.capitalize()} won {wr.wins} of {wr.n} resolved ({_pct(wr.rate)}){band}."
        pnl = s.metric("shadow_pnl_daily")
        if s.shadow.pnl_n:
            text += (
                f" Simulated P&L was {s.shadow.pnl_net_bps:+.1f} bps after costs "
                f"({s.shadow.pnl_gross_bps:+.1f} gross; {_band(pnl)}). Paper only: no money moved."
            )
        return text

    def _gates(self, s: DailySummary) -> str:
        blocking = [g for g in s.gates if g.blocked]
        if not blocking:
            return "No gate blocked anything today." if s.signals else ""
        top = max(blocking, key=lambda g: (g.blocked, g.gate))
        text = (
            f"{top.gate} blocked the most signals ({top.blocked} of {top.received}, pass rate {_pct(top.pass_rate)})."
        )
        for rep in s.gate_performance.gates:
            a = rep.any
            if a.good + a.bad:
                text += (
                    f" {rep.gate}: {a.good} good blocks (losers avoided), {a.bad} bad blocks (winners missed), "
                    f"precision {_pct(a.precision)}."
                )
        changes = [r for r in s.recommendations if r.change and r.recommended_net_bps > r.current_net_bps]
        if changes:
            best = max(changes, key=lambda r: (r.recommended_net_bps - r.current_net_bps, r.gate, r.mode))
            gain = best.recommended_net_bps - best.current_net_bps
            if best.recommended_allowed is not None:
                what = f"allowing only {', '.join(best.recommended_allowed) or 'no regime'}"
            elif best.kind == "offset":
                what = f"shifting its threshold by {best.recommended:+.3g}"
            else:
                what = f"a threshold of {best.recommended:.4g} instead of {best.current:.4g}"
            text += (
                f" Biggest possible tuning: {best.gate} ({best.mode}) with {what} would have netted "
                f"{gain:+.1f} bps more ({best.recommended_n} trades instead of {best.current_n}); one day is a "
                "hint, not a decision."
            )
        return text

    def _learning(self, s: DailySummary) -> str:
        today = [x for x in s.sessions if x.date == s.day]
        if not today:
            return "No training session ran today."
        t = today[-1]
        auc = "n/a" if t.auc is None else f"{t.auc:.3f}{interval_text(t.auc, t.auc_ci, '.3f')}"
        text = f"Last night's training (00:00 UTC) trained on {t.n} samples: AUC {auc}"
        if t.ece is not None:
            text += f", ECE {t.ece:.4f}"
        if t.brier is not None:
            text += f", Brier {t.brier:.4f}"
        imp = s.metric("model_improvement")
        if imp.value is not None:
            text += f"; AUC change vs the previous session {imp.value:+.3f} ({_band(imp)})"
        text += f". Verdict: {t.verdict}" + (f" ({'; '.join(t.reasons)})" if t.reasons else "") + "."
        if s.importance_change:
            f, old, new = s.importance_change[0]
            stab = s.metric("feature_importance_stability")
            text += (
                f" Biggest importance move: {f} {old:.0%} → {new:.0%}; {_pct(stab.value)} of importance moved "
                f"({_band(stab)})."
            )
        if t.model_id:
            text += f" Published {t.model_id[:19]}."
        else:
            served = serving_model(s)
            text += " Nothing was published" + (f"; the champion {served[:19]} stays in service." if served else ".")
        return text

    def _hamilton(self, s: DailySummary) -> str:
        a = s.adoption
        parts = []
        if a is not None:
            if a.adopted:
                parts.append(f"Hamilton first traded on the latest model {a.lag_days:.2f} days after its export.")
            else:
                parts.append(f"Hamilton has not traded on the latest model yet ({a.lag_days:.2f} days since export).")
        d = s.divergence_summary
        if d.linked:
            n, mean, _, _ = d.stats["pnl_bps"]
            if n and mean is not None:
                parts.append(
                    f"Across {n} live trades linked to shadow trades, live P&L trailed paper by {mean:+.1f} bps on average."
                )
        return " ".join(parts)

    def _health(self, s: DailySummary) -> str:
        h = s.health
        failed = [c for c in h.checks if not c.passed]
        if not failed and h.ok:
            return "All integrity checks passed and the dead-letter queues are empty."
        parts = [f"{c.name}: {c.detail}" for c in failed]
        parts += [f"{q} holds {d} messages" for q, d in sorted(h.inputs.queue_depths.items()) if d]
        return "Needs attention: " + "; ".join(parts) + "."
