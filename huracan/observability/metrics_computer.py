"""Shadow-trade and gate figures (the seed's ``metrics_computer``): pure functions over record lists.

Conventions (one place, so the report, the EMF metrics and the tests agree):

- A day's shadow trades are those *opened* that UTC day (the tables' ``by_day`` index). A trade counts
  toward win rate and P&L once it is CLOSED with a WIN / LOSS / BREAKEVEN outcome.
- ``shadow_win_rate = wins / (wins + losses + breakeven)`` per mode (NO_DATA left out), as in
  :mod:`huracan.core.counterfactual`.
- ``shadow_pnl_daily`` sums ``shadow_pnl_net_bps`` (after fees and spread): a paper figure that ignores
  costs would flatter the engine. The gross sum is reported next to it.
- A signal's outcome for gate accounting is its counterfactual outcome (``cf_outcome``) when the nightly
  labeller has set it, else the outcome of the shadow trade it opened, else NO_DATA.
- Threshold recommendations are *marginal*: for one gate and mode, only signals that no other gate
  blocked are considered, and a candidate threshold is scored by the net expectancy of what would pass
  (the sum of their net P&L). The best candidate is reported with its n; ties go to the candidate nearest
  the current threshold, so a flat objective never moves a threshold.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from huracan.core.counterfactual import GatePerformance, gate_performance
from huracan.core.gates import GATE_NAMES
from huracan.observability.records import DecisionRow, GateValue, ShadowTrade
from huracan.observability.targets import MetricValue, evaluate

__all__ = [
    "GATE_DIRECTION",
    "RESOLVED",
    "CalibrationBin",
    "GateCounts",
    "ShadowMetrics",
    "ThresholdRecommendation",
    "WinRate",
    "calibration_bins",
    "equity_curve",
    "expected_calibration_error",
    "gate_counts",
    "gate_funnel",
    "gate_outcomes",
    "pass_rate_trend",
    "shadow_metric_values",
    "shadow_metrics",
    "shadow_pnl_daily",
    "shadow_trades_daily",
    "shadow_win_rate",
    "signal_outcome",
    "threshold_recommendations",
]

RESOLVED: Final = ("WIN", "LOSS", "BREAKEVEN")
#: How each numeric gate compares its value with its threshold (">" passes values above, "<" below).
GATE_DIRECTION: Final[dict[str, str]] = {
    "meta_label_gate": ">",
    "cost_gate": ">",
    "confidence_gate": ">",
    "spread_gate": "<",
    "volume_gate": ">",
}


# ------------------------------------------------------------------------------------------- shadow
@dataclass(frozen=True, slots=True)
class WinRate:
    wins: int
    losses: int
    breakeven: int

    @property
    def n(self) -> int:
        return self.wins + self.losses + self.breakeven

    @property
    def rate(self) -> float | None:
        return self.wins / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class ShadowMetrics:
    """The seed's shadow trading figures for one day."""

    day: str
    trades: int
    open: int
    closed: int
    errors: int
    win_rate: dict[str, WinRate]
    pnl_net_bps: float
    pnl_gross_bps: float
    pnl_n: int


def _on_day(trades: Iterable[ShadowTrade], day: str) -> list[ShadowTrade]:
    return [t for t in trades if t.day == day]


def _resolved(t: ShadowTrade) -> bool:
    return t.status == "CLOSED" and t.actual_outcome in RESOLVED


def shadow_trades_daily(trades: Iterable[ShadowTrade], day: str) -> int:
    """Shadow trades opened on ``day`` (any status: an ERROR trade was still executed on paper)."""
    return len(_on_day(trades, day))


def shadow_win_rate(trades: Iterable[ShadowTrade], day: str) -> dict[str, WinRate]:
    """Per mode, over trades opened on ``day`` and closed with a resolved outcome (sorted by mode)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for t in _on_day(trades, day):
        counts[t.mode]  # every mode traded shows up, even with nothing resolved yet
        if _resolved(t):
            counts[t.mode][str(t.actual_outcome)] += 1
    return {m: WinRate(c["WIN"], c["LOSS"], c["BREAKEVEN"]) for m, c in sorted(counts.items())}


def shadow_pnl_daily(trades: Iterable[ShadowTrade], day: str) -> tuple[float, float, int]:
    """(net bps, gross bps, n) summed over trades opened on ``day`` that closed with a resolved outcome."""
    net = gross = 0.0
    n = 0
    for t in _on_day(trades, day):
        if _resolved(t) and t.shadow_pnl_net_bps is not None:
            net += t.shadow_pnl_net_bps
            gross += t.shadow_pnl_bps if t.shadow_pnl_bps is not None else 0.0
            n += 1
    return net, gross, n


def shadow_metrics(trades: Sequence[ShadowTrade], day: str) -> ShadowMetrics:
    today = _on_day(trades, day)
    status = Counter(t.status for t in today)
    net, gross, n = shadow_pnl_daily(today, day)
    return ShadowMetrics(
        day=day,
        trades=len(today),
        open=status["OPEN"],
        closed=status["CLOSED"],
        errors=status["ERROR"],
        win_rate=shadow_win_rate(today, day),
        pnl_net_bps=net,
        pnl_gross_bps=gross,
        pnl_n=n,
    )


def shadow_metric_values(m: ShadowMetrics, modes: Sequence[str] = ("scalp", "runner")) -> list[MetricValue]:
    """The seed's shadow metrics against their bands (every configured mode listed, traded or not)."""
    out = [evaluate("shadow_trades_daily", float(m.trades), n=m.trades)]
    for mode in sorted(set(modes) | set(m.win_rate)):
        wr = m.win_rate.get(mode, WinRate(0, 0, 0))
        out.append(evaluate("shadow_win_rate", wr.rate, key=mode, n=wr.n))
    out.append(
        evaluate(
            "shadow_pnl_daily",
            m.pnl_net_bps if m.pnl_n else None,
            n=m.pnl_n,
            note=f"net of fees and spread; gross {m.pnl_gross_bps:+.1f} bps",
        )
    )
    return out


def equity_curve(trades: Iterable[ShadowTrade]) -> list[tuple[str, float]]:
    """Cumulative net bps at each resolved trade's exit, in exit order (ties by shadow id)."""
    closed = sorted(
        (t for t in trades if _resolved(t) and t.shadow_pnl_net_bps is not None),
        key=lambda t: (t.exit_ts or t.timeout_at or t.ts, t.shadow_id),
    )
    total = 0.0
    out: list[tuple[str, float]] = []
    for t in closed:
        total += float(t.shadow_pnl_net_bps or 0.0)
        out.append((t.exit_ts or t.timeout_at or t.ts, total))
    return out


# -------------------------------------------------------------------------------------- calibration
@dataclass(frozen=True, slots=True)
class CalibrationBin:
    lo: float
    hi: float
    n: int
    mean_predicted: float
    observed: float


def _prob_outcome_pairs(trades: Iterable[ShadowTrade]) -> list[tuple[float, float]]:
    return [
        (float(t.predicted_win_prob), 1.0 if t.actual_outcome == "WIN" else 0.0)
        for t in trades
        if _resolved(t) and t.predicted_win_prob is not None
    ]


def calibration_bins(trades: Iterable[ShadowTrade], n_bins: int = 10) -> list[CalibrationBin]:
    """Reliability diagram data: equal-width bins of the predicted win probability, non-empty ones only.

    Equal-width (not the trainer's equal-count) bins, because a diagram a person reads needs fixed axes;
    ``observed`` is the share of WINs (BREAKEVEN counts as not a win, as in ``prediction_correct``).
    """
    groups: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for p, y in _prob_outcome_pairs(trades):
        groups[min(int(p * n_bins), n_bins - 1)].append((p, y))
    return [
        CalibrationBin(
            lo=b / n_bins,
            hi=(b + 1) / n_bins,
            n=len(g),
            mean_predicted=sum(p for p, _ in g) / len(g),
            observed=sum(y for _, y in g) / len(g),
        )
        for b, g in sorted(groups.items())
    ]


def expected_calibration_error(bins: Sequence[CalibrationBin]) -> float | None:
    """``Σ (n_b / n) · |observed_b − mean_predicted_b|`` over the diagram's bins; None without data."""
    n = sum(b.n for b in bins)
    if n == 0:
        return None
    return sum(b.n / n * abs(b.observed - b.mean_predicted) for b in bins)


# ------------------------------------------------------------------------------------------- gates
@dataclass(frozen=True, slots=True)
class GateCounts:
    """One gate on one set of signals: every gate sees every signal, so received = passed + blocked."""

    gate: str
    received: int
    passed: int
    blocked: int

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.received if self.received else None


def _gate_order(decisions: Iterable[DecisionRow]) -> list[str]:
    seen = {g for d in decisions for g in d.gates} | {g for d in decisions for g in d.blocked_by}
    return [g for g in GATE_NAMES if g in seen or not seen] + sorted(seen - set(GATE_NAMES))


def _gate_passed(d: DecisionRow, gate: str) -> bool | None:
    gv = d.gates.get(gate)
    if gv is not None:
        return gv.passed
    if gate in d.blocked_by:
        return False
    return True if d.passed else None


def gate_counts(decisions: Sequence[DecisionRow]) -> list[GateCounts]:
    """Signals received / passed / blocked per gate, in the seed's gate order."""
    out = []
    for g in _gate_order(decisions):
        verdicts = [v for v in (_gate_passed(d, g) for d in decisions) if v is not None]
        passed = sum(verdicts)
        out.append(GateCounts(g, len(verdicts), passed, len(verdicts) - passed))
    return out


def gate_funnel(decisions: Sequence[DecisionRow]) -> list[tuple[str, int]]:
    """Signals still standing after each gate in the seed's order: ("signals", n), (gate1, n1), ..."""
    standing = list(decisions)
    out = [("signals", len(standing))]
    for g in _gate_order(decisions):
        standing = [d for d in standing if _gate_passed(d, g) is not False]
        out.append((g, len(standing)))
    return out


def pass_rate_trend(decisions: Iterable[DecisionRow]) -> dict[str, dict[str, float | None]]:
    """Per day (sorted): the overall pass rate under key ``"all"`` and each gate's own pass rate."""
    by_day: dict[str, list[DecisionRow]] = defaultdict(list)
    for d in decisions:
        by_day[d.day].append(d)
    out: dict[str, dict[str, float | None]] = {}
    for day, rows in sorted(by_day.items()):
        rates: dict[str, float | None] = {"all": sum(d.passed for d in rows) / len(rows)}
        for c in gate_counts(rows):
            rates[c.gate] = c.pass_rate
        out[day] = rates
    return out


def signal_outcome(d: DecisionRow, shadow_by_id: Mapping[str, ShadowTrade]) -> tuple[str, float | None]:
    """(outcome, net bps): the counterfactual if labelled, else the shadow trade's, else NO_DATA."""
    if d.cf_outcome in RESOLVED:
        return str(d.cf_outcome), d.cf_pnl_net_bps
    if d.shadow_id is not None:
        t = shadow_by_id.get(d.shadow_id)
        if t is not None and _resolved(t):
            return str(t.actual_outcome), t.shadow_pnl_net_bps
    return "NO_DATA", None


def gate_outcomes(decisions: Sequence[DecisionRow], shadow: Sequence[ShadowTrade]) -> GatePerformance:
    """Good vs bad blocks and precision per gate (:func:`huracan.core.counterfactual.gate_performance`)."""
    by_id = {t.shadow_id: t for t in shadow}
    rows = [(d.blocked_by, *signal_outcome(d, by_id)) for d in decisions]
    return gate_performance(rows, gates=_gate_order(decisions))


# --------------------------------------------------------------------------- threshold recommendations
@dataclass(frozen=True, slots=True)
class ThresholdRecommendation:
    """What one gate's threshold (per mode) would have been to maximise net expectancy, with its n.

    ``kind == "threshold"``: thresholds are absolute values of the gate's number. ``kind == "offset"``:
    the gate's threshold differs per signal (the cost gate's hurdle depends on the spread), so the scan is
    over the margin ``value − threshold`` (``threshold − value`` for "<" gates) and ``current`` is 0.
    For the regime gate ``recommended_allowed`` lists the regimes whose net sum was positive.
    """

    gate: str
    mode: str
    kind: str
    current: float | None
    recommended: float | None
    current_net_bps: float
    current_n: int
    recommended_net_bps: float
    recommended_n: int
    eligible_n: int
    recommended_allowed: tuple[str, ...] | None = None

    @property
    def change(self) -> bool:
        if self.recommended_allowed is not None:
            return self.recommended_net_bps > self.current_net_bps
        return self.recommended is not None and self.current is not None and self.recommended != self.current


def _numeric(x: float | str | None) -> float | None:
    if x is None or isinstance(x, str):
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _scan(
    points: Sequence[tuple[float, float]], direction: str, current: float
) -> tuple[float, float, int, float, int]:
    """Best candidate over ``(x, net)`` points: (threshold, net, n) and the current threshold's (net, n)."""

    def score(t: float) -> tuple[float, int]:
        chosen = [net for x, net in points if (x > t if direction == ">" else x < t)]
        return sum(chosen), len(chosen)

    xs = sorted({x for x, _ in points})
    edge = math.nextafter(xs[0], -math.inf) if direction == ">" else math.nextafter(xs[-1], math.inf)
    candidates = sorted({current, edge, *xs})
    cur_net, cur_n = score(current)
    best = max(candidates, key=lambda t: (round(score(t)[0], 9), -abs(t - current)))
    best_net, best_n = score(best)
    return best, best_net, best_n, cur_net, cur_n


def threshold_recommendations(
    decisions: Sequence[DecisionRow], shadow: Sequence[ShadowTrade]
) -> list[ThresholdRecommendation]:
    """Per gate and mode, the threshold that maximised the sum of net P&L of what would have passed."""
    by_id = {t.shadow_id: t for t in shadow}
    out: list[ThresholdRecommendation] = []
    modes = sorted({d.mode for d in decisions})
    for gate in _gate_order(decisions):
        for mode in modes:
            rows: list[tuple[GateValue, float]] = []
            for d in decisions:
                gv = d.gates.get(gate)
                if d.mode != mode or gv is None or not set(d.blocked_by) <= {gate}:
                    continue
                outcome, net = signal_outcome(d, by_id)
                if outcome in RESOLVED and net is not None:
                    rows.append((gv, net))
            if not rows:
                continue
            if gate in GATE_DIRECTION:
                rec = _numeric_recommendation(gate, mode, rows)
            else:
                rec = _categorical_recommendation(gate, mode, rows)
            # A setting that would have passed nothing has no evidence behind it (n=0): not a recommendation.
            if rec is not None and rec.recommended_n > 0:
                out.append(rec)
    return out


def _numeric_recommendation(
    gate: str, mode: str, rows: Sequence[tuple[GateValue, float]]
) -> ThresholdRecommendation | None:
    direction = GATE_DIRECTION[gate]
    pts = [(_numeric(gv.value), _numeric(gv.threshold), net) for gv, net in rows]
    usable = [(v, t, net) for v, t, net in pts if v is not None and t is not None]
    if not usable:
        return None
    thresholds = {t for _, t, _ in usable}
    if len(thresholds) == 1:
        kind, current = "threshold", next(iter(thresholds))
        points = [(v, net) for v, _, net in usable]
    else:
        kind, current = "offset", 0.0
        sign = 1.0 if direction == ">" else -1.0
        points = [(sign * (v - t), net) for v, t, net in usable]
        direction = ">"
    best, best_net, best_n, cur_net, cur_n = _scan(points, direction, current)
    return ThresholdRecommendation(gate, mode, kind, current, best, cur_net, cur_n, best_net, best_n, len(usable))


def _categorical_recommendation(
    gate: str, mode: str, rows: Sequence[tuple[GateValue, float]]
) -> ThresholdRecommendation:
    by_cat: dict[str, list[float]] = defaultdict(list)
    allowed_now: set[str] = set()
    for gv, net in rows:
        by_cat[str(gv.value)].append(net)
        if isinstance(gv.threshold, str):
            allowed_now |= {x for x in gv.threshold.split(",") if x}
    cur = [net for gv, net in rows if gv.passed]
    allowed = tuple(sorted(c for c, nets in by_cat.items() if sum(nets) > 0))
    best = [net for c in allowed for net in by_cat[c]]
    return ThresholdRecommendation(
        gate, mode, "categories", None, None, sum(cur), len(cur), sum(best), len(best), len(rows), allowed
    )
