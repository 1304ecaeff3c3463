"""Benchmarks of the topics under ``inference/`` (one per topic stem)."""
