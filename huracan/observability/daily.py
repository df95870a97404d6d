"""The nightly summary as one use case: gather the day's records, compute, render, store, notify.

Ports, not AWS: the record source, the report store and the notifier are protocols, so the Lambda
(``functions/daily_summary``), ``huracan report`` and the demo run this same code with their own ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from huracan.core.timeutil import epoch_s, format_ts, parse_ts
from huracan.observability.health import HealthInputs
from huracan.observability.insight_aggregator import DailySummary, build_daily_summary
from huracan.observability.narrative import FiguresNarrator, Narrator, headline
from huracan.observability.records import (
    CHALLENGERS_SCHEMA,
    DecisionRow,
    LiveTrade,
    ShadowTrade,
    challenger_looks,
    export_from_card,
    session_from_document,
)
from huracan.observability.report import metrics_document, render_report

__all__ = [
    "Published",
    "RecordSource",
    "ReportNotifier",
    "ReportSink",
    "collect_summary",
    "day_of",
    "days_ending",
    "publish_summary",
]


class RecordSource(Protocol):
    def decisions(self, days: Iterable[str]) -> list[DecisionRow]: ...
    def shadow_trades(self, days: Iterable[str]) -> list[ShadowTrade]: ...
    def live_trades(self, days: Iterable[str]) -> list[LiveTrade]: ...
    def shadow_by_ids(self, ids: Iterable[str]) -> list[ShadowTrade]: ...


class ReportSink(Protocol):
    def put_day(self, day: str, page: str, metrics_doc: dict[str, Any]) -> str: ...


class ReportNotifier(Protocol):
    def publish(self, subject: str, message: str, attributes: dict[str, str] | None = None) -> str: ...


def day_of(ts: str) -> str:
    """The UTC day of a timestamp (the EventBridge event's ``time``)."""
    return format_ts(parse_ts(ts))[:10]


def days_ending(day: str, n: int) -> list[str]:
    d0 = parse_ts(f"{day}T00:00:00Z")
    return [format_ts(d0 - timedelta(days=k))[:10] for k in range(n - 1, -1, -1)]


def promoted_card(card: Mapping[str, Any], challengers: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """A challenger's card as the champion it became when ``challengers.json`` records its promotion.

    A card is signed at registration and never rewritten, so a challenger promoted on forward evidence still
    says ``stage: challenger``; the report reads it as a champion published at its promotion time.
    """
    if card.get("stage") != "challenger":
        return card
    for doc in challengers:
        for e in doc.get("retired") or []:
            if isinstance(e, Mapping) and e.get("outcome") == "promoted" and e.get("model_id") == card.get("model_id"):
                return {**card, "stage": "champion", "created_at": e.get("at") or card.get("created_at")}
    return card


def collect_summary(
    day: str,
    as_of: str,
    source: RecordSource,
    cards: Sequence[Mapping[str, Any]] = (),
    *,
    health_inputs: HealthInputs | None = None,
    lookback_days: int = 7,
    modes: Sequence[str] = ("scalp", "runner"),
) -> DailySummary:
    """Read ``lookback_days`` of decisions and shadow trades (trend, late trades), the day's live trades
    and the shadow trades they link to, and the model cards made by ``as_of``; compute the summary."""
    window = days_ending(day, lookback_days)
    decisions = source.decisions(window)
    shadow = source.shadow_trades(window)
    live = source.live_trades([day])
    known = {t.shadow_id for t in shadow}
    missing = {t.engine_shadow_id for t in live if t.engine_shadow_id and t.engine_shadow_id not in known}
    if missing:
        shadow = [*shadow, *source.shadow_by_ids(sorted(x for x in missing if x))]
    t_as_of = epoch_s(as_of)
    challengers = [c for c in cards if c.get("schema") == CHALLENGERS_SCHEMA]
    cards = [promoted_card(c, challengers) for c in cards if c.get("schema") != CHALLENGERS_SCHEMA]
    # Meta-label cards only: the regime detector's cards (huracan.registry.detector) carry no AUC / n, and read
    # as sessions they made the narrative say "trained on 0 samples: AUC n/a" and the headline "not ready".
    made = [
        c
        for c in cards
        if str(c.get("name") or "meta_label") == "meta_label"
        and c.get("created_at")
        and epoch_s(str(c["created_at"])) <= t_as_of
    ]
    sessions = [session_from_document(c) for c in made]
    exports = [e for e in (export_from_card(c) for c in made) if e is not None]
    return build_daily_summary(
        day,
        as_of,
        decisions=decisions,
        shadow=shadow,
        live=live,
        sessions=sessions,
        exports=exports,
        health_inputs=health_inputs,
        modes=modes,
        challengers=challenger_looks(challengers, as_of),
    )


@dataclass(frozen=True, slots=True)
class Published:
    url: str
    message_id: str | None
    headline: str


def publish_summary(
    summary: DailySummary,
    sink: ReportSink,
    notifier: ReportNotifier | None = None,
    narrator: Narrator | None = None,
) -> Published:
    """Store the page (and metrics), then send one notification: headline, narrative, link."""
    nar = narrator or FiguresNarrator()
    url = sink.put_day(summary.day, render_report(summary, nar), metrics_document(summary))
    head = headline(summary)
    message_id = None
    if notifier is not None:
        body = "\n\n".join([head, *nar.narrate(summary), f"Full report: {url}"])
        message_id = notifier.publish(head, body, {"day": summary.day, "kind": "huracan.daily_summary"})
    return Published(url, message_id, head)
