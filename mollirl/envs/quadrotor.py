"""Planar quadrotor of the paper's Appendix F.3 (``mollirl/PlanarQuadrotor-v0``)."""

from __future__ import annotations

import dataclasses

import numpy as np

from mollirl.envs._analytic import AnalyticControlEnv, AnalyticParams, AnalyticSystem
from mollirl.envs.render import Canvas


@dataclasses.dataclass(frozen=True)
class QuadrotorParams(AnalyticParams):
    """Physical constants of the planar quadrotor and reward weights.

    :param mass: body mass m (kg).
    :param inertia: moment of inertia I about the rotor axis (kg m^2).
    :param arm: rotor arm length r (m).
    :param gravity: g (m/s^2).
    :param thrust_max: each rotor thrust is saturated to ``[0, thrust_max]`` (N).
    :param pos_weight: reward weight on x^2 + y^2 + theta^2.
    :param vel_weight: reward weight on x_dot^2 + y_dot^2 + omega^2.
    :param ctrl_weight: reward weight on |u|^2.
    """

    dt: float = 0.1  # s
    mass: float = 1.0  # kg
    inertia: float = 0.1  # kg m^2
    arm: float = 0.5  # m
    gravity: float = 9.81  # m/s^2
    thrust_max: float = 10.0  # N
    pos_weight: float = 1.0
    vel_weight: float = 0.1
    ctrl_weight: float = 1e-4

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("mass", "inertia", "arm", "thrust_max"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")

    @property
    def hover_thrust(self) -> float:
        """Thrust per rotor that balances gravity: m g / 2 (N)."""
        return self.mass * self.gravity / 2.0


def quadrotor_deriv(state: np.ndarray, u: np.ndarray, p: QuadrotorParams) -> np.ndarray:
    """Continuous dynamics; ``state (N, 6) = [x, x_dot, y, y_dot, theta, omega]``, ``u (N, 2)`` thrusts (N).

    ``x_ddot = -(u1+u2) sin(theta)/m``, ``y_ddot = (u1+u2) cos(theta)/m - g``,
    ``omega_dot = r/I (u1 - u2)`` (the paper's Appendix F.3 with its two typos
    fixed: ``y_dot`` is integrated from ``y_dot``, and gravity is ``g``, not ``m g``).
    """
    theta = state[:, 4]
    total = u[:, 0] + u[:, 1]
    out = np.empty_like(state)
    out[:, 0] = state[:, 1]
    out[:, 1] = -total * np.sin(theta) / p.mass
    out[:, 2] = state[:, 3]
    out[:, 3] = total * np.cos(theta) / p.mass - p.gravity
    out[:, 4] = state[:, 5]
    out[:, 5] = (p.arm / p.inertia) * (u[:, 0] - u[:, 1])
    return out


def quadrotor_reward(state: np.ndarray, u: np.ndarray, p: QuadrotorParams) -> np.ndarray:
    """``R = -(x^2 + y^2 + theta^2 + 0.1 (x_dot^2 + y_dot^2 + omega^2) + 1e-4 |u|^2)`` per row."""
    pos = state[:, 0] ** 2 + state[:, 2] ** 2 + state[:, 4] ** 2
    vel = state[:, 1] ** 2 + state[:, 3] ** 2 + state[:, 5] ** 2
    return -(p.pos_weight * pos + p.vel_weight * vel + p.ctrl_weight * np.einsum("ij,ij->i", u, u))


def quadrotor_saturate(action: np.ndarray, p: QuadrotorParams) -> np.ndarray:
    """Each thrust clipped to ``[0, thrust_max]``."""
    return np.clip(action, 0.0, p.thrust_max)


QUADROTOR = AnalyticSystem(
    deriv=quadrotor_deriv,
    reward=quadrotor_reward,
    saturate=quadrotor_saturate,
    position_idx=(0, 2, 4),
    velocity_idx=(1, 3, 5),
)


class PlanarQuadrotorEnv(AnalyticControlEnv):
    """
    ## Description
    The planar quadrotor of Wang, Herbert & Gao (ICML 2024), Appendix F.3: a rigid
    body in the vertical (x, y) plane with two rotors of arm r. The task is to hold
    the hover point (origin, level, at rest). Under the paper's forward Euler at
    ``dt = 0.1`` even the LQR policy's closed loop is unstable in discrete time
    (spectral radius about 1.23), so the objective around the optimum is a spike:
    the paper's Figure 8.

    ## Action Space
    ``Box(0, thrust_max, (2,), float64)``: rotor thrusts ``[u1, u2]`` in newtons.
    The env accepts any real action (the raw control of a Gaussian policy) and
    saturates each thrust to ``[0, thrust_max]`` itself; the saturated control is
    in ``info["u"]``.

    ## Observation Space
    ``Box(-divergence_threshold, divergence_threshold, (6,), float64)``, the full state
    ``[x (m), x_dot (m/s), y (m), y_dot (m/s), theta (rad), omega (rad/s)]``.
    theta is the roll angle, counter-clockwise positive; ``u1`` pushes the
    ``theta``-increasing side (``omega_dot = r/I (u1 - u2)``).

    ## Rewards
    ``R(s_k, u_k) = -(x^2 + y^2 + theta^2 + 0.1 (x_dot^2 + y_dot^2 + omega^2) + 1e-4 |u|^2)``
    on the pre-step state and the saturated control, so ``sum_k gamma^k R`` is the
    paper's J. It is never positive.

    ## Starting State
    Exactly the hover point ``s0 = 0`` by default; ``start_noise > 0`` adds
    uniform noise of that half-width per component. ``reset(options={"state": s})``
    starts from ``s`` exactly.

    ## Episode End
    Truncation at 1000 steps (registered ``max_episode_steps``). Termination only
    when the state diverges: a non-finite component or one beyond
    ``divergence_threshold``; then ``terminated=True``, ``info["diverged"]=True``,
    and the observation is clipped to the threshold so it stays finite.

    ## Arguments
    All fields of :class:`QuadrotorParams` as keyword arguments (``dt``,
    ``integrator``, ``start_noise``, ``divergence_threshold``, ``mass``,
    ``inertia``, ``arm``, ``gravity``, ``thrust_max``, reward weights), plus
    ``start_state`` (default zeros) and ``render_mode`` (``"rgb_array"``).

    ## Version History
    * v0: first version; forward Euler at dt = 0.1 as in the paper.
    """

    system = QUADROTOR
    state_labels = ("x", "x_dot", "y", "y_dot", "theta", "omega")

    def __init__(self, render_mode: str | None = None, start_state: np.ndarray | None = None, **params) -> None:
        self.params: QuadrotorParams = QuadrotorParams(**params)
        p = self.params
        start = np.zeros(6) if start_state is None else start_state
        super().__init__(p, start, np.zeros(2), np.full(2, p.thrust_max), render_mode)

    def _draw(self, canvas: Canvas, state: np.ndarray, u: np.ndarray) -> None:
        x, y, th = (float(v) for v in state[[0, 2, 4]])
        half = self.params.arm
        c, s = np.cos(th), np.sin(th)
        # keep the body in view: draw relative to the clipped position
        cx, cy = float(np.clip(x, -2.2, 2.2)), float(np.clip(y, -2.2, 2.2))
        canvas.line((-2.5, 0.0), (2.5, 0.0), (220, 220, 220), 1)
        canvas.line((0.0, -2.5), (0.0, 2.5), (220, 220, 220), 1)
        left = (cx - half * c, cy - half * s)
        right = (cx + half * c, cy + half * s)
        canvas.line(left, right, (40, 40, 40), 6)
        for (px, py), thrust in ((right, u[0]), (left, u[1])):
            length = 0.05 * float(thrust)
            canvas.line((px, py), (px - length * s, py + length * c), (200, 60, 60), 3)
        canvas.disk((cx, cy), 5, (60, 60, 200))
