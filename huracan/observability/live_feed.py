"""Real-time learning activity (the seed's ``live_feed``): what the engine is doing, as a time line.

Not live *trading* activity (Hamilton's business): signals decided, paper trades opened and closed,
models trained and published. :func:`activity_events` merges the records into one time-ordered list;
:func:`feed_lines` renders the last ``limit`` events as text for ``huracan feed`` and the report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from huracan.observability.records import DecisionRow, ModelExport, ShadowTrade, TrainingSessionRecord

__all__ = ["FeedEvent", "activity_events", "feed_lines"]


@dataclass(frozen=True, slots=True, order=True)
class FeedEvent:
    ts: str
    kind: str  # signal | open | close | train | publish
    ref: str
    text: str


def activity_events(
    decisions: Iterable[DecisionRow] = (),
    shadow: Iterable[ShadowTrade] = (),
    sessions: Iterable[TrainingSessionRecord] = (),
    exports: Iterable[ModelExport] = (),
) -> list[FeedEvent]:
    """Every event, oldest first (ties broken by kind and id, so the order is reproducible)."""
    ev: list[FeedEvent] = []
    for d in decisions:
        verdict = "passed all gates" if d.passed else f"blocked by {', '.join(d.blocked_by) or '?'}"
        p = f" p={d.prob:.2f}" if d.prob is not None else ""
        ev.append(FeedEvent(d.ts, "signal", d.signal_id, f"{d.symbol} {d.mode} {d.side}{p}: {verdict}"))
    for t in shadow:
        ev.append(FeedEvent(t.ts, "open", t.shadow_id, f"shadow {t.symbol} {t.mode} {t.side} @ {t.entry_price:g}"))
        if t.status == "CLOSED" and t.exit_ts:
            pnl = f"{t.shadow_pnl_net_bps:+.1f} bps net" if t.shadow_pnl_net_bps is not None else "no P&L"
            ev.append(FeedEvent(t.exit_ts, "close", t.shadow_id, f"closed {t.exit_reason} {t.actual_outcome} {pnl}"))
        elif t.status == "ERROR":
            ev.append(FeedEvent(t.exit_ts or t.timeout_at or t.ts, "close", t.shadow_id, "resolution failed (ERROR)"))
    for s in sessions:
        auc = f"AUC {s.auc:.3f}" if s.auc is not None else "AUC n/a"
        ev.append(
            FeedEvent(
                s.created_at or f"{s.date}T00:00:00Z",
                "train",
                s.candidate_id or s.date,
                f"trained on {s.n}: {auc}, {s.verdict}",
            )
        )
    for e in exports:
        ev.append(FeedEvent(e.created_at, "publish", e.model_id, f"published {e.model_id[:19]} v{e.version or '?'}"))
    return sorted(ev)


def feed_lines(events: Iterable[FeedEvent], limit: int = 50) -> list[str]:
    rows = list(events)[-limit:] if limit > 0 else list(events)
    return [f"{e.ts}  {e.kind:<7} {e.text}" for e in rows]
