"""Stub: to be written."""
