"""The research path: the same learning loop as the stack, in one process (``huracan backtest``).

The loop is imported on first use, not with the package: ``huracan``'s argument parser imports
``huracan.backtest.cli`` for every command, and the loop pulls in the whole learning stack (~3 s at start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huracan.backtest.run import Backtest, BacktestResult, run_backtest

__all__ = ["Backtest", "BacktestResult", "run_backtest"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("huracan.backtest.run"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
