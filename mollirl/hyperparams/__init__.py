"""Hyperparameter files like rl-zoo3's: ``hyperparams/<algo>.yml``, one section per env.

The files in this folder (``reinforce.yml``, ``ppo.yml``, ``trpo.yml``, ``ars.yml``) hold
the paper's presets and are their single source: the built-in env plugins and
algorithms carry no numbers of their own (their ``preset`` / ``defaults`` read these
files, :class:`FilePreset`). A section is named by an env's short name or Gymnasium
id and holds config keys (:class:`mollirl.config.RunConfig`'s fields); ``default``
applies to an env without a section (any Gymnasium id, a plugin's env).

What a run gets, lowest first (:func:`resolve_with_sources` says which layer set
each value):

1. :class:`~mollirl.config.RunConfig`'s defaults;
2. an env plugin's own ``preset`` (a third-party env; the built-ins' read these files);
3. an algorithm plugin's own ``defaults`` (a third-party algorithm), then this folder's
   ``<algo>.yml`` ``default`` section when the env has no section of its own;
4. the env plugin's ``preset["algos"][algo]`` (a third-party env's per-algorithm choices);
5. this folder's ``<algo>.yml``, the env's own section;
6. ``-conf FILE``: flat config keys, or rl-zoo3's layout (the env's section, else ``default``);
7. the command line;

then two fallbacks for envs without a preset: with no horizon from any layer, the
env's ``max_episode_steps``; with ``policy_init: reference`` from no layer and an env
without a reference policy, ``random``.

Reading a file is not import-time work: a :class:`FilePreset` reads on first use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


#: the folder of the package's hyperparameter files
HYPERPARAMS_DIR = Path(__file__).parent
#: the section that applies to an env without one of its own
DEFAULT_SECTION = "default"


def algo_file(algo: str) -> Path:
    """``hyperparams/<algo>.yml`` (it may not exist: a plugin's algorithm)."""
    return HYPERPARAMS_DIR / f"{algo}.yml"


def read_file(path: str | Path) -> dict[str, Any]:
    """A hyperparameter file's mapping (``{}`` for a missing package file).

    :raises ValueError: for unreadable or non-mapping YAML.
    """
    from mollirl.config import load_yaml

    return load_yaml(path, "hyperparameter file")


def env_names(env: str) -> list[str]:
    """The names a section of ``env`` may have: the name given, its short name and its Gymnasium id."""
    from mollirl import registry

    names = [env]
    for entry in registry.entries("envs"):
        if env in (entry.name, entry.obj.gym_id):
            names += [entry.name, entry.obj.gym_id]
    return list(dict.fromkeys(names))


def is_sectioned(data: Mapping[str, Any]) -> bool:
    """Whether a file is in rl-zoo3's layout (sections of config keys) rather than flat config keys.

    Sectioned: no top-level key is a config key and every value is a mapping (or empty).
    """
    from mollirl.config import FIELDS

    return bool(data) and all(k.replace("-", "_") not in FIELDS and (v is None or isinstance(v, dict))
                              for k, v in data.items())


def section(data: Mapping[str, Any], env: str) -> tuple[str | None, dict[str, Any]]:
    """``(name, keys)`` of ``env``'s section of a sectioned file, else the ``default`` one; ``(None, {})``."""
    for name in env_names(env):
        if name in data:
            return name, dict(data[name] or {})
    if DEFAULT_SECTION in data:
        return DEFAULT_SECTION, dict(data[DEFAULT_SECTION] or {})
    return None, {}


def package_section(algo: str, env: str) -> tuple[str | None, dict[str, Any]]:
    """``(section name, keys)`` of ``env`` in the package's ``<algo>.yml`` (``(None, {})`` without one)."""
    path = algo_file(algo)
    if not path.is_file():
        return None, {}
    return section(read_file(path), env)


def preset(algo: str, env: str) -> dict[str, Any]:
    """The package file's keys for ``(algo, env)`` (the env's section, else ``default``)."""
    return package_section(algo, env)[1]


class FilePreset(Mapping):
    """A read-only mapping of one section of a package file, read on first use.

    The built-in env plugins' ``preset`` is ``FilePreset("reinforce", env)`` (the paper's
    presets are REINFORCE's); the built-in algorithms' ``defaults`` are
    ``FilePreset(algo, "default")``.
    """

    def __init__(self, algo: str, name: str) -> None:
        self.algo, self.name = algo, name
        self._data: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            data = read_file(algo_file(self.algo))
            self._data = dict(data.get(self.name) or {})
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return f"FilePreset({self.algo!r}, {self.name!r})"


def conf_layer(path: str | Path, env: str | None) -> tuple[dict[str, Any], str]:
    """The config keys a ``-conf FILE`` gives for ``env``, and how to name where they came from.

    Flat files give their keys; sectioned files (rl-zoo3's layout) the env's section, else
    ``default``. A zoo file's ``n_timesteps`` is kept (the caller turns it into epochs).

    :raises ValueError: for a sectioned file with no section for ``env`` and no ``default``.
    """
    from mollirl.config import RunConfig, load_yaml

    data = load_yaml(path)
    if not is_sectioned(data):
        return data, f"-conf {path}"
    env = env or RunConfig.env
    name, keys = section(data, env)
    if name is None:
        raise ValueError(f"-conf {str(path)!r} has no section for env {env!r} and no 'default' section "
                         f"(its sections: {sorted(data)})")
    return keys, f"-conf {path} [{name}]"


def describe(key: str, source: str | None) -> str:
    """How an error names config key ``key`` set by layer ``source``: what the user typed there (the flag on
    the command line, ``-params KEY:VALUE``, the key of a ``-conf`` file's section), not a flag they never typed."""
    from mollirl.config import flag_name

    if source is None or source in ("default", "the command line") or source.startswith("fallback") \
            or source.startswith("the env's"):
        return flag_name(key)
    if source == PARAMS_SOURCE:
        return f"-params {key}:VALUE"
    return f"{key} of {source}"


#: the source name of the ``-params`` layer
PARAMS_SOURCE = "-params"


def resolve_with_sources(env: str, algo: str, conf: tuple[dict[str, Any], str] | None = None,
                         cli: dict[str, Any] | None = None, *, params: dict[str, Any] | None = None,
                         n_timesteps: int | None = None):
    """The validated config of ``(algo, env)`` and where each value came from (see the module docstring).

    A ``-conf`` layer and ``-params`` are read as rl-zoo3 writes its sections (:mod:`mollirl.hyperparams.zoo`:
    YAML numbers, ``policy_kwargs`` strings, schedules, the zoo's names; what mollirl cannot do refused in one
    line naming every such key); a ``-conf`` section's ``n_timesteps`` (or ``n_timesteps``, the ``-n`` flag)
    sets ``epochs = ceil(N / steps_per_epoch)`` unless the command line gives ``--epochs``.

    :param env: env short name or Gymnasium id.
    :param algo: registered algorithm name.
    :param conf: ``(keys, source)`` of a ``-conf`` file (:func:`conf_layer`), or None.
    :param cli: config keys given with flags on the command line.
    :param params: the ``-params`` keys (config keys; the others under ``algo_kwargs``), a layer above ``cli``.
    :param n_timesteps: ``-n/--n-timesteps``.
    :return: ``(config, sources, notes)``: ``sources[key]`` names the layer that set ``key`` last
        (``"default"`` for RunConfig's own), ``notes`` the fallbacks taken and the zoo keys read differently
        from SB3's meaning, one line each.
    :raises ValueError: for unknown keys (naming the layer) and invalid values (naming what was typed).
    """
    import dataclasses
    import math

    from mollirl import registry
    from mollirl.common.env_util import default_horizon, get_env_plugin
    from mollirl.config import RunConfig, merge_layer
    from mollirl.hyperparams import zoo

    plugin = get_env_plugin(env)
    algo_plugin = registry.get("algos", algo)
    name, keys = package_section(algo, env)
    own_preset = {} if isinstance(plugin.preset, FilePreset) else dict(plugin.preset)
    own_defaults = {} if isinstance(algo_plugin.defaults, FilePreset) else dict(algo_plugin.defaults)
    package = (f"mollirl/hyperparams/{algo}.yml [{name}]", keys)
    layers = [("the env plugin's preset", {k: v for k, v in own_preset.items() if k != "algos"}),
              ("the algorithm plugin's defaults", own_defaults)]
    if name == DEFAULT_SECTION:  # the algorithm's defaults for any env: under the env plugin's own choices
        layers.append(package)
    layers.append((f"the env plugin's preset for {algo}", dict(own_preset.get("algos", {}).get(algo, {}))))
    if name not in (None, DEFAULT_SECTION):  # the env's own section
        layers.append(package)
    notes: list[str] = []
    unsupported: list[str] = []
    steps_update: tuple[int, tuple[int, int], str] | None = None  # (layer index, (n_envs, n_steps), source)
    conf_steps: tuple[int, str] | None = None
    for source, layer in ([(conf[1], conf[0])] if conf is not None else []) + \
            [("the command line", dict(cli or {})), (PARAMS_SOURCE, dict(params or {}))]:
        translated = zoo.translate(layer, algo, lambda k, s=source: describe(k, s))
        notes += translated.notes
        unsupported += translated.unsupported
        if "n_timesteps" in translated.keys:
            value = translated.keys.pop("n_timesteps")
            if conf is not None and source == conf[1]:
                conf_steps = (value, source)
        if translated.steps_per_update is not None:
            steps_update = (len(layers), translated.steps_per_update, source)
        layers.append((source, translated.keys))
    if unsupported:
        raise ValueError("mollirl cannot take " + "; ".join(unsupported))
    merged: dict[str, Any] = {}
    sources = {f.name: "default" for f in dataclasses.fields(RunConfig)}
    layer_of = {f.name: -1 for f in dataclasses.fields(RunConfig)}
    for index, (source, layer) in enumerate(layers):
        merged = merge_layer(merged, layer, source)
        for key in layer:
            sources[key.replace("-", "_")] = source
            layer_of[key.replace("-", "_")] = index
    merged["algo"], merged["env"] = algo, env
    if sources["horizon"] == "default":
        steps = default_horizon(env)
        if steps is not None:
            merged["horizon"] = int(steps)
            sources["horizon"] = "the env's max_episode_steps"
    if steps_update is not None and layer_of["batch_episodes"] <= steps_update[0]:
        index, (n_envs, n_steps), source = steps_update
        horizon = merged.get("horizon", RunConfig.horizon)
        if n_steps is None:
            notes.append(f"{describe('n_envs', source)}: without n_steps (no SB3 default for {algo}) "
                         f"--batch-episodes {n_envs} episodes per update")
            batch = n_envs
        else:
            batch = max(1, round(n_envs * n_steps / horizon)) if isinstance(horizon, int) and horizon > 0 else 1
            notes.append(zoo.steps_note(n_envs, n_steps, horizon, batch, source))
        merged["batch_episodes"] = batch
        sources["batch_episodes"] = f"n_envs x n_steps of {source}"
    policy = merged.get("policy", RunConfig.policy)
    linear = registry.get_entry("policies", policy).meta.get("mean_net", policy) == "linear"  # unknown: did you mean
    if sources["policy_init"] == "default" or (merged.get("policy_init", "reference") == "reference"
                                               and not linear and plugin.reference is not None
                                               and layer_of["policy_init"] < layer_of["policy"]):
        if plugin.reference is None or not linear:
            merged["policy_init"] = "random"
            sources["policy_init"] = "fallback: no reference policy"
            if plugin.reference is None:
                why = "has no reference policy"
            else:
                why = f"has a linear reference policy and the policy is {policy}"
                sources["policy_init"] = f"fallback: the reference is linear, the policy {policy}"
            notes.append(f"env {env!r} {why}: the initial mean is random, drawn with --seed (--policy-init random: "
                         f"K or W ~ N(0, 1/fan_in) entrywise, biases 0; --policy-init zero for zeros)")
    config = RunConfig(**merged)
    check_algo_kwargs_known(config, algo_plugin, sources)
    if algo_plugin.check is not None and isinstance(config.algo_kwargs, dict):
        where = sources.get("algo_kwargs", PARAMS_SOURCE)
        algo_plugin.check(config, None if where == PARAMS_SOURCE else (lambda k: describe(k, where)))
    config.validate(lambda k: describe(k, sources.get(k)))
    steps_given = n_timesteps if n_timesteps is not None else (conf_steps[0] if conf_steps else None)
    if steps_given is not None and sources["epochs"] not in ("the command line", PARAMS_SOURCE):
        where = "-n/--n-timesteps" if n_timesteps is not None else describe("n_timesteps", conf_steps[1])
        from mollirl.common.budget import check_count

        steps_given = check_count(steps_given, where)
        config.epochs = math.ceil(steps_given / config.steps_per_epoch)
        sources["epochs"] = (f"-n {steps_given} / {config.steps_per_epoch} steps per epoch, rounded up"
                             if n_timesteps is not None else f"n_timesteps {steps_given} of {conf_steps[1]}")
        config.validate(lambda k: describe(k, sources.get(k)))
    if algo_plugin.notes is not None:
        notes += algo_plugin.notes(config)
    return config, sources, notes


def check_algo_kwargs_known(config, algo_plugin, sources: dict[str, str]) -> None:
    """An algorithm keyword argument its class does not take is refused, naming the layer it came from and the
    closest known key (before anything is built); a plugin algorithm whose class cannot be imported is not checked."""
    import difflib
    import inspect

    if not config.algo_kwargs:
        return
    try:
        cls = algo_plugin.resolve()
    except Exception:  # noqa: BLE001 - a plugin's class that cannot be imported here: its build() says
        return
    accepted: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # a constructor without a readable signature: not checked here
            return
        accepted |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    accepted -= {"self", "policy", "env"}
    source = sources.get("algo_kwargs", "-params")
    for key in config.algo_kwargs:
        if key not in accepted:
            close = difflib.get_close_matches(key, sorted(accepted | set(sources)), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"{describe(key, source)}: {config.algo} takes no {key!r}{hint}")


def _show(value: Any) -> str:
    """A value as ``--show-hyperparams`` prints it: strings quoted, floats in at most 10 significant digits."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if len(repr(value)) <= 12 else f"{value:.10g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def format_sources(config, sources: dict[str, str], ignores: tuple[str, ...] | None = None) -> str:
    """The table ``--show-hyperparams`` prints: every config key the algorithm uses, its value and where it came
    from.

    :param ignores: keys the algorithm does not use (default: its plugin's ``ignores``).
    """
    if ignores is None:
        from mollirl import registry

        ignores = registry.get("algos", config.algo).ignores
    rows = [(k, _show(v), sources.get(k, "default")) for k, v in config.to_dict().items() if k not in ignores]
    width = max(len(k) for k, _, _ in rows)
    vwidth = min(40, max(len(v) for _, v, _ in rows))
    lines = [f"hyperparameters of {config.algo} on {config.env} ({config.steps_per_epoch} env steps per epoch, "
             f"{config.total_timesteps} in all):"]
    lines += [f"  {k:<{width}}  {v:<{vwidth}}  {s}" for k, v, s in rows]
    return "\n".join(lines)


__all__ = ["DEFAULT_SECTION", "PARAMS_SOURCE", "describe", "HYPERPARAMS_DIR", "FilePreset", "algo_file", "conf_layer",
           "is_sectioned",
           "format_sources", "package_section", "preset", "read_file", "resolve_with_sources", "section"]
