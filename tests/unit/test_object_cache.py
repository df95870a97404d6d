"""The decoded-object cache: kept by ETag, revalidated on each read, bounded, never keeps a failed decode."""

from __future__ import annotations

import pytest

from huracan.adapters.object_cache import DecodedCache, Fetched


class Store:
    """An object store that answers conditional reads as S3 does (by ETag) and counts bodies sent."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.bodies = 0

    def fetch(self, key: str, if_none_match: str | None) -> Fetched:
        data = self.objects.get(key)
        if data is None:
            return None
        etag = f'"{hash(data) & 0xFFFF:x}-{len(data)}"'
        if if_none_match == etag:
            return None, etag
        self.bodies += 1
        return data, etag


def test_an_unchanged_object_is_decoded_once_and_a_rewrite_is_seen() -> None:
    store, cache = Store(), DecodedCache[str](max_entries=4)
    decoded: list[bytes] = []

    def decode(data: bytes) -> str:
        decoded.append(data)
        return data.decode().upper()

    store.objects["a"] = b"one"
    assert cache.get("a", lambda e: store.fetch("a", e), decode) == "ONE"
    assert cache.get("a", lambda e: store.fetch("a", e), decode) == "ONE"
    assert (store.bodies, len(decoded), cache.hits, cache.misses) == (1, 1, 1, 1)
    store.objects["a"] = b"two"
    assert cache.get("a", lambda e: store.fetch("a", e), decode) == "TWO"
    del store.objects["a"]
    assert cache.get("a", lambda e: store.fetch("a", e), decode) is None
    store.objects["a"] = b"two"
    assert cache.get("a", lambda e: store.fetch("a", e), decode) == "TWO"  # the deleted entry was dropped
    assert store.bodies == 3


def test_least_recently_used_entries_go_first() -> None:
    store, cache = Store(), DecodedCache[bytes](max_entries=2)
    for k in "abc":
        store.objects[k] = k.encode()
    for k in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" arrives
        cache.get(k, lambda e, k=k: store.fetch(k, e), bytes)
    bodies = store.bodies
    cache.get("a", lambda e: store.fetch("a", e), bytes)
    cache.get("c", lambda e: store.fetch("c", e), bytes)
    assert store.bodies == bodies
    cache.get("b", lambda e: store.fetch("b", e), bytes)
    assert store.bodies == bodies + 1


def test_a_failed_decode_is_not_kept_and_bad_answers_are_refused() -> None:
    store, cache = Store(), DecodedCache[int](max_entries=2)
    store.objects["n"] = b"x"
    for _ in range(2):
        with pytest.raises(ValueError, match="invalid literal"):
            cache.get("n", lambda e: store.fetch("n", e), int)
    assert store.bodies == 2  # nothing was kept, so the body was sent again
    with pytest.raises(ValueError, match="did not ask"):
        cache.get("m", lambda e: (None, '"x"'), int)
    with pytest.raises(ValueError, match="at least 1"):
        DecodedCache[int](max_entries=0)
