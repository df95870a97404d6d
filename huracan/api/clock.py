"""The outcome API's clock: the one legitimate wall-clock read in the engine (DESIGN §7).

Everything else in Huracan takes its time from records, timer inputs or scheduler events. The API cannot:
to refuse a stale or future-dated signature it must compare Hamilton's ``X-Huracan-Timestamp`` with "now",
and ``received_at`` records when the outcome arrived. In AWS that is the Lambda's wall clock. In a local
replay it must be the replay's virtual clock, or every signature made in replay time would be stale; so the
clock is injectable:

- in-process: :func:`set_api_clock` (the local API server does this with the runtime's virtual clock);
- across processes (``chalice local`` as a subprocess): ``HURACAN_API_CLOCK`` = ``system`` (default),
  ``fixed:<ISO-8601 Z>`` (or a bare ISO timestamp) or ``offset:<seconds>`` (wall clock shifted).

A clock is a zero-argument callable returning epoch seconds, the shape of
:meth:`huracan.local.clock.VirtualClock.now`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from huracan.core.timeutil import epoch_s

__all__ = ["API_CLOCK_ENV", "Clock", "api_clock", "clock_from_spec", "set_api_clock", "system_clock"]

Clock = Callable[[], float]
API_CLOCK_ENV = "HURACAN_API_CLOCK"


def system_clock() -> float:
    """Wall-clock epoch seconds: the Lambda's clock, used only for signature freshness and ``received_at``."""
    return time.time()


def clock_from_spec(spec: str | None) -> Clock:
    """Parse a ``HURACAN_API_CLOCK`` value (see the module docstring); a bad value raises ``ValueError``."""
    text = (spec or "").strip()
    if text in ("", "system"):
        return system_clock
    if text.startswith("offset:"):
        offset = float(text.removeprefix("offset:"))
        return lambda: time.time() + offset
    fixed = epoch_s(text.removeprefix("fixed:"))
    return lambda: fixed


_override: Clock | None = None


def set_api_clock(clock: Clock | None) -> None:
    """Replace the API's clock in this process (``None`` restores the configured one)."""
    global _override
    _override = clock


def api_clock(configured: Clock = system_clock) -> Clock:
    """The clock in force: an in-process override if set, else ``configured`` (from the settings)."""
    override = _override
    return override if override is not None else configured
