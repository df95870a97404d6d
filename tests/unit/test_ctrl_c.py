"""Ctrl-C during a replay: an interrupt swallowed on the way (a module import turning it into ImportError,
the poller logging a failed batch) is still raised once the window ends."""

from __future__ import annotations

import contextlib
import os
import signal

import pytest

from huracan.local.runtime import _CtrlC


def test_a_swallowed_interrupt_is_raised_again_after_the_window() -> None:
    before = signal.getsignal(signal.SIGINT)
    with _CtrlC() as ctrl_c:
        ctrl_c.check()  # nothing yet
        with contextlib.suppress(KeyboardInterrupt):  # what a swallowing layer does
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10_000):  # the handler runs between bytecodes, inside this block
                pass
        with pytest.raises(KeyboardInterrupt):
            ctrl_c.check()
    assert signal.getsignal(signal.SIGINT) is before


def test_an_ignored_or_custom_handler_is_left_alone() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _CtrlC():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
