"""Figures of the topics under ``training/`` (one module per topic stem)."""
