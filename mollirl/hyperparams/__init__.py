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


def resolve_with_sources(env: str, algo: str, conf: tuple[dict[str, Any], str] | None = None,
                         cli: dict[str, Any] | None = None):
    """The validated config of ``(algo, env)`` and where each value came from (see the module docstring).

    :param env: env short name or Gymnasium id.
    :param algo: registered algorithm name.
    :param conf: ``(keys, source)`` of a ``-conf`` file (:func:`conf_layer`), or None.
    :param cli: config keys given on the command line.
    :return: ``(config, sources, notes)``: ``sources[key]`` names the layer that set ``key`` last
        (``"default"`` for RunConfig's own), ``notes`` the fallbacks taken, one line each.
    :raises ValueError: for unknown keys (naming the layer) and invalid values (naming the flag).
    """
    import dataclasses

    from mollirl import registry
    from mollirl.common.env_util import default_horizon, get_env_plugin
    from mollirl.config import RunConfig, merge_layer

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
    if conf is not None:
        layers.append((conf[1], conf[0]))
    layers.append(("the command line", dict(cli or {})))
    merged: dict[str, Any] = {}
    sources = {f.name: "default" for f in dataclasses.fields(RunConfig)}
    for source, layer in layers:
        merged = merge_layer(merged, layer, source)
        for key in layer:
            sources[key.replace("-", "_")] = source
    merged["algo"], merged["env"] = algo, env
    notes: list[str] = []
    if sources["horizon"] == "default":
        steps = default_horizon(env)
        if steps is not None:
            merged["horizon"] = int(steps)
            sources["horizon"] = "the env's max_episode_steps"
    if sources["policy_init"] == "default":
        policy = merged.get("policy", RunConfig.policy)
        if plugin.reference is None or policy != "linear":
            merged["policy_init"] = "random"
            sources["policy_init"] = "fallback: no reference policy"
            why = "has no reference policy" if plugin.reference is None else f"has a {policy} policy"
            notes.append(f"env {env!r} {why}: the initial mean is random (--policy-init random; "
                         f"give --policy-init zero for zeros)")
    return RunConfig(**merged).validate(), sources, notes


def format_sources(config, sources: dict[str, str]) -> str:
    """The table ``--show-hyperparams`` prints: every config key, its value and where it came from."""
    rows = [(k, repr(v) if isinstance(v, str) else str(v), sources.get(k, "default"))
            for k, v in config.to_dict().items()]
    width = max(len(k) for k, _, _ in rows)
    vwidth = min(40, max(len(v) for _, v, _ in rows))
    lines = [f"hyperparameters of {config.algo} on {config.env} ({config.steps_per_epoch} env steps per epoch, "
             f"{config.total_timesteps} in all):"]
    lines += [f"  {k:<{width}}  {v:<{vwidth}}  {s}" for k, v, s in rows]
    return "\n".join(lines)


__all__ = ["DEFAULT_SECTION", "HYPERPARAMS_DIR", "FilePreset", "algo_file", "conf_layer", "is_sectioned",
           "format_sources", "package_section", "preset", "read_file", "resolve_with_sources", "section"]
