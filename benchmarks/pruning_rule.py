"""Choosing the default pruning rule by a measurement (docs/studies.md, "Choosing the default pruning").

    python benchmarks/pruning_rule.py [--folder runs-pruning] [--pool 260] [--studies 2000]

1. **Curves.** Trains ``--pool`` trials of the README's example study without pruning
   (double pendulum, sigma log-uniform in [0.01, 5], 3 seeds, 50 epochs x 16 episodes x
   1000 steps; random sampler, seeds 0 and 1 of it; one population per 20 trials), or reuses
   them from ``--folder``. Each trial's reported values (the mean over its seeds of
   J(theta_k) at every epoch k) and its final value are what any pruning rule reads.
2. **Simulated studies.** A batch pruner's decisions depend only on those values (a
   population member's numbers never depend on who else trains beside it), so a study with
   pruning is *exactly* a study without it, cut where the rule says. ``--studies`` random
   studies of 20 trials are drawn from the pool (one fixed generator), and every candidate
   rule (:class:`mollirl.studies.pruning.PruningRule`, the product's code) runs on each, in
   two batch schedules: the automatic rule's for TPE (10 startup trials, then 3, 3, 3, 1)
   and one batch of 20 (random sampler). For comparison, Optuna's ``MedianPruner`` as the
   study used it before (trials one at a time, warm-up 1 step, peers = completed trials,
   raw per-epoch values) runs in the TPE schedule.
3. **Per rule**: the env steps spent (epochs trained, over 20 x 50), the fraction of
   studies whose sigma* (the best complete trial) is the unpruned study's, and the regret
   (the unpruned best final value minus the pruned study's best; J units), mean and 90th
   percentile.

Choosing among hundreds of rules on the same curves would pick one that fits their noise, so
the pool is split in two halves (a fixed permutation): the rule is **selected** on half A (the
smallest mean regret over both schedules among the rules that spend at most 55% of the env
steps in both) and **reported** on half B, which the choice never saw. Output: the table of
half A (best first), the chosen rule on both halves, and ``pruning_rule.json`` in ``--folder``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
EPOCHS = 50
SCHEDULES = {"tpe": [10, 3, 3, 3, 1], "one batch": [20]}
WARMUPS = (2, 4, 6, 8, 10, 12, 15, 20, 25)
WINDOWS = (1, 2, 3, 4, 6)
STRIDES = (1, 2)
ETAS = (2, 3, 4)


def make_curves(folder: Path, pool: int) -> None:
    """Train the pool (two random studies) unless it is there already."""
    half = [pool // 2, pool - pool // 2]
    for seed, n in enumerate(half):
        cmd = [sys.executable, "-m", "mollirl.study", "--env", "double-pendulum", "--n-trials", str(n),
               "--sigma-range", "0.01", "5", "--seeds", "3", "--sampler", "random", "--sampler-seed", str(seed),
               "--pruner", "none", "--batch-trials", "20", "-f", str(folder), "--study-name", f"curves{seed}",
               "--no-progress"]
        print("$", " ".join(cmd[1:]), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def load_pool(folder: Path) -> list[dict]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = f"sqlite:///{folder.resolve()}/studies/studies.db"
    pool = []
    for summary in optuna.get_all_study_summaries(storage):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        for t in study.get_trials(deepcopy=False):
            if t.state.name == "COMPLETE" and len(t.intermediate_values) == EPOCHS + 1:
                pool.append({"sigma": t.params["sigma"], "values": dict(t.intermediate_values), "final": t.value})
    return pool


def simulate(rule, trials: list[dict], schedule: list[int]) -> tuple[list[int | None], list[int]]:
    """Run ``rule`` over ``trials`` in batches: per trial the epoch it was pruned at (None: complete)
    and the epochs it trained."""
    pruned: list[int | None] = [None] * len(trials)
    start = 0
    for size in schedule:
        batch = list(range(start, start + size))
        for r in rule.rungs:
            live = {i: rule.smoothed(trials[i]["values"], r) for i in batch if pruned[i] is None}
            if not live:
                break
            peers = [rule.smoothed(trials[j]["values"], r) for j in range(start)
                     if pruned[j] is None or pruned[j] >= r]
            for i, d in rule.decide(r, live, peers).items():
                if d.prune:
                    pruned[i] = r
        start += size
    epochs = [EPOCHS if p is None else p + 1 for p in pruned]
    return pruned, epochs


def simulate_optuna_median(trials: list[dict]) -> tuple[list[int | None], list[int]]:
    """Optuna's MedianPruner(n_startup_trials=3, n_warmup_steps=1) with trials one at a time."""
    pruned: list[int | None] = [None] * len(trials)
    for i, t in enumerate(trials):
        done = [trials[j] for j in range(i) if pruned[j] is None]
        if len(done) < 3:
            continue
        best = -math.inf
        for k in range(EPOCHS):
            best = max(best, t["values"][k])
            if k < 1:
                continue
            median = float(np.median([d["values"][k] for d in done]))
            if best < median:
                pruned[i] = k
                break
    return pruned, [EPOCHS if p is None else p + 1 for p in pruned]


def score(results: list[tuple[list[dict], list[int | None], list[int]]]) -> dict:
    steps, same, regret = [], [], []
    for trials, pruned, epochs in results:
        finals = np.array([t["final"] for t in trials])
        best_all = int(np.argmax(finals))
        kept = [i for i, p in enumerate(pruned) if p is None]
        best_kept = max(kept, key=lambda i: finals[i])
        steps.append(sum(epochs) / (len(trials) * EPOCHS))
        same.append(best_kept == best_all)
        regret.append(finals[best_all] - finals[best_kept])
    return {"steps": float(np.mean(steps)), "same_sigma_star": float(np.mean(same)),
            "regret_mean": float(np.mean(regret)), "regret_p90": float(np.percentile(regret, 90))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folder", default="runs-pruning")
    p.add_argument("--pool", type=int, default=260)
    p.add_argument("--studies", type=int, default=2000)
    args = p.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from mollirl.studies.pruning import PruningRule

    folder = Path(args.folder)
    if not (folder / "studies" / "studies.db").is_file():
        make_curves(folder, args.pool)
    pool = load_pool(folder)
    print(f"pool: {len(pool)} unpruned trials (final J_det over seeds: best {max(t['final'] for t in pool):.3f}, "
          f"median {np.median([t['final'] for t in pool]):.3f}, worst {min(t['final'] for t in pool):.3f})")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(pool))
    halves = {"A": [pool[i] for i in order[: len(pool) // 2]], "B": [pool[i] for i in order[len(pool) // 2:]]}
    draws = {h: [[part[i] for i in rng.choice(len(part), 20, replace=False)] for _ in range(args.studies)]
             for h, part in halves.items()}

    candidates = [PruningRule("halving", EPOCHS, w0, w, eta, 1, st) for w0 in WARMUPS for w in WINDOWS
                  for st in STRIDES for eta in ETAS if (w - 1) * st <= w0]
    candidates += [PruningRule("median", EPOCHS, w0, w, 2, iv, st) for w0 in WARMUPS for w in WINDOWS
                   for st in STRIDES for iv in (5, 10, 20) if (w - 1) * st <= w0]

    def evaluate(rule, half):
        return {name: score([(d, *simulate(rule, d, schedule)) for d in draws[half]])
                for name, schedule in SCHEDULES.items()}

    rows = []
    for rule in candidates:
        rows.append({"rule": f"{rule.kind} warmup={rule.warmup} window={rule.window} stride={rule.stride}"
                             + (f" eta={rule.eta}" if rule.kind == "halving" else f" interval={rule.interval}"),
                     "kind": rule.kind, "warmup": rule.warmup, "window": rule.window, "stride": rule.stride,
                     "eta": rule.eta, "interval": rule.interval, "rungs": list(rule.rungs), "_rule": rule,
                     "A": evaluate(rule, "A")})
    reference = {h: {"tpe": score([(d, *simulate_optuna_median(d)) for d in draws[h]])} for h in halves}

    def regret(r):
        return float(np.mean([r["A"][s]["regret_mean"] for s in SCHEDULES]))

    eligible = [r for r in rows if all(r["A"][s]["steps"] <= 0.55 for s in SCHEDULES)]
    eligible.sort(key=regret)
    chosen = eligible[0] if eligible else None
    for r in eligible[:5]:
        r["B"] = evaluate(r["_rule"], "B")

    def line(label, res):
        return (f"{label:<52} " + " | ".join(f"{s}: steps {res[s]['steps']:>5.1%}, same sigma* {res[s]['same_sigma_star']:>5.1%}, "
                                               f"regret {res[s]['regret_mean']:.3f} (p90 {res[s]['regret_p90']:.3f})"
                                               for s in res))

    print("selection half A, rules spending <= 55% of the steps, smallest regret first:")
    for r in eligible[:15]:
        print(line(("* " if r is chosen else "  ") + r["rule"], r["A"]))
    print(line("  optuna median, one at a time, raw (before)", reference["A"]))
    print("held-out half B (the five best of A):")
    for r in eligible[:5]:
        print(line(("* " if r is chosen else "  ") + r["rule"], r["B"]))
    print(line("  optuna median, one at a time, raw (before)", reference["B"]))
    print(f"chosen: {chosen['rule'] if chosen else 'none'}")
    for r in rows:
        r.pop("_rule")
    (folder / "pruning_rule.json").write_text(json.dumps(
        {"pool": len(pool), "studies": args.studies, "halves": {h: len(v) for h, v in halves.items()},
         "reference_optuna_median": reference, "chosen": chosen, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
