"""Mollification of a sampled landscape: convolution with a Gaussian or a bump kernel.

A Gaussian policy N(mu, sigma^2 I) replaces a landscape f by its convolution
with the heat kernel of standard deviation sigma (Prop. 4.1 of the paper);
Appendix D proposes a compactly supported bump kernel as a local alternative.
:func:`mollify` applies either to a landscape sampled on a regular 1-D or 2-D
grid, excluding invalid samples (diverged rollouts) with renormalized weights,
and handling the grid boundary by an explicit, documented ``mode``.

The bump kernel comes in two forms:

- ``"scaled"`` (the default, ``kernel="bump"``): the standard mollifier of
  Evans (2010, App. C.4), which the paper cites, eta_sigma(x) = sigma^-N eta(x / sigma)
  with eta(y) = C exp(1 / (|y|^2 - 1)) on the unit ball. Its shape does not
  depend on sigma; its support is the ball of radius sigma; its standard
  deviation per axis is about 0.37 sigma in 1-D.
- ``"eq14"`` (``kernel="bump-eq14"``): eq. (14) of the paper taken literally,
  C exp(1 / (|x|^2 - sigma^2)). Same support, but the shape changes with
  sigma: for sigma << 1 it is nearly a Gaussian of standard deviation about
  sigma^2 / sqrt(2), far narrower than its support, and for sigma >> 1 it is
  nearly flat on the ball. Provided to compare with the paper's text.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, ndimage, special

from mollirl.analysis._grid import as_landscape, as_spacing, check_positive, invalid_mask

KERNELS = ("gaussian", "bump", "bump-eq14")
MODES = ("renormalize", "valid", "reflect", "nearest")
BUMP_FORMS = ("scaled", "eq14")

_NDIMAGE_MODE = {"renormalize": "constant", "valid": "constant", "reflect": "mirror", "nearest": "nearest"}


def _squared_norm(x: ArrayLike, dim: int) -> np.ndarray:
    if not (isinstance(dim, (int, np.integer)) and dim >= 1):
        raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
    arr = np.asarray(x, dtype=np.float64)
    if dim == 1:
        return arr**2
    if arr.ndim == 0 or arr.shape[-1] != dim:
        raise ValueError(f"x must have shape (..., {dim}) for dim={dim}, got shape {arr.shape}")
    return np.sum(arr**2, axis=-1)


def _sphere_area(dim: int) -> float:
    """Surface area of the unit sphere in R^dim (2 points for dim = 1)."""
    return 2.0 * math.pi ** (dim / 2) / special.gamma(dim / 2)


def gaussian_kernel(x: ArrayLike, sigma: float, *, dim: int = 1) -> np.ndarray:
    """Isotropic Gaussian (heat-kernel) density of standard deviation ``sigma`` in R^dim.

    Phi(x) = (2 pi sigma^2)^(-dim/2) exp(-|x|^2 / (2 sigma^2)); it is the heat
    kernel Phi(x, t) of the paper at time t = sigma^2.

    :param x: points, shape ``(...)`` if ``dim == 1``, else ``(..., dim)``; parameter units.
    :param sigma: standard deviation (parameter units), > 0.
    :param dim: dimension of the space the density integrates to 1 over.
    :return: density values, shape ``x.shape`` (``dim == 1``) or ``x.shape[:-1]``.
    :raises ValueError: on a non-positive ``sigma`` or a shape that does not match ``dim``.
    """
    sigma = check_positive(sigma, "sigma")
    r2 = _squared_norm(x, dim)
    return (2.0 * math.pi * sigma**2) ** (-dim / 2) * np.exp(-r2 / (2.0 * sigma**2))


@functools.lru_cache(maxsize=16)
def _log_bump_constant_scaled(dim: int) -> float:
    """log C for eta(y) = C exp(1/(|y|^2 - 1)) on the unit ball of R^dim."""
    radial, _ = integrate.quad(lambda s: s ** (dim - 1) * math.exp(1.0 / (s * s - 1.0)), 0.0, 1.0)
    return -math.log(_sphere_area(dim) * radial)


def _log_bump_constant_eq14(sigma: float, dim: int) -> float:
    """log D for eta(x) = D exp(g(|x|)), g(r) = 1/(r^2 - sigma^2) + 1/sigma^2 <= 0 (eq. 14 rescaled)."""

    def integrand(s: float) -> float:
        # r = sigma * s; g = s^2 / (sigma^2 (s^2 - 1))
        return s ** (dim - 1) * math.exp(s * s / (sigma * sigma * (s * s - 1.0))) if s < 1.0 else 0.0

    width = min(0.5, sigma)  # the integrand is ~ exp(-s^2 / sigma^2) for small sigma
    radial, _ = integrate.quad(integrand, 0.0, 1.0, points=[width], limit=200)
    return -(math.log(_sphere_area(dim) * radial) + dim * math.log(sigma))


def _log_bump_shape(r2: np.ndarray, sigma: float, form: str) -> np.ndarray:
    """Unnormalized log-density of the bump on |x| < sigma (-inf outside)."""
    out = np.full(r2.shape, -np.inf)
    inside = r2 < sigma**2
    if form == "scaled":
        out[inside] = 1.0 / (r2[inside] / sigma**2 - 1.0)
    else:
        out[inside] = r2[inside] / (sigma**2 * (r2[inside] - sigma**2))
    return out


def bump_kernel(x: ArrayLike, sigma: float, *, dim: int = 1, form: str = "scaled") -> np.ndarray:
    """Compactly supported C-infinity bump density on the ball of radius ``sigma`` in R^dim (eq. 14).

    ``form="scaled"``: sigma^-dim C exp(1 / (|x / sigma|^2 - 1)) (Evans' mollifier,
    shape independent of sigma). ``form="eq14"``: C exp(1 / (|x|^2 - sigma^2)),
    the paper's formula taken literally (see the module docstring for how its
    shape changes with sigma). Both are 0 for |x| >= sigma and integrate to 1
    over R^dim (C by numerical quadrature of the radial integral).

    :param x: points, shape ``(...)`` if ``dim == 1``, else ``(..., dim)``; parameter units.
    :param sigma: support radius (parameter units), > 0. Not a standard deviation.
    :param dim: dimension of the space the density integrates to 1 over.
    :param form: ``"scaled"`` or ``"eq14"``.
    :return: density values, shape ``x.shape`` (``dim == 1``) or ``x.shape[:-1]``.
    :raises ValueError: on a non-positive ``sigma``, an unknown ``form`` or a shape
        that does not match ``dim``.
    """
    sigma = check_positive(sigma, "sigma")
    if form not in BUMP_FORMS:
        raise ValueError(f"form must be one of {BUMP_FORMS}, got {form!r}")
    r2 = _squared_norm(x, dim)
    if form == "scaled":
        log_c = _log_bump_constant_scaled(int(dim)) - dim * math.log(sigma)
    else:
        log_c = _log_bump_constant_eq14(sigma, int(dim))
    return np.exp(log_c + _log_bump_shape(r2, sigma, form))


def _grid_kernel(
    kernel: str, sigma: float, steps: tuple[float, ...], truncate: float
) -> tuple[list[np.ndarray] | None, np.ndarray]:
    """Kernel weights on grid offsets: (1-D factors if separable else None, full kernel array).

    Weights are the continuous kernel sampled at the offsets and normalized to
    sum 1 on the grid. The full array has odd length per axis, centre in the middle.
    """
    if kernel == "gaussian":
        factors = []
        for h in steps:
            radius = int(math.ceil(truncate * sigma / h - 1e-9))  # 1e-9: 2.4 / 0.01 must not give 241
            k = np.arange(-radius, radius + 1) * h
            w = np.exp(-(k**2) / (2.0 * sigma**2))
            factors.append(w / w.sum())
        full = factors[0] if len(factors) == 1 else np.multiply.outer(factors[0], factors[1])
        return factors, full
    form = "scaled" if kernel == "bump" else "eq14"
    offsets = [np.arange(-int(sigma // h) - 1, int(sigma // h) + 2) * h for h in steps]
    grids = np.meshgrid(*offsets, indexing="ij")
    r2 = sum(g**2 for g in grids)
    log_w = _log_bump_shape(np.asarray(r2), sigma, form)
    w = np.exp(log_w - log_w.max())
    for axis in range(w.ndim):  # trim the all-zero outer layers (offsets at or beyond sigma)
        marginal = w.sum(axis=tuple(i for i in range(w.ndim) if i != axis))
        center = (w.shape[axis] - 1) // 2
        radius = center - int(np.flatnonzero(marginal)[0])  # the kernel is symmetric
        w = np.take(w, np.arange(center - radius, center + radius + 1), axis=axis)
    return None, w / w.sum()


def _warn_if_underresolved(full: np.ndarray, steps: tuple[float, ...], sigma: float, kernel: str) -> None:
    for axis, h in enumerate(steps):
        marginal = full if full.ndim == 1 else full.sum(axis=1 - axis)
        k = np.arange(marginal.size) - (marginal.size - 1) // 2
        std = h * math.sqrt(float(np.sum(marginal * k**2)))
        if std < 0.5 * h:
            warnings.warn(
                f"the {kernel!r} kernel with sigma={sigma!r} is under-resolved along axis {axis}: "
                f"its standard deviation on the grid is {std:.3g} < half the spacing {h!r}, "
                "so mollify() barely changes the values; refine the grid or increase sigma",
                stacklevel=3,
            )


def mollify(
    values: ArrayLike,
    spacing: float | Sequence[float],
    sigma: float,
    kernel: str = "gaussian",
    *,
    mode: str = "renormalize",
    mask: ArrayLike | None = None,
    truncate: float = 4.0,
    min_weight: float = 0.0,
) -> np.ndarray:
    """Convolve a landscape sampled on a regular grid with a Gaussian or bump kernel.

    out(x_i) = sum_j w(x_i - x_j) v_j / sum_j w(x_i - x_j), the sums running over
    the *valid* samples j only, with w the kernel sampled on the grid offsets
    (normalized to sum 1 on the grid, so the constant C of eq. 14 never matters).
    Renormalizing by the valid weight makes excluded samples (``mask``, NaN,
    +-inf, a masked array's masked entries) drop out instead of counting as 0;
    the output is defined at excluded points too (from their valid neighbours).

    Boundary handling, chosen by ``mode``:

    - ``"renormalize"`` (default): points outside the grid are treated like
      excluded samples, so the kernel is truncated at the edge and renormalized.
      Uses only real data, but near an edge the average is one-sided (biased
      wherever the landscape has a slope or curvature there).
    - ``"valid"``: as ``"renormalize"``, then NaN wherever the kernel's support
      (``truncate * sigma`` for the Gaussian, ``sigma`` for the bump) leaves the
      grid; the finite entries are the honest convolution.
    - ``"reflect"``: even extension about the edge sample (f(x_0 - k h) = f(x_0 + k h)).
    - ``"nearest"``: constant extension by the edge sample.

    :param values: landscape, shape ``(n,)`` or ``(n1, n2)``; a masked array's
        masked entries and non-finite entries are excluded.
    :param spacing: grid spacing, a float or one per axis (parameter units).
    :param sigma: kernel size in parameter units, > 0: the standard deviation
        of the Gaussian (the policy's sigma; t = sigma^2), the support radius of the bump.
    :param kernel: ``"gaussian"`` (heat kernel), ``"bump"`` (Evans' scaled
        mollifier) or ``"bump-eq14"`` (eq. 14 literally, see the module docstring).
    :param mode: boundary handling, see above.
    :param mask: optional boolean array of ``values.shape``, ``True`` = exclude
        (e.g. a diverged rollout).
    :param truncate: Gaussian only: the kernel is cut at ``truncate * sigma``
        (the neglected mass is 6e-5 at the default 4).
    :param min_weight: in [0, 1): the output is NaN where the valid samples
        carry no more than this fraction of the kernel's total weight (0 = NaN only
        where no valid sample is in reach).
    :return: float64 array of ``values.shape``; NaN where undefined (see ``mode``
        and ``min_weight``).
    :raises ValueError: on a bad shape, spacing, sigma, kernel, mode, truncate or min_weight.
    """
    arr = as_landscape(values)
    invalid = invalid_mask(arr, mask)
    steps = as_spacing(spacing, arr.ndim)
    sigma = check_positive(sigma, "sigma")
    truncate = check_positive(truncate, "truncate")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not (0.0 <= min_weight < 1.0):
        raise ValueError(f"min_weight must be in [0, 1), got {min_weight!r}")

    factors, full = _grid_kernel(kernel, sigma, steps, truncate)
    _warn_if_underresolved(full, steps, sigma, kernel)
    weight = (~invalid).astype(np.float64)
    data = np.where(invalid, 0.0, arr)
    nd_mode = _NDIMAGE_MODE[mode]

    def correlate(a: np.ndarray) -> np.ndarray:
        if factors is not None:
            for axis, w in enumerate(factors):
                a = ndimage.correlate1d(a, w, axis=axis, mode=nd_mode, cval=0.0)
            return a
        return ndimage.correlate(a, full, mode=nd_mode, cval=0.0)

    num = correlate(data)
    den = correlate(weight)
    defined = den > min_weight  # the grid kernel sums to 1, so den is the valid weight fraction
    out = np.full(arr.shape, np.nan)
    out[defined] = num[defined] / den[defined]
    if mode == "valid":
        for axis, size in enumerate(full.shape):
            radius = (size - 1) // 2
            if radius == 0:
                continue
            index = [slice(None)] * arr.ndim
            index[axis] = slice(0, radius)
            out[tuple(index)] = np.nan
            index[axis] = slice(max(arr.shape[axis] - radius, 0), None)
            out[tuple(index)] = np.nan
    return out
