"""A user's signals file (CSV, gzip CSV or Parquet) → validated signals per symbol, as a signal source.

Every row is validated by the one contract for a signal (:class:`huracan.core.records.Signal`, published as
``schemas/signal.schema.json``), the same model the stream parser uses, so a row the file loader accepts is
a record the evaluator accepts and the other way round. A bad row is refused before anything is sent, with
the file, the line and the column (exit 2 from the CLI), as bar files are.

No look-ahead: a signal stamped ``T`` is placed on the last bar that *closed* at or before ``T``
(``ts[k] + BAR_SEC <= T``): its features see bars ``0..k`` only. Without a ``price`` it enters at the first
price after ``T``: the open of the first bar opening at or after ``T``. A signal before the first bar has
closed, or after the last bar opened, has no such bars: it is counted as outside the bars' span and
reported, never silently dropped.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from huracan.core.bars import BarArrays
from huracan.core.features import BAR_SEC
from huracan.core.records import Signal
from huracan.core.strategies import StrategySignals
from huracan.core.timeutil import epoch_s
from huracan.data import DataFileError

__all__ = ["FileSignals", "SignalsFile", "load_signals_file"]

_REQUIRED = ("ts", "symbol", "side", "mode", "confidence")
_OPTIONAL = ("signal_id", "strategy", "price", "type")


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            return frame.astype(object).where(frame.notna(), None)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise DataFileError(f"{path}: cannot read: {exc}") from exc


def _cell(value: Any) -> Any:
    """A CSV cell ("" is absent) or a Parquet value (numpy scalars to Python)."""
    if value is None or (isinstance(value, str) and value == ""):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.tz_localize("UTC").isoformat() if value.tzinfo is None else value.isoformat()
    return value


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


@dataclass
class SignalsFile:
    """Validated signals of one file, in time order, with their source lines for error messages."""

    path: Path
    signals: list[Signal]
    lines: list[int]
    extra_features: tuple[str, ...] = ()

    @property
    def symbols(self) -> list[str]:
        return sorted({s.symbol for s in self.signals})

    def for_symbol(self, symbol: str) -> list[Signal]:
        return [s for s in self.signals if s.symbol == symbol]

    def placed(self, bars_by_symbol: Mapping[str, BarArrays]) -> FileSignals:
        """Place every signal on its symbol's bars (a symbol with signals and no bars is refused by name)."""
        missing = [s for s in self.symbols if s not in bars_by_symbol]
        if missing:
            have = sorted(bars_by_symbol)
            raise DataFileError(
                f"{self.path}: signals for symbol(s) {missing} but no bars for them (bars given for {have}); "
                "pass their bar files with --data SYMBOL=FILE"
            )
        return FileSignals.build(self, bars_by_symbol)


@dataclass
class FileSignals:
    """A user's signals placed on the bars: the signal source for replay, backtest and the nightly history.

    Called like every signal source, ``source(bars, symbol)``: the signals of ``symbol`` that fall inside
    the span of ``bars`` (the nightly's 30-day window, or the whole replay), on the bar closed by their
    ``ts``. ``outside`` counts, per symbol, the signals outside the replayed bars' span.
    """

    name = "user_signals"

    by_symbol: dict[str, list[Signal]]
    outside: dict[str, int] = field(default_factory=dict)
    outside_first: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, file: SignalsFile, bars_by_symbol: Mapping[str, BarArrays]) -> FileSignals:
        by: dict[str, list[Signal]] = {}
        outside: Counter[str] = Counter()
        first: dict[str, str] = {}
        for sym in file.symbols:
            bars = bars_by_symbol[sym]
            keep: list[Signal] = []
            for s in file.for_symbol(sym):
                if _place(bars, s) is None:
                    outside[sym] += 1
                    first.setdefault(sym, s.ts)
                else:
                    keep.append(s)
            by[sym] = keep
        return cls(by, dict(outside), first)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.by_symbol.values())

    def __call__(self, bars: BarArrays, symbol: str = "") -> StrategySignals:
        rows: list[tuple[int, Signal, float]] = []
        for s in self.by_symbol.get(symbol, ()):
            placed = _place(bars, s)
            if placed is not None:
                rows.append((placed[0], s, placed[1]))
        rows.sort(key=lambda r: (r[1].ts, r[1].signal_id))
        return StrategySignals(
            bar_idx=np.array([r[0] for r in rows], dtype=np.int64),
            strategy=tuple(r[1].strategy for r in rows),
            side=tuple(r[1].side for r in rows),
            mode=tuple(r[1].mode for r in rows),
            confidence=np.array([r[1].confidence for r in rows], dtype=np.float64),
            signal_id=tuple(r[1].signal_id for r in rows),
            ts=tuple(r[1].ts for r in rows),
            price=np.array([r[2] for r in rows], dtype=np.float64),
            features=tuple(r[1].features for r in rows),
        )


def _place(bars: BarArrays, s: Signal) -> tuple[int, float] | None:
    """(the last bar closed at or before ts, the entry price) or None when ts is outside the bars' span."""
    t = epoch_s(s.ts)
    k = int(np.searchsorted(bars.ts, t - BAR_SEC, side="right")) - 1
    j = int(np.searchsorted(bars.ts, math.ceil(t), side="left"))
    if k < 0 or j >= len(bars):
        return None
    return k, float(s.price) if s.price is not None else float(bars.open[j])


def _validate_row(path: Path, line: int, raw: dict[str, Any], columns: Sequence[str]) -> Signal:
    try:
        return Signal.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = [str(p) for p in e["loc"]]
        col = loc[0] if loc and loc[0] in columns else ("/".join(loc) or "row")
        if loc and loc[0] == "features" and len(loc) > 1:
            col = loc[1]
        value = raw.get(col) if col in raw else (raw.get("features") or {}).get(col)
        raise DataFileError(f"{path}: line {line}, column {col!r}: {value!r}: {e['msg']}") from exc


def load_signals_file(
    path: str | Path, *, extra_features: Iterable[str] = (), symbols: Iterable[str] | None = None
) -> SignalsFile:
    """Read and validate a signals file; ``extra_features`` are the numeric columns the config declares.

    A column that is neither in the schema nor a declared feature is refused (a typo must not vanish);
    a declared feature column may be empty on a row: that signal is parked by the evaluator with the reason.
    """
    path = Path(path)
    frame = _read(path)
    feats = tuple(extra_features)
    cols = [str(c) for c in frame.columns]
    unknown = [c for c in cols if c not in _REQUIRED + _OPTIONAL and c not in feats]
    if unknown:
        raise DataFileError(
            f"{path}: line 1, column {unknown[0]!r}: not a signal field; declare extra feature columns in the "
            f"config's extra_features (declared: {list(feats)})"
        )
    missing = [c for c in _REQUIRED if c not in cols]
    if missing:
        raise DataFileError(
            f"{path}: missing column(s) {missing}; a signals file has ts,symbol,side,mode,confidence "
            "(and optionally signal_id,strategy,price and the config's extra_features)"
        )
    if len(frame) == 0:
        raise DataFileError(f"{path}: no rows")
    base_cols = [c for c in cols if c not in feats]
    feat_cols = [c for c in cols if c in feats]
    records = frame.to_dict(orient="records")
    signals: list[Signal] = []
    lines: list[int] = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(records):
        line = i + 2
        raw: dict[str, Any] = {c: _cell(rec[c]) for c in base_cols}
        raw = {k: v for k, v in raw.items() if v is not None}
        for c in ("confidence", "price"):
            if c in raw:
                raw[c] = _number(raw[c])
        present = {c: _number(_cell(rec[c])) for c in feat_cols if _cell(rec[c]) is not None}
        if present:
            raw["features"] = present
        sig = _validate_row(path, line, raw, cols)
        if sig.signal_id in seen:
            raise DataFileError(
                f"{path}: line {line}, column 'signal_id': {sig.signal_id!r} repeats line {seen[sig.signal_id]} "
                "(every signal needs its own id; without a signal_id column the id comes from symbol, ts, side "
                "and strategy)"
            )
        seen[sig.signal_id] = line
        signals.append(sig)
        lines.append(line)
    order = sorted(range(len(signals)), key=lambda k: (epoch_s(signals[k].ts), signals[k].signal_id))
    out = SignalsFile(path, [signals[k] for k in order], [lines[k] for k in order], feats)
    if symbols is not None:
        wanted = set(symbols)
        extra = [s for s in out.symbols if s not in wanted]
        if extra:
            raise DataFileError(f"{path}: signals for symbol(s) {extra} but no bars for them (bars: {sorted(wanted)})")
    return out
