"""Double pendulum of the paper's Appendix F.2 (``mollirl/DoublePendulum-v0``)."""

from __future__ import annotations

import dataclasses

import numpy as np

from mollirl.envs._analytic import AnalyticControlEnv, AnalyticParams, AnalyticSystem
from mollirl.envs.render import Canvas


@dataclasses.dataclass(frozen=True)
class DoublePendulumParams(AnalyticParams):
    """Physical constants of the double pendulum and reward weights.

    :param inertia1, inertia2: link moments of inertia I1, I2 (kg m^2).
    :param mass1, mass2: link masses m1, m2 (kg).
    :param length1: length l1 of the first link (m) (the second link's length only
        matters for drawing; the dynamics use ``com2``).
    :param com1, com2: distances lc1, lc2 from each joint to its link's centre of mass (m).
    :param gravity: g (m/s^2).
    :param torque_max: torques are saturated to ``[-torque_max, torque_max]`` (N m).
    :param angle_weight: reward weight on theta1^2 + theta2^2.
    :param velocity_weight: reward weight on theta1_dot^2 + theta2_dot^2.
    :param ctrl_weight: reward weight on |u|^2.
    """

    dt: float = 0.01  # s
    inertia1: float = 0.1  # kg m^2
    inertia2: float = 0.1  # kg m^2
    mass1: float = 0.15  # kg
    mass2: float = 0.15  # kg
    length1: float = 0.5  # m
    length2: float = 0.5  # m
    com1: float = 0.25  # m
    com2: float = 0.25  # m
    gravity: float = 9.81  # m/s^2
    torque_max: float = 10.0  # N m
    angle_weight: float = 5.0
    velocity_weight: float = 0.5
    ctrl_weight: float = 5e-5

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("inertia1", "inertia2", "mass1", "mass2", "length1", "length2", "torque_max"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")


def double_pendulum_deriv(state: np.ndarray, u: np.ndarray, p: DoublePendulumParams) -> np.ndarray:
    """Continuous dynamics from ``M(q) q_ddot + C(q, q_dot) q_dot = tau(q) + u``.

    ``state (N, 4) = [theta1, theta2, theta1_dot, theta2_dot]``, ``u (N, 2)`` torques (N m).
    theta = 0 is upright; gravity destabilizes:
    ``tau1 = m1 g lc1 sin th1 + m2 g (l1 sin th1 + lc2 sin(th1 + th2))``,
    ``tau2 = m2 g lc2 sin(th1 + th2)``. M and C are as printed in the paper.
    The 2x2 system is solved in closed form (batched).
    """
    th1, th2, w1, w2 = state[:, 0], state[:, 1], state[:, 2], state[:, 3]
    h = p.mass2 * p.length1 * p.com2
    c2, s2 = np.cos(th2), np.sin(th2)
    m11 = p.inertia1 + p.inertia2 + p.mass2 * p.length1**2 + 2.0 * h * c2
    m12 = p.inertia2 + h * c2
    m22 = p.inertia2
    s12 = np.sin(th1 + th2)
    tau1 = p.mass1 * p.gravity * p.com1 * np.sin(th1) + p.mass2 * p.gravity * (p.length1 * np.sin(th1) + p.com2 * s12)
    tau2 = p.mass2 * p.gravity * p.com2 * s12
    # C(q, q_dot) q_dot with C = [[-2 h s2 w2, -h s2 w2], [h s2 w1, 0]]
    cq1 = -2.0 * h * s2 * w2 * w1 - h * s2 * w2 * w2
    cq2 = h * s2 * w1 * w1
    r1 = tau1 + u[:, 0] - cq1
    r2 = tau2 + u[:, 1] - cq2
    det = m11 * m22 - m12 * m12
    out = np.empty_like(state)
    out[:, 0] = w1
    out[:, 1] = w2
    out[:, 2] = (m22 * r1 - m12 * r2) / det
    out[:, 3] = (m11 * r2 - m12 * r1) / det
    return out


def double_pendulum_reward(state: np.ndarray, u: np.ndarray, p: DoublePendulumParams) -> np.ndarray:
    """``R = -(5 (th1^2 + th2^2) + 0.5 (th1_dot^2 + th2_dot^2) + 5e-5 |u|^2)`` per row."""
    ang = state[:, 0] ** 2 + state[:, 1] ** 2
    vel = state[:, 2] ** 2 + state[:, 3] ** 2
    return -(p.angle_weight * ang + p.velocity_weight * vel + p.ctrl_weight * np.einsum("ij,ij->i", u, u))


def double_pendulum_saturate(action: np.ndarray, p: DoublePendulumParams) -> np.ndarray:
    """Torques clipped to ``[-torque_max, torque_max]``."""
    return np.clip(action, -p.torque_max, p.torque_max)


DOUBLE_PENDULUM = AnalyticSystem(
    deriv=double_pendulum_deriv,
    reward=double_pendulum_reward,
    saturate=double_pendulum_saturate,
    position_idx=(0, 1),
    velocity_idx=(2, 3),
)


class DoublePendulumEnv(AnalyticControlEnv):
    """
    ## Description
    The torque-actuated double pendulum of Wang, Herbert & Gao (ICML 2024),
    Appendix F.2, to be stabilized upright from a nearby start. Chaotic when
    uncontrolled, which makes its objective landscape fractal (the paper's Fig. 2).

    **Sign convention (differs from the printed paper).** As printed, ``tau(q)``
    makes theta = 0 the hanging rest point and ``u = -K0 s`` with the printed K0
    has closed-loop eigenvalues near +50 and +79, contradicting the text
    ("stabilizes ... towards the origin (upright position)"). Here theta = 0 is
    *upright* and gravity destabilizes (``tau`` with + signs, see
    :func:`double_pendulum_deriv`), and the paper's initial policy is ``u = K0 s``
    (``u = -K s`` with ``K = -K0``); its linearized closed loop has exactly one
    slightly unstable eigenvalue (about +0.025 1/s): close, yet unstable, as the
    paper describes.

    ## Action Space
    ``Box(-torque_max, torque_max, (2,), float64)``: joint torques ``[u1, u2]`` (N m).
    Any real action is accepted and saturated by the env; the saturated torque is
    in ``info["u"]``.

    ## Observation Space
    ``Box(-divergence_threshold, divergence_threshold, (4,), float64)``, the full state
    ``[theta1 (rad), theta2 (rad), theta1_dot (rad/s), theta2_dot (rad/s)]``;
    theta1 is the first link from upright, theta2 the second link relative to the
    first, both counter-clockwise positive. Angles are not wrapped.

    ## Rewards
    ``R(s_k, u_k) = -(5 (th1^2 + th2^2) + 0.5 (th1_dot^2 + th2_dot^2) + 5e-5 |u|^2)``
    on the pre-step state and saturated torque. Never positive.

    ## Starting State
    ``s0 = [-0.2, 0.2, 0, 0]`` exactly by default; ``start_noise > 0`` adds
    uniform noise; ``reset(options={"state": s})`` starts from ``s``.

    ## Episode End
    Truncation at 1000 steps (registered ``max_episode_steps``); termination only
    on divergence (``info["diverged"]=True``, observation clipped to stay finite).

    ## Arguments
    All fields of :class:`DoublePendulumParams` as keyword arguments (``dt``,
    ``integrator``, ``start_noise``, ``divergence_threshold``, masses, lengths,
    inertias, ``gravity``, ``torque_max``, reward weights), plus ``start_state``
    and ``render_mode`` (``"rgb_array"``).

    ## Version History
    * v0: first version; forward Euler at dt = 0.01 as in the paper.
    """

    system = DOUBLE_PENDULUM
    state_labels = ("theta1", "theta2", "theta1_dot", "theta2_dot")

    def __init__(self, render_mode: str | None = None, start_state: np.ndarray | None = None, **params) -> None:
        self.params: DoublePendulumParams = DoublePendulumParams(**params)
        p = self.params
        start = np.array([-0.2, 0.2, 0.0, 0.0]) if start_state is None else start_state
        super().__init__(p, start, np.full(2, -p.torque_max), np.full(2, p.torque_max), render_mode)

    def _draw(self, canvas: Canvas, state: np.ndarray, u: np.ndarray) -> None:
        th1, th2 = float(state[0]), float(state[1])
        p = self.params
        canvas.scale = 180.0 / (p.length1 + p.length2)
        j1 = (-p.length1 * np.sin(th1), p.length1 * np.cos(th1))
        tip = (j1[0] - p.length2 * np.sin(th1 + th2), j1[1] + p.length2 * np.cos(th1 + th2))
        canvas.line((0.0, 0.0), (0.0, p.length1 + p.length2), (225, 225, 225), 1)
        canvas.line((0.0, 0.0), j1, (40, 40, 160), 6)
        canvas.line(j1, tip, (160, 40, 40), 6)
        canvas.disk((0.0, 0.0), 5, (0, 0, 0))
        canvas.disk(j1, 4, (0, 0, 0))
