"""The data-access layer: entities in, entities out; pynamodb and botocore stay behind this line.

Every write that must happen once is conditional (``attribute_not_exists`` on the key), so a record that
Lambda delivers twice finds its decision / trade instead of making a second one; the condition failing is
reported as :class:`~huracan.adapters.errors.AlreadyExists`, not as a failure. Bars are written with
``BatchWriteItem`` (25 per call): a batch of bars costs a handful of calls, not one per bar.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import numpy as np
from pynamodb.constants import NONE
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from huracan.adapters.errors import AlreadyExists, NotOpen, translate_errors
from huracan.adapters.settings import TableSettings
from huracan.adapters.tables import (
    DecisionItem,
    PriceItem,
    ShadowTradeItem,
    Tables,
    bind_tables,
)
from huracan.core.bars import BarArrays
from huracan.core.records import Bar
from huracan.core.timeutil import epoch_s
from huracan.service.entities import DecisionOutcome, DecisionRecord, ShadowTradeOutcome, ShadowTradeRecord

__all__ = ["Repository", "decision_from_item", "get_repository", "shadow_trade_from_item"]


def _ttl(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def _finite_or_none(x: float | None) -> float | None:
    if x is None:
        return None
    f = float(x)
    return f if np.isfinite(f) else None


def _decision_item(model: type[DecisionItem], rec: DecisionRecord) -> DecisionItem:
    return model(
        signal_id=rec.signal_id,
        day=rec.day,
        ts=rec.ts,
        symbol=rec.symbol,
        side=rec.side,
        mode=rec.mode,
        strategy=rec.strategy,
        confidence=rec.confidence,
        price=rec.price,
        features_json=rec.features_json,
        gates=rec.gates,
        passed=rec.passed,
        blocked_by=list(rec.blocked_by),
        prob=_finite_or_none(rec.prob),
        prob_source=rec.prob_source,
        regime=rec.regime,
        regime_source=rec.regime_source,
        model_id=rec.model_id,
        config_version=rec.config_version,
        expected_return_bps=_finite_or_none(rec.expected_return_bps),
        cost_bps=_finite_or_none(rec.cost_bps),
        shadow_id=rec.shadow_id,
        challenger_probs=None if not rec.challenger_probs else json.dumps(rec.challenger_probs, sort_keys=True),
        expires_at=_ttl(rec.expires_at_epoch),
    )


def _challenger_probs(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    doc = json.loads(text)
    return {str(k): float(v) for k, v in doc.items()} if isinstance(doc, dict) else None


def _decision_record(item: DecisionItem) -> DecisionRecord:
    gates: dict[str, dict[str, Any]] = dict(item.gates.as_dict()) if item.gates is not None else {}  # type: ignore[no-untyped-call]
    return DecisionRecord(
        signal_id=item.signal_id,
        day=item.day,
        ts=item.ts,
        symbol=item.symbol,
        side=item.side,
        mode=item.mode,
        strategy=item.strategy,
        confidence=float(item.confidence),
        price=float(item.price),
        features_json=item.features_json,
        gates=gates,
        passed=bool(item.passed),
        blocked_by=tuple(str(x) for x in (item.blocked_by or ())),
        prob=None if item.prob is None else float(item.prob),
        prob_source=item.prob_source,
        regime=item.regime,
        regime_source=item.regime_source or "rule",
        model_id=item.model_id,
        config_version=item.config_version,
        expected_return_bps=None if item.expected_return_bps is None else float(item.expected_return_bps),
        cost_bps=None if item.cost_bps is None else float(item.cost_bps),
        shadow_id=item.shadow_id,
        expires_at_epoch=None if item.expires_at is None else int(item.expires_at.timestamp()),
        challenger_probs=_challenger_probs(item.challenger_probs),
    )


def decision_from_item(item: DecisionItem) -> tuple[DecisionRecord, DecisionOutcome | None]:
    """A decisions-table item as the engine's record and its ``cf_*`` outcome (None until labelled)."""
    if item.cf_outcome is None:
        return _decision_record(item), None
    outcome = DecisionOutcome(
        signal_id=item.signal_id,
        cf_exit_reason=item.cf_exit_reason or "",
        cf_outcome=item.cf_outcome,
        cf_exit_price=None if item.cf_exit_price is None else float(item.cf_exit_price),
        cf_pnl_bps=None if item.cf_pnl_bps is None else float(item.cf_pnl_bps),
        cf_pnl_net_bps=None if item.cf_pnl_net_bps is None else float(item.cf_pnl_net_bps),
        cf_reason=item.cf_reason,
    )
    return _decision_record(item), outcome


def _shadow_item(model: type[ShadowTradeItem], rec: ShadowTradeRecord) -> ShadowTradeItem:
    return model(
        shadow_id=rec.shadow_id,
        signal_id=rec.signal_id,
        ts=rec.ts,
        day=rec.day,
        symbol=rec.symbol,
        mode=rec.mode,
        side=rec.side,
        strategy=rec.strategy,
        entry_price=rec.entry_price,
        tp_price=rec.tp_price,
        sl_price=rec.sl_price,
        timeout_at=rec.timeout_at,
        simulated_size_gbp=rec.simulated_size_gbp,
        simulated_fee_gbp=rec.simulated_fee_gbp,
        predicted_win_prob=_finite_or_none(rec.predicted_win_prob),
        prob_source=rec.prob_source,
        features_json=rec.features_json,
        fill_assumptions=json.dumps(rec.fill_assumptions, sort_keys=True, allow_nan=False),
        model_id=rec.model_id,
        regime=rec.regime,
        config_version=rec.config_version,
        status=rec.status,
        trade_type=rec.trade_type,
        tags=rec.tags,
        used_in_training=False,
    )


def _shadow_record(item: ShadowTradeItem) -> ShadowTradeRecord:
    return ShadowTradeRecord(
        shadow_id=item.shadow_id,
        signal_id=item.signal_id,
        ts=item.ts,
        day=item.day,
        symbol=item.symbol,
        mode=item.mode,
        side=item.side,
        strategy=item.strategy or "",
        entry_price=float(item.entry_price),
        tp_price=float(item.tp_price),
        sl_price=float(item.sl_price),
        timeout_at=item.timeout_at,
        simulated_size_gbp=float(item.simulated_size_gbp or 0.0),
        simulated_fee_gbp=float(item.simulated_fee_gbp or 0.0),
        predicted_win_prob=None if item.predicted_win_prob is None else float(item.predicted_win_prob),
        prob_source=item.prob_source or "",
        features_json=item.features_json or "{}",
        fill_assumptions=json.loads(item.fill_assumptions or "{}"),
        model_id=item.model_id,
        regime=item.regime or "",
        config_version=item.config_version or "",
        status=item.status,
        trade_type=item.trade_type,
        tags=item.tags,
    )


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


def shadow_trade_from_item(item: ShadowTradeItem) -> tuple[ShadowTradeRecord, ShadowTradeOutcome]:
    """A shadow_trades item as the trade as opened and what became of it (outcome columns None while OPEN)."""
    outcome = ShadowTradeOutcome(
        shadow_id=item.shadow_id,
        status=item.status or "OPEN",
        exit_price=_float(item.exit_price),
        exit_reason=item.exit_reason,
        exit_ts=item.exit_ts,
        shadow_pnl_bps=_float(item.shadow_pnl_bps),
        shadow_pnl_net_bps=_float(item.shadow_pnl_net_bps),
        duration_sec=_float(item.duration_sec),
        actual_outcome=item.actual_outcome,
        prediction_correct=item.prediction_correct,
        used_in_training=bool(item.used_in_training),
        error_cause=item.error_cause,
        outcome_reason=item.outcome_reason,
    )
    return _shadow_record(item), outcome


def _bars_of(rows: Sequence[PriceItem]) -> BarArrays:
    return BarArrays.from_records(rows)


class Repository:
    """DynamoDB access for the engine's tables; one instance per warm Lambda container."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    # ---------------------------------------------------------------- prices
    def put_bars(self, bars: Sequence[Bar], expires_at_epoch: int | None) -> None:
        """Upsert bars with ``BatchWriteItem``; a later duplicate of the same (symbol, ts) wins, as in a put."""
        model = self.tables.prices
        latest = {(b.symbol, b.ts): b for b in bars}
        if not latest:
            return
        ttl = _ttl(expires_at_epoch)
        with translate_errors("prices.BatchWriteItem"), model.batch_write() as batch:
            for b in latest.values():
                batch.save(
                    model(
                        b.symbol,
                        b.ts,
                        open=b.open,
                        high=b.high,
                        low=b.low,
                        close=b.close,
                        volume=b.volume,
                        bid=b.bid,
                        ask=b.ask,
                        expires_at=ttl,
                    )
                )

    def bars_before(self, symbol: str, before_ts: str, limit: int) -> BarArrays:
        """The last ``limit`` stored bars of ``symbol`` with ``ts < before_ts``, oldest first (one Query)."""
        model = self.tables.prices
        rows: list[PriceItem] = []
        with translate_errors("prices.Query"):
            rows = list(
                model.query(
                    symbol,
                    model.ts < before_ts,
                    scan_index_forward=False,
                    limit=limit,
                    page_size=limit,
                )
            )
        rows.reverse()
        nan = float("nan")
        return BarArrays.from_columns(
            ts=[int(epoch_s(r.ts)) for r in rows],
            open=[r.open for r in rows],
            high=[r.high for r in rows],
            low=[r.low for r in rows],
            close=[r.close for r in rows],
            volume=[r.volume for r in rows],
            bid=[nan if r.bid is None else r.bid for r in rows],
            ask=[nan if r.ask is None else r.ask for r in rows],
        )

    def bars_from(self, symbol: str, start_ts: str, limit: int) -> BarArrays:
        """The first ``limit`` stored bars of ``symbol`` with ``ts >= start_ts``, oldest first (one Query).

        The resolver asks for one bar more than its window: a bar at or after the window's end proves the
        window will not grow any more (the path is final).
        """
        model = self.tables.prices
        with translate_errors("prices.Query"):
            rows = list(model.query(symbol, model.ts >= start_ts, limit=limit, page_size=min(limit, 1000)))
        return _bars_of(rows)

    def bars_between(self, symbol: str, start_ts: str, end_ts: str) -> BarArrays:
        """Every stored bar of ``symbol`` with ``start_ts <= ts < end_ts``, oldest first (paged Query)."""
        model = self.tables.prices
        with translate_errors("prices.Query"):
            rows = [r for r in model.query(symbol, model.ts.between(start_ts, end_ts)) if r.ts < end_ts]
        return _bars_of(rows)

    # ---------------------------------------------------------------- decisions
    def create_decision(self, rec: DecisionRecord) -> None:
        """Store the decision once; raises :class:`AlreadyExists` if this signal was decided before."""
        model = self.tables.decisions
        item = _decision_item(model, rec)
        with translate_errors("decisions.PutItem", conflict=AlreadyExists):
            item.save(condition=model.signal_id.does_not_exist())

    def get_decision(self, signal_id: str) -> DecisionRecord | None:
        model = self.tables.decisions
        with translate_errors("decisions.GetItem"):
            try:
                item = model.get(signal_id, consistent_read=True)
            except model.DoesNotExist:
                return None
        return _decision_record(item)

    def decisions_on_day(self, day: str) -> Iterator[DecisionRecord]:
        """Every decision of one UTC day in time order (the ``by_day`` index), for nightly labelling."""
        model = self.tables.decisions
        with translate_errors("decisions.Query"):
            for item in model.by_day.query(day):
                yield _decision_record(item)

    def symbols_on_day(self, day: str) -> set[str]:
        """The symbols traded on one UTC day: the index query reads only ``symbol`` (no item bodies to parse)."""
        model = self.tables.decisions
        with translate_errors("decisions.Query"):
            return {str(item.symbol) for item in model.by_day.query(day, attributes_to_get=["symbol"])}

    def count_decisions_on_day(self, day: str) -> int:
        """How many decisions one UTC day holds (``Select=COUNT`` on the index: no items transferred)."""
        model = self.tables.decisions
        with translate_errors("decisions.Query"):
            return int(model.by_day.count(day))

    def decisions_with_outcomes_on_day(
        self, day: str, *, only_unresolved: bool = False
    ) -> Iterator[tuple[DecisionRecord, DecisionOutcome | None]]:
        """Decisions of one UTC day with their ``cf_*`` outcome (None until labelled), in time order."""
        model = self.tables.decisions
        cond = model.cf_outcome.does_not_exist() if only_unresolved else None
        with translate_errors("decisions.Query"):
            for item in model.by_day.query(day, filter_condition=cond):
                yield decision_from_item(item)

    def set_decision_outcome(self, outcome: DecisionOutcome) -> bool:
        """Write the ``cf_*`` columns once: False (nothing changed) if the decision already has an outcome."""
        model = self.tables.decisions
        attrs = model.get_attributes()
        values: dict[str, str | float | None] = {
            "cf_exit_reason": outcome.cf_exit_reason,
            "cf_outcome": outcome.cf_outcome,
            "cf_exit_price": _finite_or_none(outcome.cf_exit_price),
            "cf_pnl_bps": _finite_or_none(outcome.cf_pnl_bps),
            "cf_pnl_net_bps": _finite_or_none(outcome.cf_pnl_net_bps),
            "cf_reason": outcome.cf_reason,
        }
        actions: list[Action] = [
            attrs[name].remove() if value is None else attrs[name].set(value) for name, value in values.items()
        ]
        try:
            with translate_errors("decisions.UpdateItem", conflict=AlreadyExists):
                _update(model, outcome.signal_id, actions, model.signal_id.exists() & model.cf_outcome.does_not_exist())
        except AlreadyExists:
            return False
        return True

    # ---------------------------------------------------------------- shadow trades
    def create_shadow_trade(self, rec: ShadowTradeRecord) -> None:
        """Open the paper trade once; raises :class:`AlreadyExists` if it is already there."""
        model = self.tables.shadow_trades
        item = _shadow_item(model, rec)
        with translate_errors("shadow_trades.PutItem", conflict=AlreadyExists):
            item.save(condition=model.shadow_id.does_not_exist())

    def get_shadow_trade(self, shadow_id: str) -> ShadowTradeRecord | None:
        model = self.tables.shadow_trades
        with translate_errors("shadow_trades.GetItem"):
            try:
                item = model.get(shadow_id, consistent_read=True)
            except model.DoesNotExist:
                return None
        return _shadow_record(item)

    def open_shadow_trades_due(self, before: str) -> list[ShadowTradeRecord]:
        """The OPEN trades whose window ended before ``before`` (UTC ISO), oldest first: one query on the
        by_status_due GSI, which holds nothing else to filter out."""
        model = self.tables.shadow_trades
        index = model.by_status_due
        with translate_errors("shadow_trades.Query"):
            return [_shadow_record(i) for i in index.query("OPEN", range_key_condition=model.timeout_at < before)]

    def close_shadow_trade(self, shadow_id: str, *, status: str = "CLOSED", **columns: Any) -> None:
        """Write the outcome columns and set ``status`` only if the trade is still OPEN (exactly once).

        ``columns`` are shadow_trades attribute names (``exit_price``, ``exit_reason``, ``shadow_pnl_bps``,
        ``error_cause`` ...); raises :class:`NotOpen` when the trade was already closed or marked ERROR.
        """
        if status not in ("CLOSED", "ERROR"):
            raise ValueError(f"status must be CLOSED or ERROR, got {status!r}")
        model = self.tables.shadow_trades
        attrs = model.get_attributes()
        unknown = sorted(set(columns) - set(attrs))
        if unknown:
            raise ValueError(f"unknown shadow_trades columns: {unknown}")
        actions: list[Action] = [model.status.set(status)]
        for name, value in columns.items():
            attr = attrs[name]
            actions.append(attr.remove() if value is None else attr.set(value))
        with translate_errors("shadow_trades.UpdateItem", conflict=NotOpen):
            _update(model, shadow_id, actions, model.shadow_id.exists() & (model.status == "OPEN"))


def _update(model: type[Model], hash_key: str, actions: list[Action], condition: Condition) -> None:
    """``Model.update`` without ``ReturnValues=ALL_NEW``: the same request on the class's own connection,
    but the whole item (a decision is ~1.5 kB) is not sent back and parsed for nothing — these writes
    only need to know whether the condition held (no model here has a version attribute to maintain)."""
    model._get_connection().update_item(hash_key, actions=actions, condition=condition, return_values=NONE)


@cache
def get_repository(settings: TableSettings) -> Repository:
    """One repository per settings, reused across warm invocations (connections are kept)."""
    return Repository(bind_tables(settings))
