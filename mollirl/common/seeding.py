"""Counter-based seeding: every random draw in mollirl comes from ``derive_seed(seed, index, STREAM)``.

No algorithm carries RNG state from one epoch to the next, so a run resumed from a
checkpoint at epoch k repeats the uninterrupted run exactly, whatever happened in
between (and a checkpoint needs no RNG state). Every stream is named once, here
(:data:`STREAMS`), with its own number, so no two streams share a seed; each is
drawn from an explicit generator (``np.random.default_rng(derive_seed(...))``, a
``torch.Generator``), and the global numpy and torch generators are set only
around SB3's own draws (PPO's minibatch order, a policy's initial weights).

``index`` is the epoch k for the training streams and 0 for the streams of a
landscape (which has no epochs); ``seed`` is the run's or the landscape's ``--seed``.
"""

from __future__ import annotations

import numpy as np

# --- training (index: the epoch k) -------------------------------------------------------------
RESETS = 0  # env resets of epoch k's rows (row i: + i)
ACTION_NOISE = 1  # the rows' Gaussian action noise, (horizon, n_envs, action_dim) standard normals
ARS_DELTAS = 2  # ARS's parameter perturbations, (n_delta, n_params) standard normals (a torch.Generator)
NUMPY = 3  # numpy's global generator, set before epoch k's rows and its update (SB3's minibatch order)
TORCH = 4  # torch's global generator, set likewise (SB3's own draws; none in mollirl's algorithms)
# --- landscapes (index 0) ---------------------------------------------------------------------------
DIRECTIONS = 10  # random and filter-normalized slice directions, d standard normals each
SIGMA_STARTS = 11  # resets of the sigma mode's episodes (episode m: + m)
SIGMA_NOISE = 12  # the sigma mode's action noise, (horizon, M, action_dim), common to every point
PARAM_SIGMA_NOISE = 13  # the param-sigma mode's parameter perturbations, (M, d), common to every point
GRADIENT_STARTS = 14  # resets of the gradient direction's REINFORCE batch (episode i: + i)
GRADIENT_NOISE = 15  # that batch's action noise
PLAYBACK_NOISE = 16  # the action noise of a stochastic playback (enjoy --stochastic, video clips)

#: every stream: number -> (name, what draws from it)
STREAMS: dict[int, tuple[str, str]] = {
    RESETS: ("RESETS", "training: env resets of epoch k's rows, row i at + i"),
    ACTION_NOISE: ("ACTION_NOISE", "training: the rows' Gaussian action noise"),
    ARS_DELTAS: ("ARS_DELTAS", "training: ARS's parameter perturbations"),
    NUMPY: ("NUMPY", "training: numpy's global generator around SB3's draws (minibatch order)"),
    TORCH: ("TORCH", "training: torch's global generator around SB3's draws"),
    DIRECTIONS: ("DIRECTIONS", "landscape: random and filter-normalized directions"),
    SIGMA_STARTS: ("SIGMA_STARTS", "landscape: resets of the sigma mode's episodes, episode m at + m"),
    SIGMA_NOISE: ("SIGMA_NOISE", "landscape: the sigma mode's action noise"),
    PARAM_SIGMA_NOISE: ("PARAM_SIGMA_NOISE", "landscape: the param-sigma mode's perturbations"),
    GRADIENT_STARTS: ("GRADIENT_STARTS", "landscape: resets of the gradient direction's batch"),
    GRADIENT_NOISE: ("GRADIENT_NOISE", "landscape: the gradient direction's action noise"),
    PLAYBACK_NOISE: ("PLAYBACK_NOISE", "playback: a stochastic episode's action noise"),
}


def derive_seed(*keys: int) -> int:
    """A 31-bit seed derived from integer keys (counter-based: no hidden RNG state).

    Give every call the same number of keys (``seed, index, STREAM``): numpy's ``SeedSequence``
    pads short entropy with zeros, so ``(a, b)`` and ``(a, b, 0)`` give the same seed.
    """
    return int(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in keys]).generate_state(1)[0] >> 1)


def stream_rng(seed: int, stream: int, index: int = 0) -> np.random.Generator:
    """The numpy generator of ``stream`` (one of :data:`STREAMS`) for ``seed`` and ``index``."""
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; the streams are {sorted(STREAMS)}")
    return np.random.default_rng(derive_seed(seed, index, stream))


def default_seed(seed: int | None) -> int:
    """``seed``, or a fresh random one when None (then recorded, so the run can be repeated)."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    return int(seed)
