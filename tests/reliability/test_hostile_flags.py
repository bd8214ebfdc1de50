"""One set of rules for one quantity: every shared flag, given the same hostile value, is refused by every command
that takes it with the same one line (exit 2, nothing written) -- the tester's table of issue 23 as a suite.

Before: ``landscape --sigma 1e300`` (and ``--param-sigma 1e300``) ran where ``train`` refused sigma above
1.84e17; ``--episodes 0``, ``--horizon 0`` and ``--seed -1`` were worded three ways; a seed above 2^32 - 1 went
through ``train``'s checks and failed inside SB3.
"""

import pytest
from reliability_helpers import TINY, one_line, snapshot

from mollirl.enjoy import main as enjoy_main
from mollirl.landscape.__main__ import main as landscape_main
from mollirl.study import main as study_main
from mollirl.train import main as train_main

BEYOND_INT64 = str(2**63)
COUNT = ["0", "-1", BEYOND_INT64, "1.5", "1e3", "abc", ""]

#: flag -> the hostile values every command taking it must refuse alike
HOSTILE = {
    "--sigma": ["0", "-1", "nan", "inf", "-inf", "1e300", "1e-320", "abc", ""],
    "--horizon": COUNT,
    "--epochs": COUNT,
    "--batch-episodes": COUNT,
    "--episodes": COUNT,
    "--seed": ["-1", str(2**32), BEYOND_INT64, "1.5", "abc"],
    "--gamma": ["0", "-0.5", "1.5", "nan", "inf", "abc"],
    "--step-size": ["0", "-1", "nan", "inf", "abc"],
    "--env": ["nosuchenv", "CartPole-v1"],
    "--plugin": ["{tmp}/missing_plugin.py", "no_such_plugin_module_xyz"],
}


def _commands(tmp, run):
    """command -> (main, valid arguments, the flags it takes)."""
    return {
        "train": (train_main, ["-f", f"{tmp}/out", "--epochs", "1", *TINY],
                  {"--sigma", "--horizon", "--epochs", "--batch-episodes", "--seed", "--gamma", "--step-size", "--env",
                   "--plugin"}),
        "landscape": (landscape_main, ["--env", "double-pendulum", "--grid", "3", "--horizon", "20", "--no-progress",
                                       "-o", f"{tmp}/out/l.npz"],
                      {"--sigma", "--horizon", "--episodes", "--batch-episodes", "--seed", "--gamma", "--env",
                       "--plugin"}),
        "study": (study_main, ["-f", f"{tmp}/out", "--n-trials", "1", "--epochs", "1", *TINY[:5]],
                  {"--horizon", "--epochs", "--batch-episodes", "--seed", "--gamma", "--step-size", "--env",
                   "--plugin"}),
        "enjoy": (enjoy_main, ["--run", str(run), "--no-progress"], {"--episodes", "--seed"}),
    }


def test_every_command_takes_the_flags_the_table_says(run, tmp_path):
    """The table stays true: a command that takes a shared flag is in it (else a new flag escapes the suite)."""
    for name, (main, _, flags) in _commands(tmp_path, run).items():
        parser = __import__(main.__module__, fromlist=["build_parser"]).build_parser()
        taken = {s for a in parser._actions for s in a.option_strings}
        assert flags <= taken, (name, flags - taken)
        assert not (set(HOSTILE) - flags) & taken, (name, (set(HOSTILE) - flags) & taken)


@pytest.mark.parametrize("flag", list(HOSTILE))
def test_a_hostile_value_is_refused_alike_by_every_command(flag, run, tmp_path, capsys):
    commands = {n: c for n, c in _commands(tmp_path, run).items() if flag in c[2]}
    assert len(commands) >= 2, flag  # a shared flag
    failures = []
    for value in HOSTILE[flag]:
        value = value.format(tmp=tmp_path)
        lines = {}
        for name, (main, args, _) in commands.items():
            before = snapshot(tmp_path)
            rc = main([*args, f"{flag}={value}" if value.startswith("-") or not value else flag, *(
                [] if value.startswith("-") or not value else [value])])
            err = capsys.readouterr().err
            try:
                line = one_line(err)
            except AssertionError:
                failures.append(f"{name} {flag} {value!r}: not one line: {err!r}")
                continue
            if rc != 2:
                failures.append(f"{name} {flag} {value!r}: exit {rc}: {line}")
            if snapshot(tmp_path) != before:
                failures.append(f"{name} {flag} {value!r}: wrote files")
            lines[name] = line.split(": error: ", 1)[-1]
            if flag.split("/")[0] not in lines[name] and flag not in ("--env", "--plugin"):
                failures.append(f"{name} {flag} {value!r}: the line does not name the flag: {line}")
        if len(set(lines.values())) > 1:
            failures.append(f"{flag} {value!r}: worded differently: {lines}")
    assert not failures, "\n".join(failures)
