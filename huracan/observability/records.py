"""The plain records every observability figure is computed from.

The adapters read the tables into these (``huracan/adapters/observability_sources.py``); the figures are
pure functions over lists of them, so a test can write down ten trades and check the exact win rate, and
the same code serves the nightly Lambda, ``huracan report`` and the local demo.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CHALLENGERS_SCHEMA",
    "ChallengerLook",
    "DecisionRow",
    "GateValue",
    "LiveTrade",
    "ModelExport",
    "ShadowTrade",
    "TrainingSessionRecord",
    "challenger_looks",
    "export_from_card",
    "finite_or_none",
    "session_from_document",
]


def finite_or_none(x: Any) -> float | None:
    """A float, or None for missing / NaN / inf / non-numbers (DynamoDB Decimals included)."""
    if x is None or isinstance(x, bool):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


@dataclass(frozen=True, slots=True)
class ShadowTrade:
    """A paper trade with its outcome columns (seed names); outcome fields are None while OPEN."""

    shadow_id: str
    ts: str
    day: str
    symbol: str
    mode: str
    side: str
    entry_price: float
    status: str = "OPEN"  # OPEN | CLOSED | ERROR
    signal_id: str = ""
    timeout_at: str | None = None
    exit_price: float | None = None
    exit_reason: str | None = None
    exit_ts: str | None = None
    shadow_pnl_bps: float | None = None
    shadow_pnl_net_bps: float | None = None
    actual_outcome: str | None = None  # WIN | LOSS | BREAKEVEN | NO_DATA
    predicted_win_prob: float | None = None
    prediction_correct: bool | None = None
    model_id: str | None = None
    regime: str | None = None
    features: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GateValue:
    """One gate's verdict on one signal: the number it looked at and the bar it had to clear."""

    passed: bool
    value: float | str | None
    threshold: float | str | None


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One signal's decision and, once the nightly labeller has run, its counterfactual outcome."""

    signal_id: str
    day: str
    ts: str
    symbol: str
    mode: str
    side: str
    passed: bool
    blocked_by: tuple[str, ...] = ()
    gates: Mapping[str, GateValue] = field(default_factory=dict)
    prob: float | None = None
    regime: str | None = None
    model_id: str | None = None
    shadow_id: str | None = None
    cf_outcome: str | None = None
    cf_pnl_net_bps: float | None = None


@dataclass(frozen=True, slots=True)
class LiveTrade:
    """One of Hamilton's live trades as posted back (the seed's ``trades``); ``pnl_bps`` is Hamilton's."""

    trade_id: str
    ts_open: str | None = None
    symbol: str | None = None
    mode: str | None = None
    side: str | None = None
    entry_price: float | None = None
    exit_price: float | None = None
    pnl_bps: float | None = None
    model_id: str | None = None
    status: str | None = None
    engine_shadow_id: str | None = None
    outcome: str | None = None
    received_at: str | None = None


@dataclass(frozen=True, slots=True)
class TrainingSessionRecord:
    """One nightly training session as the learning job reports it (plain values, no learning imports).

    ``auc_ci`` / ``ece_ci`` / ``brier_ci`` are (lo, hi) bootstrap intervals when known; ``model_id`` is the
    model *published* by this session (None when the challenger was kept as a candidate), and
    ``candidate_id`` the id it was stored under either way. ``importance`` maps feature -> share (any
    non-negative scale; it is normalised before comparisons).
    """

    date: str
    n: int
    auc: float | None
    ece: float | None
    brier: float | None
    verdict: str  # "ready" | "not ready"
    auc_ci: tuple[float, float] | None = None
    ece_ci: tuple[float, float] | None = None
    brier_ci: tuple[float, float] | None = None
    reasons: tuple[str, ...] = ()
    model_id: str | None = None
    candidate_id: str | None = None
    importance: Mapping[str, float] = field(default_factory=dict)
    created_at: str | None = None

    @property
    def ready(self) -> bool:
        return self.verdict.strip().lower() == "ready"


@dataclass(frozen=True, slots=True)
class ModelExport:
    """A model published to Hamilton (a champion in the registry) and whether it passed validation.

    ``validated`` is True when the exported model met the readiness checks and its stored files verified;
    None when unknown (counted as not validated: "all exported models pass validation" needs evidence).
    """

    model_id: str
    created_at: str
    version: int | None = None
    validated: bool | None = None
    auc: float | None = None


def _estimate(x: Any) -> tuple[float | None, tuple[float, float] | None, int | None]:
    """A metric written as a number or as ``{"value", "lo", "hi", "n"}`` (the trainer's Estimate)."""
    if isinstance(x, Mapping):
        lo, hi = finite_or_none(x.get("lo")), finite_or_none(x.get("hi"))
        n = x.get("n")
        return (
            finite_or_none(x.get("value")),
            (lo, hi) if lo is not None and hi is not None else None,
            int(n) if isinstance(n, int | float) and not isinstance(n, bool) else None,
        )
    return finite_or_none(x), None, None


def _importance(doc: Mapping[str, Any]) -> dict[str, float]:
    metrics = doc.get("metrics") if isinstance(doc.get("metrics"), Mapping) else {}
    raw = doc.get("importance", (metrics or {}).get("importance", (metrics or {}).get("feature_importance")))
    if isinstance(raw, Mapping) and isinstance(raw.get("gain"), Mapping):
        raw = raw["gain"]
    if not isinstance(raw, Mapping):
        return {}
    out = {str(k): finite_or_none(v) for k, v in raw.items()}
    return {k: v for k, v in out.items() if v is not None}


def session_from_document(doc: Mapping[str, Any]) -> TrainingSessionRecord:
    """A session from a model card (registry ``manifest.json``) or a ``TrainingReport.to_dict()``.

    Read tolerantly, because the two documents nest the same facts differently: metrics may be numbers
    or ``{value, lo, hi, n}``; the verdict sits under ``verdict`` (report) or ``readiness`` (card);
    importances under ``importance`` (``{"gain": ...}`` or flat) or ``metrics.importance``. A card of
    stage ``champion`` was published; a ``candidate`` was not.
    """
    metrics: Mapping[str, Any] = doc.get("metrics") if isinstance(doc.get("metrics"), Mapping) else {}  # type: ignore[assignment]
    auc, auc_ci, auc_n = _estimate(metrics.get("auc"))
    ece, ece_ci, _ = _estimate(metrics.get("ece"))
    brier, brier_ci, _ = _estimate(metrics.get("brier"))
    n_raw = doc.get("n_samples", metrics.get("n_samples", metrics.get("n", auc_n)))
    verdict_doc = doc.get("verdict", doc.get("readiness"))
    ready: bool | None = None
    reasons: tuple[str, ...] = ()
    if isinstance(verdict_doc, Mapping):
        r = verdict_doc.get("ready")
        ready = r if isinstance(r, bool) else None
        rs = verdict_doc.get("reasons")
        if isinstance(rs, list | tuple):
            reasons = tuple(str(x) for x in rs)
        elif isinstance(verdict_doc.get("checks"), list | tuple):
            reasons = tuple(
                str(c.get("detail", c.get("name", "")))
                for c in verdict_doc["checks"]
                if isinstance(c, Mapping) and c.get("blocking", True) and c.get("passed") is False
            )
    created = doc.get("created_at")
    created_s = str(created) if created else None
    date = str(doc.get("date") or (created_s or "")[:10])
    model_id = doc.get("model_id")
    stage = doc.get("stage")
    published = stage == "champion" or (stage is None and doc.get("published") is True)
    return TrainingSessionRecord(
        date=date,
        n=int(n_raw) if isinstance(n_raw, int | float) and not isinstance(n_raw, bool) else 0,
        auc=auc,
        ece=ece,
        brier=brier,
        verdict={True: "ready", False: "not ready", None: "unknown"}[ready],
        auc_ci=auc_ci,
        ece_ci=ece_ci,
        brier_ci=brier_ci,
        reasons=reasons,
        model_id=str(model_id) if model_id and published else None,
        candidate_id=str(model_id) if model_id else None,
        importance=_importance(doc),
        created_at=created_s,
    )


CHALLENGERS_SCHEMA = "huracan.challengers/1"


@dataclass(frozen=True, slots=True)
class ChallengerLook:
    """A challenger served in shadow and its last nightly look: it and what gated (the champion, or the
    prior) on the same forward decisions, each figure ``(value, lo, hi)`` with ``n`` decisions."""

    model_id: str
    status: str  # live | promoted | retired
    nights: int
    at: str | None
    n: int
    challenger_auc: tuple[float, float, float] | None
    incumbent_auc: tuple[float, float, float] | None
    auc_diff: tuple[float, float, float] | None
    z: float | None
    z_crit: float | None
    pnl_diff_bps: tuple[float, float, float] | None
    reason: str


def _triple(x: Any) -> tuple[float, float, float] | None:
    if not isinstance(x, Mapping):
        return None
    v = [finite_or_none(x.get(k)) for k in ("value", "lo", "hi")]
    return None if any(e is None for e in v) else (float(v[0]), float(v[1]), float(v[2]))  # type: ignore[arg-type]


def challenger_looks(docs: Sequence[Mapping[str, Any]], as_of: str) -> list[ChallengerLook]:
    """The challengers of every ``challengers.json`` looked at by ``as_of``: live first, then the last retired."""
    out: list[ChallengerLook] = []
    for doc in docs:
        entries = [("live", e) for e in doc.get("live") or []] + [
            (str(e.get("outcome") or "retired"), e) for e in (doc.get("retired") or [])[-5:]
        ]
        for status, e in entries:
            if not isinstance(e, Mapping) or (e.get("at") and str(e["at"]) > as_of):
                continue
            raw = e.get("look")
            look: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            reasons = e.get("reasons") or ["not looked at yet"]
            out.append(
                ChallengerLook(
                    model_id=str(e.get("model_id")),
                    status=status,
                    nights=int(e.get("nights") or 0),
                    at=str(e["at"]) if e.get("at") else None,
                    n=int(look.get("n") or 0),
                    challenger_auc=_triple(look.get("challenger_auc")),
                    incumbent_auc=_triple(look.get("incumbent_auc")),
                    auc_diff=_triple(look.get("auc_diff")),
                    z=finite_or_none(look.get("z")),
                    z_crit=finite_or_none(look.get("z_crit")),
                    pnl_diff_bps=_triple(look.get("pnl_diff_bps")),
                    reason=str(reasons[-1]),
                )
            )
    return out


def export_from_card(card: Mapping[str, Any]) -> ModelExport | None:
    """A champion's card as an export (None for candidates). ``validated`` is the card's readiness verdict:
    the registry publishes only after reading every file back and checking its hash and signature, so
    a champion that exists passed the file checks; what remains to know is whether it met readiness."""
    if card.get("stage") != "champion" or not card.get("model_id") or not card.get("created_at"):
        return None
    readiness = card.get("readiness")
    ready = readiness.get("ready") if isinstance(readiness, Mapping) else None
    version = card.get("version")
    metrics = card.get("metrics") if isinstance(card.get("metrics"), Mapping) else {}
    auc, _, _ = _estimate((metrics or {}).get("auc"))
    return ModelExport(
        model_id=str(card["model_id"]),
        created_at=str(card["created_at"]),
        version=int(version) if isinstance(version, int) else None,
        validated=ready if isinstance(ready, bool) else None,
        auc=auc,
    )
