"""A process-wide ceiling on LightGBM's threads while fits run side by side.

LightGBM (4.x) keeps the thread count of its OpenMP regions in one *process-global* variable: every
``Dataset``/``Booster`` creation and every ``predict`` sets it from its own ``num_threads`` (0 or absent
resets it to "every core"). A fit sizes per-thread buffers from that count when it starts and re-reads it in
later regions, so a ``predict(num_threads=0)`` on another thread (the champion's scores, permutation
importance) can hand a running single-threaded fit two threads and one buffer: heap corruption and, now and
then, a segmentation fault (seen in CI inside the nightly session; reproduced here about one run in three by
scoring on the main thread while a multiclass fit runs in a worker).

``LGBM_SetMaxThreads`` is LightGBM's own process-wide ceiling, honoured by every region whatever the last
call set. :func:`lightgbm_thread_ceiling` holds it at the fits' ``num_threads`` while they run together and
restores what was there before, so a stray default anywhere in the process can only ever *lower* a fit's
thread count, never raise it past its buffers. Nested or concurrent holders keep the lowest ceiling asked for.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from lightgbm.basic import _safe_call
from lightgbm.libpath import _LIB

__all__ = ["current_ceiling", "lightgbm_thread_ceiling"]

_lock = threading.Lock()
_held: list[int] = []
_before: int = -1


def current_ceiling() -> int:
    """LightGBM's process-wide thread ceiling now (-1: none, every region may use every core)."""
    out = ctypes.c_int(0)
    _safe_call(_LIB.LGBM_GetMaxThreads(ctypes.byref(out)))
    return int(out.value)


def _set(n: int) -> None:
    _safe_call(_LIB.LGBM_SetMaxThreads(ctypes.c_int(n)))


@contextmanager
def lightgbm_thread_ceiling(num_threads: int) -> Iterator[None]:
    """Cap every LightGBM region in the process at ``num_threads`` (>= 1) until the block ends."""
    if num_threads < 1:
        raise ValueError(f"a thread ceiling must be at least 1, got {num_threads}")
    global _before
    with _lock:
        if not _held:
            _before = current_ceiling()
        _held.append(num_threads)
        _set(min(_held))
    try:
        yield
    finally:
        with _lock:
            _held.remove(num_threads)
            _set(min(_held) if _held else _before)
