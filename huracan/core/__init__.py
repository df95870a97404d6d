"""Huracan core."""
