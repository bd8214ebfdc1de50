"""The mean action of many parameter points at once, in float64.

:class:`BatchedMean` holds one parameter vector per *row* (a row is one
rollout: a grid point x an episode) and maps ``obs (R, obs_dim)`` to
``mu (R, action_dim)`` in one array operation:

- ``LinearMean`` (``u = -K s + b``): ``-einsum('rij,rj->ri', K_r, s_r) + b_r``;
- ``MLPMean`` (``u = W2 tanh(W1 s + b1) + b2``): two stacked ``matmul``\\ s;
- any other mean ``nn.Module``: ``torch.func.vmap`` over ``functional_call``.

A single parameter vector (one row of parameters) broadcasts over all rows
with a plain matrix product (Q-landscapes: one policy, many first actions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch as th
from torch import nn

from mollirl.policies import LinearMean, MLPMean


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


class BatchedMean:
    """Mean actions of ``R`` parameter rows (or one row broadcast to all).

    :param mean: the policy's mean network (``policy.mean``): its structure, not its values, is used.
    :param points: ``(R, d)`` flat mean vectors (``policy.get_mean_vector()`` layout), R >= 1.
    """

    def __init__(self, mean: nn.Module, points: np.ndarray) -> None:
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2:
            raise ValueError(f"points must be (n_points, d), got shape {points.shape}")
        self.module = mean
        self.named_shapes = [(name, tuple(p.shape)) for name, p in mean.named_parameters()]
        self.points = points
        self.params = _split(points, self.named_shapes)
        if isinstance(mean, LinearMean):
            self.kind = "linear"
        elif isinstance(mean, MLPMean):
            self.kind = "mlp"
        else:
            self.kind = "torch"

    @property
    def n_rows(self) -> int:
        return int(self.points.shape[0])

    def take(self, rows: np.ndarray) -> BatchedMean:
        """The parameters of ``rows`` (indices into this batch); a broadcast batch is returned as is."""
        if self.n_rows == 1:
            return self
        return BatchedMean(self.module, self.points[rows])

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """``obs (R, obs_dim)`` -> mean actions ``(R, action_dim)`` float64 (row r under parameters r)."""
        obs = np.asarray(obs, dtype=np.float64)
        p = self.params
        if self.kind == "linear":
            K = p["K"]
            if self.n_rows == 1:
                u = -(obs @ K[0].T)
            else:
                u = -np.einsum("rij,rj->ri", K, obs)
            if "b" in p:
                u += p["b"] if self.n_rows > 1 else p["b"][0]
            return u
        if self.kind == "mlp":
            W1, W2 = p["W1"], p["W2"]
            if self.n_rows == 1:
                h = obs @ W1[0].T
                if "b1" in p:
                    h += p["b1"][0]
                u = np.tanh(h) @ W2[0].T
                return u + p["b2"][0] if "b2" in p else u
            h = np.matmul(W1, obs[:, :, None])[..., 0]
            if "b1" in p:
                h += p["b1"]
            u = np.matmul(W2, np.tanh(h)[:, :, None])[..., 0]
            return u + p["b2"] if "b2" in p else u
        return self._torch_call(obs)

    def _torch_call(self, obs: np.ndarray) -> np.ndarray:
        from torch.func import functional_call, vmap

        params = {name: th.as_tensor(v) for name, v in self.params.items()}
        x = th.as_tensor(obs)
        module = self.module

        def one(param_row: dict[str, th.Tensor], obs_row: th.Tensor) -> th.Tensor:
            return functional_call(module, param_row, (obs_row[None],))[0]

        with th.no_grad():
            if self.n_rows == 1:
                return functional_call(module, {k: v[0] for k, v in params.items()}, (x,)).numpy()
            return vmap(one)(params, x).numpy()
