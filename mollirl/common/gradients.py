"""The REINFORCE gradient of many Gaussian policies in one call (numpy), each member's bits its own.

P members, each a Gaussian policy ``a ~ N(mu_theta(s), diag(sigma^2))`` whose mean is linear
(``u = -K s + b``) or a tanh MLP (``u = W2 tanh(W1 s + b1) + b2``), each with N whole episodes
of T steps and weights ``w[t, i]`` (advantages, zero at steps after an episode's end). For every
member :func:`reinforce_gradients` returns

* ``F = sum_{t, i} w[t, i] log pi(a_t^i | s_t^i)`` (the surrogate; REINFORCE's loss is ``-F / N``),
* ``dF/dtheta`` of the mean's flat parameters (``policy.get_mean_vector()`` layout),
* ``dF/dlog_std`` when sigma is learned (one entry, or one per action dimension),

from the analytic score ``d log pi / du = (a - u) / sigma^2`` (``d log pi / d log sigma_j =
(a_j - u_j)^2 / sigma_j^2 - 1``) and the mean's chain rule. Every sum over a member's steps is
one entry of a matrix product of that member's own arrays, its rows the member's T x N steps:
for a linear mean ``[w (a - u), w]^T [s, a - u, 1]`` holds all of them (the gradient of K and b,
``sum w (a_j - u_j)^2`` for sigma and the loss, ``sum w``); a tanh MLP adds the products of its
layers.

**Bits.** numpy's ``matmul`` of stacked ``(P, rows, cols)`` arrays calls the BLAS once per member
with that member's matrices, so a member's numbers are the same IEEE computation whatever the
other members are, how many there are and where it sits (members are processed in groups that
bound the memory, which changes no member's products). A single run is a population of one
through the same kernel, so a member's update equals its separate run's byte for byte (tested).
The BLAS runs on one thread here (``threadpoolctl``): these products are small, and a second
thread waiting for a core that another process holds made the kernel several times slower on a
loaded 2-core machine (its split never touches the summed dimension, so the numbers are the same).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

import numpy as np

#: the constant of torch's ``Normal.log_prob``
LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))
#: elements of a group's largest per-step array: the members handled at once (no effect on the numbers). Kept
#: at 8 MB, under glibc's mmap threshold, the arrays are reused from the heap group after group and epoch after
#: epoch; larger ones are mapped afresh each time, and their first-touch page faults cost as much as the sums
MAX_ELEMENTS = 1 << 20


def _split(params: np.ndarray, named_shapes: Sequence[tuple[str, tuple[int, ...]]]) -> dict[str, np.ndarray]:
    out, offset = {}, 0
    for name, shape in named_shapes:
        size = int(np.prod(shape))
        out[name] = params[:, offset: offset + size].reshape(params.shape[0], *shape)
        offset += size
    if offset != params.shape[1]:
        raise ValueError(f"params have {params.shape[1]} entries, the mean network has {offset}")
    return out


_BLAS: dict = {}
_SCRATCH = threading.local()


def _scratch(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A float64 array of ``shape`` for the kernel's own use, reused call after call (per thread): a population's
    group arrays are megabytes, and numpy's fresh ones are mapped and page-faulted again each time once glibc
    serves that size by ``mmap`` (which depends on what the process freed before: once the rollout kept its
    noise buffer, the kernel's time more than doubled). Values are whatever was left: written before read."""
    arrays = getattr(_SCRATCH, "arrays", None)
    if arrays is None:
        arrays = _SCRATCH.arrays = {}
    size = math.prod(shape)
    flat = arrays.get(name)
    if flat is None or flat.size < size:
        flat = arrays[name] = np.empty(size)
    return flat[:size].reshape(shape)


def one_blas_thread():
    """A context in which the BLAS (numpy's, and any other loaded) uses one thread."""
    if "controller" not in _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS["controller"] = ThreadpoolController()
    return _BLAS["controller"].limit(limits=1, user_api="blas")


def _rowsum(x: np.ndarray) -> np.ndarray:
    """``(G, k) -> (G,)``, the columns added in order (the same operations for every row count)."""
    out = x[:, 0].copy()
    for j in range(1, x.shape[1]):
        out += x[:, j]
    return out


def _rows_of(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``x`` ``(T, G, N, k)`` copied into ``out`` ``(G, k, T * N)``: per member and component, its T x N steps
    as one contiguous row (step t, episode i at column ``t N + i``)."""
    G, k = out.shape[0], out.shape[1]
    np.copyto(out.reshape(G, k, x.shape[0], x.shape[2]), np.transpose(x, (1, 3, 0, 2)))
    return out


def reinforce_gradients(kind: str, named_shapes: Sequence[tuple[str, tuple[int, ...]]], params: np.ndarray,
                        log_std: np.ndarray, obs: np.ndarray, actions: np.ndarray,
                        weights: np.ndarray | Callable[[slice, np.ndarray], None], learn_sigma: bool = False
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(F, dF/dtheta, dF/dlog_std)`` of P members (see the module docstring).

    :param kind: ``"linear"`` (parameters ``K``, optional ``b``) or ``"mlp"`` (``W1``, ``W2``, optional
        ``b1``, ``b2``).
    :param named_shapes: the mean network's ``(name, shape)`` in its flat order.
    :param params: ``(P, d)`` flat mean parameters.
    :param log_std: ``(P, S)`` log sigma, ``S`` 1 (isotropic) or the action dimension.
    :param obs: ``(T, P, N, obs_dim)``; ``actions`` ``(T, P, N, action_dim)`` raw.
    :param weights: ``(T, P, N)``, or ``weights(members, out)`` writing a slice of the members' weights into
        ``out`` ``(G, T, N)`` (computed group by group: the advantages of a population need no array of all
        members at once).
    :param learn_sigma: also return ``dF/dlog_std`` ``(P, S)``.
    :return: ``F`` ``(P,)``, ``dF/dtheta`` ``(P, d)``, ``dF/dlog_std`` or None.
    """
    if kind not in ("linear", "mlp"):
        raise ValueError(f"no batched REINFORCE gradient for a {kind!r} mean network")
    T, P, N, O = obs.shape
    A = actions.shape[-1]
    S = log_std.shape[1]
    R = T * N
    parts = _split(np.asarray(params, dtype=np.float64), named_shapes)
    hidden = parts["W1"].shape[1] if kind == "mlp" else 0
    log_std_a = np.broadcast_to(log_std, (P, A)) if S == 1 else log_std
    var = np.exp(2.0 * log_std_a)  # sigma^2, (P, A)
    F = np.empty(P)
    grad = np.empty((P, params.shape[1]))
    grad_log_std = np.empty((P, S)) if learn_sigma else None
    group = max(1, MAX_ELEMENTS // (R * (max(O, hidden) + A + 1)))
    with one_blas_thread():
        for g0 in range(0, P, group):
            _group(kind, named_shapes, parts, slice(g0, min(P, g0 + group)), obs, actions, weights, var, log_std_a,
                   hidden, learn_sigma, F, grad, grad_log_std)
    return F, grad, grad_log_std


def _group(kind, named_shapes, parts, g, obs, actions, weights, var, log_std_a, hidden, learn_sigma, F, grad,
           grad_log_std) -> None:
    """:func:`reinforce_gradients` of the members ``g`` (a slice), written into ``F``, ``grad``, ``grad_log_std``."""
    T, _, N, O = obs.shape
    A = actions.shape[-1]
    S = 0 if grad_log_std is None else grad_log_std.shape[1]
    R = T * N
    feats = hidden if kind == "mlp" else O
    G = g.stop - g.start
    mine = {name: v[g] for name, v in parts.items()}
    # right = [features; a - u; 1], left = [w (a - u); w]: every sum is an entry of left @ right^T
    right = _scratch("right", (G, feats + A + 1, R))
    s = right[:, :O] if kind == "linear" else _scratch("s", (G, O, R))
    _rows_of(obs[:, g], s)
    u = _scratch("u", (G, A, R))
    if kind == "linear":
        np.matmul(-mine["K"], s, out=u)  # (G, A, R)
    else:
        z = right[:, :hidden]
        np.matmul(mine["W1"], s, out=z)  # (G, H, R)
        if "b1" in mine:
            z += mine["b1"][:, :, None]
        np.tanh(z, out=z)
        np.matmul(mine["W2"], z, out=u)
    bias = mine.get("b" if kind == "linear" else "b2")
    if bias is not None:
        u += bias[:, :, None]
    diff = _rows_of(actions[:, g], right[:, feats: feats + A])
    diff -= u  # a - u: the score times sigma^2
    right[:, -1] = 1.0
    left = _scratch("left", (G, A + 1, R))
    w = left[:, A]
    if callable(weights):
        weights(g, w.reshape(G, T, N))
    else:
        np.copyto(w.reshape(G, T, N), np.transpose(weights[:, g], (1, 0, 2)))
    np.multiply(diff, w[:, None, :], out=left[:, :A])
    sums = np.matmul(left, np.swapaxes(right, 1, 2))  # (G, A + 1, feats + A + 1)
    v = var[g]  # (G, A)
    Q = np.diagonal(sums[:, :A, feats: feats + A], axis1=1, axis2=2)  # sum w (a_j - u_j)^2, (G, A)
    W = sums[:, A, -1]  # sum w
    F[g] = -_rowsum(Q / (2.0 * v)) - W * (_rowsum(log_std_a[g]) + A * LOG_SQRT_2PI)
    out = {}
    if kind == "linear":
        out["K"] = -sums[:, :A, :O] / v[:, :, None]  # u = -K s
        if "b" in mine:
            out["b"] = sums[:, :A, -1] / v
    else:
        out["W2"] = sums[:, :A, :hidden] / v[:, :, None]
        if "b2" in mine:
            out["b2"] = sums[:, :A, -1] / v
        c = left[:, :A]
        c /= v[:, :, None]  # dF/du per step, (G, A, R)
        dz = np.matmul(np.swapaxes(mine["W2"], 1, 2), c, out=_scratch("dz", (G, hidden, R)))  # (G, H, R)
        tanh_slope = np.multiply(z, z, out=_scratch("slope", (G, hidden, R)))
        np.subtract(1.0, tanh_slope, out=tanh_slope)  # 1 - z^2
        dz *= tanh_slope
        layer1 = np.matmul(dz, np.swapaxes(s, 1, 2))  # (G, H, O)
        out["W1"] = layer1
        if "b1" in mine:
            out["b1"] = np.matmul(dz, right[:, -1][:, :, None])[:, :, 0]
    offset = 0
    for name, shape in named_shapes:
        size = int(np.prod(shape))
        grad[g, offset: offset + size] = out[name].reshape(G, size)
        offset += size
    if learn_sigma:  # dF/dlog_std_j = sum w ((a_j - u_j)^2 / sigma_j^2 - 1), summed over j if isotropic
        per_dim = Q / v - W[:, None]
        grad_log_std[g] = _rowsum(per_dim)[:, None] if S == 1 else per_dim


def squared_norms(columns: np.ndarray) -> np.ndarray:
    """``(P, D) -> (P,)`` sums of squares, added in column order (independent of P)."""
    out = columns[:, 0] * columns[:, 0]
    for j in range(1, columns.shape[1]):
        out = out + columns[:, j] * columns[:, j]
    return out
