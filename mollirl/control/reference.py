"""Reference policies of the analytic envs (the paper's initial/optimal controllers).

Both are linear, ``u = -K s + b``:

* quadrotor: ``K`` = continuous-time LQR gain of the env's own hover
  linearization with ``Q = I_6``, ``R = 0.1 I_2`` (weights the paper does not
  print; they reproduce its K0 to 4 decimals), ``b`` = hover thrust ``m g / 2``
  per rotor. This is the paper's theta*.
* double pendulum: the paper's printed initial gain K0 under the sign
  convention of :class:`~mollirl.envs.double_pendulum.DoublePendulumEnv`:
  ``u = K0 s``, i.e. ``K = -K0``, ``b = 0``. K0 is data from the paper (an
  initial guess "close to the stabilizing region"), not the output of a computation.

The env plugins register these as their ``reference``;
:func:`mollirl.common.env_util.reference_policy` looks an env's up.
"""

from __future__ import annotations

import numpy as np

#: The paper's initial double-pendulum gain (Appendix F.2), used as u = K0 s.
DOUBLE_PENDULUM_K0 = np.array([[-20.0, -20.0854, -21.4826, -10.0516], [-18.22, -19.143, -9.2905, -6.6695]])

QUADROTOR_LQR_Q = np.eye(6)
QUADROTOR_LQR_R = 0.1 * np.eye(2)


def quadrotor_reference(env) -> dict[str, np.ndarray]:
    """theta* = (LQR gain at hover, hover thrust) of a planar quadrotor env (its ``dynamics`` and
    ``params.hover_thrust``)."""
    from mollirl.control.linearize import linearize
    from mollirl.control.lqr import continuous_lqr

    base = env.unwrapped
    hover = np.full(2, base.params.hover_thrust)
    A, B = linearize(base.dynamics, np.zeros(6), hover)
    K, _ = continuous_lqr(A, B, QUADROTOR_LQR_Q, QUADROTOR_LQR_R)
    return {"K": K, "b": hover}


def double_pendulum_reference(env) -> dict[str, np.ndarray]:
    """The paper's initial policy ``u = K0 s`` as ``K = -K0``, ``b = 0``."""
    return {"K": -DOUBLE_PENDULUM_K0.copy(), "b": np.zeros(2)}
