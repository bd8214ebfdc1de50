"""An exception raised inside a plugin, told in one line: the plugin, the call and the exception.

A plugin (an env, algorithm, policy, callback or study brought by ``--plugin`` or a third-party
entry point) runs inside mollirl's loops: its ``step`` raises deep in the rollout core, its
callback inside SB3. The command then ends with one line naming the plugin, the plugin's
function that raised and the exception (exit code 1), instead of a traceback through mollirl.
``--traceback`` (every command's flag) or the environment variable ``MOLLIRL_TRACEBACK=1``
prints the full traceback for the plugin's author as well.

:func:`plugin_error_line` finds the plugin in the traceback: the outermost frame whose file
belongs to a loaded plugin (a ``--plugin`` file, or the package of a plugin module); an
exception with no plugin frame is mollirl's own (a bug: its traceback is printed).
:class:`mollirl.registry.PluginError` carries errors the registry catches itself (an
exception or ``sys.exit`` while a plugin is imported).
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from types import TracebackType

#: the environment variable that asks every command (and the processes it starts) for full tracebacks
TRACEBACK_ENV = "MOLLIRL_TRACEBACK"


def tracebacks_wanted() -> bool:
    return os.environ.get(TRACEBACK_ENV, "") not in ("", "0", "no", "false")


def plugin_roots() -> dict[Path, str]:
    """The files and folders of the plugins loaded in this process -> how to name the plugin.

    ``--plugin FILE.py``: that file; ``--plugin MODULE`` and third-party entry points: the folder of
    the module's top-level package (its single file for a top-level module). mollirl's own plugins
    are not plugins here.
    """
    from mollirl import registry

    roots: dict[Path, str] = {}
    for spec in sorted(registry.loaded_plugins()):
        if spec.endswith(".py") or Path(spec).is_file():
            roots[Path(spec).resolve()] = spec
            continue
        top = spec.split(":")[0].split(".")[0]
        if top == "mollirl":
            continue
        module = sys.modules.get(top)
        file = getattr(module, "__file__", None)
        if file is None:
            continue
        path = Path(file).resolve()
        roots[path.parent if path.name == "__init__.py" else path] = spec
    return roots


def _plugin_of(filename: str, roots: dict[Path, str]) -> str | None:
    try:
        path = Path(filename).resolve()
    except (OSError, ValueError):
        return None
    for root, name in roots.items():
        if path == root or root in path.parents:
            return name
    return None


def _frames(tb: TracebackType | None):
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def _where(frame, lineno: int) -> str:
    code = frame.f_code
    name = getattr(code, "co_qualname", code.co_name)
    return f"{name} ({Path(code.co_filename).name}:{lineno})"


def exception_text(exc: BaseException) -> str:
    """``RuntimeError: the message`` on one line (the first line of the message)."""
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__


def plugin_error_line(exc: BaseException) -> str | None:
    """``plugin 'P' raised in F (file:line): E: message`` when ``exc`` was raised inside a loaded plugin,
    else None. The notes added to ``exc`` (what was kept or removed) follow, ``; ``-separated."""
    from mollirl.registry import PluginError

    notes = [str(n) for n in getattr(exc, "__notes__", ())]
    if isinstance(exc, PluginError):
        return "; ".join([str(exc), *notes])
    roots = plugin_roots()
    if not roots:
        return None
    first = None
    for frame, lineno in _frames(exc.__traceback__):
        name = _plugin_of(frame.f_code.co_filename, roots)
        if name is not None:
            first = (name, frame, lineno)
            break
    if first is None:
        return None
    name, frame, lineno = first
    line = f"plugin {name!r} raised in {_where(frame, lineno)}: {exception_text(exc)}"
    return "; ".join([line, *notes])


def report(prog: str, exc: BaseException) -> int | None:
    """Print ``exc`` for the command ``prog`` if it came from a plugin (exit code 1), with the full
    traceback first when asked for (:func:`tracebacks_wanted`); None if it is not a plugin's."""
    line = plugin_error_line(exc)
    if line is None:
        return None
    if tracebacks_wanted():
        traceback.print_exception(exc, file=sys.stderr)
        hint = ""
    else:
        hint = f" (--traceback or {TRACEBACK_ENV}=1 for the full traceback)"
    print(f"{prog}: error: {line}{hint}", file=sys.stderr)
    return 1
