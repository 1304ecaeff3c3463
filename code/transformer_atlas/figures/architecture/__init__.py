"""Figures of the topics under ``architecture/`` (one module per topic
stem)."""
