"""Decoded S3 objects kept for the life of the process, revalidated on every read with a conditional GET.

Why: the nightly job trains on a 30-day window, so each night reads the same settled decision days and
bar-archive days again, and decodes each one again (gzip'd JSON into records, parquet into arrays). Asking S3
``If-None-Match: <etag>`` still makes one request per object, so a rewritten copy is always seen, but an
unchanged one comes back as ``304 Not Modified`` with no body to transfer, check or decode. A warm Lambda
container or a long-running process (the local runtime runs every night of a replay in one) gains; a fresh
Fargate task starts empty and reads exactly as before.

Values are shared between callers, so they must be immutable: records are frozen dataclasses, and arrays
are made read-only by the decoder before they are kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["DecodedCache", "Fetched"]

T = TypeVar("T")

#: What a fetch returns: None when there is no object; ``(None, etag)`` when the object still has the ETag
#: it was asked about (not modified, no body); ``(data, etag)`` otherwise.
Fetched = tuple[bytes | None, str] | None


class DecodedCache(Generic[T]):
    """At most ``max_entries`` decoded objects, least recently used dropped first; thread-safe."""

    def __init__(self, max_entries: int = 256) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[str, T]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, scope: Hashable, fetch: Callable[[str | None], Fetched], decode: Callable[[bytes], T]) -> T | None:
        """The decoded object at ``scope`` (None if absent), fetched with the kept ETag when there is one.

        A decode error propagates and nothing is kept, so the caller's fallback sees the same error each time.
        """
        with self._lock:
            kept = self._entries.get(scope)
        got = fetch(None if kept is None else kept[0])
        if got is None:
            with self._lock:
                self._entries.pop(scope, None)
            return None
        data, etag = got
        if data is None:
            if kept is None or etag != kept[0]:
                raise ValueError(f"{scope!r}: the store answered 'not modified' for an ETag this cache did not ask")
            with self._lock:
                self.hits += 1
                if scope in self._entries:
                    self._entries.move_to_end(scope)
            return kept[1]
        value = decode(data)
        with self._lock:
            self.misses += 1
            self._entries[scope] = (etag, value)
            self._entries.move_to_end(scope)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
