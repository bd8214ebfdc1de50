"""Linearization, LQR and the analytic envs' reference policies.

``reference_policy(env)`` looks up the reference controller an env's plugin
registers (:func:`mollirl.common.env_util.reference_policy`).
"""

from mollirl.common.env_util import reference_policy
from mollirl.control.linearize import linearize
from mollirl.control.lqr import continuous_lqr, discrete_lqr
from mollirl.control.reference import double_pendulum_reference, quadrotor_reference

__all__ = ["continuous_lqr", "discrete_lqr", "double_pendulum_reference", "linearize", "quadrotor_reference",
           "reference_policy"]
