"""Benchmarks that report CaseDeck as a ratio to a floor measured in the same run."""
