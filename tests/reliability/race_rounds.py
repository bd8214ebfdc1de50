"""The issue 23 concurrency examples, counted: ``python tests/reliability/race_rounds.py ROUNDS``.

Four ``train --sigma S -f DIR`` and then two ``--resume RUN --epochs 40|12`` are started at a barrier in each
round (the racers of :mod:`racers`), on the mollirl importable from ``PYTHONPATH``; prints how many rounds
shared a folder or lost rows. The fast suite runs the same rounds (fewer) as assertions."""
import multiprocessing as mp
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import racers

def collect(q, n):
    return [q.get(timeout=600) for _ in range(n)]

if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    tmp = Path(tempfile.mkdtemp())
    TINY = ["--horizon", "20", "--batch-episodes", "4", "--no-progress", "--checkpoint-every", "1"]
    rounds = int(sys.argv[1])
    sig = ("0.1", "0.2", "0.3", "0.4")
    plans = [[["--sigma", s, "-f", str(tmp / str(r)), "--epochs", "2", *TINY] for r in range(rounds)] for s in sig]
    b, q = ctx.Barrier(4), ctx.Queue()
    ps = [ctx.Process(target=racers.train_racer, args=(i, plans[i], b, q)) for i in range(4)]
    [p.start() for p in ps]
    got = collect(q, 4 * rounds); [p.join() for p in ps]
    shared = mismatched = 0
    import yaml, csv
    for r in range(rounds):
        named = {}
        for _, i, rc, err, out, _ in [g for g in got if g[0] == r]:
            line = [x for x in out.splitlines() if "run folder" in x]
            named[sig[i]] = line[0].split()[-1] if line else f"rc={rc}"
        if len(set(named.values())) < 4:
            shared += 1
        for s, run in named.items():
            if run.startswith("rc="): continue
            cfg = yaml.safe_load(open(Path(run) / "config.yml"))["sigma"]
            rows = list(csv.DictReader(open(Path(run) / "metrics.csv")))
            if abs(float(cfg) - float(s)) > 1e-6 or any(abs(float(x["sigma"]) - float(cfg)) > 1e-6 for x in rows):
                mismatched += 1
    print(f"four trains at once: {shared} of {rounds} rounds shared a folder; {mismatched} runs whose config.yml "
          "or metrics.csv is not their own sigma's")
    # two resumes
    from mollirl.train import main
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):
        main(["-f", str(tmp / "base"), "--epochs", "3", *TINY])
    (base,) = (tmp / "base" / "reinforce").iterdir()
    copies = []
    for r in range(rounds):
        copies.append(tmp / f"run{r}"); shutil.copytree(base, copies[-1])
    plans = [[["--resume", str(c), "--epochs", e, "--no-progress"] for c in copies] for e in ("40", "12")]
    b, q = ctx.Barrier(2), ctx.Queue()
    ps = [ctx.Process(target=racers.train_racer, args=(i, plans[i], b, q)) for i in range(2)]
    [p.start() for p in ps]
    got = collect(q, 2 * rounds); [p.join() for p in ps]
    lost = both0 = refused = 0
    for r, run in enumerate(copies):
        rcs = [g[2] for g in got if g[0] == r]
        both0 += rcs == [0, 0]
        refused += 2 in rcs
        epochs = [int(x["epoch"]) for x in csv.DictReader(open(run / "metrics.csv"))]
        import json
        done = json.loads((run / "checkpoints" / "latest.json").read_text())["epoch"]
        if epochs != list(range(done + 1)):
            lost += 1
    print(f"two resumes at once (--epochs 40 and 12): {both0} of {rounds} rounds both exited 0, {refused} refused one, "
          f"{lost} rounds left metrics.csv without the rows 0..checkpoint")
    shutil.rmtree(tmp)
