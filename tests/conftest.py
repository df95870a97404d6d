"""Shared fixtures: real market data from ../shared/data (never copied into the repo)."""

from __future__ import annotations

import pytest

from huracan.core.bars import BarArrays
from huracan.data import DEFAULT_MONTH, find_data_file, load_bars


@pytest.fixture(scope="session")
def ftx_month() -> BarArrays:
    """The FTX BTC-PERP month (45,031 one-minute bars); the test fails clearly if the data is missing."""
    return load_bars(find_data_file(DEFAULT_MONTH))
