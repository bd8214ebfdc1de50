"""Shared fixtures. Plots are headless."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
