"""What a model zip in a run folder is, read without loading it: foreign and mismatched files in one line.

A run folder's ``model.zip`` (or checkpoint) may be a file mollirl did not write: a plain SB3
model (another policy class, no epoch count), a zip of another mollirl algorithm, a model of
another env, or no SB3 zip at all. :func:`check_model_zip` reads the zip's ``data`` JSON (never
unpickling anything) and refuses such a file in one line naming it and what it is, before
SB3's ``load`` would fail deep inside (or succeed and return something that is not the run's).
"""

from __future__ import annotations

import base64
import inspect
import json
import pickletools
import zipfile
from pathlib import Path
from typing import Any


def _class_name(entry: Any) -> str | None:
    """``module.Class`` of an SB3-serialized class (``{":serialized:": <base64 cloudpickle>}``), read from
    the pickle's opcodes (nothing is unpickled)."""
    if not isinstance(entry, dict):
        return None
    module = entry.get("__module__")
    blob = entry.get(":serialized:")
    strings: list[str] = []
    if isinstance(blob, str):
        try:
            for op, arg, _ in pickletools.genops(base64.b64decode(blob)):
                if isinstance(arg, str):
                    strings.append(arg)
                if op.name in ("STACK_GLOBAL", "GLOBAL"):
                    break
        except Exception:  # noqa: BLE001 - an unreadable pickle: the module alone is still informative
            strings = []
    if op_global := [s for s in strings if " " in s]:  # protocol <= 3: "module name" in one GLOBAL argument
        mod, _, name = op_global[-1].partition(" ")
        return f"{mod}.{name}"
    if len(strings) >= 2:
        return f"{strings[-2]}.{strings[-1]}"
    return f"{module}.?" if module else None


def _shape(entry: Any) -> tuple[int, ...] | None:
    if isinstance(entry, dict) and isinstance(entry.get("_shape"), list):
        return tuple(int(n) for n in entry["_shape"])
    return None


def read_zip(path: str | Path) -> dict[str, Any]:
    """The ``data`` JSON of an SB3 zip. :raises ValueError: (one line) for a file that is not one."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            data = json.loads(zf.read("data"))
    except zipfile.BadZipFile:
        raise ValueError(f"{str(path)!r} is not a zip file (not a model saved by python -m mollirl.train)") from None
    except KeyError:
        raise ValueError(f"{str(path)!r} is a zip file without SB3's 'data' entry: not a model saved by "
                         "python -m mollirl.train") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} is unreadable ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r} holds no SB3 model data")
    return data


def describe(data: dict[str, Any]) -> str:
    """``SB3 model with policy stable_baselines3.common.policies.ActorCriticPolicy, observations (3,), actions (1,)``."""
    policy = _class_name(data.get("policy_class")) or "an unknown policy"
    parts = [f"policy {policy}"]
    for key, label in (("observation_space", "observations"), ("action_space", "actions")):
        shape = _shape(data.get(key))
        if shape is not None:
            parts.append(f"{label} {shape}")
    return "an SB3 model with " + ", ".join(parts)


def _init_params(cls: type) -> set[str]:
    """Every ``__init__`` parameter along ``cls``'s MRO (SB3 saves most of them as attributes)."""
    out: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            try:
                out |= {n for n, p in inspect.signature(init).parameters.items()
                        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
            except (TypeError, ValueError):
                pass
    return out - {"self", "policy", "env"}


def guess_algo(data: dict[str, Any]) -> str | None:
    """The registered algorithm whose own constructor parameters (those no other registered algorithm has)
    the zip's data holds, or None when no single one fits."""
    from mollirl import registry

    params = {}
    for name in registry.names("algos"):
        try:
            params[name] = _init_params(registry.get("algos", name).resolve())
        except Exception:  # noqa: BLE001 - a plugin algorithm that cannot be imported is no candidate
            continue
    scores = {}
    for name, mine in params.items():
        own = mine - set().union(*(p for n, p in params.items() if n != name))
        if own:  # an attribute may be saved under another name (REINFORCE's update as update_rule)
            scores[name] = len(own & set(data)) / len(own)
    fits = [n for n, score in scores.items() if score >= 0.6]
    return fits[0] if len(fits) == 1 else None


def check_model_zip(path: str | Path, *, algo: str, env: str, obs_shape: tuple[int, ...] | None = None,
                    action_shape: tuple[int, ...] | None = None) -> None:
    """Refuse (``ValueError``, one line naming ``path`` and what it holds) a zip that is not a mollirl model of
    ``algo`` on ``env`` (whose spaces have ``obs_shape`` and ``action_shape`` when given)."""
    path = Path(path)
    data = read_zip(path)
    policy = _class_name(data.get("policy_class")) or ""
    if not policy.startswith("mollirl.") or "epoch" not in data:
        raise ValueError(f"{str(path)!r} is {describe(data)}, not a mollirl model (mollirl saves a "
                         "mollirl.policies.GaussianPolicy and its epoch count): it was not written by "
                         "python -m mollirl.train")
    shapes = _shape(data.get("observation_space")), _shape(data.get("action_space"))
    wanted = obs_shape, action_shape
    if any(w is not None and s is not None and tuple(w) != s for s, w in zip(shapes, wanted)):
        raise ValueError(f"{str(path)!r} is a model of observations {shapes[0]} and actions {shapes[1]}; the run's env "
                         f"{env!r} has observations {tuple(obs_shape or ())} and actions {tuple(action_shape or ())}: "
                         "the zip belongs to another env")
    other = guess_algo(data)
    if other is not None and other != algo:
        raise ValueError(f"{str(path)!r} is a {other} model (its saved parameters are {other}'s); the run is {algo}: "
                         "the zip belongs to another run")


def check_run_zip(path: str | Path, config) -> None:
    """:func:`check_model_zip` of a zip in the run folder of ``config`` (a :class:`~mollirl.config.RunConfig`):
    its algorithm, and its env's spaces (one env made and closed)."""
    from mollirl.common.env_util import make_env

    env = make_env(config.env, **config.env_kwargs)
    try:
        shapes = tuple(env.observation_space.shape), tuple(env.action_space.shape)
    finally:
        env.close()
    check_model_zip(path, algo=config.algo, env=config.env, obs_shape=shapes[0], action_shape=shapes[1])
