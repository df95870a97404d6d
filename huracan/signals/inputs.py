"""A run's inputs from the command line, shared by ``huracan replay`` and ``huracan backtest``.

``--data`` may be repeated; each is ``SYMBOL=FILE``, a FILE (the symbol from its name, e.g.
``bybit_BTCUSDT_1m_20221213.csv.gz`` → ``BTCUSDT``) or a FOLDER (every bar file in it). ``--signals FILE``
is the user's signals (:mod:`huracan.signals.files`); ``--config FILE`` the user's settings
(:func:`huracan.core.config.load_user_config`). Everything is read and validated before anything starts,
and every error is one sentence naming the file (the CLI exits 2).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from pathlib import Path

from huracan.core.bars import BarArrays
from huracan.core.config import ConfigError, EngineConfig, load_config, load_user_config
from huracan.data import DataFileError, load_minute_bars
from huracan.signals.args import add_input_arguments as add_input_arguments
from huracan.signals.files import FileSignals, SignalsFile, load_signals_file

__all__ = ["RunInputs", "add_input_arguments", "parse_data_args", "resolve_inputs", "symbol_from_path"]

_BAR_SUFFIXES = (".csv", ".csv.gz", ".parquet")
_SYMBOL = re.compile(r"^[A-Za-z0-9._:/-]{1,40}$")


def symbol_from_path(path: Path) -> str:
    """``ftx_BTC-PERP_1m_...csv.gz`` → ``BTC-PERP``; falls back to the file's stem."""
    m = re.match(r"^[a-z]+_([A-Za-z0-9-]+)_", path.name)
    return m.group(1) if m else path.name.split(".")[0]


def _is_bar_file(p: Path) -> bool:
    return p.is_file() and p.name.endswith(_BAR_SUFFIXES) and "_bidask" not in p.name


def parse_data_args(values: list[Path] | list[str], symbol: str | None = None) -> dict[str, Path]:
    """``--data`` values → {symbol: file}; two files for one symbol are refused naming both."""
    out: dict[str, Path] = {}
    for raw in values:
        text = str(raw)
        sym: str | None = None
        if "=" in text and not Path(text).exists():
            sym, text = text.split("=", 1)
            if not _SYMBOL.match(sym):
                raise DataFileError(f"--data {raw}: {sym!r} is not a symbol (letters, digits, . _ : / -)")
        path = Path(text)
        if path.is_dir():
            if sym is not None:
                raise DataFileError(f"--data {raw}: SYMBOL=FOLDER is ambiguous; name a file per symbol")
            files = sorted(p for p in path.iterdir() if _is_bar_file(p))
            if not files:
                raise DataFileError(f"{path}: no bar files (*.csv, *.csv.gz, *.parquet) in this folder")
            pairs = [(symbol_from_path(p), p) for p in files]
        elif path.is_file():
            pairs = [(sym or symbol or symbol_from_path(path), path)]
        else:
            raise DataFileError(
                f"{path}: no such file (pass --data FILE, --data SYMBOL=FILE or --data FOLDER of OHLCV files)"
            )
        for s, p in pairs:
            if s in out and out[s] != p:
                raise DataFileError(
                    f"two bar files for symbol {s!r}: {out[s]} and {p}; name them with --data SYMBOL=FILE"
                )
            out[s] = p
    if symbol is not None and len(out) > 1:
        raise DataFileError("--symbol names the symbol of a single --data file; use --data SYMBOL=FILE for several")
    return out


@dataclass
class RunInputs:
    """Everything a replay or backtest needs, validated: bars per symbol, the signal source, the settings."""

    bars: dict[str, BarArrays]
    paths: dict[str, Path]
    config: EngineConfig
    config_path: Path | None = None
    signals_file: SignalsFile | None = None
    signals: FileSignals | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def symbols(self) -> list[str]:
        return sorted(self.bars)

    @property
    def outside_span(self) -> dict[str, int]:
        """Signals of the file outside the bars' span, per symbol (reported, never silently dropped)."""
        return dict(self.signals.outside) if self.signals is not None else {}


def resolve_inputs(args: argparse.Namespace) -> RunInputs:
    """Read and check every input named on the command line; raises :class:`DataFileError` (exit 2)."""
    days = getattr(args, "days", None)
    if days is not None and days <= 0:
        raise DataFileError(f"--days {days}: must be a positive number of days")
    try:
        if args.config is not None:
            config = load_user_config(Path(args.config), args.profile)
        else:
            config = load_config(args.profile)
    except ConfigError as exc:
        raise DataFileError(str(exc)) from exc
    paths = parse_data_args(list(args.data or []), getattr(args, "symbol", None))
    quotes = getattr(args, "quotes", None)
    if quotes is not None and len(paths) > 1:
        raise DataFileError("--quotes joins one quote file to one --data file; it cannot be used with several")
    bars = {s: load_minute_bars(p, days, quotes=quotes) for s, p in paths.items()}
    out = RunInputs(bars=bars, paths=paths, config=config, config_path=args.config)
    if args.signals is None and config.extra_features:
        # The built-in strategies carry no features of their own: every signal would be parked as missing them.
        raise DataFileError(
            f"{args.config or 'the settings'} declare extra_features {list(config.extra_features)}, but without "
            "--signals the signals come from the built-in strategies, which carry none (every one would be "
            "parked): pass --signals FILE with those columns, or remove extra_features"
        )
    if args.signals is not None:
        out.signals_file = load_signals_file(args.signals, extra_features=config.extra_features)
        out.signals = out.signals_file.placed(bars)
        if out.signals.total == 0:
            raise DataFileError(
                f"{args.signals}: none of its {len(out.signals_file.signals)} signals falls inside the bars' span "
                f"({', '.join(f'{s}: {n}' for s, n in sorted(out.outside_span.items()))} outside)"
            )
        for sym, n in sorted(out.outside_span.items()):
            out.notes.append(
                f"{n} signal(s) of {sym} outside the bars' span (first at {out.signals.outside_first[sym]}): "
                "not replayed"
            )
    return out
