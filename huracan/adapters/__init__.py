"""Huracan adapters."""
