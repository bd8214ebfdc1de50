"""The mean action of many parameter sets at once, in float64, bit for bit independent of the batch.

:class:`BatchedMean` holds ``n_sets`` flat parameter vectors of one mean network
(``policy.get_mean_vector()`` layout) and maps observations ``(R, obs_dim)`` to
mean actions ``(R, action_dim)``, row ``r`` under set ``r`` (or under the only
set, broadcast to every row):

- ``LinearMean`` (``u = -K s + b``) and ``MLPMean`` (``u = W2 tanh(W1 s + b1) + b2``):
  numpy, every dot product accumulated term by term in index order with
  separate multiplies and adds (no BLAS, no fused multiply-add, no pairwise or
  vectorized reductions). Each element of the result is therefore the same IEEE
  computation whatever the number of rows, the memory layout and whether the
  parameters are broadcast: a row's action, and so its whole trajectory, does not
  depend on which other rows share the batch. This is what makes a training run's
  J_det row equal, bit for bit, to a landscape's J at the same theta.
- any other mean ``nn.Module``: ``torch.func.vmap`` over ``functional_call``
  (correct, but without the bit-for-bit guarantee across batch sizes).
"""

from __future__ import annotations

from collections.abc import Sequence

from typing import Any

import numpy as np


def _split(points: np.ndarray, named_shapes: Sequence[tuple[str, tuple[int, ...]]]) -> dict[str, np.ndarray]:
    """``(P, d)`` flat vectors -> ``{name: (P, *shape)}`` in the mean network's flat order."""
    out, offset = {}, 0
    for name, shape in named_shapes:
        size = int(np.prod(shape))
        out[name] = np.ascontiguousarray(points[:, offset: offset + size].reshape(points.shape[0], *shape))
        offset += size
    if offset != points.shape[1]:
        raise ValueError(f"points have {points.shape[1]} parameters, the mean network has {offset}")
    return out


#: products tensors up to this many elements are formed in one operation (fewer, larger numpy calls)
_PRODUCTS_AT_ONCE = 16384


def _matvec(W: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``out[r, i] = sum_j W[r, i, j] x[r, j]``, summed in order j = 0, 1, ... (``W`` may have 1 row: broadcast).

    Either way the same IEEE operations: every product ``W[r, i, j] x[r, j]`` rounded once, then
    ``((p_0 + p_1) + p_2) + ...``. Small batches form all products in one operation and add their
    slices; large ones multiply and add slice by slice (less memory traffic).
    """
    n = x.shape[1]
    if x.shape[0] * W.shape[1] * n <= _PRODUCTS_AT_ONCE:
        P = W * x[:, None, :]
        if n == 1:
            return P[:, :, 0].copy()
        out = P[:, :, 0] + P[:, :, 1]
        for j in range(2, n):
            out += P[:, :, j]
        return out
    out = W[:, :, 0] * x[:, 0:1]
    for j in range(1, n):
        out += W[:, :, j] * x[:, j:j + 1]
    return out


def _matvec_t(Wt: np.ndarray, xT: np.ndarray) -> np.ndarray:
    """:func:`_matvec` in transposed layouts: ``out[i, r] = sum_j Wt[j, i, r] xT[j, r]`` (``Wt`` ``(n, m, R)`` or
    ``(n, m, 1)``: broadcast; ``xT`` ``(n, R)`` contiguous), summed in order j = 0, 1, ...: the same IEEE
    operations as :func:`_matvec` (each product rounded once, then ``((p_0 + p_1) + p_2) + ...``), so the same
    bits, with every operation on contiguous ``(m, R)`` slices (about twice as fast for a few thousand rows)."""
    out = Wt[0] * xT[0]
    if xT.shape[0] > 1:
        tmp = np.empty_like(out)
        for j in range(1, xT.shape[0]):
            np.multiply(Wt[j], xT[j], out=tmp)
            out += tmp
    return out


def _forward(kind: str, p: dict[str, np.ndarray], x: np.ndarray, matvec) -> tuple[np.ndarray, np.ndarray]:
    """``(u, features)`` of a linear (``u = (-K) x + b``, features ``x``) or tanh-MLP (``u = W2 tanh(W1 x + b1) + b2``,
    features ``tanh(W1 x + b1)``) mean, with ``matvec`` :func:`_matvec` (parameters and ``x`` rows first) or
    :func:`_matvec_t` (both rows last): the same operations in the same order either way."""
    if kind == "linear":
        u = matvec(p["-K"], x)
        if "b" in p:
            u += p["b"]
        return u, x
    h = matvec(p["W1"], x)
    if "b1" in p:
        h += p["b1"]
    np.tanh(h, out=h)
    u = matvec(p["W2"], h)
    if "b2" in p:
        u += p["b2"]
    return u, h


#: from this many rows on, :class:`BatchedMean` computes in the rows-last layout (:func:`_matvec_t`: twice as fast
#: at a thousand rows; below about 64 rows its extra numpy calls cost more than they save: 5.6 against 4.3 us a
#: step for a single run's 17 rows, 37 against 32 us for hopper-stand's 33 rows of a tanh MLP)
ROWS_TRANSPOSED = 96


class BatchedMean:
    """Mean actions of ``n_sets`` parameter sets (or one set broadcast to every row).

    :param mean: the policy's mean network (``policy.mean``, a torch module): its structure, not its values, is
        used. A module whose class declares ``batched_kind = "linear"`` (``u = -K s + b``) or ``"mlp"``
        (``u = W2 tanh(W1 s + b1) + b2``) is evaluated in numpy bit for bit (:class:`mollirl.policies.LinearMean`,
        :class:`mollirl.policies.MLPMean`); any other through ``torch.func.vmap``.
    :param points: ``(n_sets, d)`` flat mean vectors (``policy.get_mean_vector()`` layout), n_sets >= 1.
    """

    def __init__(self, mean: Any, points: np.ndarray) -> None:
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2:
            raise ValueError(f"points must be (n_points, d), got shape {points.shape}")
        self.module = mean
        self.named_shapes = [(name, tuple(p.shape)) for name, p in mean.named_parameters()]
        self.points = points
        self.params = _split(points, self.named_shapes)
        if "K" in self.params:  # u = -K s + b as (-K) s + b: the same bits, one operation fewer per step
            self.params["-K"] = -self.params["K"]
        kind = getattr(type(mean), "batched_kind", None)
        self.kind = kind if kind in ("linear", "mlp") else "torch"
        self._transposed: dict[str, np.ndarray] | None = None  # the parameters with the set axis last

    def _params_t(self) -> dict[str, np.ndarray]:
        """The parameters in :func:`_matvec_t`'s layout: a matrix ``(n_sets, m, n)`` as ``(n, m, n_sets)``, a bias
        ``(n_sets, m)`` as ``(m, n_sets)`` (made on the first call)."""
        if self._transposed is None:
            self._transposed = {name: np.ascontiguousarray(v.T) for name, v in self.params.items()}  # axes reversed
        return self._transposed

    @classmethod
    def of_policy(cls, policy) -> BatchedMean:
        """One set: the policy's current mean parameters."""
        return cls(policy.mean, policy.get_mean_vector()[None])

    @property
    def n_rows(self) -> int:
        """Number of parameter sets (1: broadcast to every row)."""
        return int(self.points.shape[0])

    def take(self, rows: np.ndarray) -> BatchedMean:
        """The parameter sets ``rows`` (indices into this batch); a broadcast batch is returned as is."""
        if self.n_rows == 1:
            return self
        return BatchedMean(self.module, self.points[rows])

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """``obs (R, obs_dim)`` -> mean actions ``(R, action_dim)`` float64 (row r under set r, or the only set)."""
        obs = np.asarray(obs, dtype=np.float64)
        if self.kind == "torch":
            return self._torch_call(obs)
        if obs.shape[0] < ROWS_TRANSPOSED:  # a few rows: fewer numpy calls in the plain layout (the same bits)
            return _forward(self.kind, self.params, obs, _matvec)[0]
        # every operation on (m, rows) slices, rows last; the result back as (rows, m)
        u, _ = _forward(self.kind, self._params_t(), np.ascontiguousarray(obs.T), _matvec_t)
        return np.ascontiguousarray(u.T)

    def with_features(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mean actions (R, action_dim), features (R, n_features))``: the features are what gSDE's noise
        matrix multiplies (SB3's ``latent_sde``, the input of the last layer): the observation for a linear mean,
        ``tanh(W1 s + b1)`` for an mlp. The mean is :meth:`__call__`'s, bit for bit."""
        if self.kind == "torch":
            raise ValueError("gSDE needs a linear or mlp mean (the rollout core computes its features in numpy)")
        return _forward(self.kind, self.params, np.asarray(obs, dtype=np.float64), _matvec)

    def _torch_call(self, obs: np.ndarray) -> np.ndarray:
        import torch as th
        from torch.func import functional_call, vmap

        params = {name: th.as_tensor(v) for name, v in self.params.items()}
        x = th.as_tensor(obs)
        module = self.module

        def one(param_row: dict, obs_row):
            return functional_call(module, param_row, (obs_row[None],))[0]

        with th.no_grad():
            if self.n_rows == 1:
                return functional_call(module, {k: v[0] for k, v in params.items()}, (x,)).numpy()
            return vmap(one)(params, x).numpy()
