"""``python -m mollirl.reproduce NAME``: reproduce one of the paper's results.

    python -m mollirl.reproduce figure8 --quick
    python -m mollirl.reproduce figure6 --jobs 2 -o repro/figure6
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from mollirl.cli import ArgumentParser, check_output_dir, command_text, run_main
from mollirl.registry import closest
from mollirl.reproduce import RESULTS

PROG = "python -m mollirl.reproduce"
FROM_RUNS = ("figure6", "figure6-reduced")  # the commands that can judge finished run folders without training


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Reproduce a result of 'Mollification Effects of Policy Gradient Methods'.")
    p.add_argument("name", help=f"one of: {', '.join(RESULTS)}")
    p.add_argument("-o", "--output", default=None, help="output folder (default repro/NAME)")
    p.add_argument("--quick", action="store_true", help="a reduced run (seconds to a minute)")
    p.add_argument("--jobs", type=int, default=2, help="training processes (figure6), default 2")
    p.add_argument("--from-runs", default=None, metavar="DIR",
                   help="figure6, figure6-reduced: no training; the figures and the JSON from the finished run "
                        "folders under DIR (DIR/sigma_S/seed_K/metrics.csv, DIR/tanh/..., DIR/baseline_none/..., "
                        "as OUT/runs holds them), whatever their number of seeds; or from the per-run series "
                        "a figure6.json holds (its verdicts judged again)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars (member-epochs of each training population, with an ETA) and no "
                        "'runs done of total, ETA' on each run's line")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        from mollirl.common.locking import command_scope

        with command_scope():  # the output folder and the runs it reuses stay locked until the command ends
            return _body()

    def _body() -> int:
        from mollirl.common.budget import check_workers
        from mollirl.common.leftovers import Leftovers
        from mollirl.common.locking import hold

        args = build_parser().parse_args(argv)
        if args.name not in RESULTS:
            raise ValueError(f"unknown result {args.name!r} ({closest(args.name, list(RESULTS))})")
        check_workers(args.jobs, "--jobs")  # processes within the machine's limits, before any starts
        extra = {}
        if args.from_runs is not None:
            if args.name not in FROM_RUNS:
                raise ValueError(f"--from-runs is for {' and '.join(FROM_RUNS)}, not {args.name}")
            if not (Path(args.from_runs).is_dir() or Path(args.from_runs).suffix == ".json"
                    and Path(args.from_runs).is_file()):
                raise ValueError(f"--from-runs: {args.from_runs!r} is neither a folder nor a figure6.json file")
            extra["from_runs"] = Path(args.from_runs)
        out = Path(args.output or Path("repro") / args.name)
        check_output_dir(out, "-o/--output")  # a file in the way (exit 2) or a read-only folder (exit 1)
        leftovers = Leftovers([*reversed(out.parents), out])
        try:
            out.mkdir(parents=True, exist_ok=True)
            hold(out, "-o/--output")  # one reproduction writes a folder at a time
            module = importlib.import_module(RESULTS[args.name][0])
            from mollirl.reproduce.runs import ProgressLog

            summary = module.run(out, quick=args.quick, n_jobs=args.jobs,
                                 log=ProgressLog(progress=not args.no_progress), command=command_text(PROG, argv),
                                 **extra)
        except KeyboardInterrupt:
            kept = _forget_unless_resumable(out, leftovers)
            print(f"{PROG}: interrupted" + ("; the same command continues from the checkpoints kept" if kept else ""),
                  file=sys.stderr)
            return 130
        except Exception as exc:
            kept = _forget_unless_resumable(out, leftovers)
            if leftovers.new and out in leftovers.new:
                exc.add_note(f"the runs with a checkpoint in {out} are kept: the same command continues" if kept
                             else f"the new output folder {out} was removed (nothing resumable had been written)")
            raise
        from mollirl.reproduce.common import jsonable, verdict_lines

        print(f"{args.name}: wall time {summary.get('wall_time_s', float('nan')):.1f} s; outputs in {out}")
        for line in verdict_lines(jsonable(summary.get("claims", [])), args.quick):
            print(line)
        return 0

    return run_main(PROG, body)


def _forget_unless_resumable(out: Path, leftovers) -> bool:
    """After a failure: remove the folders this command created unless a run in them holds a checkpoint
    (then the same command resumes it). Returns whether something resumable is kept."""
    resumable = out.is_dir() and any(out.rglob("checkpoints/latest.json"))
    if not resumable:
        leftovers.remove()
    return resumable


if __name__ == "__main__":
    raise SystemExit(main())
