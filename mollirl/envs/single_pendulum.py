"""Single pendulum: the double pendulum's first link alone (``mollirl/SinglePendulum-v0``).

The non-chaotic counterpart of :mod:`mollirl.envs.double_pendulum` in the
paper's Figure 2 (b). Same conventions, constants, integrator and reward, one
link fewer.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mollirl.envs._analytic import AnalyticControlEnv, AnalyticParams, AnalyticSystem
from mollirl.envs.render import Canvas


@dataclasses.dataclass(frozen=True)
class SinglePendulumParams(AnalyticParams):
    """Physical constants of the single pendulum and reward weights.

    The field names and values are those of the double pendulum's first link
    (:class:`~mollirl.envs.double_pendulum.DoublePendulumParams`), so either
    system can be built from the same keyword arguments.

    :param inertia1: moment of inertia I1 of the link *about the joint* (kg m^2),
        as in the double pendulum's mass matrix (it already contains m1 lc1^2;
        see :func:`single_pendulum_deriv`).
    :param mass1: link mass m1 (kg).
    :param length1: link length l1 (m); only drawing uses it.
    :param com1: distance lc1 from the joint to the link's centre of mass (m).
    :param gravity: g (m/s^2).
    :param torque_max: the torque is saturated to ``[-torque_max, torque_max]`` (N m).
    :param angle_weight: reward weight on theta^2.
    :param velocity_weight: reward weight on theta_dot^2.
    :param ctrl_weight: reward weight on u^2.
    """

    dt: float = 0.01  # s
    inertia1: float = 0.1  # kg m^2, about the joint
    mass1: float = 0.15  # kg
    length1: float = 0.5  # m
    com1: float = 0.25  # m
    gravity: float = 9.81  # m/s^2
    torque_max: float = 10.0  # N m
    angle_weight: float = 5.0  # 1/rad^2
    velocity_weight: float = 0.5  # s^2/rad^2
    ctrl_weight: float = 5e-5  # 1/(N m)^2

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("inertia1", "mass1", "length1", "torque_max"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")

    @property
    def gravity_torque(self) -> float:
        """Largest gravity torque m1 g lc1, reached at theta = +-pi/2 (N m)."""
        return self.mass1 * self.gravity * self.com1


def single_pendulum_deriv(state: np.ndarray, u: np.ndarray, p: SinglePendulumParams) -> np.ndarray:
    """Continuous dynamics ``I1 theta_ddot = m1 g lc1 sin(theta) + u``.

    ``state (N, 2) = [theta, theta_dot]``, ``u (N, 1)`` torque (N m). theta = 0 is
    upright and gravity destabilizes, as in the double pendulum.

    Derivation: the double pendulum's mass matrix has
    ``M11 = I1 + I2 + m2 l1^2 + 2 m2 l1 lc2 cos(theta2)`` with no ``m1 lc1^2``
    term (and ``M22 = I2`` with no ``m2 lc2^2``), so its I1 and I2 are moments
    of inertia about the joints (the parallel-axis term is inside them). With
    the second link's mass removed (m2 = 0) the two rows read
    ``I1 theta1_ddot + I2 (theta1_ddot + theta2_ddot) = m1 g lc1 sin(theta1) + u1``
    and ``I2 (theta1_ddot + theta2_ddot) = u2``, so with u2 = 0 (whatever I2)
    ``I1 theta1_ddot = m1 g lc1 sin(theta1) + u1``: this function. The
    linearization at upright has eigenvalues ``+-sqrt(m1 g lc1 / I1)``
    (+-1.918 1/s with the default constants).
    """
    out = np.empty_like(state)
    out[:, 0] = state[:, 1]
    out[:, 1] = (p.gravity_torque * np.sin(state[:, 0]) + u[:, 0]) / p.inertia1
    return out


def single_pendulum_energy(state: np.ndarray, p: SinglePendulumParams) -> np.ndarray:
    """Mechanical energy ``I1 theta_dot^2 / 2 + m1 g lc1 cos(theta)`` (J) of states ``(N, 2)``.

    Conserved by the flow under zero torque (not by the integrators, whose error
    changes it); upright at rest has the maximum potential energy m1 g lc1.
    """
    return 0.5 * p.inertia1 * state[..., 1] ** 2 + p.gravity_torque * np.cos(state[..., 0])


def single_pendulum_reward(state: np.ndarray, u: np.ndarray, p: SinglePendulumParams) -> np.ndarray:
    """``R = -(5 theta^2 + 0.5 theta_dot^2 + 5e-5 u^2)`` per row."""
    return -(p.angle_weight * state[:, 0] ** 2 + p.velocity_weight * state[:, 1] ** 2 + p.ctrl_weight * u[:, 0] ** 2)


def single_pendulum_saturate(action: np.ndarray, p: SinglePendulumParams) -> np.ndarray:
    """Torque clipped to ``[-torque_max, torque_max]``."""
    return np.clip(action, -p.torque_max, p.torque_max)


SINGLE_PENDULUM = AnalyticSystem(
    deriv=single_pendulum_deriv,
    reward=single_pendulum_reward,
    saturate=single_pendulum_saturate,
    position_idx=(0,),
    velocity_idx=(1,),
)


class SinglePendulumEnv(AnalyticControlEnv):
    """
    ## Description
    A torque-actuated single pendulum to be held upright: the first link of
    :class:`~mollirl.envs.double_pendulum.DoublePendulumEnv` alone, with the same
    constants (I1 = 0.1 kg m^2 about the joint, m1 = 0.15 kg, l1 = 0.5 m,
    lc1 = 0.25 m, g = 9.81 m/s^2), the same saturation, reward weights and
    integrator. It is the non-chaotic system of the paper's Figure 2 (b)
    (Wang, Herbert & Gao, ICML 2024), whose objective landscape under
    deterministic neural-network policies is smooth where the double
    pendulum's is fractal. The paper gives no constants for it; these are the
    reading that changes nothing but the number of links.

    Dynamics: ``I1 theta_ddot = m1 g lc1 sin(theta) + u`` (see
    :func:`single_pendulum_deriv` for the derivation from the double
    pendulum's mass matrix). theta = 0 is upright, an unstable equilibrium with
    linearized eigenvalues +-sqrt(m1 g lc1 / I1) = +-1.918 1/s. The largest
    gravity torque, m1 g lc1 = 0.368 N m, is far below the torque limit, so any
    saturated controller can hold it up. A one-degree-of-freedom closed loop
    ``theta_ddot = f(theta, theta_dot)`` is a planar autonomous flow and
    cannot be chaotic (Poincare-Bendixson): the maximal Lyapunov exponent of
    the Euler-discretized closed loop is not positive beyond the discretization
    error, where the double pendulum's is.

    ## Action Space
    ``Box(-torque_max, torque_max, (1,), float64)``: the joint torque ``u`` (N m),
    counter-clockwise positive. Any real action is accepted and saturated by the
    env; the saturated torque is in ``info["u"]``.

    ## Observation Space
    ``Box(-divergence_threshold, divergence_threshold, (2,), float64)``, the full
    state ``[theta (rad), theta_dot (rad/s)]``; theta is the link's angle from
    upright, counter-clockwise positive. The angle is not wrapped.

    ## Rewards
    ``R(s_k, u_k) = -(5 theta^2 + 0.5 theta_dot^2 + 5e-5 u^2)`` on the pre-step
    state and saturated torque: the double pendulum's weights on the one angle,
    velocity and torque. Never positive.

    ## Starting State
    ``s0 = [-0.2, 0]`` exactly by default: the double pendulum starts at
    ``[-0.2, 0.2, 0, 0]``, whose first link is at theta1 = -0.2 rad at rest, and
    this env is that first link. ``start_noise > 0`` adds uniform noise;
    ``reset(options={"state": s})`` starts from ``s``.

    ## Episode End
    Truncation at 1000 steps (registered ``max_episode_steps``); termination only
    on divergence (``info["diverged"]=True``, observation clipped to stay finite).

    ## Arguments
    All fields of :class:`SinglePendulumParams` as keyword arguments (``dt``,
    ``integrator``, ``start_noise``, ``divergence_threshold``, ``inertia1``,
    ``mass1``, ``length1``, ``com1``, ``gravity``, ``torque_max``, reward weights),
    plus ``start_state`` and ``render_mode`` (``"rgb_array"``).

    ## Version History
    * v0: first version; forward Euler at dt = 0.01 as the double pendulum.
    """

    system = SINGLE_PENDULUM
    state_labels = ("theta", "theta_dot")

    def __init__(self, render_mode: str | None = None, start_state: np.ndarray | None = None, **params) -> None:
        self.params: SinglePendulumParams = SinglePendulumParams(**params)
        p = self.params
        start = np.array([-0.2, 0.0]) if start_state is None else start_state
        super().__init__(p, start, np.full(1, -p.torque_max), np.full(1, p.torque_max), render_mode)

    def _draw(self, canvas: Canvas, state: np.ndarray, u: np.ndarray) -> None:
        th = float(state[0])
        p = self.params
        canvas.scale = 180.0 / p.length1
        tip = (-p.length1 * np.sin(th), p.length1 * np.cos(th))
        com = (-p.com1 * np.sin(th), p.com1 * np.cos(th))
        canvas.line((0.0, 0.0), (0.0, p.length1), (225, 225, 225), 1)
        canvas.line((0.0, 0.0), tip, (40, 40, 160), 6)
        # torque as a bar at the joint, to the left for counter-clockwise (positive) u
        bar = -0.4 * p.length1 * float(u[0]) / p.torque_max
        canvas.line((0.0, -0.08 * p.length1), (bar, -0.08 * p.length1), (200, 60, 60), 3)
        canvas.disk(com, 4, (120, 120, 120))
        canvas.disk((0.0, 0.0), 5, (0, 0, 0))
