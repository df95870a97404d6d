"""Hamilton's outbox: an outcome is on disk before it is sent, and leaves the disk only when the API has it.

Why: an outcome that could not be posted (the API down longer than the in-call retries, or a key refused
while the HMAC secret rotates) used to be raised to the caller and, in practice, lost. Now each outcome is
written to ``<dir>/pending/<key>.json`` first; a delivery that the API acknowledged (201, or 200 for an
identical repeat) removes it; one that failed for a reason that can pass (no connection, 429, 5xx, 401/403)
stays with its next attempt time, backing off exponentially (capped), and :meth:`Outbox.due` hands it out
again. A refusal that cannot pass (409 conflict, 400/422 bad field) moves it to ``<dir>/rejected/`` with the
answer: kept for a human, never retried, never lost.

Delivering the same outcome twice is safe: the API is idempotent on ``trade_id`` (200 for an identical repeat),
so a crash between the API's answer and the file's removal costs one duplicate request, not a duplicate row.
Files are written atomically (temp file, fsync, rename), so a crash never leaves half an outcome.

The same folder keeps ``seen_pointers.json``: the newest signed ``latest.json`` this Hamilton followed, so a
restarted Hamilton refuses an older (replayed) pointer even if the registry's pointer history was deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huracan.registry.pointer import LatestPointer

__all__ = ["Outbox", "OutboxEntry"]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One queued outcome: the payload as it will be sent, its attempts so far and when to try again."""

    key: str
    payload: Mapping[str, Any]
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str = ""


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Outbox:
    """A folder of outcomes not yet acknowledged by the API (one file each, keyed on ``trade_id``)."""

    def __init__(self, root: str | os.PathLike[str], *, backoff_s: float = 1.0, max_backoff_s: float = 300.0) -> None:
        self.root = Path(root)
        self.pending_dir = self.root / "pending"
        self.rejected_dir = self.root / "rejected"
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s

    @staticmethod
    def key_for(payload: Mapping[str, Any]) -> str:
        """The file name for an outcome: a hash of its ``trade_id`` (any string is a safe name this way)."""
        return hashlib.sha256(str(payload["trade_id"]).encode("utf-8")).hexdigest()[:40]

    def _path(self, key: str) -> Path:
        return self.pending_dir / f"{key}.json"

    def _save(self, entry: OutboxEntry) -> None:
        doc = {
            "payload": dict(entry.payload),
            "attempts": entry.attempts,
            "next_attempt_at": entry.next_attempt_at,
            "last_error": entry.last_error,
        }
        _write_atomic(self._path(entry.key), json.dumps(doc, sort_keys=True, allow_nan=False).encode())

    def add(self, payload: Mapping[str, Any]) -> OutboxEntry:
        """Queue ``payload`` (replacing a queued outcome of the same trade_id, which the API would refuse
        as a conflict anyway if it differed and had arrived)."""
        entry = OutboxEntry(self.key_for(payload), dict(payload))
        self._save(entry)
        return entry

    def get(self, key: str) -> OutboxEntry | None:
        try:
            doc = json.loads(self._path(key).read_bytes())
        except FileNotFoundError:
            return None
        return OutboxEntry(
            key=key,
            payload=doc["payload"],
            attempts=int(doc.get("attempts", 0)),
            next_attempt_at=float(doc.get("next_attempt_at", 0.0)),
            last_error=str(doc.get("last_error", "")),
        )

    def pending(self) -> list[OutboxEntry]:
        """Every queued outcome, oldest file first."""
        paths = sorted(self.pending_dir.glob("*.json"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        return [e for p in paths if (e := self.get(p.stem)) is not None]

    def due(self, now: float) -> list[OutboxEntry]:
        return [e for e in self.pending() if e.next_attempt_at <= now]

    def delivered(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def failed(self, entry: OutboxEntry, now: float, error: str) -> OutboxEntry:
        """Record a failed attempt that may pass later; the next one waits ``backoff * 2**attempts`` (capped)."""
        attempts = entry.attempts + 1
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempts - 1))
        updated = OutboxEntry(entry.key, entry.payload, attempts, now + delay, error[:500])
        self._save(updated)
        return updated

    def rejected(self, entry: OutboxEntry, status: int, answer: Any) -> None:
        """Move an outcome the API refused for good to ``rejected/`` with the answer."""
        doc = {"payload": dict(entry.payload), "status": status, "answer": answer, "attempts": entry.attempts + 1}
        _write_atomic(self.rejected_dir / f"{entry.key}.json", json.dumps(doc, sort_keys=True, default=str).encode())
        self.delivered(entry.key)

    # --- the newest signed model pointer followed (kept beside the outcomes: Hamilton's one state folder) ---
    def seen_pointer(self, name: str) -> LatestPointer | None:
        """The pointer recorded by :meth:`remember_pointer` for ``name``, if any."""
        try:
            doc = json.loads((self.root / "seen_pointers.json").read_bytes()).get(name)
        except FileNotFoundError:
            return None
        if not isinstance(doc, dict):
            return None
        return LatestPointer(
            name=name,
            model_id=str(doc["model_id"]),
            version=int(doc["version"]),
            manifest_sha256=str(doc["manifest_sha256"]),
            reason=str(doc.get("reason", "register")),
            serial=int(doc["serial"]),
        )

    def remember_pointer(self, pointer: LatestPointer) -> None:
        path = self.root / "seen_pointers.json"
        try:
            doc = json.loads(path.read_bytes())
        except FileNotFoundError:
            doc = {}
        doc[pointer.name] = {
            "model_id": pointer.model_id,
            "version": pointer.version,
            "manifest_sha256": pointer.manifest_sha256,
            "reason": pointer.reason,
            "serial": pointer.serial,
        }
        _write_atomic(path, json.dumps(doc, sort_keys=True).encode())

    def rejected_count(self) -> int:
        return sum(1 for _ in self.rejected_dir.glob("*.json"))
