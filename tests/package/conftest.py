"""Shared setup for the package tests: a non-interactive matplotlib backend."""

import matplotlib

matplotlib.use("Agg")
