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


#: ``-params`` values each algorithm needs, checked before anything is built or written: a
#: rule is ``(test, what it needs)``. SB3 asserts some of them deep in its constructor (batch_size > 1)
#: and fails on others only in its first update (``n_epochs: 0`` gives an ``UnboundLocalError``).
def _int_at_least(low: int):
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low), f"an integer >= {low}"


def _number_in(low: float, high: float, low_open: bool = False):
    def test(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            return False
        return (v > low if low_open else v >= low) and v <= high

    return test, f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"


_POSITIVE = _number_in(0.0, float("inf"), low_open=True)
_NON_NEGATIVE = _number_in(0.0, float("inf"))
_KWARG_RULES: dict[str, dict[str, tuple]] = {
    "ppo": {"n_epochs": _int_at_least(1), "batch_size": _int_at_least(2), "clip_range": _POSITIVE,
            "gae_lambda": _number_in(0.0, 1.0), "ent_coef": _NON_NEGATIVE, "vf_coef": _NON_NEGATIVE,
            "max_grad_norm": _POSITIVE},
    "trpo": {"batch_size": _int_at_least(2), "cg_max_steps": _int_at_least(1), "n_critic_updates": _int_at_least(1),
             "line_search_max_iter": _int_at_least(1), "target_kl": _POSITIVE, "gae_lambda": _number_in(0.0, 1.0),
             "cg_damping": _NON_NEGATIVE, "line_search_shrinking_factor": _number_in(0.0, 1.0, low_open=True)},
    "ars": {"n_delta": _int_at_least(1), "n_top": _int_at_least(1), "n_eval_episodes": _int_at_least(1)},
}


def check_algo_kwargs(algo: str, kwargs: dict[str, Any], name=None) -> None:
    """Refuse a ``-params`` value the algorithm cannot use, naming it (one line, before any folder).

    :param name: ``name(key)``: how the key was written (the resolver's: ``clip_range of -conf FILE [SECTION]``);
        default ``-params KEY:VALUE``.
    """
    from mollirl.hyperparams.zoo import schedule_start

    for key, (test, needs) in _KWARG_RULES.get(algo, {}).items():
        value = kwargs.get(key)
        if schedule_start(value) is not None:  # the zoo's lin_X: its start must meet the rule
            value = schedule_start(value)
        if key in kwargs and not callable(value) and not test(value):  # SB3 schedules: callables
            where = f"-params {key}:{kwargs[key]!r}" if name is None else f"{name(key)} {kwargs[key]!r}"
            raise ValueError(f"{where}: {algo} needs {needs}")
    if algo == "ars" and isinstance(kwargs.get("n_top"), int) and isinstance(kwargs.get("n_delta"), int) \
            and kwargs["n_top"] > kwargs["n_delta"]:
        where = f"-params n_top:{kwargs['n_top']}" if name is None else f"{name('n_top')} {kwargs['n_top']}"
        raise ValueError(f"{where}: ARS needs n_top <= n_delta ({kwargs['n_delta']})")


def _check(config, name) -> None:
    """The resolver's check of an algorithm's keyword arguments, naming where each was written."""
    kwargs = dict(config.algo_kwargs)
    if config.algo == "ars":
        kwargs.setdefault("n_delta", config.batch_episodes // 2)
    check_algo_kwargs(config.algo, kwargs, name)


def _build_reinforce(config, env, policy_kwargs: dict[str, Any], **contract: Any):
    from mollirl.algos.reinforce import REINFORCE

    if config.use_sde:
        raise ValueError(SDE_REINFORCE)
    return REINFORCE(
        "GaussianPolicy", env, step_size=config.step_size, gamma=config.gamma, baseline=config.baseline,
        update=config.update, policy_kwargs=policy_kwargs, seed=config.seed, device=config.device,
        **contract, **config.algo_kwargs,
    )


#: why REINFORCE does not take --use-sde (README, docs/landscapes.md)
SDE_REINFORCE = ("--use-sde is PPO's and TRPO's (--algo ppo or trpo): REINFORCE's estimator is the likelihood "
                 "ratio of independent per-step Gaussian actions, while gSDE holds one noise matrix for "
                 "--sde-sample-freq steps, so an episode's actions have no per-step density to differentiate "
                 "(PPO and TRPO use SB3's per-step marginal as their surrogate)")


def default_batch_size(steps_per_epoch: int, cap: int = 1000) -> int:
    """PPO's and TRPO's default minibatch: the largest divisor of an epoch's steps that is at most ``cap`` (every
    minibatch whole; 1000 for the paper's 16 x 1000 and 32 x 1000 epochs)."""
    best = 1
    for d in range(1, int(steps_per_epoch ** 0.5) + 1):
        if steps_per_epoch % d == 0:
            for c in (d, steps_per_epoch // d):
                if c <= cap:
                    best = max(best, c)
    return best if best >= 2 or steps_per_epoch < 2 else min(steps_per_epoch, cap)


def _minibatch_notes(config) -> list[str]:
    """SB3's mini-batch UserWarning of PPO and TRPO, said as one line with what to change."""
    batch = config.algo_kwargs.get("batch_size")
    steps = config.steps_per_epoch
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 2 or steps % batch == 0:
        return []
    good = sorted({d for d in range(2, min(steps, 4 * batch) + 1) if steps % d == 0},
                  key=lambda d: (abs(d - batch), d))[:2]
    hint = f"; a divisor such as {' or '.join(map(str, sorted(good)))}" if good else ""
    return [f"-params batch_size:{batch} does not divide the {steps} env steps of an epoch "
            f"({config.batch_episodes} episodes x {config.horizon}): every epoch's last minibatch has "
            f"{steps % batch} steps{hint} avoids it"]


def _build_actor_critic(cls_name: str, defaults: dict[str, Any]):
    def build(config, env, policy_kwargs: dict[str, Any], **contract: Any):
        from mollirl.algos import ppo
        from mollirl.hyperparams.zoo import make_schedule

        kwargs = {k: (v(config) if callable(v) else v) for k, v in defaults.items()}
        kwargs.update(config.algo_kwargs)
        check_algo_kwargs(config.algo, kwargs)
        kwargs.setdefault("learning_rate", config.step_size)
        kwargs = {k: make_schedule(v) for k, v in kwargs.items()}  # the zoo's lin_X: SB3's LinearSchedule
        return getattr(ppo, cls_name)(
            "GaussianPolicy", env, gamma=config.gamma, use_sde=config.use_sde, sde_sample_freq=config.sde_sample_freq,
            policy_kwargs={**policy_kwargs, "critic": True}, seed=config.seed, device=config.device,
            **contract, **kwargs,
        )

    return build


def _build_ars(config, env, policy_kwargs: dict[str, Any], **contract: Any):
    from mollirl.algos.ars import MollifiedARS

    from mollirl.hyperparams.zoo import make_schedule

    if config.use_sde:
        raise ValueError("--use-sde is PPO's and TRPO's: ARS perturbs the parameters (its --sigma is delta_std), "
                         "its policy acts with its mean")
    if config.learn_sigma:
        raise ValueError("ARS has no learnable sigma: its parameter-space sigma (delta_std) is --sigma, "
                         "optionally scheduled with --sigma-schedule")
    if config.batch_episodes % 2 or config.batch_episodes < 2:
        raise ValueError(f"ARS evaluates 2 n_delta candidates, one episode each: --batch-episodes must be even, "
                         f"got {config.batch_episodes}")
    kwargs = dict(n_delta=config.batch_episodes // 2, learning_rate=config.step_size, delta_std=config.sigma,
                  n_eval_episodes=1, gamma=config.gamma)
    kwargs.update(config.algo_kwargs)
    check_algo_kwargs("ars", kwargs)
    kwargs = {k: make_schedule(v) for k, v in kwargs.items()}  # the zoo's lin_X: SB3's LinearSchedule
    policy_kwargs = {k: v for k, v in policy_kwargs.items() if k != "sigma_mode"}
    return MollifiedARS("GaussianPolicy", env, policy_kwargs=policy_kwargs, seed=config.seed, device=config.device,
                        **contract, **kwargs)


register("algos", "reinforce", AlgoPlugin(cls="mollirl.algos.reinforce:REINFORCE", build=_build_reinforce,
                                          defaults=FilePreset("reinforce", "default"), ignores=("sde_sample_freq",)),
         help="REINFORCE, whole episodes, normalized gradient steps (the paper's)")
register("algos", "ppo",
         AlgoPlugin(cls="mollirl.algos.ppo:MollifiedPPO",
                    build=_build_actor_critic("MollifiedPPO", {"batch_size": lambda c: default_batch_size(
                        c.steps_per_epoch), "n_epochs": 10}),
                    defaults=FilePreset("ppo", "default"), ignores=("baseline", "update"), notes=_minibatch_notes,
                    check=_check),
         help="SB3 PPO with mollirl's Gaussian policies (fixed/learnable/scheduled sigma)")
register("algos", "trpo",
         AlgoPlugin(cls="mollirl.algos.ppo:MollifiedTRPO",
                    build=_build_actor_critic("MollifiedTRPO", {"batch_size": lambda c: default_batch_size(
                        c.steps_per_epoch)}),
                    defaults=FilePreset("trpo", "default"), ignores=("baseline", "update"), notes=_minibatch_notes,
                    check=_check),
         help="sb3-contrib TRPO with mollirl's Gaussian policies (action-space sigma)")
register("algos", "ars",
         AlgoPlugin(cls="mollirl.algos.ars:MollifiedARS", build=_build_ars,
                    defaults=FilePreset("ars", "default"),
                    ignores=("baseline", "update", "learn_sigma", "use_sde", "sde_sample_freq"), check=_check),
         help="sb3-contrib ARS: Gaussian smoothing in parameter space; --sigma is delta_std")


register("policies", "linear", "mollirl.policies:GaussianPolicy", help="u = -K s + b (+ Gaussian noise)",
         mean_net="linear")
register("policies", "mlp", "mollirl.policies:GaussianPolicy",
         help="u = W2 tanh(W1 s) (+ Gaussian noise), width 16, no bias by default", mean_net="mlp")
