"""Huracan Engine: the shadow-trading learning lab. It never trades real money."""

__version__ = "0.1.0"
