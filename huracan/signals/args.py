"""The run-input options (``--data`` repeated, ``--signals``, ``--config`` …), without importing pandas.

Kept apart from :mod:`huracan.signals.inputs` so building the CLI's parser stays cheap for every command.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_input_arguments", "positive_days"]


def positive_days(text: str) -> int:
    """``--days N``: a whole number of days, at least 1 (0 would replay nothing and start a stack for it)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--days must be a whole number of days, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"--days must be at least 1, got {n}")
    return n


def add_input_arguments(p: argparse.ArgumentParser, *, data_required: bool = True) -> None:
    """``--data`` (repeatable), ``--symbol``, ``--quotes``, ``--signals``, ``--config``, ``--days``, ``--profile``."""
    p.add_argument(
        "--data",
        action="append",
        required=data_required,
        metavar="[SYMBOL=]FILE|FOLDER",
        help="1-minute OHLCV CSV/Parquet (ts,open,high,low,close,volume); repeat for several symbols",
    )
    p.add_argument("--symbol", help="symbol of a single --data file (default: from the file name)")
    p.add_argument("--quotes", type=Path, help="quote-bar file (ts,bid_*,ask_*) joined on ts (one --data only)")
    p.add_argument(
        "--signals",
        type=Path,
        help="your signals (CSV/Parquet: ts,symbol,side,mode,confidence[,signal_id,strategy,price,features…]); "
        "replaces the built-in strategies",
    )
    p.add_argument("--config", type=Path, help="your settings (TOML, engine.toml's layout, merged over it)")
    p.add_argument("--days", type=positive_days, help="only the first N days")
    p.add_argument("--profile", default="demo", help="settings profile (seed, demo, or one your --config defines)")
