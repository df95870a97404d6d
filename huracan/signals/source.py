"""The one interface every signal source answers: bars of a symbol in, that symbol's signals out.

Replay, backtest, the nightly's historical rows and the demo ask the same question of whichever source the
run has — the built-in strategies (:data:`builtin`), the planted edge
(:class:`huracan.local.planted_signals.PlantedSignals`) or a user's file
(:class:`huracan.signals.files.FileSignals`) — and turn the answer into stream records with
:func:`huracan.local.replay.build_records` (the same record shape the stream carries).
"""

from __future__ import annotations

from typing import Protocol

from huracan.core.bars import BarArrays
from huracan.core.strategies import StrategySignals, signals_history

__all__ = ["BuiltinStrategies", "SignalSource", "builtin", "source_name"]


class SignalSource(Protocol):
    """``source(bars, symbol)`` → the symbol's signals on those bars, in time order."""

    def __call__(self, bars: BarArrays, symbol: str = "") -> StrategySignals: ...


class BuiltinStrategies:
    """The two primary strategies (:mod:`huracan.core.strategies`): the same signals for any symbol."""

    name = "builtin_strategies"

    def __call__(self, bars: BarArrays, symbol: str = "") -> StrategySignals:
        return signals_history(bars)


builtin = BuiltinStrategies()


def source_name(source: object) -> str:
    """How the session report names where historical rows came from (provenance of the training set)."""
    return str(getattr(source, "name", None) or getattr(source, "__name__", None) or type(source).__name__)
