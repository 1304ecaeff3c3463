"""Benchmarks: what ``make bench`` measures, one module per topic stem.

Speed and memory are measured here, never asserted by a test.
"""
