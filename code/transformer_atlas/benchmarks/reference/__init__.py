"""Benchmarks of the topics under ``reference/`` (one module per stem)."""
