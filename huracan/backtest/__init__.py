"""The research path: the same learning loop as the stack, in one process (``huracan backtest``)."""

from __future__ import annotations

from huracan.backtest.run import Backtest, BacktestResult, run_backtest

__all__ = ["Backtest", "BacktestResult", "run_backtest"]
