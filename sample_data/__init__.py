"""Synthetic sample studies with fake PHI (``synth``), and the script that writes the shipped set (``generate``)."""
