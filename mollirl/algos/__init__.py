"""Built-in algorithms and policies (a plugin, loaded through the ``mollirl.plugins`` entry points).

Each ``algos`` entry is an :class:`~mollirl.common.plugins.AlgoPlugin`: the
class (resolved on first use, so registering imports no torch) and a ``build``
function ``(config, env, policy_kwargs, **contract) -> model``; ``contract`` holds
the :class:`~mollirl.common.algorithm.EpochAlgorithm` arguments the trainer
passes to every algorithm (``horizon``, ``planned_epochs``, ``sigma_schedule``,
``eval_options``, ``rollout_env``). The ``policies`` entries name
:class:`~mollirl.policies.GaussianPolicy` (as a ``"module:Class"`` string) with
its mean network in ``meta["mean_net"]``. Their hyperparameters are in
``mollirl/hyperparams/<algo>.yml`` (``defaults`` reads its ``default`` section).
"""

from __future__ import annotations

from typing import Any

from mollirl.common.plugins import AlgoPlugin
from mollirl.hyperparams import FilePreset
from mollirl.registry import register


def _build_reinforce(config, env, policy_kwargs: dict[str, Any], **contract: Any):
    from mollirl.algos.reinforce import REINFORCE

    return REINFORCE(
        "GaussianPolicy", env, step_size=config.step_size, gamma=config.gamma, baseline=config.baseline,
        update=config.update, policy_kwargs=policy_kwargs, seed=config.seed, device=config.device,
        **contract, **config.algo_kwargs,
    )


def _build_actor_critic(cls_name: str, defaults: dict[str, Any]):
    def build(config, env, policy_kwargs: dict[str, Any], **contract: Any):
        from mollirl.algos import ppo

        kwargs = {k: (v(config) if callable(v) else v) for k, v in defaults.items()}
        kwargs.update(config.algo_kwargs)
        return getattr(ppo, cls_name)(
            "GaussianPolicy", env, learning_rate=config.step_size, gamma=config.gamma,
            policy_kwargs={**policy_kwargs, "critic": True}, seed=config.seed, device=config.device,
            **contract, **kwargs,
        )

    return build


def _build_ars(config, env, policy_kwargs: dict[str, Any], **contract: Any):
    from mollirl.algos.ars import MollifiedARS

    if config.learn_sigma:
        raise ValueError("ARS has no learnable sigma: its parameter-space sigma (delta_std) is --sigma, "
                         "optionally scheduled with --sigma-schedule")
    if config.batch_episodes % 2 or config.batch_episodes < 2:
        raise ValueError(f"ARS evaluates 2 n_delta candidates, one episode each: --batch-episodes must be even, "
                         f"got {config.batch_episodes}")
    kwargs = dict(n_delta=config.batch_episodes // 2, learning_rate=config.step_size, delta_std=config.sigma,
                  n_eval_episodes=1, gamma=config.gamma)
    kwargs.update(config.algo_kwargs)
    policy_kwargs = {k: v for k, v in policy_kwargs.items() if k != "sigma_mode"}
    return MollifiedARS("GaussianPolicy", env, policy_kwargs=policy_kwargs, seed=config.seed, device=config.device,
                        **contract, **kwargs)


register("algos", "reinforce", AlgoPlugin(cls="mollirl.algos.reinforce:REINFORCE", build=_build_reinforce,
                                          defaults=FilePreset("reinforce", "default")),
         help="REINFORCE, whole episodes, normalized gradient steps (the paper's)")
register("algos", "ppo",
         AlgoPlugin(cls="mollirl.algos.ppo:MollifiedPPO",
                    build=_build_actor_critic("MollifiedPPO", {"batch_size": lambda c: min(c.steps_per_epoch, 1000),
                                                               "n_epochs": 10}),
                    defaults=FilePreset("ppo", "default")),
         help="SB3 PPO with mollirl's Gaussian policies (fixed/learnable/scheduled sigma)")
register("algos", "trpo",
         AlgoPlugin(cls="mollirl.algos.ppo:MollifiedTRPO",
                    build=_build_actor_critic("MollifiedTRPO", {"batch_size": lambda c: min(c.steps_per_epoch, 1000)}),
                    defaults=FilePreset("trpo", "default")),
         help="sb3-contrib TRPO with mollirl's Gaussian policies (action-space sigma)")
register("algos", "ars",
         AlgoPlugin(cls="mollirl.algos.ars:MollifiedARS", build=_build_ars,
                    defaults=FilePreset("ars", "default")),
         help="sb3-contrib ARS: Gaussian smoothing in parameter space; --sigma is delta_std")


register("policies", "linear", "mollirl.policies:GaussianPolicy", help="u = -K s + b (+ Gaussian noise)",
         mean_net="linear")
register("policies", "mlp", "mollirl.policies:GaussianPolicy",
         help="u = W2 tanh(W1 s) (+ Gaussian noise), width 16, no bias by default", mean_net="mlp")
