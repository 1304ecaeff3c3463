"""Figures of the topics under ``families/`` (one module per topic stem)."""
