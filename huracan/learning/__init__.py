"""Huracan learning."""
