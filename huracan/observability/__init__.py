"""Huracan observability."""
