"""The hostile-value table of test_hostile_flags.py counted, on any mollirl: ``python tests/reliability/hostile_table.py``.

Each (command, flag, value) runs in-process with a 20 s alarm, on the mollirl importable from ``PYTHONPATH``
(this branch or an older one): how many cases are refused in one line with exit 2 and nothing written, and for
how many (flag, value) pairs the commands word the refusal differently. The test asserts all and none."""
import contextlib
import io
import shutil
import signal
import tempfile
from pathlib import Path

from reliability_helpers import TINY  # this folder is the script's: sys.path[0]
from test_hostile_flags import HOSTILE

from mollirl.enjoy import main as enjoy_main
from mollirl.landscape.__main__ import main as landscape_main
from mollirl.study import main as study_main
from mollirl.train import main as train_main


class Timeout(BaseException):
    pass

def alarm(*_):
    raise Timeout

signal.signal(signal.SIGALRM, alarm)
tmp = Path(tempfile.mkdtemp())
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    train_main(["-f", str(tmp / "run"), "--epochs", "1", *TINY])
(run,) = (tmp / "run" / "reinforce").iterdir()
commands = {
    "train": (train_main, ["--epochs", "1", *TINY], {"--sigma", "--horizon", "--epochs", "--batch-episodes", "--seed", "--gamma", "--step-size", "--env", "--plugin"}, "-f"),
    "landscape": (landscape_main, ["--env", "double-pendulum", "--grid", "3", "--horizon", "20", "--no-progress"], {"--sigma", "--horizon", "--episodes", "--seed", "--gamma", "--env", "--plugin"}, "-o"),
    "study": (study_main, ["--n-trials", "1", "--epochs", "1", *TINY[:5]], {"--horizon", "--epochs", "--batch-episodes", "--seed", "--gamma", "--step-size", "--env", "--plugin"}, "-f"),
    "enjoy": (enjoy_main, ["--run", str(run), "--no-progress"], {"--episodes", "--seed"}, None),
}
cases = good = 0
bad, disagree = [], 0
for flag, values in HOSTILE.items():
    for value in values:
        value = value.format(tmp=tmp)
        lines = {}
        for name, (main, args, flags, out) in commands.items():
            if flag not in flags:
                continue
            cases += 1
            work = tmp / "w"
            shutil.rmtree(work, ignore_errors=True); work.mkdir()
            extra = [out, str(work / ("l.npz" if out == "-o" else "o"))] if out else []
            argv = [*args, *extra, *( [f"{flag}={value}"] if value.startswith("-") or not value else [flag, value])]
            err, so = io.StringIO(), io.StringIO()
            signal.alarm(20)
            try:
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(so):
                    rc = main(argv)
            except Timeout:
                rc = "still running after 20 s"
            except BaseException as exc:  # noqa
                rc = f"raised {type(exc).__name__}"
            finally:
                signal.alarm(0)
            text = [l for l in err.getvalue().splitlines() if l.strip()]
            written = any(work.rglob("*"))
            ok = rc == 2 and len(text) == 1 and "Traceback" not in err.getvalue() and not written
            good += ok
            if not ok:
                bad.append(f"{name} {flag} {value!r}: exit {rc}, {len(text)} stderr lines, wrote {written}")
            lines[name] = text[-1].split(": error: ", 1)[-1] if text else ""
        disagree += len(set(lines.values())) > 1
print(f"{good} of {cases} cases refused in one line, exit 2, nothing written; {disagree} (flag, value) pairs worded "
      "differently across commands")
for b in bad:
    print("  ", b)
