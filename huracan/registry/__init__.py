"""Huracan registry."""
