"""Linearization, LQR and the analytic envs' reference policies."""

from mollirl.control.linearize import linearize
from mollirl.control.lqr import continuous_lqr, discrete_lqr
from mollirl.control.reference import reference_policy

__all__ = ["linearize", "continuous_lqr", "discrete_lqr", "reference_policy"]
