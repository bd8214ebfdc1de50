"""Errors every algorithm raises the same way."""

from __future__ import annotations


class NonFiniteError(RuntimeError):
    """A NaN or infinite value arose (a reward, an observation, a loss, a gradient or a parameter).

    Raised where it arises, before anything is applied: the epoch is not applied and
    the model keeps theta_k (its last good parameters). ``python -m mollirl.train``
    reports it in one line and exits with code 1.
    """
