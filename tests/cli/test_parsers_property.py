"""Property-based tests of the four commands' argument parsers (Hypothesis).

Each example is a command line drawn from the parser's own flags (taken from the parser, not
listed here) with values that are often wrong: negative, zero, NaN, inf, huge, text, paths
that are files or missing. For every one: exit 0 or 2, never a traceback, one line on stderr
for exit 2, and nothing written on exit 2.

The commands run for real up to the point where their work would start (every check of the
input is done by then: the env and model are built, the storage opened); that work itself
(training, the landscape's rollouts, the study's trials, a reproduction) is replaced by a
sentinel that ends the example as "accepted", so that a few hundred examples take seconds.
"""

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from suite import CONTRACT_PLUGIN

from mollirl.landscape import __main__ as landscape_cli
from mollirl.reproduce import RESULTS
from mollirl.reproduce import __main__ as reproduce_cli
from mollirl import study as study_cli
from mollirl import train as train_cli


class Accepted(BaseException):
    """The input passed every check: the command would start its work now."""


NUMBERS = ["0", "1", "2", "3", "-1", "-4", "0.5", "1e-3", "1e300", "-0.0", "nan", "inf", "-inf", "1.5", "x", ""]
TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_:,.=-0123456789 ", max_size=12)
# flags whose values reach the outside world are drawn from safe pools only
SAFE = {
    "--plugin": ["no_such_plugin_xyz", CONTRACT_PLUGIN],
    "--storage": ["bogus://nowhere", "not a url", "sqlite:///", "postgresql://u:secret@127.0.0.1:1/db"],
    "--n-jobs": ["1", "0", "-1", "x"],
    "--jobs": ["1", "0", "-2", "x"],
    "--batch-episodes": ["1", "2", "4", "0", "-3", "x", "1e3"],
    "--horizon": ["1", "5", "20", "0", "-1", "x"],
    "--epochs": ["1", "2", "0", "-1", "x"],
    "-n": ["1", "100", "0", "-5", "x"], "--n-timesteps": ["1", "100", "0", "-5", "x"],
    "--grid": ["1", "2", "3", "0", "-1", "x"], "--max-envs": ["1", "8", "0", "-1"],
    "--episodes": ["1", "2", "0", "-1"], "--n-trials": ["1", "2", "0", "-1"], "--seeds": ["1", "2", "0,1", "-1", "a"],
    "--batch-trials": ["1", "2", "auto", "0", "x"], "--n-threads": ["1", "0", "-1"],
}
PATH_FLAGS = {"-f", "--log-folder", "-o", "--output", "--resume", "-conf", "--conf-file", "--run", "-i",
              "--trained-agent", "--tensorboard-log", "--directions"}


def _flags(parser):
    """``(option string, takes a value, choices)`` of every flag of the parser but help and list."""
    out = []
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "list", "version"):
            continue
        out.append((action.option_strings[-1], action.nargs != 0, list(action.choices or [])))
    return out


def _value(draw, flag: str, choices: list, root: Path):
    if flag in SAFE:
        return draw(st.sampled_from(SAFE[flag]))
    if choices:
        return draw(st.sampled_from([str(c) for c in choices] + ["bogus"]))
    if flag in PATH_FLAGS:
        return str(root / draw(st.sampled_from(["afile", "missing", "afile/x", "bad.yml", "out/x.npz", "dir"])))
    return draw(st.one_of(st.sampled_from(NUMBERS), TEXT))


@st.composite
def command_lines(draw, parser, root: Path, positional: list[str] | None = None):
    flags = _flags(parser)
    argv = list(positional or [])
    for flag, takes_value, choices in draw(st.lists(st.sampled_from(flags), max_size=4)):
        argv.append(flag)
        if takes_value:
            argv.append(_value(draw, flag, choices, root))
    return argv


def _setup(root: Path) -> None:
    (root / "afile").write_text("not a folder\n")
    (root / "bad.yml").write_text("sigma: [unclosed\n")
    (root / "dir").mkdir()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _run(main, argv: list[str], root: Path) -> None:
    before = _files(root)
    err = io.StringIO()
    old = os.getcwd()
    os.chdir(root)  # default output folders (logs/, repro/) land in the example's folder
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(argv)
    except Accepted:
        rc = 0
    finally:
        os.chdir(old)
    text = err.getvalue()
    assert "Traceback" not in text, (argv, text)
    assert rc in (0, 2), (argv, rc, text)
    if rc == 2:
        lines = [line for line in text.splitlines() if line.strip() and "note:" not in line]
        assert len(lines) == 1, (argv, text)
        assert _files(root) == before, (argv, sorted(_files(root) - before))


def _accept(*_args, **_kwargs):
    raise Accepted


@pytest.fixture
def stop_before_work(monkeypatch):
    import mollirl.landscape.compute as compute
    import mollirl.landscape.sweep as sweep
    import mollirl.studies.runner as runner
    import mollirl.training as training
    from mollirl.training import prepare

    def train(config, **_kwargs):
        prepare(config).close()  # the env and the model are built: every check of the config is done
        raise Accepted

    monkeypatch.setattr(training, "train", train)
    monkeypatch.setattr(train_cli, "train_population", _accept)
    monkeypatch.setattr(compute, "compute_landscape", _accept)
    monkeypatch.setattr(compute, "compute_q_landscape", _accept)
    monkeypatch.setattr(sweep, "sigma_sweep", _accept)
    monkeypatch.setattr(runner, "run_study", _accept)
    for module, _ in RESULTS.values():
        monkeypatch.setattr(f"{module}.run", _accept)


EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])
_ROOT_FOR_STRATEGIES = Path(tempfile.gettempdir()) / "mollirl-hypothesis-paths"


def _property(main, parser, positional=None):
    @EXAMPLES
    @given(argv=command_lines(parser, _ROOT_FOR_STRATEGIES, positional))
    def check(stop_before_work, argv):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            _setup(root)
            argv = [a.replace(str(_ROOT_FOR_STRATEGIES), str(root)) for a in argv]
            _run(main, argv, root)

    return check


test_train_parser = _property(train_cli.main, train_cli.build_parser())
test_landscape_parser = _property(landscape_cli.main, landscape_cli.build_parser(), ["--env", "double-pendulum"])
test_study_parser = _property(study_cli.main, study_cli.build_parser())


@EXAMPLES
@given(name=st.sampled_from([*RESULTS, "figure9", ""]), extra=st.lists(
    st.sampled_from(["--quick", "--jobs", "0", "-o", "afile", "-o", "afile/x", "--bogus", "-o", "dir/x"]), max_size=4))
def test_reproduce_parser(stop_before_work, name, extra):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _setup(root)
        _run(reproduce_cli.main, [name, *extra], root)
