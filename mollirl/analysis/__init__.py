"""Landscape analysis: mollifiers, spectra, Hölder and Lyapunov exponents, heat-equation checks.

Pure numpy/scipy functions on landscapes sampled on regular grids (the output of
``mollirl.landscape``) or on batched closed-loop maps; importing this package
does not import torch, gymnasium, mujoco or optuna.

- :func:`mollify`, :func:`gaussian_kernel`, :func:`bump_kernel`: smoothing by the
  heat kernel (a Gaussian policy's effect, Prop. 4.1) or the bump kernel (App. D).
- :func:`spectrum`, :func:`hf_energy_fraction`: how much high-frequency energy a
  landscape carries.
- :func:`holder_exponent`: the Hölder exponent of a sampled window from the
  scaling of increments over all its pairs of points.
- :func:`pointwise_holder_exponent`, :func:`pointwise_holder_from_increments`:
  the point-wise Hölder exponent at one centre from |J(c + h d) - J(c)| over
  step sizes h (the exponent Prop. 3.1 bounds; see docs/landscapes.md).
- :func:`scaling_ranges`, :class:`ScalingRange`: what both Hölder estimators
  report: the ranges of scales over which one power law holds, the exponent of
  the roughest with its interval, every range listed, or "no scaling range".
- :func:`lyapunov_exponent`, :func:`predicted_holder_exponent`: the closed loop's
  maximal Lyapunov exponent and the exponent Prop. 3.1 predicts from it.
- :func:`gaussian_smoothing_table`, :func:`heat_residual`: build L(mu, sigma^2)
  from a Q-landscape and check that it solves the heat equation.
- :mod:`mollirl.analysis.stats`: statistics over seeds (intervals, paired
  comparisons, probability of improvement, verdicts "holds" / "fails" / "not
  distinguishable at n = N", the set of groups indistinguishable from the best).
"""

from mollirl.analysis import stats
from mollirl.analysis.heat import HeatResidual, gaussian_smoothing_table, heat_residual
from mollirl.analysis.holder import HolderFit, holder_exponent
from mollirl.analysis.lyapunov import LyapunovResult, lyapunov_exponent, predicted_holder_exponent
from mollirl.analysis.mollifier import bump_kernel, gaussian_kernel, mollify
from mollirl.analysis.pointwise import (
    PointwiseHolderFit,
    pointwise_holder_exponent,
    pointwise_holder_from_increments,
)
from mollirl.analysis.scaling import Scaling, ScalingRange, scaling_ranges
from mollirl.analysis.spectrum import Spectrum, hf_energy_fraction, spectrum

__all__ = [
    "HeatResidual",
    "HolderFit",
    "LyapunovResult",
    "PointwiseHolderFit",
    "Scaling",
    "ScalingRange",
    "Spectrum",
    "bump_kernel",
    "gaussian_kernel",
    "gaussian_smoothing_table",
    "heat_residual",
    "hf_energy_fraction",
    "holder_exponent",
    "lyapunov_exponent",
    "mollify",
    "pointwise_holder_exponent",
    "pointwise_holder_from_increments",
    "predicted_holder_exponent",
    "scaling_ranges",
    "spectrum",
    "stats",
]
