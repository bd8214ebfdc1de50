"""Every example command in README.md, docs/ and each command's --help parses with the real parser,
and every flag of every command is documented (issue 14, item 9).

The commands are found, not listed: every ``python -m mollirl.X ...`` in the Markdown files (code
blocks, with ``\\`` continuations, and inline code), in the entry modules' docstrings and in their
parsers' description, epilog and flag help texts. The entry modules are the ones defining
``PROG = "python -m mollirl...."`` and ``build_parser``. A ``train`` example that names no
placeholder, plugin or existing folder is also resolved into its validated config
(unknown config keys and bad values fail there, before anything is built).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import shlex
from pathlib import Path

import pytest

import mollirl
from mollirl import registry

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
COMMAND = re.compile(r"python -m (mollirl(?:\.[a-z_]+)+)((?:\s+[^\s`|;&]+)*)")


def entry_modules() -> dict[str, object]:
    """``{"mollirl.train": module, ...}``: every module with a ``PROG`` and a ``build_parser``."""
    found = {}
    for info in pkgutil.walk_packages(mollirl.__path__, "mollirl."):
        spec = importlib.util.find_spec(info.name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        if 'PROG = "python -m mollirl.' not in Path(spec.origin).read_text():
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "build_parser"):
            found[module.PROG.split()[-1]] = module
    return found


ENTRIES = entry_modules()


def commands_in(text: str) -> list[str]:
    """Every ``python -m mollirl.X ARGS`` in ``text`` (lines joined at ``\\``; a shell comment, what
    follows ``&&``, ``|``, ``;`` or a closing backtick, and a ``...`` elision dropped). A bare
    ``python -m mollirl.X`` is the command's name in a sentence, not an example."""
    text = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in text.splitlines():
        line = re.sub(r"\s#\s.*$", "", line)  # a shell comment
        for m in COMMAND.finditer(line):
            args = [a for a in m.group(2).split() if a not in ("...", "\\")]
            if args:
                found.append(" ".join(["python", "-m", m.group(1), *args]))
    return found


def markdown_commands(text: str) -> list[str]:
    """The commands of a Markdown page: in fenced code blocks line by line, elsewhere in inline code
    (which may wrap across lines)."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    rest = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
    spans = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", rest)]
    return [c for block in blocks for c in commands_in(block)] + [c for span in spans for c in commands_in(span)]


def _sources() -> list[tuple[str, list[str]]]:
    out = [(str(path.relative_to(ROOT)), markdown_commands(path.read_text())) for path in DOCS]
    for name, module in ENTRIES.items():
        parser = module.build_parser()
        texts = [module.__doc__ or "", parser.description or "", parser.epilog or ""]
        texts += [a.help for a in parser._actions if isinstance(a.help, str)]
        out.append((f"{name} --help and docstring", commands_in("\n".join(texts))))
    return out


EXAMPLES = sorted({(where, cmd) for where, cmds in _sources() for cmd in cmds})


def _module_of(cmd: str) -> str:
    name = cmd.split()[2]
    return name[: -len(".__main__")] if name.endswith(".__main__") else name


def test_examples_are_found():
    names = {_module_of(cmd) for _, cmd in EXAMPLES}
    assert set(ENTRIES) <= names, set(ENTRIES) - names  # every command has an example somewhere
    assert len(EXAMPLES) > 50
    wheres = {where for where, _ in EXAMPLES}
    assert "README.md" in wheres and "docs/plugins.md" in wheres and "mollirl.train --help and docstring" in wheres


@pytest.mark.parametrize("where, cmd", EXAMPLES)
def test_example_parses(where, cmd):
    module = _module_of(cmd)
    assert module in ENTRIES, f"{where}: {cmd!r} names no command (known: {sorted(ENTRIES)})"
    args = shlex.split(cmd)[3:]
    ENTRIES[module].build_parser().parse_args(args)  # UsageError on an unknown flag or a bad value


_PLACEHOLDER = re.compile(r"[A-Z]{2,}|\.\.\.|<|\[")


def _resolvable(cmd: str) -> bool:
    """A train example with concrete values only: no placeholder (RUN, N, ...), plugin, folder or file."""
    if _module_of(cmd) != "mollirl.train":
        return False
    args = shlex.split(cmd)[3:]
    if any(_PLACEHOLDER.search(a) for a in args if not a.startswith("-")):
        return False
    if {"--resume", "--plugin", "-conf", "--conf-file", "-i", "--trained-agent", "--list"} & set(args):
        return False
    parsed = ENTRIES["mollirl.train"].build_parser().parse_args(args)
    envs = {e.name for e in registry.entries("envs")} | {e.obj.gym_id for e in registry.entries("envs")}
    return (parsed.env is None or parsed.env in envs) and (parsed.algo is None or parsed.algo in registry.names("algos"))


RESOLVABLE = sorted({cmd for _, cmd in EXAMPLES if _resolvable(cmd)})


@pytest.mark.parametrize("cmd", RESOLVABLE)
def test_train_example_resolves(cmd):
    from mollirl.population.grid import parse_seeds, parse_sigmas
    from mollirl.train import config_from_args

    args = ENTRIES["mollirl.train"].build_parser().parse_args(shlex.split(cmd)[3:])
    if args.sigma is not None:
        args.sigma = parse_sigmas(args.sigma)[0]
    if args.seeds is not None:
        args.seed, args.seeds = parse_seeds(args.seeds)[0], None
    config = config_from_args(args)
    assert config.epochs >= 1 and config.sigma > 0


def test_some_train_examples_resolve():
    assert len(RESOLVABLE) >= 10, RESOLVABLE


def _params_examples(text: str) -> list[tuple[str | None, list[str]]]:
    """``(algo, [k:v, ...])`` of each ``[--algo A] -params k:v ...`` in a help text."""
    return [(m.group(1), m.group(2).split())
            for m in re.finditer(r"(?:--algo (\S+) )?-params ((?:[a-z_]+:[^\s,()]+ ?)+)", text)]


@pytest.mark.parametrize("name", ["mollirl.train", "mollirl.study"])
def test_help_params_examples_build(name, tmp_path):
    """The ``-params`` examples of a command's help build a model (with the default algorithm unless the
    example names one): the issue's ``-params n_epochs:5`` failed with REINFORCE."""
    from mollirl.train import config_from_args
    from mollirl.training import prepare

    parser = ENTRIES[name].build_parser()
    text = "\n".join(a.help for a in parser._actions if isinstance(a.help, str))
    examples = _params_examples(text)
    assert examples
    train = ENTRIES["mollirl.train"].build_parser()
    for algo, params in examples:
        argv = ["--env", "quadrotor", "--horizon", "5", "--batch-episodes", "2", "--epochs", "1",
                "-f", str(tmp_path), "-params", *params] + (["--algo", algo] if algo else [])
        prepare(config_from_args(train.parse_args(argv))).close()


def _documented(flag: str, text: str) -> bool:
    return re.search(re.escape(flag) + r"(?![\w-])", text) is not None


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_every_flag_is_documented(name):
    """Each flag of each command appears in README.md or docs/ (one of its spellings)."""
    text = "\n".join(path.read_text() for path in DOCS)
    missing = [a.option_strings for a in ENTRIES[name].build_parser()._actions
               if a.option_strings and "-h" not in a.option_strings
               and not any(_documented(f, text) for f in a.option_strings)]
    assert not missing, f"{name}: undocumented flags {missing}"
