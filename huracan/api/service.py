"""The outcome API's logic: record one live outcome idempotently; say which model is published.

Plain objects in, plain objects out: the routes (``functions/outcome_api/app.py``) and
:mod:`huracan.api.handlers` deal with HTTP; this module decides 201 / 200 / 409 and what a trade row is.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from huracan.adapters.errors import AlreadyExists, TransientError
from huracan.api.dal import TradesStore
from huracan.api.errors import BadRequest, Conflict, NotFound
from huracan.api.models import LatestModel, OutcomeAccepted, TradeOutcome, canonical_json, content_sha256
from huracan.core.timeutil import from_epoch_s
from huracan.registry import ModelRegistry, ModelVerificationError
from huracan.registry.model import sha256_hex
from huracan.registry.registry import MANIFEST_FILE

__all__ = ["LatestModelReader", "OutcomeService", "RecordResult", "trade_attributes"]

log = logging.getLogger(__name__)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def trade_attributes(outcome: TradeOutcome, payload_sha256: str, received_at: float) -> dict[str, Any]:
    """The ``trades`` row for an outcome: the seed's columns plus the engine's.

    ``ts_open`` (the by_day index's range key) is estimated as ``received_at - duration_sec`` when
    Hamilton does not send it, because the outcome is posted when the trade closes; without it the trade
    would be invisible to the nightly collection. ``status`` defaults to ``closed`` for the same reason.
    """
    columns = outcome.model_dump(exclude_none=True, exclude={"features"})
    received = from_epoch_s(received_at)
    ts_open = outcome.ts_open or from_epoch_s(received_at - outcome.duration_sec)
    return {
        **columns,
        "ts_open": ts_open,
        "status": outcome.status or "closed",
        "trade_type": "LIVE",
        "features_json": canonical_json(outcome.features),
        "received_at": received,
        "day": ts_open[:10],
        "payload_sha256": payload_sha256,
    }


@dataclass(frozen=True, slots=True)
class RecordResult:
    status: int  # 201 created, 200 identical repeat
    body: OutcomeAccepted


class OutcomeService:
    """Idempotent on ``trade_id``: the first write wins; a repeat is compared by content hash."""

    def __init__(self, store: TradesStore) -> None:
        self.store = store

    def record(self, outcome: TradeOutcome, received_at: float) -> RecordResult:
        sha = content_sha256(outcome)
        attributes = trade_attributes(outcome, sha, received_at)
        try:
            self.store.create(attributes)
        except AlreadyExists:
            existing = self.store.get(outcome.trade_id)
            if existing is None:  # deleted between the two calls: let the client retry
                raise TransientError("trade vanished between the conditional put and the read") from None
            if existing.payload_sha256 != sha:
                raise Conflict(
                    "conflict",
                    f"trade {outcome.trade_id} is already recorded with different content",
                    field="trade_id",
                ) from None
            body = OutcomeAccepted(
                trade_id=outcome.trade_id,
                status="duplicate",
                payload_sha256=sha,
                received_at=existing.received_at or attributes["received_at"],
            )
            return RecordResult(200, body)
        log.info("recorded live outcome %s (%s, model %s)", outcome.trade_id, outcome.outcome, outcome.model_id)
        body = OutcomeAccepted(
            trade_id=outcome.trade_id, status="created", payload_sha256=sha, received_at=attributes["received_at"]
        )
        return RecordResult(201, body)


class LatestModelReader:
    """``latest.json`` plus the signed model card it names; the card is re-read only when the pointer moves.

    The manifest's SHA256 must equal the pointer's and its signature must verify (``ModelRegistry.show``),
    so a swapped ``latest.json`` is reported as an error, never served. Files are not hashed here:
    Hamilton verifies the whole model itself when it loads it.
    """

    def __init__(self, registry: Callable[[], ModelRegistry]) -> None:
        self._registry = registry
        self._cache: dict[str, tuple[tuple[str, str], LatestModel]] = {}
        self._lock = threading.Lock()

    def latest(self, name: str) -> LatestModel:
        if not _NAME_RE.match(name):
            raise BadRequest("bad_name", "model name: letters, digits, '_', '.', '-' only", field="name")
        registry = self._registry()
        pointer = registry.latest(name)
        if pointer is None:
            raise NotFound("no_model", f"no model published under {name!r}", field="name")
        key = (pointer.model_id, pointer.manifest_sha256)
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        hex_id = pointer.model_id.removeprefix("sha256:")
        actual = sha256_hex(registry.store.get(f"{name}/{hex_id}/{MANIFEST_FILE}"))
        if actual != pointer.manifest_sha256:
            raise ModelVerificationError(
                "latest.json does not match the manifest it names",
                model_id=pointer.model_id,
                expected=pointer.manifest_sha256,
                actual=actual,
            )
        manifest = registry.show(pointer.model_id)
        answer = LatestModel(
            name=name,
            model_id=pointer.model_id,
            version=pointer.version,
            manifest_sha256=pointer.manifest_sha256,
            created_at=manifest.get("created_at"),
            metrics=dict(manifest.get("metrics") or {}),
        )
        with self._lock:
            self._cache[name] = (key, answer)
        return answer
