"""A deterministic synthetic day (records only) for previewing the report and for render tests.

Not real data and never mixed with it: every id starts with ``sample-``. Built from a seeded generator
so the page it produces is the same on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from huracan.core.gates import GATE_NAMES
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.observability.health import HealthInputs
from huracan.observability.insight_aggregator import DailySummary, build_daily_summary
from huracan.observability.records import (
    DecisionRow,
    GateValue,
    LiveTrade,
    ModelExport,
    ShadowTrade,
    TrainingSessionRecord,
)

__all__ = ["SampleRecords", "sample_records", "sample_summary"]

_FEATURES = ("ret_15_bps", "rv_60_bps", "spread_bps", "volume_ratio_60", "trend_eff_15", "atr_14_bps")
_THRESHOLDS = {"meta_label_gate": 0.45, "confidence_gate": 0.6, "spread_gate": 8.0, "volume_gate": 0.5}


@dataclass(frozen=True, slots=True)
class SampleRecords:
    decisions: list[DecisionRow]
    shadow: list[ShadowTrade]
    live: list[LiveTrade]
    sessions: list[TrainingSessionRecord]
    exports: list[ModelExport]


def sample_records(day: str = "2024-01-03", seed: int = 7) -> SampleRecords:
    """Three days of decisions and shadow trades, a week of sessions, exports and a few live trades."""
    rng = random.Random(seed)
    decisions: list[DecisionRow] = []
    shadow: list[ShadowTrade] = []
    t_day = epoch_s(f"{day}T00:00:00Z")
    for back in (2, 1, 0):
        d0 = t_day - back * 86400
        dname = from_epoch_s(d0)[:10]
        for i in range(120):
            ts = from_epoch_s(d0 + 600 + i * 690)
            mode = "scalp" if i % 3 else "runner"
            prob = rng.uniform(0.3, 0.95)
            vals: dict[str, float | str] = {
                "meta_label_gate": prob,
                "cost_gate": rng.uniform(-5, 20),
                "confidence_gate": rng.uniform(0.4, 0.95),
                "regime_gate": rng.choice(("trend", "trend", "range", "chop")),
                "spread_gate": rng.uniform(1, 12),
                "volume_gate": rng.uniform(0.2, 2.5),
            }
            gates: dict[str, GateValue] = {}
            for g in GATE_NAMES:
                v = vals[g]
                if g == "regime_gate":
                    gates[g] = GateValue(v in ("trend", "range"), v, "trend,range")
                elif g == "cost_gate":
                    hurdle = 6.0 + float(vals["spread_gate"]) / 2
                    gates[g] = GateValue(float(v) > hurdle, v, hurdle)
                elif g == "spread_gate":
                    gates[g] = GateValue(float(v) < _THRESHOLDS[g], v, _THRESHOLDS[g])
                else:
                    gates[g] = GateValue(float(v) > _THRESHOLDS[g], v, _THRESHOLDS[g])
            blocked = tuple(g for g in GATE_NAMES if not gates[g].passed)
            win = rng.random() < (0.25 + 0.6 * prob)
            net = rng.uniform(4, 16) if win else -rng.uniform(6, 14)
            outcome = "WIN" if win else "LOSS"
            sig = f"sample-{dname}-{i:03d}"
            sid = f"sample-sh-{dname}-{i:03d}" if not blocked else None
            decisions.append(
                DecisionRow(
                    sig, dname, ts, "BTC-USD", mode, "long" if i % 2 else "short", not blocked, blocked, gates,
                    prob, str(vals["regime_gate"]), "sha256:" + "a" * 64, sid,
                    None if not blocked else outcome, None if not blocked else net,
                )
            )  # fmt: skip
            if sid is not None:
                t_exit = d0 + 600 + i * 690 + rng.randint(120, 1800)
                late_open = back == 0 and i >= 117
                shadow.append(
                    ShadowTrade(
                        shadow_id=sid, ts=ts, day=dname, symbol="BTC-USD", mode=mode, side="long" if i % 2 else "short",
                        entry_price=42000.0 + i, status="OPEN" if late_open else "CLOSED", signal_id=sig,
                        timeout_at=from_epoch_s(d0 + 600 + i * 690 + 3600),
                        exit_price=None if late_open else 42000.0 + i + net / 10,
                        exit_reason=None if late_open else ("TP" if win else "SL"),
                        exit_ts=None if late_open else from_epoch_s(t_exit),
                        shadow_pnl_bps=None if late_open else net + 6,
                        shadow_pnl_net_bps=None if late_open else net,
                        actual_outcome=None if late_open else outcome,
                        predicted_win_prob=prob, model_id="sha256:" + "a" * 64, regime=str(vals["regime_gate"]),
                        features={"spread_bps": float(vals["spread_gate"]), "rv_60_bps": rng.uniform(5, 30)},
                    )
                )  # fmt: skip
    sessions: list[TrainingSessionRecord] = []
    exports: list[ModelExport] = []
    imp = {f: rng.uniform(0.5, 2.0) for f in _FEATURES}
    for k in range(6, -1, -1):
        date = from_epoch_s(t_day - k * 86400)[:10]
        auc = 0.55 + 0.01 * (6 - k) + rng.uniform(-0.004, 0.004)
        imp = {f: max(0.05, v * rng.uniform(0.8, 1.25)) for f, v in imp.items()}
        ready = k % 3 != 2
        mid = "sha256:" + f"{k:x}" * 64
        sessions.append(
            TrainingSessionRecord(
                date, 1500 + 400 * (6 - k), auc, 0.02 + 0.002 * k, 0.23 - 0.002 * (6 - k),
                "ready" if ready else "not ready", (auc - 0.02, auc + 0.02), (0.01, 0.04), (0.22, 0.24),
                () if ready else ("ECE above target",), mid if ready else None, mid, dict(imp), f"{date}T00:20:00Z",
            )
        )  # fmt: skip
        if ready:
            exports.append(ModelExport(mid, f"{date}T00:30:00Z", 7 - k, True, auc))
    live = [
        LiveTrade(
            f"sample-live-{j}", from_epoch_s(t_day + 3600 * (j + 2)), "BTC-USD", "scalp", "long",
            42000.0 + j, 42010.0 + j, 8.0 - j, exports[-1 if j > 1 else -2].model_id, "closed",
            shadow[-(j + 10)].shadow_id, "WIN", None,
        )
        for j in range(5)
    ]  # fmt: skip
    return SampleRecords(decisions, shadow, live, sessions, exports)


def sample_summary(day: str = "2024-01-03") -> DailySummary:
    r = sample_records(day)
    return build_daily_summary(
        day,
        f"{day}T23:00:00Z",
        decisions=r.decisions,
        shadow=r.shadow,
        live=r.live,
        sessions=r.sessions,
        exports=r.exports,
        health_inputs=HealthInputs(
            iterator_age_ms=850.0,
            records_behind=12,
            queue_depths={"StreamDeadLetterQueue": 0, "TimerDeadLetterQueue": 1},
            invocations={"EvaluateSignalsFunction": 1440},
            errors={"EvaluateSignalsFunction": 3},
        ),
    )
