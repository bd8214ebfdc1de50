"""The rollout core: every rollout mollirl does, in one place.

Rows = points x episodes, each row a parameter set of the policy's mean, a reset
(seed, options), an optional noise stream and an optional fixed first action
(:class:`Rows`); a backend steps all rows together (:class:`AnalyticBackend` for
an env's pure batched dynamics, :class:`VecEnvBackend` for VecEnvs) and returns
per-row discounted and undiscounted returns, lengths, final observations and
divergence flags by one rule, plus the buffers a gradient needs
(:class:`RolloutResult`, :class:`Buffers`). Training epochs, J_det, landscapes,
ARS candidates, the policy-gradient direction and populations all call it.

Importing this package imports neither MuJoCo nor any env.
"""

from mollirl.rollout.backends import AnalyticBackend, BatchedDynamics, VecEnvBackend, backend_for, pure_dynamics
from mollirl.rollout.core import EVAL_SEED, Block, Buffers, RolloutResult, Rows, concat_rows
from mollirl.rollout.mean import BatchedMean

__all__ = ["EVAL_SEED", "AnalyticBackend", "BatchedDynamics", "BatchedMean", "Block", "Buffers", "RolloutResult", "Rows",
           "VecEnvBackend", "backend_for", "concat_rows", "pure_dynamics"]
