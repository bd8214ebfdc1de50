"""Regular 1-D and 2-D grids of offsets and the parameter points they span.

A landscape slice is ``theta(a, b) = centre + a d1 + b d2`` for ``a, b`` on a
grid of ``n`` evenly spaced offsets in ``[-radius, radius]`` (``n`` odd puts the
centre itself on the grid). Points are flattened in C order: for a 2-D grid,
point ``p = i * n + j`` is ``(a_i, b_j)``, and ``values.reshape(n, n)[i, j]``
is its value (axis 0 = direction 1).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


def check_grid_size(n: int) -> int:
    """``n`` as an int; raises ``ValueError`` unless it is an integer >= 3."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 3:
        raise ValueError(f"grid must be an integer >= 3 (points per axis), got {n!r}")
    return int(n)


def check_radius(radius: float) -> float:
    """``radius`` as a float; raises ``ValueError`` unless it is a finite number > 0."""
    if isinstance(radius, bool) or not isinstance(radius, (int, float, np.floating, np.integer)):
        raise ValueError(f"radius must be a finite number > 0, got {radius!r}")
    if not (math.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a finite number > 0, got {radius!r}")
    return float(radius)


def check_dims(dims: int) -> int:
    """``dims`` as an int; raises ``ValueError`` unless it is 1 or 2."""
    if dims not in (1, 2) or isinstance(dims, bool):
        raise ValueError(f"dims must be 1 or 2, got {dims!r}")
    return int(dims)


@dataclasses.dataclass(frozen=True)
class Grid:
    """Offsets along each slice direction.

    :param axes: ``(dims, n)`` offsets per axis (direction units, i.e. multiples
        of the direction vectors; action units for a Q-landscape).
    """

    axes: np.ndarray

    @property
    def dims(self) -> int:
        return int(self.axes.shape[0])

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(len(a)) for a in self.axes)

    @property
    def n_points(self) -> int:
        return int(np.prod(self.shape))

    @property
    def spacing(self) -> tuple[float, ...]:
        """Grid step per axis (for :mod:`mollirl.analysis`)."""
        return tuple(float(a[1] - a[0]) for a in self.axes)

    def offsets(self) -> np.ndarray:
        """``(n_points, dims)`` offsets of every grid point in C order."""
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def centre_index(self) -> tuple[int, ...]:
        """Index of the grid point nearest the zero offset."""
        return tuple(int(np.argmin(np.abs(a))) for a in self.axes)


def make_grid(n: int, radius: float | tuple[float, ...], dims: int = 2,
              centre: tuple[float, ...] | None = None) -> Grid:
    """``n`` evenly spaced offsets in ``[c - radius, c + radius]`` per axis.

    :param n: points per axis, >= 3 (odd puts ``c`` on the grid).
    :param radius: half-width, > 0; one value or one per axis.
    :param dims: 1 or 2.
    :param centre: per-axis centre ``c`` (default 0: a slice around the centre point).
    :raises ValueError: on ``n < 3``, ``radius <= 0`` or ``dims`` not 1 or 2.
    """
    n = check_grid_size(n)
    dims = check_dims(dims)
    radii = tuple(radius) if isinstance(radius, (tuple, list, np.ndarray)) else (radius,) * dims
    if len(radii) != dims:
        raise ValueError(f"radius must be one number or {dims} numbers, got {radius!r}")
    radii = tuple(check_radius(r) for r in radii)
    centres = (0.0,) * dims if centre is None else tuple(float(c) for c in centre)
    axes = np.stack([np.linspace(c - r, c + r, n) for c, r in zip(centres, radii)])
    return Grid(axes=axes)


def grid_points(centre: np.ndarray, directions: np.ndarray, grid: Grid) -> np.ndarray:
    """Parameter points ``centre + offsets @ directions``.

    :param centre: ``(d,)`` the slice's centre.
    :param directions: ``(dims, d)`` direction vectors.
    :param grid: the offsets.
    :return: ``(n_points, d)`` float64, C order (see the module docstring).
    """
    centre = np.asarray(centre, dtype=np.float64)
    directions = np.asarray(directions, dtype=np.float64)
    if directions.shape != (grid.dims, centre.shape[0]):
        raise ValueError(f"directions must have shape ({grid.dims}, {centre.shape[0]}), got {directions.shape}")
    return centre[None, :] + grid.offsets() @ directions
