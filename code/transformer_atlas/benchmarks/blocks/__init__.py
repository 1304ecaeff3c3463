"""Benchmarks of the topics under ``blocks/`` (one module per topic stem)."""
