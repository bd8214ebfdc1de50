"""rl-zoo3's hyperparameter files as the zoo writes them, read safely.

A section of rl-zoo3's ``hyperparams/<algo>.yml`` holds SB3 keyword arguments and a few
keys of the zoo's own. :func:`translate` turns one layer of such keys (a ``-conf`` file's
section, or ``-params``) into mollirl's config keys and algorithm keyword arguments:

* numbers as YAML writes them: ``!!float 4.8e4`` where an integer belongs (``n_timesteps``,
  ``n_steps``, ``batch_size``, ...) is the integer 48000 when it is integral; ``1e-3``
  (which YAML 1.1 reads as a string) is the number 0.001 where a number belongs;
* the zoo's string forms: ``policy_kwargs: "dict(log_std_init=-2, net_arch=[64])"`` is read by
  :func:`parse_literal` (Python's ``ast``: dicts, lists, tuples, numbers, strings, booleans and
  dotted names such as ``nn.Tanh``; no code is run, unlike the zoo's ``eval``), and a schedule
  ``lin_0.3`` (the zoo's linear decay from 0.3 to 0 over training) is kept as that string and
  built into SB3's ``LinearSchedule`` by the algorithm;
* the zoo's names for mollirl's keys: ``learning_rate`` is ``step_size`` (PPO's and TRPO's Adam
  learning rate, ARS's step), ``policy: MlpPolicy`` is the ``mlp`` mean, ``n_envs x n_steps`` env
  steps per update become ``batch_episodes`` whole episodes of the run's horizon (the resolver,
  once the horizon is known), ``policy_kwargs`` ``log_std_init`` is ``sigma = exp(log_std_init)``,
  ``net_arch=[h]`` (or ``dict(pi=[h], vf=[...])``) is ``hidden`` (and ``critic_arch``);
* what mollirl cannot do the zoo's way (``normalize``, ``frame_stack``, wrappers, callbacks,
  off-policy keys, a mean network of more than one hidden layer, a non-tanh activation) is
  answered in one line naming every such key and where it was written, before anything is built.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: SB3 keyword arguments that are integers (an integral float there is read as the integer)
INT_KWARGS = frozenset({"n_steps", "batch_size", "n_epochs", "n_envs", "n_critic_updates", "cg_max_steps",
                        "line_search_max_iter", "n_delta", "n_top", "n_eval_episodes", "stats_window_size",
                        "n_timesteps", "sde_sample_freq", "seed", "verbose"})
#: keys that may hold a zoo schedule string (``lin_X``)
SCHEDULE_KEYS = ("learning_rate", "clip_range", "clip_range_vf")
_SCHEDULE = re.compile(r"^lin_([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?(?:inf|nan)$", re.IGNORECASE)

#: zoo keys mollirl does not do, and why (answered in one line naming them)
UNSUPPORTED: dict[str, str] = {
    "frame_stack": "frame stacking (mollirl's policies see the current observation)",
    "env_wrapper": "env wrappers (the rollout core steps the registered env itself)",
    "vec_env_wrapper": "VecEnv wrappers (the rollout core steps the registered env itself)",
    "callback": "zoo callbacks (use --callback NAME of python -m mollirl.train --list)",
    "monitor_kwargs": "Monitor options (every run folder has its monitor.csv written by mollirl)",
    "replay_buffer_class": "replay buffers (mollirl trains on-policy: reinforce, ppo, trpo, ars)",
    "replay_buffer_kwargs": "replay buffers (mollirl trains on-policy: reinforce, ppo, trpo, ars)",
    "noise_type": "off-policy action noise (mollirl's exploration is --sigma, or --use-sde)",
    "noise_std": "off-policy action noise (mollirl's exploration is --sigma, or --use-sde)",
    "train_freq": "off-policy training (mollirl trains on-policy: reinforce, ppo, trpo, ars)",
    "gradient_steps": "off-policy training (mollirl trains on-policy: reinforce, ppo, trpo, ars)",
    "learning_starts": "off-policy training (mollirl trains on-policy: reinforce, ppo, trpo, ars)",
    "buffer_size": "off-policy training (mollirl trains on-policy: reinforce, ppo, trpo, ars)",
    "normalize_kwargs": "VecNormalize (the rollout core steps the raw env: rewards and observations unscaled)",
}
#: SB3 defaults of the steps one env collects per update, when a section gives n_envs without n_steps
N_STEPS_DEFAULT = {"ppo": 2048, "trpo": 2048}


class ZooName(str):
    """A dotted name in a zoo string (``nn.ReLU``): kept as text, never imported."""


def parse_literal(text: str, where: str) -> Any:
    """The value of a zoo string such as ``"dict(net_arch=[64, 64], log_std_init=-2)"``, read by ``ast``
    without running it: ``dict(...)`` with keyword arguments, ``{...}``, lists, tuples, numbers (signed),
    strings, ``True``/``False``/``None`` and dotted names (:class:`ZooName`).

    :param where: how errors name the value (``policy_kwargs of -conf FILE [SECTION]``).
    :raises ValueError: for anything else (a call other than ``dict``, an operator, a lambda, ...).
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{where}: cannot read {text.strip()!r} ({exc.msg})") from None

    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
                and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)) \
                and not isinstance(node.operand.value, bool):
            return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
        if isinstance(node, (ast.List, ast.Tuple)):
            return [value(e) for e in node.elts]
        if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
            return {value(k): value(v) for k, v in zip(node.keys, node.values)}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" \
                and not node.args and all(k.arg is not None for k in node.keywords):
            return {k.arg: value(k.value) for k in node.keywords}
        if isinstance(node, (ast.Name, ast.Attribute)):
            parts = []
            while isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name):
                return ZooName(".".join([node.id, *reversed(parts)]))
        raise ValueError(f"{where}: {ast.unparse(node)!r} is not a literal (dict(...), lists, numbers, strings "
                         "and names are read; no code is run)")

    return value(tree.body)


def schedule_start(text: Any) -> float | None:
    """The initial value of a zoo schedule string ``lin_X`` (None for anything else)."""
    m = _SCHEDULE.match(text) if isinstance(text, str) else None
    return float(m.group(1)) if m else None


def make_schedule(value: Any) -> Any:
    """A ``lin_X`` string as SB3's ``LinearSchedule`` from X to 0 over training (rl-zoo3's linear schedule:
    ``progress_remaining * X``); any other value as it is."""
    start = schedule_start(value)
    if start is None:
        return value
    from stable_baselines3.common.utils import LinearSchedule

    return LinearSchedule(start, 0.0, 1.0)


def as_number(value: Any) -> Any:
    """A string that spells a number (``"1e-3"``: YAML 1.1 reads it as a string) as that float."""
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    return value


def integral(value: Any) -> Any:
    """An integral float (``4.8e4`` as YAML's ``!!float``) as the int; anything else as it is."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


@dataclass
class Translated:
    """One layer in mollirl's keys.

    :param keys: config keys (``algo_kwargs`` holding the algorithm's keyword arguments).
    :param notes: one line each, what was read differently from SB3's meaning.
    :param steps_per_update: ``(n_envs, n_steps)`` when the layer gave either (the resolver turns them into
        ``batch_episodes`` once the horizon is known).
    :param unsupported: ``"key: why"`` of every key mollirl cannot take (the resolver refuses them in one line).
    """

    keys: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    steps_per_update: tuple[int, int | None] | None = None
    unsupported: list[str] = field(default_factory=list)


def _field_types() -> dict[str, str]:
    import dataclasses

    from mollirl.config import RunConfig

    return {f.name: str(f.type) for f in dataclasses.fields(RunConfig)}


def translate(layer: dict[str, Any], algo: str, name: Callable[[str], str]) -> Translated:
    """The mollirl keys of one layer written as rl-zoo3 writes a section (mollirl's own keys pass unchanged).

    :param layer: the layer's keys (``algo_kwargs`` inside it, as ``-params`` puts unknown keys, are read too).
    :param algo: the algorithm the run trains.
    :param name: ``name(key)``: how errors and notes name a key of this layer (``n_timesteps of -conf FILE [S]``).
    :raises ValueError: for a value that cannot be read (a non-integral ``n_timesteps``, a policy_kwargs string
        that is not a literal, a schedule mollirl does not know).
    """
    types = _field_types()
    out = Translated()
    items = {k.replace("-", "_") if k.replace("-", "_") in types else k: v for k, v in layer.items()
             if k != "algo_kwargs"}
    extra = dict(layer.get("algo_kwargs") or {}) if isinstance(layer.get("algo_kwargs"), dict) else {}
    if "algo_kwargs" in layer and not isinstance(layer["algo_kwargs"], dict):
        items["algo_kwargs"] = layer["algo_kwargs"]  # validation names it
    merged = {**extra, **items}
    keys: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    for key, value in merged.items():
        ftype = types.get(key, "")
        if key in UNSUPPORTED:
            out.unsupported.append(f"{name(key)} ({UNSUPPORTED[key]})")
            continue
        if key == "normalize":
            if value in (False, None, "false", "False"):
                continue
            out.unsupported.append(f"{name(key)}: {value!r} (VecNormalize: the rollout core steps the raw env, "
                                   "rewards and observations unscaled; remove it or set normalize: false)")
            continue
        if algo == "ars" and key in ("n_envs", "n_steps", "n_delta", "delta_std", "zero_policy"):
            _ars_key(key, value, name, keys, out)
            continue
        if key in ("n_envs", "n_steps"):
            value = integral(as_number(value))
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name(key)} must be an integer >= 1, got {value!r}")
            n_envs, n_steps = out.steps_per_update or (1, None)
            out.steps_per_update = (value, n_steps) if key == "n_envs" else (n_envs, value)
            continue
        if key == "learning_rate":
            start = schedule_start(value)
            if isinstance(value, str) and start is None:
                value = as_number(value)
                if isinstance(value, str):
                    raise ValueError(f"{name(key)} {value!r}: a number or a linear schedule lin_X (X > 0)")
            if start is not None:
                if algo not in ("ppo", "trpo", "ars"):
                    raise ValueError(f"{name(key)} {value!r}: {algo}'s step size is constant (a number); "
                                     "schedules lin_X are PPO's, TRPO's and ARS's")
                keys["step_size"] = start
                kwargs["learning_rate"] = value
            else:
                keys["step_size"] = value
            continue
        if key in SCHEDULE_KEYS and isinstance(value, str):
            if schedule_start(value) is None:
                value = as_number(value)
                if isinstance(value, str):
                    raise ValueError(f"{name(key)} {value!r}: a number or a linear schedule lin_X")
            kwargs[key] = value
            continue
        if key == "policy":
            if value in ("CnnPolicy", "MultiInputPolicy"):
                raise ValueError(f"{name(key)} {value!r}: mollirl's policies are Gaussian with a linear or tanh-mlp "
                                 f"mean of a flat observation (policy: linear or mlp; SB3's MlpPolicy reads as mlp)")
            keys["policy"] = {"MlpPolicy": "mlp", "LinearPolicy": "linear"}.get(value, value)  # else: the registry
            if value == "MlpPolicy":
                out.notes.append(f"{name(key)} 'MlpPolicy': mollirl's mlp mean u = W2 tanh(W1 s), one hidden "
                                 "layer (width 16 unless policy_kwargs net_arch=[N] says; SB3's: two of 64)")
            continue
        if key == "policy_kwargs":
            if isinstance(value, str):
                value = parse_literal(value, name(key))
            if not isinstance(value, dict):
                raise ValueError(f"{name(key)} must be a mapping (dict(...) or {{...}}), got {value!r}")
            pk, more = _policy_kwargs(value, name(key), out)
            keys["policy_kwargs"] = pk
            keys.update(more)
            continue
        if key in types:
            if "int" in ftype and "float" not in ftype:
                value = integral(as_number(value))
            elif "float" in ftype:
                value = as_number(value)
            keys[key] = value
            continue
        value = as_number(value)
        if key in INT_KWARGS:
            value = integral(value)
        kwargs[key] = value
    if "n_timesteps" in keys or "n_timesteps" in kwargs:
        keys["n_timesteps"] = kwargs.pop("n_timesteps", keys.get("n_timesteps"))
    if kwargs:
        keys["algo_kwargs"] = kwargs
    if out.steps_per_update is not None and out.steps_per_update[1] is None:
        default = N_STEPS_DEFAULT.get(algo)
        out.steps_per_update = (out.steps_per_update[0], default)
    out.keys = keys
    return out


def _ars_key(key: str, value: Any, name: Callable[[str], str], keys: dict[str, Any], out: Translated) -> None:
    """sb3-contrib ARS's zoo keys: ``n_delta`` directions are ``--batch-episodes 2 n_delta`` candidate episodes,
    ``delta_std`` is ``--sigma`` (ARS's parameter-space sigma); ``n_envs`` / ``n_steps`` say how the zoo spreads the
    candidates over env copies, which the batched rollout does not need."""
    if key in ("n_envs", "n_steps"):
        out.notes.append(f"{name(key)}: ARS runs its 2 n_delta candidate episodes side by side in one batched rollout "
                         "(n_envs and n_steps are not needed)")
        return
    if key == "zero_policy":  # sb3-contrib's start from zeros: --policy-init zero
        if value in (True, "True", "true"):
            keys["policy_init"] = "zero"
        return
    if key == "n_delta":
        value = integral(as_number(value))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name(key)} must be an integer >= 1 (ARS's number of directions), got {value!r}")
        keys["batch_episodes"] = 2 * value
        return
    value = as_number(value)
    if isinstance(value, str):
        raise ValueError(f"{name(key)} {value!r}: a number (ARS's delta_std is --sigma; a schedule of it is "
                         "--sigma-schedule, which never reaches 0)")
    keys["sigma"] = value


def _policy_kwargs(value: dict[str, Any], where: str, out: Translated) -> tuple[dict[str, Any], dict[str, Any]]:
    """SB3's policy_kwargs in mollirl's: ``(policy_kwargs, config keys)``; unsupported entries go to ``out``."""
    pk: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    for k, v in value.items():
        if k == "log_std_init":
            v = as_number(v)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{where}: log_std_init must be a finite number, got {v!r}")
            keys["sigma"] = math.exp(v)  # sigma is always a standard deviation, log_std its log
        elif k == "net_arch":
            pi, vf = (v.get("pi"), v.get("vf")) if isinstance(v, dict) else (v, v)
            if not isinstance(pi, list) or any(isinstance(h, bool) or not isinstance(h, int) for h in pi):
                raise ValueError(f"{where}: net_arch must be a list of layer widths or dict(pi=[...], vf=[...]), "
                                 f"got {v!r}")
            if len(pi) == 0:
                keys["policy"] = "linear"
            elif len(pi) == 1:
                pk["hidden"] = pi[0]
                keys["policy"] = "mlp"
            else:
                out.unsupported.append(f"{where} net_arch pi={pi} (mollirl's mlp mean has one hidden layer: "
                                       f"net_arch=[N])")
            if isinstance(vf, list) and vf and all(isinstance(h, int) and not isinstance(h, bool) for h in vf):
                pk["critic_arch"] = list(vf)
        elif k == "activation_fn":
            if str(v) not in ("nn.Tanh", "th.nn.Tanh", "torch.nn.Tanh"):
                out.unsupported.append(f"{where} activation_fn={v} (mollirl's mlp mean is tanh)")
        elif k == "with_bias":  # sb3-contrib ARS's LinearPolicy
            pk["bias"] = bool(v)
        elif k == "share_features_extractor":
            continue  # the features are the observation itself: nothing to share or not
        elif k in ("ortho_init", "use_expln", "squash_output"):
            if bool(v):
                out.unsupported.append(f"{where} {k}={v} (mollirl's policies: {k}=False)")
        elif k in ("optimizer_class", "optimizer_kwargs", "features_extractor_class", "features_extractor_kwargs",
                   "normalize_images", "n_critics", "n_quantiles", "enable_critic_lstm", "lstm_hidden_size"):
            out.unsupported.append(f"{where} {k} (not in mollirl's Gaussian policies)")
        else:
            pk[k] = as_number(v)
    return pk, keys


def steps_note(n_envs: int, n_steps: int, horizon: int, batch: int, where: str) -> str:
    """The line that says how ``n_envs x n_steps`` became whole episodes."""
    return (f"{where}: n_envs {n_envs} x n_steps {n_steps} = {n_envs * n_steps} env steps per update read as "
            f"--batch-episodes {batch} whole episodes of {horizon} steps ({batch * horizon} steps)")


__all__ = ["INT_KWARGS", "SCHEDULE_KEYS", "UNSUPPORTED", "Translated", "ZooName", "as_number", "integral",
           "make_schedule", "parse_literal", "schedule_start", "steps_note", "translate"]
