"""Signal sources in one home: the built-in strategies, a user's signals file, behind one interface.

``load_signals_file`` reads and validates a user's file against the one signal contract
(``schemas/signal.schema.json``); ``SignalsFile.placed(bars)`` gives the source the replay, the backtest
and the nightly's historical rows all call as ``source(bars, symbol)``. Names are imported lazily so
``huracan.signals.args`` and ``huracan.signals.source`` stay free of pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "BuiltinStrategies",
    "FileSignals",
    "SignalSource",
    "SignalsFile",
    "builtin",
    "load_signals_file",
    "source_name",
]

_HOME = {
    "FileSignals": "files",
    "SignalsFile": "files",
    "load_signals_file": "files",
    "BuiltinStrategies": "source",
    "SignalSource": "source",
    "builtin": "source",
    "source_name": "source",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"huracan.signals.{_HOME[name]}"), name)
    raise AttributeError(f"module 'huracan.signals' has no attribute {name!r}")
