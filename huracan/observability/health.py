"""System health: is the pipeline keeping up, failing, or losing records? (the seed's "System Health").

Measured elsewhere and passed in (:class:`HealthInputs`): stream iterator age and records behind (the
event source mapping / the local poller know them), queue depths (SQS, read by an adapter), and function
invocation / error counts. Computed here from the records:

- open trades past their timeout: status OPEN with ``timeout_at + grace <= as_of`` (the timer should
  have closed them);
- the shadow-trade error rate: ERROR trades / trades of the day;
- integrity checks, each with the offending ids (first ten):
  ``passed_has_trade`` every passed decision names a shadow trade that exists;
  ``trade_has_passed_decision`` every shadow trade of the day belongs to a passed decision of the day;
  ``past_timeout_closed`` every trade past its timeout (plus grace) is no longer OPEN;
  ``closed_has_outcome`` every CLOSED trade has exit price, reason, P&L and outcome;
  ``counts_reconcile`` passed decisions == shadow trades opened, and signals == passed + blocked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from huracan.core.timeutil import epoch_s
from huracan.observability.records import DecisionRow, ShadowTrade

__all__ = ["HealthInputs", "HealthReport", "IntegrityCheck", "system_health"]

DEFAULT_GRACE_S = 300.0
_SHOW = 10


@dataclass(frozen=True, slots=True)
class HealthInputs:
    """Figures measured outside the tables; None means "not measured" (shown as such, never as zero)."""

    iterator_age_ms: float | None = None
    records_behind: int | None = None
    queue_depths: Mapping[str, int | None] = field(default_factory=dict)
    invocations: Mapping[str, int] = field(default_factory=dict)
    errors: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IntegrityCheck:
    name: str
    passed: bool
    detail: str
    offenders: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HealthReport:
    inputs: HealthInputs
    open_past_timeout: tuple[str, ...]
    shadow_error_rate: float | None
    function_error_rates: dict[str, float | None]
    checks: tuple[IntegrityCheck, ...]

    @property
    def ok(self) -> bool:
        depths_ok = all((d or 0) == 0 for d in self.inputs.queue_depths.values())
        return depths_ok and all(c.passed for c in self.checks)


def _check(name: str, offenders: Sequence[str], ok_text: str, bad_text: str) -> IntegrityCheck:
    bad = sorted(offenders)
    return IntegrityCheck(name, not bad, ok_text if not bad else f"{len(bad)} {bad_text}", tuple(bad[:_SHOW]))


def system_health(
    decisions: Sequence[DecisionRow],
    shadow: Sequence[ShadowTrade],
    day: str,
    as_of: str,
    inputs: HealthInputs | None = None,
    *,
    grace_s: float = DEFAULT_GRACE_S,
) -> HealthReport:
    """Health of ``day`` as seen at ``as_of``; ``shadow`` may include older trades (for the timeout scan)."""
    inp = inputs or HealthInputs()
    now = epoch_s(as_of)
    today_dec = [d for d in decisions if d.day == day]
    today_tr = [t for t in shadow if t.day == day]
    by_id = {t.shadow_id: t for t in shadow}
    passed_ids = {d.shadow_id for d in today_dec if d.passed and d.shadow_id}
    passed_signals = {d.signal_id for d in today_dec if d.passed}

    late = [t.shadow_id for t in shadow if t.timeout_at is not None and epoch_s(t.timeout_at) + grace_s <= now]
    open_late = sorted(sid for sid in late if by_id[sid].status == "OPEN")
    n_passed = sum(1 for d in today_dec if d.passed)
    n_blocked = sum(1 for d in today_dec if not d.passed)
    checks = (
        _check(
            "passed_has_trade",
            [d.signal_id for d in today_dec if d.passed and (not d.shadow_id or d.shadow_id not in by_id)],
            f"all {n_passed} passed signals have a shadow trade",
            "passed signals without a shadow trade",
        ),
        _check(
            "trade_has_passed_decision",
            [t.shadow_id for t in today_tr if t.shadow_id not in passed_ids and t.signal_id not in passed_signals],
            f"all {len(today_tr)} shadow trades come from a passed decision",
            "shadow trades without a passed decision",
        ),
        _check(
            "past_timeout_closed",
            open_late,
            f"all {len(late)} trades past their timeout are closed",
            f"trades still OPEN more than {grace_s:g} s past their timeout",
        ),
        _check(
            "closed_has_outcome",
            [
                t.shadow_id
                for t in shadow
                if t.status == "CLOSED"
                and (t.exit_price is None or t.exit_reason is None or t.shadow_pnl_bps is None or not t.actual_outcome)
            ],
            "every closed trade has its outcome columns",
            "closed trades missing outcome columns",
        ),
        IntegrityCheck(
            "counts_reconcile",
            n_passed == len(today_tr) and n_passed + n_blocked == len(today_dec),
            f"signals {len(today_dec)} = passed {n_passed} + blocked {n_blocked}; shadow trades {len(today_tr)}",
        ),
    )
    rates: dict[str, float | None] = {}
    for fn in sorted(set(inp.invocations) | set(inp.errors)):
        calls = inp.invocations.get(fn, 0)
        rates[fn] = inp.errors.get(fn, 0) / calls if calls else None
    errors = sum(1 for t in today_tr if t.status == "ERROR")
    return HealthReport(
        inputs=inp,
        open_past_timeout=tuple(open_late),
        shadow_error_rate=errors / len(today_tr) if today_tr else None,
        function_error_rates=rates,
        checks=checks,
    )
