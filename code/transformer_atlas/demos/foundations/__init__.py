"""Demos of the topics under ``foundations/`` (one module per topic stem)."""
