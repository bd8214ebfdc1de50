"""Gaussian policies ``a ~ N(mu_theta(s), sigma^2 I)`` with a controlled sigma.

The mean network is ``linear`` (``u = -K s + b``, the paper's controllers) or
``mlp`` (``u = W2 tanh(W1 s)``, the paper's hopper controller, optional biases).
sigma is one of

* ``fixed``: a buffer; never in any optimizer; saved and loaded with the policy;
* ``learnable``: a ``log_std`` parameter, scalar (isotropic) or per action dim;
* ``scheduled``: a buffer the training loop sets each epoch (:mod:`mollirl.sigma`).

Log-probabilities are of the *unclipped* Gaussian sample; the env saturates.
The deterministic action is the mean. The policy subclasses SB3's
``ActorCriticPolicy`` so PPO can use it unchanged; REINFORCE builds it with
``critic=False`` (no value network). Parameters are float64: the paper's
landscapes are sensitive at the level of float32 rounding (the quadrotor's
hover thrust m g / 2 is exact in float64 only).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import DiagGaussianDistribution, StateDependentNoiseDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn
from torch.distributions import Normal

from mollirl.sigma import check_sigma

DTYPE = th.float64
LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))  # the constant of torch's Normal.log_prob
SIGMA_MODES = ("fixed", "learnable", "scheduled")


class LinearMean(nn.Module):
    """``u = -K s + b``; ``K`` is ``(action_dim, obs_dim)``, ``b`` is ``(action_dim,)`` (absent if ``bias=False``)."""

    #: the rollout core evaluates it in numpy, bit for bit (:class:`mollirl.rollout.BatchedMean`)
    batched_kind = "linear"

    def __init__(self, obs_dim: int, action_dim: int, bias: bool = True, random: bool = False) -> None:
        super().__init__()
        K = th.randn(action_dim, obs_dim, dtype=DTYPE) / math.sqrt(obs_dim) if random else \
            th.zeros(action_dim, obs_dim, dtype=DTYPE)
        self.K = nn.Parameter(K)  # random: K ~ N(0, 1/obs_dim) entrywise (the mlp's W1 scale), b = 0
        self.b = nn.Parameter(th.zeros(action_dim, dtype=DTYPE)) if bias else None

    def forward(self, obs: th.Tensor) -> th.Tensor:
        out = -obs @ self.K.T
        return out + self.b if self.b is not None else out

    def latent(self, obs: th.Tensor) -> th.Tensor:
        """The features gSDE's noise matrix multiplies (SB3's ``latent_sde``): the observation itself."""
        return obs

    def head(self, latent: th.Tensor) -> th.Tensor:
        """The mean from :meth:`latent` (``forward(s) == head(latent(s))``, the same operations)."""
        return self.forward(latent)


class MLPMean(nn.Module):
    """``u = W2 tanh(W1 s + b1) + b2`` (biases only if ``bias=True``); W ~ N(0, 1/fan_in) at init."""

    #: the rollout core evaluates it in numpy, bit for bit (:class:`mollirl.rollout.BatchedMean`)
    batched_kind = "mlp"

    def __init__(self, obs_dim: int, action_dim: int, hidden: int = 16, bias: bool = False) -> None:
        super().__init__()
        self.W1 = nn.Parameter(th.randn(hidden, obs_dim, dtype=DTYPE) / math.sqrt(obs_dim))
        self.W2 = nn.Parameter(th.randn(action_dim, hidden, dtype=DTYPE) / math.sqrt(hidden))
        self.b1 = nn.Parameter(th.zeros(hidden, dtype=DTYPE)) if bias else None
        self.b2 = nn.Parameter(th.zeros(action_dim, dtype=DTYPE)) if bias else None

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.head(self.latent(obs))

    def latent(self, obs: th.Tensor) -> th.Tensor:
        """The features gSDE's noise matrix multiplies (SB3's ``latent_sde``): the hidden layer ``tanh(W1 s + b1)``."""
        h = obs @ self.W1.T
        if self.b1 is not None:
            h = h + self.b1
        return th.tanh(h)

    def head(self, latent: th.Tensor) -> th.Tensor:
        out = latent @ self.W2.T
        return out + self.b2 if self.b2 is not None else out


MEAN_NETS = {"linear": LinearMean, "mlp": MLPMean}


class NoOptimizer:
    """The optimizer slot of a policy whose algorithm steps it by hand (REINFORCE's normalized step, ARS).

    SB3 policies hold ``self.optimizer`` and save its ``state_dict``; this one has no state and
    cannot step. It is not a ``torch.optim.Optimizer``: constructing one of those imports
    ``torch._dynamo`` (more than a second here), which such an algorithm never needs.
    """

    def __init__(self, params, lr: float = 0.0, **kwargs: Any) -> None:
        self.param_groups = [{"params": list(params), "lr": lr}]
        self.defaults = {"lr": lr}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure: Any = None) -> None:
        raise RuntimeError("NoOptimizer cannot step: the algorithm updates the parameters itself")

    def state_dict(self) -> dict[str, Any]:
        return {"state": {}, "param_groups": [{"lr": g["lr"]} for g in self.param_groups]}

    def load_state_dict(self, state_dict: dict[str, Any], **kwargs: Any) -> None:
        for group, saved in zip(self.param_groups, state_dict.get("param_groups", [])):
            group["lr"] = saved.get("lr", group["lr"])


class _ZeroValue(nn.Module):
    """The value 'network' of a critic-free policy: always 0, no parameters."""

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return th.zeros(obs.shape[0], 1, dtype=obs.dtype, device=obs.device)


class GaussianPolicy(ActorCriticPolicy):
    """SB3 actor-critic policy with a linear or MLP mean and a fixed/learnable/scheduled sigma.

    :param observation_space: a flat ``Box``.
    :param action_space: a ``Box``; its bounds are the env's saturation (the
        policy samples unclipped; SB3 clips before the env for PPO, the env
        saturates for REINFORCE: both equal the env's own saturation).
    :param lr_schedule: SB3 learning-rate schedule (the optimizer's lr).
    :param mean_net: ``"linear"`` or ``"mlp"``.
    :param hidden: MLP hidden width (paper: 16).
    :param bias: linear: include ``b``; MLP: include ``b1, b2`` (paper's MLP: no bias).
    :param mean_init: initial mean parameters by name, e.g. ``{"K": [[...]], "b": [...]}``
        (an env's reference policy); missing names keep their default init.
    :param sigma: initial standard deviation (> 0).
    :param sigma_mode: ``"fixed"``, ``"learnable"`` or ``"scheduled"``.
    :param sigma_per_dim: learnable sigma per action dimension instead of one scalar.
    :param critic: build a value network (PPO) or not (REINFORCE: value is 0).
    :param critic_arch: hidden sizes of the tanh value MLP.
    :param random_mean: a linear mean starts random (``K ~ N(0, 1/obs_dim)`` entrywise, ``b = 0``, from torch's
        generator, which the algorithm seeds with its seed); an mlp mean always does.
    :param use_sde: gSDE (SB3's ``StateDependentNoiseDistribution``, set by the algorithm's ``use_sde``): the
        noise is ``theta_eps^T features(s)`` (features: :meth:`LinearMean.latent`, :meth:`MLPMean.latent`) with
        ``theta_eps ~ N(0, sigma^2)`` entrywise; ``log_std`` is then ``(n_features, action_dim)`` (``full_std``)
        or ``(n_features, 1)``, every entry ``log(sigma)`` at the start.
    :param full_std: with ``use_sde``: one std per entry of the noise matrix (SB3's default), else one per feature.
    :param log_std_init: SB3's name for the initial ``log(sigma)``; when given, ``sigma = exp(log_std_init)``.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        *,
        mean_net: str = "linear",
        hidden: int = 16,
        bias: bool = True,
        mean_init: dict[str, Any] | None = None,
        sigma: float = 0.1,
        sigma_mode: str = "fixed",
        sigma_per_dim: bool = False,
        critic: bool = True,
        critic_arch: tuple[int, ...] | list[int] = (64, 64),
        random_mean: bool = False,
        use_sde: bool = False,
        full_std: bool = True,
        log_std_init: float | None = None,
        **kwargs: Any,
    ) -> None:
        if mean_net not in MEAN_NETS:
            raise ValueError(f"unknown mean_net {mean_net!r}; expected one of {sorted(MEAN_NETS)}")
        if sigma_mode not in SIGMA_MODES:
            raise ValueError(f"unknown sigma_mode {sigma_mode!r}; expected one of {list(SIGMA_MODES)}")
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(f"GaussianPolicy needs a flat Box action space, got {action_space!r}")
        if mean_net == "mlp" and int(hidden) < 1:
            raise ValueError(f"hidden must be >= 1, got {hidden!r}")
        self.mean_net_kind = mean_net
        self.hidden = int(hidden)
        self.bias = bool(bias)
        self.mean_init = mean_init
        self.sigma_init = check_sigma(math.exp(log_std_init) if log_std_init is not None else sigma)
        self.sigma_mode = sigma_mode
        self.sigma_per_dim = bool(sigma_per_dim)
        self.critic = bool(critic)
        self.critic_arch = tuple(int(h) for h in critic_arch)
        self.random_mean = bool(random_mean)
        self.sde_full_std = bool(full_std)
        kwargs.setdefault("ortho_init", False)
        super().__init__(observation_space, action_space, lr_schedule, use_sde=bool(use_sde), full_std=bool(full_std),
                         **kwargs)

    # --- construction ----------------------------------------------------------------
    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            mean_net=self.mean_net_kind, hidden=self.hidden, bias=self.bias, mean_init=self.mean_init,
            sigma=self.sigma_init, sigma_mode=self.sigma_mode, sigma_per_dim=self.sigma_per_dim,
            critic=self.critic, critic_arch=self.critic_arch, random_mean=self.random_mean,
        )
        for unused in ("log_std_init", "use_expln", "squash_output"):
            data.pop(unused, None)
        data.update(use_sde=self.use_sde, full_std=self.sde_full_std)
        return data

    def _build(self, lr_schedule: Schedule) -> None:
        obs_dim = int(np.prod(self.observation_space.shape))
        act_dim = int(self.action_space.shape[0])
        kind = MEAN_NETS[self.mean_net_kind]
        self.mean = kind(obs_dim, act_dim, bias=self.bias, random=self.random_mean) \
            if self.mean_net_kind == "linear" else kind(obs_dim, act_dim, hidden=self.hidden, bias=self.bias)
        if self.mean_init:
            self.set_mean_params(self.mean_init)
        log_sigma = math.log(self.sigma_init)
        if self.use_sde:
            if self.sigma_per_dim:
                raise ValueError("sigma_per_dim is for Gaussian action noise; with --use-sde the noise matrix's std "
                                 "has one entry per feature and action (policy_kwargs full_std: true) or per feature")
            n_features = obs_dim if self.mean_net_kind == "linear" else self.hidden
            shape: tuple[int, ...] = (n_features, act_dim if self.sde_full_std else 1)
        else:
            shape = (act_dim if self.sigma_per_dim and self.sigma_mode == "learnable" else 1,)
        if self.sigma_mode == "learnable":
            self.log_std = nn.Parameter(th.full(shape, log_sigma, dtype=DTYPE))
        else:
            # a buffer: saved in state_dict, excluded from parameters() and so from every optimizer
            self.register_buffer("log_std", th.full(shape, log_sigma, dtype=DTYPE))
        if self.critic:
            layers: list[nn.Module] = []
            last = obs_dim
            for h in self.critic_arch:
                layers += [nn.Linear(last, h, dtype=DTYPE), nn.Tanh()]
                last = h
            layers.append(nn.Linear(last, 1, dtype=DTYPE))
            self.value_net = nn.Sequential(*layers)
        else:
            self.value_net = _ZeroValue()
        if self.use_sde:
            self.action_dist = StateDependentNoiseDistribution(act_dim, full_std=self.sde_full_std, use_expln=False,
                                                               squash_output=False, learn_features=False)
            self.action_dist.latent_sde_dim = self.log_std.shape[0]
            self.action_dist.sample_weights(self.log_std.detach())
        else:
            self.action_dist = DiagGaussianDistribution(act_dim)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    # --- sigma ----------------------------------------------------------------------
    @property
    def sigma(self) -> np.ndarray:
        """Per-action-dimension standard deviation, shape ``(action_dim,)`` (gSDE: the mean over features of the
        noise matrix's std, per action; the matrix itself is :attr:`sde_std`)."""
        act_dim = int(self.action_space.shape[0])
        std = self.log_std.detach().exp().cpu().numpy()
        if self.use_sde:
            std = std.mean(axis=0)
        return np.broadcast_to(std, (act_dim,)).copy()

    @property
    def sde_std(self) -> np.ndarray:
        """gSDE: the std of every entry of the noise matrix, ``(n_features, action_dim)`` (float64)."""
        if not self.use_sde:
            raise ValueError("sde_std: this policy's noise is Gaussian action noise (use_sde is False)")
        std = self.log_std.detach().exp().cpu().numpy().astype(np.float64)
        return np.broadcast_to(std, (std.shape[0], int(self.action_space.shape[0]))).copy()

    def sde_noise(self, rng: np.random.Generator, n_matrices: int, n_streams: int) -> np.ndarray:
        """gSDE noise matrices for the rollout core, ``(n_matrices, n_streams, action_dim, n_features)``: standard
        normals from ``rng`` times :attr:`sde_std` (transposed: the core sums over features last)."""
        std = self.sde_std.T  # (A, F)
        eps = rng.standard_normal((n_matrices, n_streams, *std.shape))
        eps *= std
        return eps

    def set_sigma(self, value: float) -> None:
        """Set sigma of a ``scheduled`` (or ``fixed``) policy; a learnable one refuses."""
        if self.sigma_mode == "learnable":
            raise ValueError("set_sigma on a learnable sigma; it is trained, not set")
        with th.no_grad():
            self.log_std.fill_(math.log(check_sigma(value)))

    def _full_log_std(self, mean: th.Tensor) -> th.Tensor:
        return self.log_std.expand(mean.shape[-1])

    # --- SB3 policy API ---------------------------------------------------------------
    def extract_features(self, obs: PyTorchObs, features_extractor: nn.Module | None = None) -> th.Tensor:  # type: ignore[override]
        return th.as_tensor(obs).reshape(obs.shape[0], -1).to(DTYPE)

    def _distribution(self, features: th.Tensor):
        """SB3's ``DiagGaussianDistribution.proba_distribution`` (the same operations) without torch's
        argument validation, which costs more than the log-densities of a 16k-row batch; non-finite
        values are caught by the algorithms' guards, not here. With gSDE, SB3's
        ``StateDependentNoiseDistribution.proba_distribution`` itself: per step, the marginal
        ``N(mu(s), features(s)^2 @ std^2 + 1e-6)`` (SB3's surrogate for the log-probabilities)."""
        if self.use_sde:
            latent = self.mean.latent(features)
            return self.action_dist.proba_distribution(self.mean.head(latent), self.log_std, latent)
        mean = self.mean(features)
        std = th.ones_like(mean) * self._full_log_std(mean).exp()
        self.action_dist.distribution = Normal(mean, std, validate_args=False)
        return self.action_dist

    def forward(self, obs: th.Tensor, deterministic: bool = False) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        features = self.extract_features(obs)
        distribution = self._distribution(features)
        actions = distribution.get_actions(deterministic=deterministic)
        return actions, self.value_net(features), distribution.log_prob(actions)

    def evaluate_actions(self, obs: PyTorchObs, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        features = self.extract_features(obs)
        distribution = self._distribution(features)
        return self.value_net(features), distribution.log_prob(actions.to(DTYPE)), distribution.entropy()

    def log_prob_of(self, obs: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """``log pi(a | s)`` summed over action dims, ``(rows,)``: torch's ``Normal.log_prob`` and SB3's
        sum, operation for operation (the same bits as :meth:`evaluate_actions`' log-prob and the same
        gradients), without the distribution, the entropy or the value. The std is a full ``(rows, A)``
        tensor only when sigma is learned, so that its gradient is summed as before; a fixed sigma
        stays ``(A,)`` (its squares and logs computed once, not per row)."""
        if self.use_sde:
            return self._distribution(self.extract_features(obs)).log_prob(actions.to(DTYPE))
        mean = self.mean(self.extract_features(obs))
        log_std = self._full_log_std(mean)
        std = th.ones_like(mean) * log_std.exp() if log_std.requires_grad else log_std.exp()
        value = actions.to(DTYPE)
        return (-((value - mean) ** 2) / (2 * std**2) - std.log() - LOG_SQRT_2PI).sum(dim=1)

    def get_distribution(self, obs: PyTorchObs) -> DiagGaussianDistribution:
        return self._distribution(self.extract_features(obs))

    def predict_values(self, obs: PyTorchObs) -> th.Tensor:
        return self.value_net(self.extract_features(obs))

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        features = self.extract_features(observation)
        if deterministic:
            return self.mean(features)
        return self._distribution(features).get_actions(deterministic=False)

    # --- flat mean-parameter access (landscapes) -------------------------------------------
    def mean_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """The mean network's parameters in their fixed order."""
        return list(self.mean.named_parameters())

    def mean_parameter_labels(self) -> list[str]:
        """One label per scalar of the flat mean vector, e.g. ``K[0,4]`` or ``b[1]``."""
        labels = []
        for name, p in self.mean_named_parameters():
            for idx in np.ndindex(*p.shape):
                labels.append(f"{name}[{','.join(map(str, idx))}]")
        return labels

    def get_mean_vector(self) -> np.ndarray:
        """The mean network's parameters as one float64 vector."""
        return th.cat([p.detach().reshape(-1) for _, p in self.mean_named_parameters()]).cpu().numpy().astype(np.float64)

    def set_mean_vector(self, vector: np.ndarray) -> None:
        """Set the mean network's parameters from a flat vector (inverse of :meth:`get_mean_vector`)."""
        vec = th.as_tensor(np.asarray(vector, dtype=np.float64))
        total = sum(p.numel() for _, p in self.mean_named_parameters())
        if vec.shape != (total,):
            raise ValueError(f"mean vector must have shape ({total},), got {tuple(vec.shape)}")
        offset = 0
        with th.no_grad():
            for _, p in self.mean_named_parameters():
                p.copy_(vec[offset: offset + p.numel()].reshape(p.shape).to(p.device))
                offset += p.numel()

    def set_mean_params(self, values: dict[str, Any]) -> None:
        """Set named mean parameters (``K``, ``b``, ``W1``, ...) from array-likes."""
        params = dict(self.mean_named_parameters())
        with th.no_grad():
            for name, value in values.items():
                if name not in params:
                    raise ValueError(f"mean_init has unknown parameter {name!r}; this mean network has {sorted(params)}")
                arr = th.as_tensor(np.asarray(value, dtype=np.float64))
                if arr.shape != params[name].shape:
                    raise ValueError(
                        f"mean_init[{name!r}] must have shape {tuple(params[name].shape)}, got {tuple(arr.shape)}"
                    )
                params[name].copy_(arr)
