"""A computed landscape and its ``.npz`` file.

npz fields (all plain arrays, loadable with ``np.load(path)`` without pickles):

=====================  ===================================================================
``kind``               ``"policy"`` (J over a parameter slice) or ``"q"`` (Q(s0, a) over actions)
``env``                env name
``axes``               ``(dims, n)`` grid offsets (direction units; actions for ``q``)
``modes``              ``(n_modes,)`` e.g. ``["det", "sigma"]`` (``q``: ``["det", "mollified"]``)
``mode``               ``"det"``, ``"sigma"`` or ``"both"``
``values``             ``(n_modes, n[, n])`` J, J_sigma (or Q, L(mu, sigma^2))
``stderr``             ``(n_modes, n[, n])`` standard error over episodes (NaN for det)
``mask``               ``(n_modes, n[, n])`` bool, True = a rollout of that point diverged
``diverged_fraction``  ``(n_modes, n[, n])`` fraction of the point's episodes that diverged
``directions``         ``(dims, d)`` slice directions (``q``: unit action axes, ``(2, action_dim)``)
``direction_kinds``    ``(dims,)`` kind of each direction
``labels``             ``(d,)`` parameter labels of the policy
``centre``             ``(d,)`` the centre theta
``sigma``              ``(action_dim,)`` sigma of the sigma mode (or of the mollification)
``policy_sigma``       ``(action_dim,)`` the policy's own sigma at the centre
``seed``               seed of directions, starts and action noise
``episodes``           episodes per point in sigma mode
``horizon``, ``gamma``  rollout length and discount
``metadata``           JSON string: provenance, timings (points/s), analysis summary (per mode: the
                       window Hölder exponent with its interval, scaling range and every range, or
                       the reason there is none; the hf energy with its band in cycles per window,
                       or why it is not resolved; see :mod:`mollirl.landscape.summary`)
``state0``, ``action_centre``, ``action_dims``  (``q`` only) s0, mu(s0), the two action indices
=====================  ===================================================================
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.common.files import write_bytes_atomic
from mollirl.landscape.directions import Directions
from mollirl.landscape.grid import Grid


@dataclasses.dataclass
class Landscape:
    """A landscape on a 1-D or 2-D grid in one or more modes (see the module docstring for the fields)."""

    kind: str
    env: str
    axes: np.ndarray
    modes: tuple[str, ...]
    values: np.ndarray
    stderr: np.ndarray
    mask: np.ndarray
    diverged_fraction: np.ndarray
    directions: Directions
    centre: np.ndarray
    sigma: np.ndarray
    policy_sigma: np.ndarray
    seed: int
    episodes: int
    horizon: int
    gamma: float
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    state0: np.ndarray | None = None
    action_centre: np.ndarray | None = None
    action_dims: tuple[int, ...] | None = None

    @property
    def grid(self) -> Grid:
        return Grid(axes=np.asarray(self.axes))

    @property
    def dims(self) -> int:
        return int(np.asarray(self.axes).shape[0])

    @property
    def mode(self) -> str:
        if self.kind == "q":
            return "det"
        return "both" if len(self.modes) == 2 else self.modes[0]

    def index(self, mode: str) -> int:
        if mode not in self.modes:
            raise ValueError(f"this landscape has modes {list(self.modes)}, not {mode!r}")
        return self.modes.index(mode)

    def value(self, mode: str) -> np.ndarray:
        return self.values[self.index(mode)]

    def mask_of(self, mode: str) -> np.ndarray:
        return self.mask[self.index(mode)]

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = {
            "kind": np.array(self.kind), "env": np.array(self.env), "axes": np.asarray(self.axes, dtype=np.float64),
            "modes": np.array(self.modes, dtype=str), "mode": np.array(self.mode),
            "values": self.values, "stderr": self.stderr, "mask": self.mask.astype(bool),
            "diverged_fraction": self.diverged_fraction,
            **self.directions.to_arrays(),
            "centre": np.asarray(self.centre, dtype=np.float64),
            "sigma": np.asarray(self.sigma, dtype=np.float64),
            "policy_sigma": np.asarray(self.policy_sigma, dtype=np.float64),
            "seed": np.array(int(self.seed)), "episodes": np.array(int(self.episodes)),
            "horizon": np.array(int(self.horizon)), "gamma": np.array(float(self.gamma)),
            "metadata": np.array(json.dumps(self.metadata, default=_json_default, sort_keys=True)),
        }
        if self.kind == "q":
            out.update(state0=np.asarray(self.state0, dtype=np.float64),
                       action_centre=np.asarray(self.action_centre, dtype=np.float64),
                       action_dims=np.asarray(self.action_dims, dtype=np.int64))
        return out

    def save(self, path: str | Path) -> Path:
        """Write the npz (the parent folder is created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = self.to_arrays()
        write_bytes_atomic(path, lambda tmp: np.savez(tmp, **arrays))  # whole or absent after a crash
        return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    return str(obj)


def load_landscape(path: str | Path) -> Landscape:
    """Read a landscape npz written by :meth:`Landscape.save`.

    :raises ValueError: if the file is missing or not a landscape.
    """
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            d = {k: data[k] for k in data.files}
    except OSError as exc:
        raise ValueError(f"cannot read landscape {str(path)!r}: {exc}") from None
    try:
        kind = str(d["kind"])
        return Landscape(
            kind=kind, env=str(d["env"]), axes=d["axes"], modes=tuple(str(m) for m in d["modes"]),
            values=d["values"], stderr=d["stderr"], mask=d["mask"].astype(bool),
            diverged_fraction=d["diverged_fraction"],
            directions=Directions(vectors=d["directions"], kinds=tuple(str(k) for k in d["direction_kinds"]),
                                  labels=tuple(str(s) for s in d["labels"]), seed=int(d["direction_seed"]),
                                  centre=d["direction_centre"]),
            centre=d["centre"], sigma=d["sigma"], policy_sigma=d["policy_sigma"], seed=int(d["seed"]),
            episodes=int(d["episodes"]), horizon=int(d["horizon"]), gamma=float(d["gamma"]),
            metadata=json.loads(str(d["metadata"])),
            state0=d.get("state0"), action_centre=d.get("action_centre"),
            action_dims=tuple(int(i) for i in d["action_dims"]) if "action_dims" in d else None,
        )
    except KeyError as exc:
        raise ValueError(f"{str(path)!r} is not a landscape file (missing {exc})") from None
