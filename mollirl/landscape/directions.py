"""Slice directions in the policy's mean-parameter space: random, filter-normalized, axis, gradient.

A direction is a vector over the flat mean vector of a
:class:`~mollirl.policies.GaussianPolicy` (``get_mean_vector()``, labels like
``K[0,4]``, ``b[1]``, ``W1[3,0]``). Kinds:

- ``random``: a Gaussian vector scaled to unit Euclidean norm; a ``random``
  direction is orthogonalized (Gram-Schmidt) against the directions before it,
  so a 2-D random slice is an orthonormal plane and ``radius`` is a distance in
  parameter units.
- ``filter``: filter normalization of Li et al. (2018, "Visualizing the Loss
  Landscape of Neural Nets"): a Gaussian vector whose every output row of every
  weight matrix (``K[i, :]``, ``W1[j, :]``, ``W2[i, :]``) is rescaled to the norm
  of the same row of the centre. One-dimensional parameters (the biases ``b``,
  ``b1``, ``b2``) get a zero component, as in Li et al.'s default
  (``ignore='biasbn'``). So ``radius = 1`` moves each row by its own size;
  for a linear policy the hover thrust ``b`` is *not* perturbed. Not orthogonalized.
- ``axis:NAME`` or just ``NAME`` (e.g. ``K[0,4]``): the unit vector on that parameter.
- ``gradient``: the current policy-gradient estimate (one REINFORCE batch at
  the centre, :func:`mollirl.landscape.gradient.policy_gradient`), unit norm.

A spec string names one kind per slice direction, separated by ``,`` or ``+``
(``random``, ``filter``, ``K[0,4],b[0]``, ``gradient+random``); a single
``random``, ``filter`` or ``gradient`` serves both axes of a 2-D slice (for
``gradient``, the second axis is ``random``, orthogonal to the gradient).
Inside a parameter name ``;`` may replace the index comma (``K[0;4]``) where a
comma would end the option (``--callback landscape:directions=K[0;4]+b[0]``).
A path to a ``.npz`` written by :meth:`Directions.save` or by a landscape
reuses its directions exactly, so snapshots across training are comparable.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mollirl.common.files import write_bytes_atomic
from mollirl.common.seeding import DIRECTIONS, stream_rng

KINDS = ("random", "filter", "gradient")
_SPEC_HELP = "random, filter, gradient, axis:NAME, a parameter name like K[0,4], or a .npz file of directions"


@dataclasses.dataclass(frozen=True)
class Directions:
    """Slice directions with their provenance.

    :param vectors: ``(dims, d)`` float64 direction vectors over the flat mean vector.
    :param kinds: one kind per direction (``random``, ``filter``, ``gradient``, ``axis:K[0,4]``).
    :param labels: ``(d,)`` parameter labels of the policy they were made for.
    :param seed: seed of the random draws.
    :param centre: ``(d,)`` the centre they were made at (filter norms, gradient).
    """

    vectors: np.ndarray
    kinds: tuple[str, ...]
    labels: tuple[str, ...]
    seed: int
    centre: np.ndarray

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[0])

    def check_labels(self, labels: Sequence[str]) -> None:
        """Raise ``ValueError`` unless these directions were made for a policy with ``labels``."""
        if tuple(labels) != self.labels:
            raise ValueError(
                f"directions are for {len(self.labels)} parameters ({_span(self.labels)}), "
                f"this policy has {len(labels)} ({_span(labels)})"
            )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz fields (``directions``, ``direction_kinds``, ``labels``, ``direction_seed``, ``direction_centre``)."""
        return {
            "directions": np.asarray(self.vectors, dtype=np.float64),
            "direction_kinds": np.array(self.kinds, dtype=str),
            "labels": np.array(self.labels, dtype=str),
            "direction_seed": np.array(self.seed),
            "direction_centre": np.asarray(self.centre, dtype=np.float64),
        }

    def save(self, path: str | Path) -> Path:
        """Write the directions to ``path`` (npz, no pickles)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = self.to_arrays()
        write_bytes_atomic(path, lambda tmp: np.savez(tmp, **arrays))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Directions:
        """Read directions from a file written by :meth:`save` or a landscape npz.

        :raises ValueError: if the file is missing or holds no directions.
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                vectors = np.array(data["directions"], dtype=np.float64)
                labels = tuple(str(s) for s in data["labels"])
                kinds = tuple(str(s) for s in data["direction_kinds"]) if "direction_kinds" in data else (
                    ("loaded",) * vectors.shape[0])
                seed = int(data["direction_seed"]) if "direction_seed" in data else int(data.get("seed", 0))
                centre = np.array(data["direction_centre"] if "direction_centre" in data else data["centre"],
                                  dtype=np.float64)
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"cannot read directions from {str(path)!r}: {type(exc).__name__}: {exc}") from None
        if vectors.ndim != 2 or vectors.shape[1] != len(labels):
            raise ValueError(f"{str(path)!r}: directions have shape {vectors.shape}, labels {len(labels)}")
        return cls(vectors=vectors, kinds=kinds, labels=labels, seed=seed, centre=centre)


def _span(labels: Sequence[str]) -> str:
    return f"{labels[0]} .. {labels[-1]}" if len(labels) else "none"


def normalize_label(name: str) -> str:
    """``"K[0, 4]"`` / ``"K[0;4]"`` -> ``"K[0,4]"``."""
    return re.sub(r"\s+", "", name).replace(";", ",")


def parameter_index(name: str, labels: Sequence[str]) -> int:
    """Index of parameter ``name`` in ``labels``; unknown names raise ``ValueError`` with the closest match."""
    key = normalize_label(name)
    try:
        return list(labels).index(key)
    except ValueError:
        match = difflib.get_close_matches(key, list(labels), n=1, cutoff=0.3)
        hint = f"; did you mean {match[0]!r}?" if match else ""
        raise ValueError(
            f"unknown parameter {name!r}: this policy's {len(labels)} mean parameters are {_span(labels)}{hint}"
        ) from None


def split_spec(spec: str) -> list[str]:
    """Split a direction spec on top-level ``,`` / ``+`` (commas inside ``[...]`` belong to a name)."""
    items, depth, current = [], 0, []
    for ch in spec:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch in ",+" and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    items.append("".join(current).strip())
    if any(not item for item in items):
        raise ValueError(f"malformed directions {spec!r}: empty item; expected {_SPEC_HELP}")
    return items


def parse_direction_spec(spec: str, dims: int, labels: Sequence[str]) -> list[str]:
    """Turn a spec into exactly ``dims`` kinds (``random``, ``filter``, ``gradient``, ``axis:K[0,4]``).

    :raises ValueError: on an unknown kind or parameter name (with the closest
        match) or a wrong number of items.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"directions must be a non-empty string ({_SPEC_HELP}), got {spec!r}")
    items = split_spec(spec.strip())
    kinds: list[str] = []
    for item in items:
        low = item.lower()
        if low in KINDS:
            kinds.append(low)
            continue
        name = item[5:] if low.startswith("axis:") else item
        if "[" not in name and not low.startswith("axis:"):
            match = difflib.get_close_matches(low, list(KINDS), n=1, cutoff=0.5)
            hint = f"; did you mean {match[0]!r}?" if match else ""
            raise ValueError(f"unknown direction {item!r} (valid: {_SPEC_HELP}){hint}")
        kinds.append(f"axis:{labels[parameter_index(name, labels)]}")
    if len(kinds) == 1 and dims == 2:
        if kinds[0] in ("random", "filter"):
            kinds = kinds * 2
        elif kinds[0] == "gradient":
            kinds = ["gradient", "random"]
        else:
            raise ValueError(f"a 2-D slice needs two parameter names, e.g. 'K[0,4],b[0]'; got {spec!r}")
    if len(kinds) != dims:
        raise ValueError(f"directions {spec!r} name {len(kinds)} directions for a {dims}-D slice")
    return kinds


def filter_normalize(direction: np.ndarray, centre: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> np.ndarray:
    """Li et al.'s filter normalization of a flat ``direction`` at ``centre``.

    Each parameter of ``shapes`` (in flat order) with >= 2 dimensions is viewed
    as ``(rows, -1)`` (one row per output unit); row i of the direction is
    rescaled to the norm of row i of the centre (a zero centre row gives a zero
    row). Parameters with < 2 dimensions (biases) become 0.

    :return: a new ``(d,)`` array.
    """
    out = np.zeros_like(np.asarray(direction, dtype=np.float64))
    offset = 0
    for shape in shapes:
        size = int(np.prod(shape))
        if len(shape) >= 2:
            d = np.asarray(direction[offset: offset + size], dtype=np.float64).reshape(shape[0], -1)
            c = np.asarray(centre[offset: offset + size], dtype=np.float64).reshape(shape[0], -1)
            scale = np.linalg.norm(c, axis=1, keepdims=True) / (np.linalg.norm(d, axis=1, keepdims=True) + 1e-10)
            out[offset: offset + size] = (d * scale).ravel()
        offset += size
    if offset != out.shape[0]:
        raise ValueError(f"parameter shapes cover {offset} entries, the vector has {out.shape[0]}")
    return out


def _unit(v: np.ndarray, what: str) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    if not (np.isfinite(norm) and norm > 0):
        raise ValueError(f"the {what} direction is zero or not finite; choose another direction kind")
    return v / norm


def make_directions(
    spec: str | Path,
    dims: int,
    *,
    centre: np.ndarray,
    labels: Sequence[str],
    shapes: Sequence[tuple[int, ...]],
    seed: int = 0,
    gradient_fn: Callable[[], np.ndarray] | None = None,
) -> Directions:
    """Build (or load) ``dims`` slice directions.

    :param spec: a direction spec (module docstring) or a path to an ``.npz`` holding directions.
    :param dims: 1 or 2.
    :param centre: ``(d,)`` the slice centre (the policy's mean vector).
    :param labels: ``(d,)`` its parameter labels.
    :param shapes: shapes of the mean network's parameters in flat order (filter normalization).
    :param seed: seed of the Gaussian draws (the stream ``(seed, 0, DIRECTIONS)`` of :mod:`mollirl.common.seeding`).
    :param gradient_fn: ``() -> (d,)`` gradient estimate; needed for ``gradient``.
    :raises ValueError: on a bad spec, a loaded file for other parameters or of
        another dimension, a zero direction, or dependent directions.
    """
    centre = np.asarray(centre, dtype=np.float64)
    labels = tuple(labels)
    spec_str = str(spec)
    if spec_str.endswith(".npz") or (isinstance(spec, Path)):
        loaded = Directions.load(spec_str)
        loaded.check_labels(labels)
        if loaded.dims != dims:
            raise ValueError(f"{spec_str!r} holds {loaded.dims} directions, a {dims}-D slice needs {dims}")
        return loaded
    kinds = parse_direction_spec(spec_str, dims, labels)
    rng = stream_rng(seed, DIRECTIONS)
    vectors: list[np.ndarray] = []
    for kind in kinds:
        if kind == "random":
            v = rng.standard_normal(centre.shape[0])
            for u in vectors:
                v = v - (v @ u) / (u @ u) * u
            v = _unit(v, "random")
        elif kind == "filter":
            v = filter_normalize(rng.standard_normal(centre.shape[0]), centre, shapes)
            if not np.any(v):
                raise ValueError("filter normalization gives a zero direction here (zero weight rows at the "
                                 "centre); use random directions")
        elif kind == "gradient":
            if gradient_fn is None:
                raise ValueError("gradient directions need a gradient estimate (gradient_fn)")
            v = _unit(np.asarray(gradient_fn(), dtype=np.float64), "gradient")
        else:
            v = np.zeros(centre.shape[0])
            v[labels.index(kind[5:])] = 1.0
        vectors.append(v)
    out = np.stack(vectors)
    if dims == 2 and np.linalg.matrix_rank(out, tol=1e-12 * max(1.0, float(np.abs(out).max()))) < 2:
        raise ValueError(f"the two directions {kinds} are linearly dependent")
    return Directions(vectors=out, kinds=tuple(kinds), labels=labels, seed=int(seed), centre=centre.copy())
