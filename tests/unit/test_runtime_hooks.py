"""The local runtime's process-wide hooks: Ctrl-C (an interrupt swallowed on the way, e.g. a module import
turning it into ImportError that the poller logs as a failed batch, is still raised once the window ends) and
the garbage-collection meter."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import pytest

from huracan.local.runtime import _CtrlC


def test_a_swallowed_interrupt_is_raised_again_after_the_window() -> None:
    # Python's own handler, whatever this process inherited (a background job starts with SIGINT ignored, and
    # the hook rightly leaves an ignored handler alone)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    before = signal.getsignal(signal.SIGINT)
    with _CtrlC() as ctrl_c:
        ctrl_c.check()  # nothing yet
        with contextlib.suppress(KeyboardInterrupt):  # what a swallowing layer does
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.monotonic() + 10.0  # the handler runs between bytecodes, inside this block; under
            while not ctrl_c.seen and time.monotonic() < deadline:  # load other threads may delay it a while
                pass
        with pytest.raises(KeyboardInterrupt):
            ctrl_c.check()
    assert signal.getsignal(signal.SIGINT) is before
    signal.signal(signal.SIGINT, inherited)


def test_an_ignored_or_custom_handler_is_left_alone() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _CtrlC():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_gc_meter_times_collections_and_restores_the_thresholds() -> None:
    import gc

    from huracan.local.runtime import GcMeter

    before = gc.get_threshold()
    meter = GcMeter()
    meter.install()
    try:
        assert gc.get_threshold() == GcMeter.THRESHOLDS
        gc.collect()
        assert meter.collections[2] >= 1 and meter.seconds > 0
    finally:
        meter.uninstall()
    assert gc.get_threshold() == before and meter._callback not in gc.callbacks
