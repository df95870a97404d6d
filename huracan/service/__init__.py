"""Huracan's logic layer: what each Lambda does, between its thin handler and the adapters."""
