"""Landscape snapshots during training (registered as ``landscape`` and ``q-landscape``).

Epoch k's snapshot is taken at the start of epoch k (``_on_rollout_start``,
the policy is theta_k, as for ``train/J_det``) when ``k % every == 0``, and once
more at the end of training (theta_K). Each snapshot writes

- ``<run_dir>/landscapes/epoch_NNNN.npz`` (``landscapes/q/epoch_NNNN.npz`` for
  the Q-landscape): see :mod:`mollirl.landscape.result` for the fields;
- the PNG next to it (contour + 1-D slices, det and sigma side by side);
- a TensorBoard image (``landscape/image``, ``q_landscape/image``);
- scalars ``landscape/holder``, ``landscape/hf_energy``, ``landscape/J_range``
  (det mode: the paper's J), the same with suffix ``_sigma`` for J_sigma,
  ``landscape/masked_fraction`` and ``landscape/points_per_second``
  (``q_landscape/holder``, ``q_landscape/hf_energy``, ``q_landscape/Q_range``
  and ``_mollified`` for the Gaussian-smoothed L(mu, sigma^2));
- beside each ``holder``, its scaling range and interval: ``holder_h_min``,
  ``holder_h_max`` (offsets, or actions for the Q-landscape), ``holder_low``,
  ``holder_high`` (95% bootstrap over sub-windows), all NaN when the slice has
  no scaling range of one decade of lags (always on fewer than 21 grid points);
  ``hf_energy`` is the share of the energy up to 5 cycles per window width above
  2 (NaN on fewer than 11 grid points per axis). See
  :mod:`mollirl.landscape.summary`.

The parameter landscape uses FIXED directions for the whole run: made once at
the first snapshot (around theta_0 for a new run) and saved to
``landscapes/directions.npz``, which a resumed run reuses; pass
``directions=PATH.npz`` to reuse another run's.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from mollirl.common.callbacks import EpisodeSnapshotCallback
from mollirl.common.callbacks import check_int as _check_int
from stable_baselines3.common.logger import Image

from mollirl.landscape.compute import compute_landscape, compute_q_landscape, parse_modes
from mollirl.landscape.directions import Directions, make_directions, parse_direction_spec
from mollirl.landscape.engine import make_backend
from mollirl.landscape.evaluate import check_sigma_vector
from mollirl.landscape.grid import check_dims, check_grid_size, check_radius, make_grid
from mollirl.landscape.problem import LandscapeProblem
from mollirl.landscape.result import Landscape

_EXCLUDE_IMAGE = ("stdout", "log", "json", "csv")
logger = logging.getLogger(__name__)


class _SnapshotCallback(EpisodeSnapshotCallback):
    """Epoch bookkeeping and writing shared by the two snapshot callbacks."""

    folder = "landscapes"
    prefix = "landscape"

    def __init__(self, run_dir: str | Path, env: str, *, steps_per_epoch: int, horizon: int, gamma: float,
                 env_kwargs: dict[str, Any] | None = None, eval_options: dict[str, Any] | None = None,
                 every: int = 10, seed: int = 0, sigma: float | None = None, max_envs: int = 2048,
                 png: bool = True, verbose: int = 0) -> None:
        super().__init__(run_dir, env, steps_per_epoch=steps_per_epoch, horizon=horizon, gamma=gamma,
                         env_kwargs=env_kwargs, eval_options=eval_options, every=every, verbose=verbose)
        self.seed = _check_int("seed", seed, 0)
        if sigma is not None:
            check_sigma_vector(sigma, 1)
        self.sigma = sigma
        self.max_envs = _check_int("max_envs", max_envs, 1)
        self.png = bool(png)
        self.backend = None
        self.done_epochs: set[int] = set()
        self.paths: list[Path] = []
        self._noted: set[str] = set()

    # --- hooks -------------------------------------------------------------------------
    def _epoch(self) -> int:
        return int(self.model.epoch)

    def _on_rollout_start(self) -> None:
        epoch = self._epoch()
        if epoch % self.every == 0 and epoch not in self.done_epochs:
            self._snapshot(epoch)

    def _on_training_end(self) -> None:
        try:
            epoch = self._epoch()
            # a run stopped mid-epoch (a signal) is not held up by a snapshot; its resume takes it
            at_boundary = self.model.num_timesteps == epoch * self.steps_per_epoch
            if at_boundary and epoch not in self.done_epochs:
                self._snapshot(epoch)
                self.logger.dump(step=self.model.num_timesteps)
        finally:
            if self.backend is not None:
                self.backend.close()
                self.backend = None

    # --- work ----------------------------------------------------------------------------
    def _problem(self, epoch: int) -> LandscapeProblem:
        return LandscapeProblem(
            env=self.env, policy=self.model.policy, horizon=self.horizon, gamma=self.gamma,
            env_kwargs=self.env_kwargs, eval_options=self.eval_options, label=f"epoch {epoch}",
            metadata={"run_dir": str(self.run_dir), "epoch": epoch, "timesteps": int(self.model.num_timesteps)},
            sde_sample_freq=int(getattr(self.model, "sde_sample_freq", -1)),  # a gSDE run's sigma mode: its noise
        )

    def _backend(self, problem: LandscapeProblem):
        if self.backend is None:
            self.backend = make_backend(self.env, problem.rollout_kwargs(), horizon=self.horizon,
                                        max_envs=self.max_envs)
        return self.backend

    def _compute(self, problem: LandscapeProblem) -> Landscape:
        raise NotImplementedError

    def _log_scalars(self, land: Landscape) -> None:
        raise NotImplementedError

    def _log_holder(self, stats: dict[str, Any], suffix: str) -> None:
        """The Hölder exponent with its scaling range and interval (NaN where there is none)."""
        for key in ("holder", "holder_low", "holder_high", "holder_h_min", "holder_h_max"):
            self.logger.record(f"{self.prefix}/{key}{suffix}", stats[key])

    def _snapshot(self, epoch: int) -> None:
        problem = self._problem(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the same caveat every snapshot: logged once below
            land = self._compute(problem)
        for note in land.metadata.get("notes", []):
            if note not in self._noted:
                self._noted.add(note)
                logger.warning("%s: %s", self.prefix, note)
        path = self.run_dir / self.folder / f"epoch_{epoch:04d}.npz"
        land.save(path)
        self.paths.append(path)
        if self.png:
            from mollirl.landscape.plot import save_png

            rgb = save_png(land, path.with_suffix(".png"), rgb=True)
            self.logger.record(f"{self.prefix}/image", Image(rgb, "HWC"), exclude=_EXCLUDE_IMAGE)
        self._log_scalars(land)
        self.done_epochs.add(epoch)


class LandscapeSnapshotCallback(_SnapshotCallback):
    """J(theta) and J_sigma(theta) around the current policy on fixed directions, every ``every`` epochs.

    :param run_dir: the run folder (snapshots go to ``run_dir/landscapes/``).
    :param env: env short name or Gymnasium id.
    :param steps_per_epoch: env steps per epoch (``batch_episodes * horizon``).
    :param horizon: rollout length of the landscape.
    :param gamma: discount.
    :param env_kwargs: the run's env kwargs.
    :param eval_options: reset options of the env's noise-free evaluation start (every row starts there).
    :param every: epochs between snapshots (>= 1); epoch 0 and the last epoch are always taken.
    :param grid: points per axis (>= 3; odd puts theta_k on the grid).
    :param dims: 1 or 2 (default 1: cheap).
    :param radius: half-width in direction units (> 0).
    :param directions: a direction spec (``random``, ``filter``, ``gradient``, ``K[0;4]+b[0]``) or an npz path.
    :param mode: ``det``, ``sigma`` or ``both``.
    :param sigma: sigma of the sigma mode (> 0); default the policy's current sigma.
    :param episodes: episodes per point in sigma mode (common random numbers).
    :param seed: seed of directions, starts and action noise.
    :param max_envs: VecEnv chunk size (hopper-stand).
    :param png: write PNGs and TensorBoard images.
    """

    def __init__(self, run_dir: str | Path, env: str, *, steps_per_epoch: int, horizon: int, gamma: float,
                 env_kwargs: dict[str, Any] | None = None, eval_options: dict[str, Any] | None = None,
                 every: int = 10, grid: int = 11, dims: int = 1, radius: float = 1.0,
                 directions: str = "random", mode: str = "both", sigma: float | None = None, episodes: int = 8,
                 seed: int = 0, max_envs: int = 2048, png: bool = True, verbose: int = 0) -> None:
        super().__init__(run_dir, env, steps_per_epoch=steps_per_epoch, horizon=horizon, gamma=gamma,
                         env_kwargs=env_kwargs, eval_options=eval_options, every=every, seed=seed, sigma=sigma,
                         max_envs=max_envs, png=png, verbose=verbose)
        self.grid = make_grid(check_grid_size(grid), check_radius(radius), check_dims(dims))
        self.direction_spec = str(directions)
        self.modes = parse_modes(mode)
        self.episodes = _check_int("episodes", episodes, 1)
        self.directions: Directions | None = None

    def _fixed_directions(self, problem: LandscapeProblem) -> Directions:
        if self.directions is None:
            saved = self.run_dir / self.folder / "directions.npz"
            spec = str(saved) if saved.is_file() else self.direction_spec

            def gradient_fn() -> np.ndarray:
                from mollirl.landscape.gradient import policy_gradient

                return policy_gradient(problem, episodes=max(self.episodes, 2), seed=self.seed)

            self.directions = make_directions(spec, self.grid.dims, centre=problem.centre, labels=problem.labels,
                                              shapes=problem.shapes, seed=self.seed, gradient_fn=gradient_fn)
            if not saved.is_file():
                self.directions.save(saved)
        return self.directions

    def _compute(self, problem: LandscapeProblem) -> Landscape:
        return compute_landscape(problem, grid=self.grid, directions=self._fixed_directions(problem),
                                 mode=self.modes, sigma=self.sigma, episodes=self.episodes, seed=self.seed,
                                 backend=self._backend(problem))

    def _log_scalars(self, land: Landscape) -> None:
        summary = land.metadata["summary"]
        for mode, stats in summary.items():
            suffix = "" if mode == "det" else f"_{mode}"
            self._log_holder(stats, suffix)
            self.logger.record(f"landscape/hf_energy{suffix}", stats["hf_energy"])
            self.logger.record(f"landscape/J_range{suffix}", stats["J_range"])
            self.logger.record(f"landscape/masked_fraction{suffix}", stats["masked_fraction"])
        timing = land.metadata["timing"]
        points = sum(t["points"] for t in timing.values())
        seconds = sum(t["seconds"] for t in timing.values())
        self.logger.record("landscape/points_per_second", points / max(seconds, 1e-12))


class QLandscapeCallback(_SnapshotCallback):
    """Q(s0, a) of the current deterministic policy over a grid of first actions, every ``every`` epochs.

    :param grid: points per axis (>= 3).
    :param radius: half-width around mu(s0) in action units; default: the env's action box.
    :param action_dims: the two action indices on the axes (``"0,1"`` or a pair).
    :param sigma: sigma of the smoothed L(mu, sigma^2); default the policy's.

    Other parameters as :class:`LandscapeSnapshotCallback`.
    """

    folder = "landscapes/q"
    prefix = "q_landscape"

    def __init__(self, run_dir: str | Path, env: str, *, steps_per_epoch: int, horizon: int, gamma: float,
                 env_kwargs: dict[str, Any] | None = None, eval_options: dict[str, Any] | None = None,
                 every: int = 10, grid: int = 21, radius: float | None = None,
                 action_dims: tuple[int, int] | str = (0, 1), sigma: float | None = None, seed: int = 0,
                 max_envs: int = 2048, png: bool = True, verbose: int = 0) -> None:
        super().__init__(run_dir, env, steps_per_epoch=steps_per_epoch, horizon=horizon, gamma=gamma,
                         env_kwargs=env_kwargs, eval_options=eval_options, every=every, seed=seed, sigma=sigma,
                         max_envs=max_envs, png=png, verbose=verbose)
        self.grid_size = check_grid_size(grid)
        self.radius = None if radius is None else check_radius(radius)
        if isinstance(action_dims, str):
            try:
                action_dims = tuple(int(i) for i in action_dims.replace(";", ",").split(","))
            except ValueError:
                raise ValueError(f"action_dims must be two integers like '0,1', got {action_dims!r}") from None
        if (len(action_dims) != 2 or len(set(action_dims)) != 2
                or not all(isinstance(i, (int, np.integer)) and i >= 0 for i in action_dims)):
            raise ValueError(f"action_dims must be two different action indices like '0,1', got {action_dims!r}")
        self.action_dims = tuple(int(i) for i in action_dims)

    def _compute(self, problem: LandscapeProblem) -> Landscape:
        return compute_q_landscape(problem, grid=self.grid_size, radius=self.radius, action_dims=self.action_dims,
                                   sigma=self.sigma, seed=self.seed, backend=self._backend(problem))

    def _log_scalars(self, land: Landscape) -> None:
        for mode, stats in land.metadata["summary"].items():
            suffix = "" if mode == "det" else f"_{mode}"
            self._log_holder(stats, suffix)
            self.logger.record(f"q_landscape/hf_energy{suffix}", stats["hf_energy"])
            self.logger.record(f"q_landscape/Q_range{suffix}", stats["J_range"])
        self.logger.record("q_landscape/masked_fraction", land.metadata["summary"]["det"]["masked_fraction"])


def _context_kwargs(context) -> dict[str, Any]:
    config = context.config
    return dict(run_dir=context.run_dir, env=config.env, steps_per_epoch=config.steps_per_epoch,
                horizon=config.horizon, gamma=config.gamma, env_kwargs=dict(config.env_kwargs),
                eval_options=context.eval_options)


def _check_directions_for_run(context, spec: str, dims: int) -> None:
    """Validate a direction spec against the run's policy before training starts."""
    from mollirl.landscape.problem import policy_from_config

    labels = policy_from_config(context.config).mean_parameter_labels()
    if str(spec).endswith(".npz"):
        loaded = Directions.load(spec)
        loaded.check_labels(labels)
        if loaded.dims != dims:
            raise ValueError(f"{spec!r} holds {loaded.dims} directions, dims={dims}")
    else:
        parse_direction_spec(str(spec), dims, labels)


def landscape_callback(context, *, every: int = 10, grid: int = 11, dims: int = 1, radius: float = 1.0,
                       directions: str = "random", mode: str = "both", sigma: float | None = None,
                       episodes: int = 8, seed: int | None = None, horizon: int | None = None,
                       max_envs: int = 2048, png: bool = True) -> LandscapeSnapshotCallback:
    """Factory of ``--callback landscape:every=10,grid=21,...`` (options as :class:`LandscapeSnapshotCallback`;
    ``seed`` defaults to the run's, ``horizon`` to the run's)."""
    kwargs = _context_kwargs(context)
    if horizon is not None:
        kwargs["horizon"] = horizon
    callback = LandscapeSnapshotCallback(
        **kwargs, every=every, grid=grid, dims=dims, radius=radius, directions=directions, mode=mode, sigma=sigma,
        episodes=episodes, seed=context.config.seed if seed is None else seed, max_envs=max_envs, png=png,
    )
    _check_directions_for_run(context, directions, callback.grid.dims)
    return callback


def q_landscape_callback(context, *, every: int = 10, grid: int = 21, radius: float | None = None,
                         action_dims: str | tuple[int, int] = (0, 1), sigma: float | None = None,
                         seed: int | None = None, horizon: int | None = None, max_envs: int = 2048,
                         png: bool = True) -> QLandscapeCallback:
    """Factory of ``--callback q-landscape:every=10,grid=21,...`` (options as :class:`QLandscapeCallback`)."""
    from mollirl.landscape.problem import policy_from_config

    kwargs = _context_kwargs(context)
    if horizon is not None:
        kwargs["horizon"] = horizon
    callback = QLandscapeCallback(**kwargs, every=every, grid=grid, radius=radius, action_dims=action_dims,
                                  sigma=sigma, seed=context.config.seed if seed is None else seed,
                                  max_envs=max_envs, png=png)
    action_dim = int(policy_from_config(context.config).action_space.shape[0])
    if max(callback.action_dims) >= action_dim:
        raise ValueError(f"action_dims {list(callback.action_dims)} out of range: the env has {action_dim} actions")
    return callback
