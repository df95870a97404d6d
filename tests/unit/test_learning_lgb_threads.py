"""LightGBM's one process-global thread count cannot be raised under fits running side by side."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap
import threading

import lightgbm as lgb
import numpy as np
import pytest
from lightgbm.libpath import _LIB

from huracan.learning.importance import compute_importance
from huracan.learning.lgb_threads import current_ceiling, lightgbm_thread_ceiling


def _default_threads() -> int:
    """LightGBM's process-global thread count as the last call left it (-1: every core)."""
    return int(ctypes.c_int.in_dll(_LIB, "LGBM_DEFAULT_NUM_THREADS").value)


def test_the_ceiling_holds_the_lowest_asked_for_and_restores_what_was_there():
    assert current_ceiling() == -1
    with lightgbm_thread_ceiling(2):
        assert current_ceiling() == 2
        with lightgbm_thread_ceiling(1):
            assert current_ceiling() == 1
        assert current_ceiling() == 2
    assert current_ceiling() == -1
    with pytest.raises(ValueError, match="at least 1"), lightgbm_thread_ceiling(0):
        pass
    assert current_ceiling() == -1


def test_holders_on_two_threads_release_in_any_order():
    entered, release = threading.Barrier(2, timeout=10), threading.Event()
    seen: list[int] = []

    def hold() -> None:
        with lightgbm_thread_ceiling(3):
            entered.wait()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    with lightgbm_thread_ceiling(1):
        entered.wait()
        seen.append(current_ceiling())
    seen.append(current_ceiling())  # the other holder's ceiling stays while it runs
    release.set()
    t.join()
    assert seen == [1, 3]
    assert current_ceiling() == -1


def test_permutation_importance_never_resets_lightgbm_to_every_core():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2_000, 4))
    y = (X[:, 0] + rng.normal(size=2_000) > 0).astype(np.float64)
    booster = lgb.train({"verbosity": -1, "num_threads": 1}, lgb.Dataset(X, y), num_boost_round=5)
    booster.predict(X[:10])  # a default predict: LightGBM's global count is now "every core"
    assert _default_threads() == -1
    compute_importance(booster, X, y, ["a", "b", "c", "d"], num_threads=1)
    # every predict in it said its thread count, so a fit on another thread keeps the count it started with
    assert _default_threads() == 1


_RACE = textwrap.dedent(
    """
    import contextlib
    import sys
    import threading
    import lightgbm as lgb
    import numpy as np
    from huracan.learning.lgb_threads import lightgbm_thread_ceiling

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5_000, 12))
    y = (X[:, 0] + rng.normal(size=5_000) > 0).astype(np.float64)
    y3 = y + (X[:, 1] > 0)
    scorer = lgb.train({"verbosity": -1, "num_threads": 1}, lgb.Dataset(X, y), num_boost_round=20)

    def fits() -> None:
        for _ in range(200):
            params = {"verbosity": -1, "num_threads": 1, "objective": "multiclass", "num_class": 3}
            lgb.train(params, lgb.Dataset(X, y3), num_boost_round=5)

    ceiling = lightgbm_thread_ceiling(1) if sys.argv[1] == "on" else contextlib.nullcontext()
    with ceiling:
        worker = threading.Thread(target=fits)
        worker.start()
        scored = 0
        while worker.is_alive():
            scorer.predict(X[:2_000])  # num_threads left out: resets LightGBM to every core each call
            scored += 1
        worker.join()
    print("scored", scored)
    """
)


def test_default_predicts_beside_a_running_fit_do_not_corrupt_it():
    # Without the ceiling this crashes with SIGSEGV within seconds, every run of eight on a 2-core machine: the
    # fit's OpenMP regions pick up the predict's "every core" and overrun its per-thread buffers.
    done = subprocess.run([sys.executable, "-c", _RACE, "on"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.startswith("scored ")
