"""Named registries (algos, policies, envs, callbacks, studies) and plugin discovery.

The registry imports no plugin. Every plugin, the built-in ones included,
is a module named by an entry point in the group ``mollirl.plugins``
(mollirl's own ``pyproject.toml`` declares ``mollirl.envs``, ``mollirl.algos``,
``mollirl.callbacks`` and ``mollirl.studies``); :func:`load_all_plugins` imports
them, and their import-time ``register`` calls are the only side effect::

    from mollirl.registry import register
    register("envs", "my-env", factory, help="...")

``--plugin MODULE_OR_FILE`` loads a local module (dotted name) or a ``.py`` file
the same way. A built-in plugin that fails to import is an error; a third
party's is logged and skipped.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

KINDS = ("algos", "policies", "envs", "callbacks", "studies")
ENTRY_POINT_GROUP = "mollirl.plugins"


@dataclass(frozen=True)
class Entry:
    """One registered object.

    :param name: the short name users type (``--env quadrotor``).
    :param obj: the class or factory.
    :param help: a one-line description shown by ``--list``.
    :param origin: module that registered it (``mollirl`` for built-ins).
    :param meta: free-form extra data (e.g. an env's Gymnasium id, its preset).
    """

    name: str
    obj: Any
    help: str = ""
    origin: str = ""
    meta: dict = field(default_factory=dict)


class PluginError(RuntimeError):
    """An exception (or a ``sys.exit``) raised inside a plugin while it was imported: the command ends in
    one line naming the plugin (exit code 1; :mod:`mollirl.guard`)."""


_REGISTRIES: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
_LOADED_PLUGINS: set[str] = set()


_DISCOVERY = {"state": "not started"}  # -> "running" -> "done"


def _check_kind(kind: str) -> dict[str, Entry]:
    if kind not in _REGISTRIES:
        raise ValueError(f"unknown registry kind {kind!r}; expected one of {list(KINDS)}")
    return _REGISTRIES[kind]


def _discovered(kind: str) -> dict[str, Entry]:
    """The registry of ``kind`` after the installed plugins were loaded (on the first lookup)."""
    if _DISCOVERY["state"] == "not started":
        load_entry_point_plugins()
    return _check_kind(kind)


def register(kind: str, name: str, obj: Any, *, help: str = "", overwrite: bool = False, **meta: Any) -> Any:
    """Register ``obj`` under ``name`` in registry ``kind``; return ``obj`` (usable as decorator helper).

    :raises ValueError: when ``name`` is taken by a different object and ``overwrite`` is False.
    """
    reg = _check_kind(kind)
    if name in reg and reg[name].obj is not obj and not overwrite:
        raise ValueError(f"{kind} name {name!r} is already registered by {reg[name].origin!r}")
    origin = obj.split(":")[0] if isinstance(obj, str) else (getattr(obj, "__module__", "") or "")
    reg[name] = Entry(name=name, obj=obj, help=help, origin=origin, meta=dict(meta))
    return obj


def closest(name: str, choices: list[str]) -> str:
    """Format the 'did you mean' part of an unknown-name error."""
    match = difflib.get_close_matches(name, choices, n=1, cutoff=0.4)
    hint = f"; did you mean {match[0]!r}?" if match else ""
    return f"valid: {', '.join(sorted(choices))}{hint}"


def get_entry(kind: str, name: str) -> Entry:
    """Look up ``name``; an unknown name raises ``ValueError`` listing valid names and the closest."""
    reg = _discovered(kind)
    if name not in reg:
        singular = kind[:-1] if kind != "policies" else "policy"
        raise ValueError(f"unknown {singular} {name!r} ({closest(name, list(reg))})")
    return reg[name]


def get(kind: str, name: str) -> Any:
    """Return the object registered as ``name`` in ``kind``."""
    return get_entry(kind, name).obj


def names(kind: str) -> list[str]:
    """Sorted names registered in ``kind``."""
    return sorted(_discovered(kind))


def entries(kind: str) -> list[Entry]:
    """Entries of ``kind`` sorted by name."""
    reg = _discovered(kind)
    return [reg[n] for n in sorted(reg)]


def load_plugin(spec: str) -> None:
    """Import a plugin given as a dotted module name or a path to a ``.py`` file.

    :raises ValueError: when the module or file cannot be found or fails to import.
    """
    if spec in _LOADED_PLUGINS:
        return
    path = Path(spec)
    try:
        if spec.endswith(".py") or path.is_file():
            if not path.is_file():
                raise ValueError(f"plugin file {spec!r} does not exist")
            mod_name = f"mollirl_plugin_{path.stem}"
            module_spec = importlib.util.spec_from_file_location(mod_name, path)
            if module_spec is None or module_spec.loader is None:
                raise ValueError(f"cannot load plugin file {spec!r}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[mod_name] = module
            module_spec.loader.exec_module(module)
        else:
            importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        raise ValueError(f"cannot import plugin {spec!r}: {exc}") from exc
    except ValueError:
        raise
    except SystemExit as exc:  # the plugin's own sys.exit: reported as the plugin's, not as mollirl's exit
        raise PluginError(f"plugin {spec!r} called sys.exit({exc.code!r}) while it was imported") from exc
    except Exception as exc:  # a broken plugin must not crash the CLI with a traceback
        first = (str(exc).strip().splitlines() or [""])[0]
        raise PluginError(f"plugin {spec!r} failed to import: {type(exc).__name__}"
                          + (f": {first}" if first else "")) from exc
    _LOADED_PLUGINS.add(spec)


def loaded_plugins() -> list[str]:
    """The plugins imported so far: ``--plugin`` values and entry-point module names (built-ins included)."""
    return sorted(_LOADED_PLUGINS)


#: the distribution whose entry points are the built-in plugins
BUILTIN_DIST = "mollirl"


def load_entry_point_plugins() -> list[str]:
    """Import every module named by an entry point in the ``mollirl.plugins`` group (the first lookup in
    any registry does it too: :func:`get`, :func:`names`, :func:`entries`). Once per process.

    The built-in plugins (entry points of the ``mollirl`` distribution) come first and
    must import; a third-party plugin that fails to import is logged and skipped, so that
    one broken package does not take the command line down. Returns the module names loaded.

    :raises RuntimeError: when mollirl's own entry points are missing (the package is not
        installed: ``pip install -e .``) or a built-in plugin fails to import.
    """
    if _DISCOVERY["state"] != "not started":  # done once per process (a lookup inside a plugin: its peers next)
        return []
    _DISCOVERY["state"] = "running"
    try:
        return _load_entry_points()
    finally:
        _DISCOVERY["state"] = "done"


def _load_entry_points() -> list[str]:
    points = list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    builtin = [ep for ep in points if ep.dist is not None and ep.dist.name == BUILTIN_DIST]
    if not builtin:
        raise RuntimeError("mollirl's built-in plugins are not registered (no 'mollirl.plugins' entry points of "
                           "the mollirl distribution): install the package with pip install -e .")
    loaded = []
    for ep in [*builtin, *(ep for ep in points if ep not in builtin)]:
        if ep.value in _LOADED_PLUGINS:
            continue
        try:
            ep.load()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported, not swallowed silently
            if ep in builtin:
                raise
            logger.warning("mollirl plugin %s (%s) failed to load: %s", ep.name, ep.value, exc)
            continue
        _LOADED_PLUGINS.add(ep.value)
        loaded.append(ep.value)
    return loaded


def load_all_plugins(extra: list[str] | None = None) -> None:
    """The installed entry points (built-ins first), then ``extra`` (``--plugin`` values)."""
    load_entry_point_plugins()
    for spec in extra or []:
        load_plugin(spec)
