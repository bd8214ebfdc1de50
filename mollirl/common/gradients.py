"""The REINFORCE gradient of many Gaussian policies in one call (numpy), each member's bits its own.

P members, each a Gaussian policy ``a ~ N(mu_theta(s), diag(sigma^2))`` whose mean is linear
(``u = -K s + b``) or a tanh MLP (``u = W2 tanh(W1 s + b1) + b2``), each with N whole episodes
of T steps and weights ``w[t, i]`` (advantages, zero at steps after an episode's end). For every
member :func:`reinforce_gradients` returns

* ``F = sum_{t, i} w[t, i] log pi(a_t^i | s_t^i)`` (the surrogate; REINFORCE's loss is ``-F / N``),
* ``dF/dtheta`` of the mean's flat parameters (``policy.get_mean_vector()`` layout),
* ``dF/dlog_std`` when sigma is learned (one entry, or one per action dimension),

from the analytic score ``d log pi / du = (a - u) / sigma^2`` (``d log pi / d log sigma_j =
(a_j - u_j)^2 / sigma_j^2 - 1``) and the mean's chain rule.

**Bits.** Every number of member p is computed by the same IEEE operations whatever the other
members are, how many there are and where p sits: products and activations are element-wise,
every dot product is accumulated term by term in index order, and the sums over steps and
episodes are numpy reductions over a leading (non-contiguous) axis, which add in index order:
first over the steps of a chunk of :data:`CHUNK_STEPS` (a constant, never sized by P), chunk
after chunk, then over the episodes. Members are processed in groups sized to bound memory,
which changes no member's order. A single run is a population of one through the same kernel,
so a member's update equals its separate run's byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: the constant of torch's ``Normal.log_prob``
LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))
#: time steps summed per partial sum (the order of every member's sums; independent of P)
CHUNK_STEPS = 128
#: elements of one chunk's per-step products (memory bound: bounds the members per group)
MAX_ELEMENTS = 1 << 22


def _split(params: np.ndarray, named_shapes: Sequence[tuple[str, tuple[int, ...]]]) -> dict[str, np.ndarray]:
    out, offset = {}, 0
    for name, shape in named_shapes:
        size = int(np.prod(shape))
        out[name] = params[:, offset: offset + size].reshape(params.shape[0], *shape)
        offset += size
    if offset != params.shape[1]:
        raise ValueError(f"params have {params.shape[1]} entries, the mean network has {offset}")
    return out


def _matvec(W: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``out[..., p, i, r] = sum_k W[p, r, k] x[..., p, i, k]``, added in order k = 0, 1, ...
    (``W`` ``(P, R, K)``, ``x`` ``(C, P, N, K)``)."""
    out = W[None, :, None, :, 0] * x[..., 0:1]
    for k in range(1, x.shape[-1]):
        out += W[None, :, None, :, k] * x[..., k:k + 1]
    return out


def reinforce_gradients(kind: str, named_shapes: Sequence[tuple[str, tuple[int, ...]]], params: np.ndarray,
                        log_std: np.ndarray, obs: np.ndarray, actions: np.ndarray, weights: np.ndarray,
                        learn_sigma: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(F, dF/dtheta, dF/dlog_std)`` of P members (see the module docstring).

    :param kind: ``"linear"`` (parameters ``K``, optional ``b``) or ``"mlp"`` (``W1``, ``W2``, optional
        ``b1``, ``b2``).
    :param named_shapes: the mean network's ``(name, shape)`` in its flat order.
    :param params: ``(P, d)`` flat mean parameters.
    :param log_std: ``(P, S)`` log sigma, ``S`` 1 (isotropic) or the action dimension.
    :param obs: ``(T, P, N, obs_dim)``; ``actions`` ``(T, P, N, action_dim)`` raw; ``weights`` ``(T, P, N)``.
    :param learn_sigma: also return ``dF/dlog_std`` ``(P, S)``.
    :return: ``F`` ``(P,)``, ``dF/dtheta`` ``(P, d)``, ``dF/dlog_std`` or None.
    """
    if kind not in ("linear", "mlp"):
        raise ValueError(f"no batched REINFORCE gradient for a {kind!r} mean network")
    T, P, N, O = obs.shape
    A = actions.shape[-1]
    d = params.shape[1]
    S = log_std.shape[1]
    parts = _split(np.asarray(params, dtype=np.float64), named_shapes)
    width = d + (S if learn_sigma else 0) + 1  # the flat gradient, then dF/dlog_std, then F
    hidden = parts["W1"].shape[1] if kind == "mlp" else 0
    log_std_a = np.broadcast_to(log_std, (P, A)) if S == 1 else log_std
    std = np.exp(log_std_a)
    var = std * std
    two_var = 2 * var
    out = np.empty((P, width))
    group = max(1, MAX_ELEMENTS // (CHUNK_STEPS * N * (width + 2 * hidden + 4 * A)))
    for p0 in range(0, P, group):
        p1 = min(P, p0 + group)
        sl = slice(p0, p1)
        mine = {name: v[sl] for name, v in parts.items()}
        v_, ls_, tv_ = var[None, sl, None, :], log_std_a[None, sl, None, :], two_var[None, sl, None, :]
        acc = np.zeros((p1 - p0, N, width))
        for t0 in range(0, T, CHUNK_STEPS):
            t1 = min(T, t0 + CHUNK_STEPS)
            s, a, w = obs[t0:t1, sl], actions[t0:t1, sl], weights[t0:t1, sl]
            X = np.empty((t1 - t0, p1 - p0, N, width))
            if kind == "linear":
                u = _matvec(-mine["K"], s)
                if "b" in mine:
                    u += mine["b"][None, :, None, :]
            else:
                h = _matvec(mine["W1"], s)
                if "b1" in mine:
                    h += mine["b1"][None, :, None, :]
                z = np.tanh(h)
                u = _matvec(mine["W2"], z)
                if "b2" in mine:
                    u += mine["b2"][None, :, None, :]
            diff = a - u
            c = diff / v_
            c *= w[..., None]  # dF/du per step
            if kind == "mlp":  # dF/dz_m = sum_j W2[j, m] c_j (in order j), then through tanh
                W2 = mine["W2"]
                dz = W2[None, :, None, 0, :] * c[..., 0:1]
                for j in range(1, A):
                    dz += W2[None, :, None, j, :] * c[..., j:j + 1]
                dh = dz * (1.0 - z * z)
            col = 0
            for name, shape in named_shapes:
                size = int(np.prod(shape))
                block = X[..., col: col + size]
                if name == "K":  # u = -K s: dF/dK[j, k] = (-c_j) s_k
                    neg = -c
                    for j in range(A):
                        np.multiply(neg[..., j:j + 1], s, out=block[..., j * O:(j + 1) * O])
                elif name in ("b", "b2"):
                    block[...] = c
                elif name == "W2":  # dF/dW2[j, m] = c_j z_m
                    for j in range(A):
                        np.multiply(c[..., j:j + 1], z, out=block[..., j * hidden:(j + 1) * hidden])
                elif name == "W1":  # dF/dW1[m, k] = dh_m s_k
                    for m in range(hidden):
                        np.multiply(dh[..., m:m + 1], s, out=block[..., m * O:(m + 1) * O])
                elif name == "b1":
                    block[...] = dh
                else:
                    raise ValueError(f"unknown mean parameter {name!r} of a {kind} mean network")
                col += size
            sq = diff * diff
            if learn_sigma:  # dF/dlog_std_j = w ((a_j - u_j)^2 / sigma_j^2 - 1), summed over j if isotropic
                score = sq / v_
                score -= 1.0
                score *= w[..., None]
                if S == 1:
                    X[..., col] = score[..., 0]
                    for j in range(1, A):
                        X[..., col] += score[..., j]
                else:
                    X[..., col: col + A] = score
            logp = -sq / tv_
            logp -= ls_
            logp -= LOG_SQRT_2PI
            X[..., -1] = logp[..., 0]
            for j in range(1, A):
                X[..., -1] += logp[..., j]
            X[..., -1] *= w
            acc += X.sum(axis=0)  # over the chunk's steps, in order
        out[sl] = acc.sum(axis=1)  # over the episodes, in order
    grad_log_std = out[:, d: d + S] if learn_sigma else None
    return out[:, -1].copy(), out[:, :d].copy(), None if grad_log_std is None else grad_log_std.copy()


def squared_norms(columns: np.ndarray) -> np.ndarray:
    """``(P, D) -> (P,)`` sums of squares, added in column order (independent of P)."""
    out = columns[:, 0] * columns[:, 0]
    for j in range(1, columns.shape[1]):
        out = out + columns[:, j] * columns[:, j]
    return out
