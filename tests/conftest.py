"""Shared set-up: headless plots, and the registries the contract suites iterate over (:mod:`suite`)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import suite  # noqa: E402,F401  (loads the built-in plugins and the test plugin before collection)
