"""Validation shared by the grid-based estimators (private).

A *landscape* here is a function sampled on a regular 1-D or 2-D grid:
``values`` of shape ``(n,)`` or ``(n1, n2)`` and a grid ``spacing`` (one float
for every axis, or one per axis, in parameter units). Invalid samples (a
diverged rollout, a NaN) are described by a boolean mask with numpy's masked
array convention: ``True`` means *excluded*.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike


def as_landscape(values: ArrayLike, *, name: str = "values") -> np.ndarray:
    """Return ``values`` as a float64 array of 1 or 2 dimensions (masked entries become NaN).

    :param values: samples, shape ``(n,)`` or ``(n1, n2)``; a ``numpy.ma.MaskedArray``
        has its masked entries replaced by NaN.
    :param name: argument name quoted in error messages.
    :return: a new float64 array.
    :raises ValueError: if the array is not 1-D or 2-D, or is empty.
    """
    if isinstance(values, np.ma.MaskedArray):
        arr = np.ma.filled(values.astype(np.float64), np.nan)
    else:
        arr = np.array(values, dtype=np.float64)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (n,) or 2-D (n1, n2), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def invalid_mask(values: np.ndarray, mask: ArrayLike | None) -> np.ndarray:
    """Boolean mask of samples to exclude: non-finite values or ``mask`` True.

    :param values: float array from :func:`as_landscape`.
    :param mask: optional boolean array of the same shape, ``True`` = invalid.
    :return: boolean array of ``values.shape``.
    :raises ValueError: if ``mask`` has another shape.
    """
    invalid = ~np.isfinite(values)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != values.shape:
            raise ValueError(f"mask must have the shape of values {values.shape}, got {m.shape}")
        invalid |= m.astype(bool)
    return invalid


def as_spacing(spacing: float | Sequence[float], ndim: int) -> tuple[float, ...]:
    """Return one positive grid spacing per axis.

    :param spacing: a float (all axes) or a sequence of ``ndim`` floats, parameter units.
    :param ndim: number of grid axes.
    :return: tuple of ``ndim`` floats.
    :raises ValueError: on a wrong length or a non-positive / non-finite spacing.
    """
    if np.ndim(spacing) == 0:
        steps = (float(spacing),) * ndim  # type: ignore[arg-type]
    else:
        steps = tuple(float(s) for s in spacing)  # type: ignore[union-attr]
        if len(steps) != ndim:
            raise ValueError(
                f"spacing must be a float or a sequence of {ndim} floats (one per axis), got {spacing!r}"
            )
    for s in steps:
        if not (np.isfinite(s) and s > 0):
            raise ValueError(f"spacing must be finite and > 0, got {spacing!r}")
    return steps


def check_positive(value: float, name: str) -> float:
    """Return ``float(value)`` after checking it is finite and > 0.

    :raises ValueError: quoting the bad value.
    """
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v
