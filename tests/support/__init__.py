"""Helpers shared by tests (not test modules themselves)."""
