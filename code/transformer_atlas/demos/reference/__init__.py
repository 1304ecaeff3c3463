"""Demos of the topics under ``reference/`` (one module per topic stem)."""
