"""Counter-based seeding: every random draw of epoch k comes from ``(seed, k, stream)``.

No algorithm carries RNG state from one epoch to the next, so a run resumed from a
checkpoint at epoch k repeats the uninterrupted run exactly, whatever happened in
between (and a checkpoint needs no RNG state).
"""

from __future__ import annotations

import numpy as np

#: streams of :func:`derive_seed`: ``derive_seed(seed, epoch, STREAM)``
RESETS = 0  # env resets of the epoch's rows (row i: + i)
ACTION_NOISE = 1  # the rows' Gaussian action noise
TORCH = 2  # torch's global generator (SB3 internals, ARS's parameter perturbations)
NUMPY = 3  # numpy's global generator (SB3's minibatch order)


def derive_seed(*keys: int) -> int:
    """A 31-bit seed derived from integer keys (counter-based: no hidden RNG state)."""
    return int(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in keys]).generate_state(1)[0] >> 1)


def default_seed(seed: int | None) -> int:
    """``seed``, or a fresh random one when None (then recorded, so the run can be repeated)."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    return int(seed)
