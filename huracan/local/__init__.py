"""Huracan local."""
