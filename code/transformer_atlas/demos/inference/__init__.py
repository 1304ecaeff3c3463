"""Demos of the topics under ``inference/`` (one module per topic stem)."""
